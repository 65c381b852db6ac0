#!/usr/bin/env python3
"""OCRmyPDF with ocrwatchd's plugin against OCRmyPDF with Tesseract: wall time per page and, where there is a
transcription, word F1 of the output's text layer (pdftotext).

Usage: python bench/ocrmypdf_plugin.py [--shared ../shared] [--jobs 2] [--out bench/out]

Runs `python -m ocrmypdf --output-type pdf --jobs N IN OUT` once per engine and file (linn.pdf; multipage.pdf
with --redo-ocr, since one of its pages already has a text layer), from the checkout root so the plugin comes from
this tree, and writes bench/out/ocrmypdf_plugin.md. The Tesseract runs need the tesseract binary; the plugin's do
not. Each run is measured once: on a shared machine, note the load average printed beside it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(engine: str, pdf: Path, out: Path, jobs: int, extra: list[str]) -> float:
    plugin = ["--plugin", "ocrwatchd.ocrmypdf_plugin"] if engine == "ocrwatchd" else []
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ocrmypdf", *plugin, "--output-type", "pdf", "--jobs", str(jobs), "-q",
                    *extra, str(pdf), str(out)], cwd=REPO, check=True)
    return time.perf_counter() - t0


def pages(pdf: Path) -> int:
    import pikepdf

    with pikepdf.open(pdf) as p:
        return len(p.pages)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "bench/out")
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "eval"))
    from evalocr import words_f1

    data = a.shared / "data"
    files = [(data / "pdf/linn.pdf", [], [("hand-checked", data / "real/ocrmypdf/linn.gt.txt"),
                                          ("Tesseract's linn.txt", data / "pdf/linn.txt")]),
             (data / "pdf/multipage.pdf", ["--redo-ocr"], [])]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pdf, extra, truths in files:
            for engine in ("tesseract", "ocrwatchd"):
                out = Path(tmp) / f"{engine}-{pdf.name}"
                load = os.getloadavg()[0]
                wall = run(engine, pdf, out, a.jobs, extra)
                text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                                      check=True).stdout
                f1 = ", ".join(f"{words_f1(t.read_text(), [text])['word_f1']:.4f} ({name})" for name, t in truths)
                n = pages(out)
                rows.append(f"| {pdf.name} | {engine} | {n} | {wall:.1f} | {wall / n:.1f} | {load:.1f} | {f1 or '—'} |")
                print(rows[-1], flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    head = [f"`ocrmypdf --output-type pdf --jobs {a.jobs}` (multipage.pdf: `--redo-ocr`), one run each, "
            f"{os.cpu_count()} CPUs", "",
            "| file | engine | pages | wall s | s/page | load avg at start | word F1 of pdftotext |",
            "|---|---|---|---|---|---|---|"]
    (a.out / "ocrmypdf_plugin.md").write_text("\n".join(head + rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
