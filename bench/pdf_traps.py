#!/usr/bin/env python3
"""OCRmyPDF's test PDFs, each with its trap, through `ocrwatchd detect`: what comes out, how well, at what cost.

Usage: python bench/pdf_traps.py [--shared ../shared] [--only linn,ccitt] [--out bench/out]

For every PDF in ../shared/data/pdf: exit status (and the reason of a refusal), pages, lines, per-page dpi and
source (ocr / pdf-text), warnings, word F1 against the hand-checked transcription where there is one (the linn
family against linn.gt.txt — linn.txt is Tesseract's own output, on which a perfect transcription scores 0.951 —
and 2400dpi.pdf against typewriter.gt.txt), peak RSS and wall time of the whole process. Writes
bench/out/pdf-traps.md.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINN = ("linn", "ccitt", "jbig2", "skew", "poster")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--only", help="comma-separated names (without .pdf)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "eval"))
    import evalocr

    real = a.shared / "data" / "real" / "ocrmypdf"
    truth = {name: (real / "linn.gt.txt").read_text() for name in LINN}
    truth["2400dpi"] = (real / "typewriter.gt.txt").read_text()
    linn_txt = (a.shared / "data" / "pdf" / "linn.txt").read_text()
    names = a.only.split(",") if a.only else sorted(p.stem for p in (a.shared / "data" / "pdf").glob("*.pdf"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            pdf = a.shared / "data" / "pdf" / f"{name}.pdf"
            out = Path(tmp) / f"{name}.json"
            t0 = time.perf_counter()
            p = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "ocrwatchd", "detect", "--device", "cpu",
                                str(pdf), "-o", str(out)], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
            row = {"name": name, "rc": p.returncode, "wall": wall, "rss": rss}
            if p.returncode == 0:
                r = json.loads(out.read_text())
                pages = r["pages"]
                texts = [line["text"] for page in pages for line in page["lines"] if "text" in line]
                row.update(pages=len(pages), lines=sum(len(pg["lines"]) for pg in pages),
                           dpi=sorted({pg.get("dpi") for pg in pages}), source=sorted({pg["source"] for pg in pages}),
                           warnings=r["warnings"], tiles=r["stats"]["tiles"])
                if name in truth:
                    row["f1"] = evalocr.words_f1(truth[name], texts, True)["word_f1"]
                if name in LINN:
                    row["f1_linn_txt"] = evalocr.words_f1(linn_txt, texts, True)["word_f1"]
            else:
                row["error"] = next((line for line in p.stderr.splitlines() if line.startswith("ocrwatchd: ")
                                     and str(pdf) in line), "")
            rows.append(row)
            print(row, flush=True)
    lines = ["| PDF | result | pages | lines | dpi | source | model tiles | word F1 (hand GT / linn.txt) | "
             "peak RSS MB | wall s | warnings |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["rc"] != 0:
            err = re.sub(r"^ocrwatchd: \S+: ", "", r.get("error", ""))
            lines.append(f"| {r['name']} | refused: {err[:90]} | | | | | | | {r['rss']:.0f} | {r['wall']:.1f} | |")
            continue
        f1 = f"{r['f1']:.3f}" if "f1" in r else ""
        if "f1_linn_txt" in r:
            f1 += f" / {r['f1_linn_txt']:.3f}"
        dpi = ", ".join(f"{d:g}" for d in r["dpi"] if d)
        lines.append(f"| {r['name']} | ok | {r['pages']} | {r['lines']} | {dpi} | {', '.join(r['source'])} | "
                     f"{r['tiles']} | {f1} | {r['rss']:.0f} | {r['wall']:.1f} | {'; '.join(r['warnings'])[:120]} |")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "pdf-traps.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
