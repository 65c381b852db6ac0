#!/usr/bin/env python3
"""Speed per image, whole process, against Tesseract and RapidOCR; where ocrwatchd's time goes; daemon throughput.

Usage: .venv/bin/python bench/speed.py [--set quick|real|all] [--runs 3] [--only NAME,NAME]
                                       [--rapidocr-python /tmp/rapidocr-venv/bin/python [--setup-rapidocr]]
                                       [--daemon | --no-daemon] [--daemon-limit N] [--extra "ARGS"]
                                       [--shared ../shared] [--cache /tmp/ocrwatchd-speed-scans] [--out bench/out]

The acceptance benchmark of the speed issue. Writes bench/out/speed.md (and speed.json, every run) and prints it.

Image sets:
  quick (default): the five of the issue's table: tests/data/sample-scan.jpg (1654×2339, 3.9 MP), the synthetic
    300-dpi A4 page and 600-dpi dense A4 (`../shared/eval/mkscan.py DIR --seed 7 --kinds page,dense`, made once
    into --cache: page-7-0.png, dense-7-0.png), SROIE receipt sroie/100.jpg and UNLV tesseract-test/8071_093.3B.tif.
  real: every real sample (16 files; the issue says "about 17"): tesseract-test/ 8071_093.3B.tif, 8087_054.3B.tif,
    eurotext.tif, phototest.tif; ocrmypdf/ linn.png, typewriter.png; sroie/ 000, 005, 008, 023, 100, 106, 200,
    270, 305 .jpg (all under ../shared/data/real); and tests/data/sample-scan.jpg. (funsd-train/ is not in it.)
  all: both (the quick set's two synthetic pages added to the real set).

1. Per image, each tool as a fresh process under /usr/bin/time -v: wall (min and median), CPU s (user+sys,
   median) and peak RSS (max over runs), for `ocrwatchd detect IMG -o OUT.json` (default settings, plus --extra),
   `tesseract IMG OUTBASE` (5.3) with OMP_THREAD_LIMIT=1 and with its default OpenMP threading, and RapidOCR 3.10
   (`RapidOCR()(path)` in its own venv, given by --rapidocr-python; the column is left out without it). Runs are
   interleaved (run k of every tool on an image, then run k+1) so a slow spell of the machine hits all tools alike.
2. ocrwatchd's stage split per image, from the result JSON's timings (the median-wall run, so the columns add up
   to its wall): the overview pass, detector inference, detector pre/post (preprocess+postprocess+merge),
   recognizer inference (recognize_inference) and the rest of recognize, orientation, marks, and other = process
   wall − those (interpreter start, imports, model load, decode, writing the JSON), plus the session.run share.
3. Daemon throughput (--daemon; on by default for real/all): the real set renamed at once into a fresh inbox of a
   real `ocrwatchd run` (tests/conftest.py's Daemon, default engine but `threads`), from the drop to the last
   result, for 1 worker × 2 threads and 2 workers × 1 thread, with the daemon's peak RSS; beside it Tesseract as a
   pool of 2 processes (OMP_THREAD_LIMIT=1) over the same files. See bench/speed_daemon.py.

RapidOCR's venv: `python3 -m venv /tmp/rapidocr-venv && /tmp/rapidocr-venv/bin/pip install rapidocr==3.10.0
onnxruntime` (or --setup-rapidocr does that where --rapidocr-python does not exist yet).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests"), str(REPO)]

IMAGE_EXTS = {".tif", ".tiff", ".png", ".jpg", ".jpeg"}
# RapidOCR as a user would call it: models loaded in the process, one image read.
RAPIDOCR_SCRIPT = "import sys\nfrom rapidocr import RapidOCR\nengine = RapidOCR()\nengine(sys.argv[1])\n"


def synthetic(cache: Path, shared: Path) -> list[Path]:
    """The synthetic 300-dpi A4 page and 600-dpi dense A4 (seed 7), rendered once into cache."""
    want = [cache / "page-7-0.png", cache / "dense-7-0.png"]
    if not all(p.exists() for p in want):
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(shared / "eval" / "mkscan.py"), str(cache), "--seed", "7",
                        "--kinds", "page,dense"], check=True)
    return want


def real_set(shared: Path) -> list[Path]:
    real = shared / "data" / "real"
    found = [p for d in ("tesseract-test", "ocrmypdf", "sroie") for p in sorted((real / d).iterdir())
             if p.suffix.lower() in IMAGE_EXTS]
    return found + [REPO / "tests" / "data" / "sample-scan.jpg"]


def image_set(name: str, shared: Path, cache: Path) -> list[Path]:
    real = shared / "data" / "real"
    quick = [REPO / "tests" / "data" / "sample-scan.jpg", *synthetic(cache, shared), real / "sroie" / "100.jpg",
             real / "tesseract-test" / "8071_093.3B.tif"] if name in ("quick", "all") else []
    rest = real_set(shared) if name in ("real", "all") else []
    return list(dict.fromkeys(quick + rest))


def timed(cmd: list[str], env: dict[str, str]) -> dict | None:
    """Wall s, CPU s (user+sys) and peak RSS MB of one fresh process; None (and its stderr shown) if it failed."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        print(f"  ! {shlex.join(cmd[:3])} … failed ({p.returncode}): {p.stderr[-600:]}", file=sys.stderr, flush=True)
        return None

    def field(name: str) -> float:
        return float(re.search(rf"{re.escape(name)}: ([\d.]+)", p.stderr).group(1))

    return {"wall": wall, "cpu": field("User time (seconds)") + field("System time (seconds)"),
            "rss": field("Maximum resident set size (kbytes)") / 1024}


def tools(a, tmp: Path) -> dict[str, Callable]:
    """name → (image → (command, environment)). ocrwatchd first: its JSON gives the stage split."""
    base = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT" and not k.startswith("OCRWATCHD_")}
    cli = Path(sys.executable).with_name("ocrwatchd")
    ours = [str(cli)] if cli.exists() else [sys.executable, "-m", "ocrwatchd"]
    out = {
        "ocrwatchd": lambda img: ([*ours, "detect", str(img), "-o", str(tmp / f"{img.stem}.json"), "--overwrite",
                                   *shlex.split(a.extra)], base),
        # what OCRmyPDF sets: OpenMP's default threading is pathological on 2 cores (the eval README's note)
        "tesseract 1 thread": lambda img: (["tesseract", str(img), str(tmp / f"{img.stem}.t1")],
                                           {**base, "OMP_THREAD_LIMIT": "1"}),
        "tesseract default": lambda img: (["tesseract", str(img), str(tmp / f"{img.stem}.t")], base),
    }
    if a.rapidocr_python:
        out["rapidocr"] = lambda img: ([a.rapidocr_python, "-c", RAPIDOCR_SCRIPT, str(img)], base)
    if a.tools:     # e.g. only ocrwatchd, to time another build of it against a table already made
        out = {k: v for k, v in out.items() if k == "ocrwatchd" or k in a.tools.split(",")}
    return out


def rapidocr_python(a) -> tuple[str | None, str]:
    """The RapidOCR interpreter to use (made with --setup-rapidocr if asked), or None and why not."""
    if not a.rapidocr_python:
        return None, "RapidOCR left out: no --rapidocr-python given"
    py = Path(a.rapidocr_python)
    if not py.exists() and a.setup_rapidocr:
        venv = py.parent.parent
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "rapidocr==3.10.0", "onnxruntime"], check=True)
    if not py.exists():
        return None, f"RapidOCR left out: {py} not found (see the docstring to make its venv)"
    p = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('rapidocr'))"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, f"RapidOCR left out: rapidocr not importable with {py}"
    return str(py), f"RapidOCR {p.stdout.strip()} ({py})"


def stage_split(t: dict, wall: float) -> dict:
    """Where one ocrwatchd process's wall time went, from its result timings (missing keys count 0)."""
    g = lambda k: t.get(k, 0.0)  # noqa: E731
    s = {"overview": g("detect_overview"), "det inference": g("detect_inference"),
         "det pre/post": g("detect_preprocess") + g("detect_postprocess") + g("detect_merge"),
         "rec inference": g("recognize_inference"), "rec post": g("recognize") - g("recognize_inference"),
         "orientation": g("orientation"), "marks": g("marks")}
    s["other"] = wall - sum(s.values())
    s["share"] = g("model") / wall
    return s


def per_image(a, images: list[Path], tmp: Path) -> list[dict]:
    run_of = tools(a, tmp)
    rows = []
    for img in images:
        row = {"image": img, "runs": {name: [] for name in run_of}, "timings": [], "model": None}
        for k in range(a.runs):
            for name, make in run_of.items():
                cmd, env = make(img)
                r = timed(cmd, env)
                row["runs"][name].append(r)
                if name == "ocrwatchd" and r is not None:
                    result = json.loads((tmp / f"{img.stem}.json").read_text())
                    row["timings"].append((r["wall"], result["timings"]))
                    row["model"] = result["model"]
                print(f"{img.name} run {k + 1} {name}: "
                      + (f"{r['wall']:.2f} s, CPU {r['cpu']:.2f} s, {r['rss']:.0f} MB" if r else "failed"), flush=True)
        rows.append(row)
    return rows


def summary(runs: list[dict | None]) -> dict | None:
    ok = [r for r in runs if r is not None]
    if not ok:
        return None
    walls = [r["wall"] for r in ok]
    return {"min": min(walls), "med": statistics.median(walls), "cpu": statistics.median(r["cpu"] for r in ok),
            "rss": max(r["rss"] for r in ok), "n": len(ok), "failed": len(runs) - len(ok)}


def megapixels(img: Path) -> float:
    from PIL import Image

    with Image.open(img) as im:
        return im.width * im.height / 1e6


def cell(s: dict | None) -> str:
    if s is None:
        return "failed"
    return f"{s['min']:.2f} / {s['med']:.2f} · {s['cpu']:.2f} · {s['rss']:.0f}" + (
        f" ({s['failed']} failed)" if s["failed"] else "")


def tables(rows: list[dict], names: list[str]) -> list[str]:
    head = ["image", "MP", *names, "ocrwatchd / Tesseract 1 thread (median wall)"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        s = {n: summary(row["runs"][n]) for n in names}
        o, t1 = s["ocrwatchd"], s.get("tesseract 1 thread")
        ratio = f"{o['med'] / t1['med']:.2f}×" if o and t1 else "–"
        out.append(f"| {row['image'].name} | {megapixels(row['image']):.1f} | "
                   + " | ".join(cell(s[n]) for n in names) + f" | {ratio} |")
    out.append("\nEach cell: wall s min / median · CPU s (user+sys, median) · peak RSS MB (max), whole process.\n")
    cols = ["overview", "det inference", "det pre/post", "rec inference", "rec post", "orientation", "marks", "other"]
    out += ["### ocrwatchd: where the time goes (s, the median-wall run)\n",
            "| image | process wall | " + " | ".join(cols) + " | session.run share |", "|" + "---|" * (len(cols) + 3)]
    for row in rows:
        if not row["timings"]:
            out.append(f"| {row['image'].name} | failed |" + " |" * (len(cols) + 1))
            continue
        wall, t = sorted(row["timings"], key=lambda x: x[0])[(len(row["timings"]) - 1) // 2]
        s = stage_split(t, wall)
        out.append(f"| {row['image'].name} | {wall:.2f} | " + " | ".join(f"{s[c]:.2f}" for c in cols)
                   + f" | {100 * s['share']:.0f} % |")
    out.append("\nother = process wall − the stages: interpreter start, imports, model load, open/decode, writing the "
               "JSON. session.run share = `timings.model` (every session.run of the process: overview, detector, "
               "recogniser, orientation classifier, the marks' re-reading) / process wall.\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=("quick", "real", "all"), default="quick")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated substrings of image names to keep (per-image part)")
    ap.add_argument("--rapidocr-python", help="python of a venv with rapidocr 3.10 + onnxruntime")
    ap.add_argument("--setup-rapidocr", action="store_true", help="make that venv if it is missing")
    ap.add_argument("--daemon", action=argparse.BooleanOptionalAction, default=None,
                    help="daemon throughput (default: on for --set real/all)")
    ap.add_argument("--daemon-limit", type=int, default=0, help="only the first N real samples in the daemon part")
    ap.add_argument("--extra", default="", help="more `ocrwatchd detect` arguments")
    ap.add_argument("--tools", default="", help="comma-separated tools besides ocrwatchd to run (default: all)")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ocrwatchd-speed-scans")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    a = ap.parse_args()
    command = shlex.join([sys.executable, *sys.argv])
    a.rapidocr_python, rapid_note = rapidocr_python(a)
    daemon = a.daemon if a.daemon is not None else a.set in ("real", "all")
    images = image_set(a.set, a.shared, a.cache)
    if a.only:
        keep = [s for s in a.only.split(",") if s]
        images = [p for p in images if any(s in p.name for s in keep)]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ocrwatchd-speed-") as tmp:
        rows = per_image(a, images, Path(tmp))
        names = list(tools(a, Path(tmp)))
        thru = None
        if daemon:
            import speed_daemon

            real = real_set(a.shared)[: a.daemon_limit or None]
            thru = speed_daemon.throughput(real, Path(tmp) / "daemon")
    model = next((r["model"] for r in rows if r["model"]), None)
    models = ("detector " + model["name"] + (f", recognizer {model['recognizer']['name']}" if "recognizer" in model
                                             else "") + (f", classifier {model['classifier']['name']}"
                                                         if "classifier" in model else "")) if model else "–"
    tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    lines = ["# Speed: ocrwatchd against Tesseract and RapidOCR\n",
             f"- command: `{command}`",
             f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}; nproc: {os.cpu_count()}; "
             f"load average at start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
             f"- ocrwatchd models: {models}; {tess}; {rapid_note}",
             f"- set: {a.set} ({len(images)} images), {a.runs} interleaved run(s) per tool and image\n"]
    lines += tables(rows, names)
    if thru is not None:
        lines += speed_daemon.table(thru, real)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "speed.md").write_text("\n".join(lines) + "\n")
    raw = {"command": command, "rows": [{**r, "image": str(r["image"])} for r in rows], "daemon": thru}
    (a.out / "speed.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
