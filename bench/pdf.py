#!/usr/bin/env python3
"""Scanned PDFs of 1, 10 and 100 pages: pages per minute and peak RSS of `ocrwatchd detect`, beside OCRmyPDF.

Usage: python bench/pdf.py [--pages 1,10,100] [--shared ../shared] [--ocrmypdf PATH] [--extra "--pdf {out}.pdf"]
                           [--out bench/out]

Builds each PDF from the real scans in ../shared/data/real (the UNLV pages, linn, typewriter, eurotext,
phototest and the SROIE receipts, cycled; gray JPEG pages at 300 dpi, as a copier writes them), then runs
`ocrwatchd detect FILE.pdf -o OUT.json` and, where given, `ocrmypdf --output-type pdf --jobs 2 FILE.pdf OUT.pdf`
(Tesseract) in fresh processes under /usr/bin/time -v, one after the other on the same machine. Peak RSS must
stay flat as the page count grows: pages are rendered and read one at a time. Writes bench/out/pdf.md.
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def scans(shared: Path) -> list[Path]:
    real = shared / "data" / "real"
    return [real / "tesseract-test" / "8071_093.3B.tif", real / "ocrmypdf" / "linn.png",
            real / "tesseract-test" / "8087_054.3B.tif", real / "ocrmypdf" / "typewriter.png",
            real / "tesseract-test" / "eurotext.tif", real / "tesseract-test" / "phototest.tif",
            *sorted((real / "sroie").glob("*.jpg"))]


def build(path: Path, pages: int, sources: list[Path]) -> None:
    """A scanned PDF: gray JPEG pages at 300 dpi (Pillow writes each image as one page, DCT-compressed)."""
    images = [Image.open(sources[i % len(sources)]).convert("L") for i in range(min(pages, len(sources)))]
    seq = [images[i % len(images)] for i in range(pages)]
    seq[0].save(path, "PDF", resolution=300, save_all=True, append_images=seq[1:], quality=85)


def timed(cmd: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-800:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default="1,10,100")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--ocrmypdf", help="the ocrmypdf command (Tesseract on PATH); the peer column is left out without it")
    ap.add_argument("--extra", default="", help="more `ocrwatchd detect` arguments; {out} is the output stem")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(v) for v in a.pages.split(",")):
            pdf = Path(tmp) / f"scan-{n}.pdf"
            build(pdf, n, scans(a.shared))
            stem = Path(tmp) / f"out-{n}"
            extra = shlex.split(a.extra.replace("{out}", str(stem)))
            ours = timed([sys.executable, "-m", "ocrwatchd", "detect", "--device", "cpu", str(pdf), "-o",
                          f"{stem}.json", "--overwrite", *extra])
            peer = timed([*shlex.split(a.ocrmypdf), "--output-type", "pdf", "--jobs", "2", "--force-ocr",
                          str(pdf), f"{stem}.peer.pdf"]) if a.ocrmypdf else None
            rows.append((n, ours, peer))
            print(rows[-1], flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    lines = ["| pages | ocrwatchd pages/min | ocrwatchd peak RSS MB | OCRmyPDF (Tesseract, --jobs 2) pages/min | "
             "OCRmyPDF peak RSS MB |", "|---|---|---|---|---|"]
    for n, (wall, rss), peer in rows:
        theirs = f"{60 * n / peer[0]:.1f} | {peer[1]:.0f}" if peer else "– | –"
        lines.append(f"| {n} | {60 * n / wall:.1f} | {rss:.0f} | {theirs} |")
    lines.append(f"\n`ocrwatchd detect {a.extra or '(JSON only)'}`; wall time of the whole process, models loaded "
                 "once per document. OCRmyPDF's RSS is its main process (its workers are child processes).")
    (a.out / "pdf.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
