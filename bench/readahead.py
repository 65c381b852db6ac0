#!/usr/bin/env python3
"""Read-ahead (documents/readahead.py) on multi-page documents: wall with it on and off, interleaved.

In one process per model-thread count, with the engine loaded once, each document is read with read_ahead off and
on in turn (ABAB…), `--runs` times; the table gives the median wall of each, the pages' render/decode seconds
(work, wherever it ran) and, with read-ahead, how much of it the pipeline still waited for (`page_wait`).
With model threads = cores the models keep every core busy and the helper only takes turns with them; with fewer
threads than cores (1 on this 2-core machine) the spare core is what a CUDA host leaves idle while the GPU reads.

Documents: ../shared/data/pdf/multipage.pdf (6 pages, vector and images) and a scanned PDF made here with img2pdf
from the UNLV pages and the OCRmyPDF scans (one 300-dpi image per page, as a scanner writes it).

Usage: .venv/bin/python bench/readahead.py [--runs 3] [--threads 1,2] [--out bench/out/readahead.md]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def scanned_pdf(shared: Path, out: Path) -> Path:
    """The real sample scans as one scanned PDF, one page each, at their own resolution (img2pdf: no re-encoding
    of what it can embed; the TIFFs become lossless PNG-in-PDF)."""
    import img2pdf
    from PIL import Image

    pages = []
    for name in ("tesseract-test/8071_093.3B.tif", "tesseract-test/8087_054.3B.tif", "ocrmypdf/linn.png",
                 "ocrmypdf/typewriter.png", "tesseract-test/phototest.tif"):
        im = Image.open(shared / "data" / "real" / name)
        buf = io.BytesIO()
        im.convert("L").save(buf, "PNG", dpi=im.info.get("dpi", (300, 300)))
        pages.append(buf.getvalue())
    out.write_bytes(img2pdf.convert(pages))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "readahead.md")
    a = ap.parse_args()
    from ocrwatchd.pipeline.engine import Engine, EngineSettings
    from ocrwatchd.pipeline.run import process

    tmp = Path(tempfile.mkdtemp(prefix="ocrwatchd-readahead-"))
    docs = [a.shared / "data" / "pdf" / "multipage.pdf", scanned_pdf(a.shared, tmp / "scans-5.pdf")]
    rows = ["| document | pages | model threads | wall off | wall on | saved | render/decode | page_wait on |",
            "|---|---|---|---|---|---|---|---|"]
    for threads in (int(t) for t in a.threads.split(",")):
        engines = {on: Engine(EngineSettings(threads=threads, read_ahead=on)) for on in (False, True)}
        for doc in docs:
            walls: dict[bool, list[float]] = {False: [], True: []}
            render, waited, pages = [], [], 0
            for _ in range(a.runs):
                for on in (False, True):
                    t = time.perf_counter()
                    result = process(doc, engines[on]).result
                    walls[on].append(time.perf_counter() - t)
                    timings, pages = result["timings"], len(result["pages"])
                    render.append(timings.get("render", 0.0) + timings.get("decode", 0.0))
                    if on:
                        waited.append(timings.get("page_wait", 0.0))
            off, on = statistics.median(walls[False]), statistics.median(walls[True])
            rows.append(f"| {doc.name} | {pages} | {threads} | {off:.2f} | {on:.2f} | {off - on:+.2f} "
                        f"({(off - on) / off:+.1%}) | {statistics.median(render):.2f} | "
                        f"{statistics.median(waited):.2f} |")
            print(rows[-1], flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(rows) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
