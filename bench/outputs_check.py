#!/usr/bin/env python3
"""The searchable PDF (`ocrwatchd detect --pdf`, scan.ocr.pdf) checked over real scans: writes
bench/out/outputs-pdf.md and prints it.

Usage: python bench/outputs_check.py [--shared ../shared] [--out bench/out] [--skip-jpegs]

Inputs: linn.png and typewriter.png (palette PNGs), 8071_093.3B.tif (1-bit G4 TIFF), linn.pdf (JBIG2 page),
ccitt.pdf (CCITT page), a 3-page PDF made here with img2pdf from phototest.tif, eurotext.tif (stored sideways
with /Rotate 90) and 8087_054.3B.tif; then JPEG scans (tests/data/sample-scan.jpg, SROIE receipts 008, 005 and
000, whose Chinese lines check CJK). Each is read once by the pipeline (CPU), then per output:
- F1: word F1 against the ground truth (where there is one, else the result's own text) of `pdftotext` (reading
  order; it joins line-end hyphens "sim-"+"ply,"), of `pdftotext -layout` (keeps them), and of the JSON's lines
- inside: pdftotext -bbox words within their result line box (tests/pdf_checks.py: ±1 px + 10 % of the line
  height); offset: median / 95th percentile distance of a word's box centre from the result word's, in line
  heights (words before a wide gap are stretched towards the next one; skewed lines are drawn level)
- lines: result lines of 2+ words that come out of pdftotext whole
- qpdf: `qpdf --check` clean; looks: the worst page's share of pixels >64 levels outside the input's 3×3 range
  (limit 0.05 %) and of the worst 128-px square (limit 1 %); the same with one visible line of text drawn on
  the page's whitest band (must fail)
- images: pdfimages -list encodings; JPEG inputs: `pdfimages -j` gives back the file's own bytes, size growth
Then: two threads writing PDFs at once (their intervals must overlap), and a 100-page PDF (linn.pdf's page 100
times) written in a fresh process: time and peak RSS beside a 1-page one.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import pdf_checks as pc  # noqa: E402  (tests/ helpers: the same checks the tests make)

from ocrwatchd.outputs.pdf import write_pdf  # noqa: E402


def three_page_pdf(shared: Path, out: Path) -> str:
    """phototest, eurotext turned 90° counter-clockwise with /Rotate 90 (shown upright), 8087; → ground truth."""
    real = shared / "data" / "real" / "tesseract-test"
    pages = []
    for name, turn in (("phototest.tif", False), ("eurotext.tif", True), ("8087_054.3B.tif", False)):
        image = Image.open(real / name)
        if turn:
            dpi = image.info.get("dpi")
            image = image.transpose(Image.Transpose.ROTATE_90)
            buf = io.BytesIO()
            image.save(buf, "TIFF", compression="group4", dpi=dpi)
            pages.append(buf.getvalue())
        else:
            pages.append((real / name).read_bytes())
    with pikepdf.open(io.BytesIO(img2pdf.convert(pages))) as pdf:
        pdf.pages[1].Rotate = 90
        pdf.save(out)
    return "\n".join((real / n).read_text() for n in ("phototest.txt", "eurotext.txt", "8087_054.3B.txt"))


def inputs(shared: Path, tmp: Path, jpegs: bool) -> list[tuple[str, Path, str | None]]:
    real, pdfs = shared / "data" / "real", shared / "data" / "pdf"
    linn = (real / "ocrmypdf" / "linn.gt.txt").read_text()
    rows = [("linn.png", real / "ocrmypdf" / "linn.png", linn),
            ("typewriter.png", real / "ocrmypdf" / "typewriter.png",
             (real / "ocrmypdf" / "typewriter.gt.txt").read_text()),
            ("8071_093.3B.tif", real / "tesseract-test" / "8071_093.3B.tif",
             (real / "tesseract-test" / "8071_093.3B.txt").read_text()),
            ("linn.pdf", pdfs / "linn.pdf", linn),
            ("ccitt.pdf", pdfs / "ccitt.pdf", linn),
            ("3-page.pdf", tmp / "3-page.pdf", three_page_pdf(shared, tmp / "3-page.pdf"))]
    if jpegs:
        rows.append(("sample-scan.jpg", REPO / "tests" / "data" / "sample-scan.jpg", None))
        for n in ("008", "005", "000"):
            gt = json.loads((real / "sroie" / f"{n}.gt.json").read_text())
            rows.append((f"sroie {n}.jpg", real / "sroie" / f"{n}.jpg", "\n".join(l["text"] for l in gt["lines"])))
    return [(name, path, gt.replace("~", "") if gt else gt) for name, path, gt in rows]


def check(shared: Path, name: str, source: Path, gt: str | None, result: dict, tmp: Path) -> dict:
    ev = pc.evalocr(shared)
    t = time.perf_counter()
    data = write_pdf(result, source)
    row = {"input": name, "write_s": time.perf_counter() - t, "pages": len(result["pages"])}
    out = tmp / (name.replace(" ", "_") + ".ocr.pdf")
    out.write_bytes(data)
    reference = gt if gt is not None else " ".join(pc.json_texts(result))
    ocr_only = {**result, "pages": [p for p in result["pages"] if p.get("source") != "pdf-text"]}
    row["f1_json"] = ev.words_f1(reference, pc.json_texts(ocr_only))["word_f1"]
    row["f1_pdf"] = ev.words_f1(reference, [pc.pdftotext(out)])["word_f1"]
    row["f1_layout"] = ev.words_f1(reference, [pc.pdftotext(out, "-layout")])["word_f1"]
    inside, total, bad, offsets = pc.words_in_lines(out, result)
    row.update(inside=inside, words=total, bad=bad[:3],
               offset=(statistics.median(offsets), sorted(offsets)[int(0.95 * (len(offsets) - 1))]))
    row["lines"] = pc.lines_intact(out, result)[:2]
    row["qpdf"] = pc.qpdf_check(out)
    looks = pc.looks_like_input(out, source, result)
    row["looks"] = (pc.looks_same(looks), max(page for page, _ in looks), max(tile for _, tile in looks))
    marked = tmp / "visible.pdf"
    marked.write_bytes(pc.with_visible_line(data, result, pc.reference_page(source, result, 0)))
    looks = pc.looks_like_input(marked, source, result)[:1]
    row["visible"] = (pc.looks_same(looks), looks[0][0], looks[0][1])
    row["tr"] = sorted(pc.text_render_modes(out))
    listing = pc.run("pdfimages", "-list", out).stdout.splitlines()[2:]
    row["images"] = ",".join(sorted({line.split()[8] for line in listing}))
    row["size"] = (source.stat().st_size, len(data))
    if result["source"]["format"] == "jpeg":
        images = tmp / "img"
        pc.run("pdfimages", "-j", out, images)
        row["passthrough"] = Path(f"{images}-000.jpg").read_bytes() == source.read_bytes()
    if result["source"]["format"] == "pdf":
        row["untouched"] = untouched(source, out, result)
    cjk = [w["text"] for p in result["pages"] for l in p["lines"] for w in l.get("words", [])
           if any(ord(c) >= 0x2E80 for c in w["text"])]
    if cjk:
        text = pc.pdftotext(out)
        row["cjk"] = (sum(w in text for w in cjk), len(cjk))
    return row


def untouched(source: Path, out: Path, result: dict) -> bool:
    """Every page's old content, byte for byte, opens its new content; its XObjects are the same bytes;
    pdf-text pages are unchanged."""
    with pikepdf.open(source) as before, pikepdf.open(out) as after:
        for page, old, new in zip(result["pages"], before.pages, after.pages):
            old_content = b"".join(c.read_bytes() for c in _streams(old.obj.get("/Contents")))
            new_content = b"".join(c.read_bytes() for c in _streams(new.obj.get("/Contents")))
            if page.get("source") == "pdf-text" or not page["lines"]:
                if old_content != new_content:
                    return False
            elif not new_content.startswith(b"q\n" + old_content):
                return False
            xobjects = old.obj.get("/Resources", {}).get("/XObject", {})
            for key, value in xobjects.items():
                if new.obj.Resources.XObject[key].read_raw_bytes() != value.read_raw_bytes():
                    return False
    return True


def _streams(contents) -> list:
    if contents is None:
        return []
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


def concurrency(jobs: list[tuple[Path, dict]]) -> dict:
    """Both writes alone, then at the same time from two threads (released together)."""
    serial = []
    for source, result in jobs:
        t = time.perf_counter()
        write_pdf(result, source)
        serial.append(time.perf_counter() - t)
    barrier, spans = threading.Barrier(2), [None, None]

    def work(i):
        barrier.wait()
        t0 = time.perf_counter()
        write_pdf(jobs[i][1], jobs[i][0])
        spans[i] = (t0, time.perf_counter())

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    overlap = min(e for _, e in spans) - max(s for s, _ in spans)
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return {"serial": serial, "spans": [e - s for s, e in spans], "overlap": overlap, "wall": wall}


PAGES = r"""
import json, sys, time, pikepdf
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ocrwatchd.outputs.pdf import write_pdf
n, src, res, tmp = int(sys.argv[2]), Path(sys.argv[3]), json.loads(Path(sys.argv[4]).read_text()), Path(sys.argv[5])
with pikepdf.open(src) as one, pikepdf.new() as pdf:
    for _ in range(n):
        pdf.pages.append(one.pages[0])
    pdf.save(tmp / f"{n}.pdf")
result = {**res, "pages": [{**res["pages"][0], "page": i + 1} for i in range(n)]}
t = time.perf_counter()
size = len(write_pdf(result, tmp / f"{n}.pdf"))
# VmHWM, not ru_maxrss: that one keeps the forking parent's size across exec
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"s": time.perf_counter() - t, "bytes": size, "in": (tmp / f"{n}.pdf").stat().st_size,
                  "rss_mb": hwm / 1024}))
"""


def many_pages(source: Path, result: dict, tmp: Path) -> dict:
    (tmp / "linn.json").write_text(json.dumps(result))
    out = {}
    for n in (1, 100):
        run = subprocess.run([sys.executable, "-c", PAGES, str(REPO), str(n), str(source), str(tmp / "linn.json"),
                              str(tmp)], capture_output=True, text=True, check=True)
        out[n] = json.loads(run.stdout.splitlines()[-1])
    return out


def _looks(looks: tuple[bool, float, float]) -> str:
    return f"{'pass' if looks[0] else 'FAIL'} {looks[1]:.3%} / {looks[2]:.1%}"


def table(rows: list[dict], conc: dict, pages: dict) -> str:
    ok = "yes"
    lines = ["# Searchable PDF checks (bench/outputs_check.py)", "",
             "| input | pages | F1 pdftotext / -layout / JSON | words inside line | centre offset med / p95 "
             "| lines whole | qpdf | looks: page / worst square | one visible line | Tr | images | size in → out "
             "| write s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        extra = []
        if "passthrough" in r:
            extra.append("JPEG bytes " + ("identical" if r["passthrough"] else "DIFFER"))
        if "untouched" in r:
            extra.append("page content " + ("untouched" if r["untouched"] else "CHANGED"))
        if "cjk" in r:
            extra.append(f"CJK words {r['cjk'][0]}/{r['cjk'][1]}")
        size_in, size_out = r["size"]
        lines.append(
            f"| {r['input']} | {r['pages']} | {r['f1_pdf']:.4f} / {r['f1_layout']:.4f} / {r['f1_json']:.4f} "
            f"| {r['inside']}/{r['words']} ({r['inside'] / max(1, r['words']):.1%}) "
            f"| {r['offset'][0]:.2f} / {r['offset'][1]:.2f} | {r['lines'][0]}/{r['lines'][1]} "
            f"| {ok if r['qpdf'][0] else r['qpdf'][1]} | {_looks(r['looks'])} | {_looks(r['visible'])} "
            f"| {','.join(map(str, r['tr']))} | {r['images']}{'; ' + '; '.join(extra) if extra else ''} "
            f"| {size_in / 1e3:.1f} kB → {size_out / 1e3:.1f} kB ({size_out / size_in - 1:+.1%}) "
            f"| {r['write_s']:.2f} |")
    lines += ["", f"Two threads at once (linn.pdf, linn.png): alone {conc['serial'][0]:.2f} s + "
              f"{conc['serial'][1]:.2f} s; together {conc['spans'][0]:.2f} s and {conc['spans'][1]:.2f} s, "
              f"overlapping {conc['overlap']:.2f} s, {conc['wall']:.2f} s wall (2 cores shared with other work).",
              "", f"linn.pdf's page 1 vs 100 times, fresh process each: "
              f"{pages[1]['s']:.2f} s / {pages[100]['s']:.1f} s, "
              f"{pages[1]['in'] / 1e3:.0f} kB → {pages[1]['bytes'] / 1e3:.0f} kB / "
              f"{pages[100]['in'] / 1e6:.2f} MB → {pages[100]['bytes'] / 1e6:.2f} MB, "
              f"peak RSS {pages[1]['rss_mb']:.0f} MB / {pages[100]['rss_mb']:.0f} MB."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--skip-jpegs", action="store_true", help="only the six main inputs")
    args = ap.parse_args()
    import tempfile

    from ocrwatchd.pipeline import Engine, EngineSettings, process

    engine = Engine(EngineSettings(device="cpu"))
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        items = inputs(args.shared, tmp, not args.skip_jpegs)
        for name, source, gt in items:
            t = time.perf_counter()
            results[name] = process(source, engine).result
            print(f"{name}: pipeline {time.perf_counter() - t:.1f} s", file=sys.stderr)
            rows.append(check(args.shared, name, source, gt, results[name], tmp))
        sources = {name: source for name, source, _ in items}
        conc = concurrency([(sources["linn.pdf"], results["linn.pdf"]), (sources["linn.png"], results["linn.png"])])
        pages = many_pages(sources["linn.pdf"], results["linn.pdf"], tmp)
    report = table(rows, conc, pages)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "outputs-pdf.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
