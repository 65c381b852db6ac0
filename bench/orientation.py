#!/usr/bin/env python3
"""Pages fed sideways or upside down: read as well as upright, and what checking costs an upright page.

Usage: python bench/orientation.py [--shared ../shared] [--runs 3] [--out bench/out]

For linn.png, the SROIE receipts and the two UNLV pages: each turned 0/90/180/270° is read by one in-process
engine (models loaded once), and scored with ../shared/eval (order-free word F1, case-insensitive, against the
page's full text). Upright pages are also read with the orientation check off, interleaved with on, `--runs`
times: the median time of each and the share the check adds. Writes bench/out/orientation.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ocrwatchd.engine.orientation import turn  # noqa: E402
from ocrwatchd.pipeline import Engine, EngineSettings, process  # noqa: E402


def samples(shared: Path) -> list[tuple[Path, str]]:
    real = shared / "data" / "real"
    out = [(real / "ocrmypdf" / "linn.png", (real / "ocrmypdf" / "linn.gt.txt").read_text())]
    for name in ("8071_093.3B", "8087_054.3B"):
        text = (real / "tesseract-test" / f"{name}.txt").read_text().replace("~", "")
        out.append((real / "tesseract-test" / f"{name}.tif", text))
    for gt in sorted((real / "sroie").glob("*.gt.json")):
        doc = json.loads(gt.read_text())
        lines = [line["text"] for page in doc.get("pages", [doc]) for line in page["lines"]]
        out.append((gt.with_name(gt.name.replace(".gt.json", ".jpg")), "\n".join(lines)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "eval"))
    import evalocr

    on = Engine(EngineSettings(device="cpu"))
    off = Engine(EngineSettings(device="cpu", orientation=False))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path, truth in samples(a.shared):
            pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            f1, found = {}, {}
            for degrees in (0, 90, 180, 270):
                fed = Path(tmp) / f"{path.stem}-{degrees}.png"
                cv2.imwrite(str(fed), turn(pixels, (360 - degrees) % 360))   # turned counter-clockwise
                page = process(fed, on).result["pages"][0]
                f1[degrees] = evalocr.words_f1(truth, [line["text"] for line in page["lines"]], True)["word_f1"]
                found[degrees] = page["orientation"]
            upright = Path(tmp) / f"{path.stem}-0.png"
            times = {"on": [], "off": []}
            for _ in range(a.runs):
                for key, engine in (("off", off), ("on", on)):
                    t0 = time.perf_counter()
                    process(upright, engine)
                    times[key].append(time.perf_counter() - t0)
            t_on, t_off = statistics.median(times["on"]), statistics.median(times["off"])
            rows.append((path.name, f1, found, t_off, t_on))
            print(rows[-1], flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    lines = ["| page | word F1 0° / 90° / 180° / 270° | turned by (should be 0 / 90 / 180 / 270) | upright s, check off / on | cost |",
             "|---|---|---|---|---|"]
    for name, f1, found, t_off, t_on in rows:
        lines.append(f"| {name} | {' / '.join(f'{f1[d]:.3f}' for d in (0, 90, 180, 270))} | "
                     f"{' / '.join(str(found[d]) for d in (0, 90, 180, 270))} | {t_off:.2f} / {t_on:.2f} | "
                     f"{100 * (t_on - t_off) / t_off:+.1f} % |")
    worst = max(abs(f1[d] - f1[0]) for _, f1, _, _, _ in rows for d in (90, 180, 270))
    total_off, total_on = sum(r[3] for r in rows), sum(r[4] for r in rows)
    lines.append(f"\nLargest word-F1 gap to upright: {worst:.3f}. All upright pages: {total_off:.1f} s without the "
                 f"check, {total_on:.1f} s with it ({100 * (total_on - total_off) / total_off:+.1f} %), medians of "
                 f"{a.runs} interleaved runs.")
    (a.out / "orientation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
