#!/usr/bin/env python3
"""The text formats (txt, hOCR, ALTO) of real results through their outside checkers; writes bench/out/outputs-text.md.

Usage: python bench/outputs_text_check.py [--shared ../shared] [--out bench/out] [--only NAME,...]

Reads linn.png, typewriter.png, 8071_093.3B.tif, linn.pdf, ccitt.pdf, a 3-page PDF built here from real scans
(phototest.tif, eurotext.tif, SROIE 100.jpg; gray JPEG pages at 300 dpi), SROIE 000.jpg, and a synthetic page
turned 90/180/270° and skewed 4°, each once with the CPU engine (`ocrwatchd detect` in-process), then:
- hOCR: `hocr-spec FILE.hocr` (every check on) and OCRmyPDF's reader: each page in its own file through
  `python -m ocrmypdf.hocrtransform -i white.png PAGE.hocr PAGE.pdf`, then `pdftotext PAGE.pdf -`; the words
  read back are compared with the result's words as multisets (same = in both);
- ALTO: lxml XMLSchema(alto-4-4.xsd).validate, and the String contents against the result's words;
- txt: one form-feed separated part per page, each the page's text.
The written files stay in OUT/outputs-text/.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import text_image  # noqa: E402
from outputs_check import alto_errors, hocr_readbacks, hocr_spec, result_words  # noqa: E402

from ocrwatchd.outputs.alto import write_alto  # noqa: E402
from ocrwatchd.outputs.hocr import write_hocr  # noqa: E402
from ocrwatchd.outputs.text import write_txt  # noqa: E402

A = "{http://www.loc.gov/standards/alto/ns-v4#}"


def inputs(shared: Path, work: Path) -> dict[str, Path]:
    real, pdf = shared / "data" / "real", shared / "data" / "pdf"
    three = work / "3page.pdf"
    pages = [Image.open(real / p).convert("L") for p in
             ("tesseract-test/phototest.tif", "tesseract-test/eurotext.tif", "sroie/100.jpg")]
    pages[0].save(three, "PDF", resolution=300, save_all=True, append_images=pages[1:])
    base = text_image(1200, 500, [(40, 100, "Quarterly report for the north office", 1.3),
                                  (40, 170, "Revenue grew by twelve percent", 1.3),
                                  (40, 240, "Costs stayed flat across all regions", 1.3),
                                  (40, 380, "Signed by the finance team", 1.0)])
    synthetic = {"synthetic-turned-90": np.rot90(base, 1), "synthetic-turned-180": np.rot90(base, 2),
                 "synthetic-turned-270": np.rot90(base, 3),
                 "synthetic-skewed-4": cv2.warpAffine(base, cv2.getRotationMatrix2D((600, 250), 4, 1.0), (1200, 500),
                                                      borderValue=255)}
    out = {"linn.png": real / "ocrmypdf" / "linn.png", "typewriter.png": real / "ocrmypdf" / "typewriter.png",
           "8071_093.3B.tif": real / "tesseract-test" / "8071_093.3B.tif", "linn.pdf": pdf / "linn.pdf",
           "ccitt.pdf": pdf / "ccitt.pdf", "3page.pdf": three, "sroie-000.jpg": real / "sroie" / "000.jpg"}
    for name, img in synthetic.items():
        cv2.imwrite(str(work / f"{name}.png"), np.ascontiguousarray(img))
        out[f"{name}.png"] = work / f"{name}.png"
    return out


def check(name: str, result: dict, source: Path, out: Path, shared: Path) -> dict:
    stem = out / name
    hocr, alto, txt = write_hocr(result, source), write_alto(result, source), write_txt(result, source)
    Path(f"{stem}.hocr").write_bytes(hocr)
    Path(f"{stem}.alto.xml").write_bytes(alto)
    Path(f"{stem}.txt").write_bytes(txt)
    rc, verdict = hocr_spec(Path(f"{stem}.hocr"))
    errors = alto_errors(alto, shared)
    doc = ET.fromstring(alto)
    strings = [s.get("CONTENT") for s in doc.iter(f"{A}String")]
    words = [w["text"] for p in result["pages"] for ln in p["lines"] if ln.get("text") for w in ln["words"]]
    parts = txt.decode("utf-8")[:-1].split("\f")
    return {"pages": len(result["pages"]), "lines": sum(len(p["lines"]) for p in result["pages"]),
            "words": len(words), "hocr_rc": rc, "verdict": verdict.replace(str(out) + "/", ""),
            "alto": "valid" if not errors else f"INVALID: {errors[0]}", "strings_match": strings == words,
            "blocks": len(list(doc.iter(f"{A}TextBlock"))),
            "txt_ok": parts == [p.get("text", "") for p in result["pages"]],
            "turns": sorted({p.get("orientation", 0) for p in result["pages"]})}


def dehyphenated(missing, extra) -> int:
    """How many of the extra words are pdftotext joining a line-final "sim-" with the next line's "ply," (it
    does that by default); such a pair is the text layer read right, not a loss."""
    missing, extra, joined = missing.copy(), extra.copy(), 0
    for head in [w for w in missing if w.endswith("-") and len(w) > 1]:
        for tail in list(missing):
            while missing[head] and missing[tail] and extra[head[:-1] + tail]:
                missing[head] -= 1
                missing[tail] -= 1
                extra[head[:-1] + tail] -= 1
                joined += 1
    return joined


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--only", default="", help="comma-separated input names")
    args = ap.parse_args()
    from ocrwatchd.pipeline import Engine, EngineSettings, process

    files = args.out / "outputs-text"
    files.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="outputs-text-"))
    engine = Engine(EngineSettings(device="cpu"))
    rows, hocrs, results = {}, {}, {}
    for name, path in inputs(args.shared, work).items():
        if args.only and name not in args.only.split(","):
            continue
        t = time.perf_counter()
        result = process(path, engine).result
        seconds = time.perf_counter() - t
        rows[name] = {**check(name, result, path, files, args.shared), "seconds": seconds}
        hocrs[name], results[name] = write_hocr(result, path), result
        print(name, rows[name], flush=True)
    back = hocr_readbacks(hocrs, work / "readback")
    lines = ["# Text formats through their checkers (bench/outputs_text_check.py)", "",
             "hOCR: `hocr-spec FILE.hocr` (no checks skipped); read back: each page through "
             "`python -m ocrmypdf.hocrtransform -i white.png PAGE.hocr PAGE.pdf` (OCRmyPDF 17.13), "
             "`pdftotext PAGE.pdf -`, words compared with the result's words as multisets (NFKC). "
             "ALTO: lxml `XMLSchema(alto-4-4.xsd).validate`; Strings = the result's words in order. "
             "txt: one form-feed part per page, each the page's text. "
             "Blocks: ALTO TextBlocks (= hOCR ocr_carea).", "",
             "| input | pages | turns | lines | words | hocr-spec | read back: same / words (read) "
             "| missing → extra | ALTO XSD | ALTO Strings = words | blocks | txt parts | detect s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        want, got = result_words(results[name]), back[name]
        same = sum((want & got).values())
        diff = f"{dict(want - got)} → {dict(got - want)}" if want != got else "—"
        if want != got:
            diff += f" ({dehyphenated(want - got, got - want)} of them pdftotext joining a hyphenated word)"
        lines.append(f"| {name} | {row['pages']} | {row['turns']} | {row['lines']} | {row['words']} | "
                     f"rc {row['hocr_rc']}: `{row['verdict']}` | {same} / {sum(want.values())} "
                     f"({sum(got.values())}) | {diff} | {row['alto']} | {row['strings_match']} | {row['blocks']} | "
                     f"{'ok' if row['txt_ok'] else 'WRONG'} | {row['seconds']:.1f} |")
    report = args.out / "outputs-text.md"
    report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("->", report)


if __name__ == "__main__":
    main()
