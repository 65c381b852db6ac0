"""Checks of a searchable PDF against its result and its source, with outside tools (poppler, qpdf): shared by
tests/test_output_pdf.py and bench/outputs_check.py.

- text: pdftotext's words scored against the ground truth, beside the result JSON's own text (same scorer)
- lines: each result line comes out of pdftotext whole (reading order: not scattered over "columns")
- boxes: pdftotext -bbox word boxes, converted to result pixels, lie in the result line whose text has the word
- qpdf --check finds nothing
- looks: pdftoppm renders each page like the input page, pixel for pixel at the input's size: a pixel fails if
  it is darker or lighter by more than 64 levels than everything in the input's 3×3 neighbourhood (resampling
  and decoder rounding pass, a visible letter does not); at most 0.05 % of a page's pixels and 1 % of any
  128-px square may fail
"""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

LEVELS = 64             # how much darker/lighter than the neighbourhood a pixel may get
MAX_CHANGED = 0.0005    # at most 0.05 % of a page's pixels,
TILE, MAX_TILE_CHANGED = 128, 0.01   # and 1 % of any 128-px square: one line of small text on a big page is
                                     # under 0.05 % of it (8071: 0.04 %), but several % of the squares it crosses


def evalocr(shared: Path):
    sys.path.insert(0, str(shared / "eval"))
    import evalocr
    return evalocr


def run(*cmd: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300)


def pdftotext(pdf: Path, *args: str) -> str:
    out = run("pdftotext", *args, pdf, "-")
    assert out.returncode == 0, out.stderr
    return out.stdout


def json_texts(result: dict) -> list[str]:
    return [line["text"] for page in result["pages"] for line in page["lines"] if line.get("text")]


def text_f1(shared: Path, reference: str, pdf: Path, result: dict, *args: str) -> tuple[float, float]:
    """(word F1 of pdftotext's text, word F1 of the result's own lines) against `reference`. With "-layout"
    pdftotext keeps line-end hyphens ("sim-" / "ply,"), as the ground truth and the result do; by default it
    joins them ("simply,")."""
    ev = evalocr(shared)
    return (ev.words_f1(reference, [pdftotext(pdf, *args)])["word_f1"],
            ev.words_f1(reference, json_texts(result))["word_f1"])


def lines_intact(pdf: Path, result: dict) -> tuple[int, int, list[str]]:
    """(lines found, lines, the missing ones): each result line of two words or more must come out of
    pdftotext (reading order) whole, its words in order, not scattered over columns. A line-end hyphenated word
    is left out of its line (pdftotext joins it with the next line's first word)."""
    def flat(text: str) -> str:
        return " ".join(text.split())

    extracted = flat(pdftotext(pdf))
    found, total, missing = 0, 0, []
    for page in result["pages"]:
        if page.get("source") == "pdf-text":
            continue
        for line in page["lines"]:
            words = line.get("text", "").split()
            if words and words[-1].endswith("-"):
                words = words[:-1]
            if len(words) < 2:
                continue
            total += 1
            if flat(" ".join(words)) in extracted:
                found += 1
            else:
                missing.append(line["text"])
    return found, total, missing


def bbox_pages(pdf: Path) -> list[tuple[float, float, list[tuple[float, float, float, float, str]]]]:
    """Per page: (width_pt, height_pt, words as (x0, y0, x1, y1, text) in points, top-left origin)."""
    root = ET.fromstring(pdftotext(pdf, "-bbox", "-cropbox"))
    pages = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        words = [(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")), float(w.get("yMax")),
                  w.text or "") for w in page.iter("{http://www.w3.org/1999/xhtml}word")]
        pages.append((float(page.get("width")), float(page.get("height")), words))
    return pages


def _has(line_text: str, word: str) -> bool:
    """Whether pdftotext's word is (part of) the line: Chinese and Japanese words carry no spaces between them,
    so pdftotext joins them into one."""
    if any(ord(c) >= 0x2E80 for c in word):
        return word in line_text.replace(" ", "")
    return word in line_text


def words_in_lines(pdf: Path, result: dict) -> tuple[int, int, list, list[float]]:
    """(words inside their line, words, the misplaced ones, offsets): each pdftotext word, scaled to result
    pixels, must lie within a result line box that contains the word's text, give or take 1 px and a tenth of
    the line's height (glyph boxes come from font metrics, not ink). offsets: for each word inside, how far its
    centre is from the centre of the nearest result word of that text in the line, in line heights."""
    inside, total, bad, offsets = 0, 0, [], []
    for (w_pt, h_pt, words), page in zip(bbox_pages(pdf), result["pages"]):
        if page.get("source") == "pdf-text":
            continue
        if rotation(pdf, page["page"]) in (90, 270):   # -bbox gives the page's size unturned, words turned
            w_pt, h_pt = h_pt, w_pt
        sx, sy = page["width"] / w_pt, page["height"] / h_pt
        if "dpi" in page:    # PDF pages: pixels are points × dpi / 72 (the pixel size is rounded up)
            sx = sy = page["dpi"] / 72
        for x0, y0, x1, y1, text in words:
            total += 1
            px = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
            for line in page["lines"]:
                lx0, ly0, lx1, ly1 = line["box"]
                height = min(lx1 - lx0, ly1 - ly0)
                tol = 1 + 0.1 * height
                if (_has(line.get("text", ""), text) and px[0] >= lx0 - tol and px[1] >= ly0 - tol
                        and px[2] <= lx1 + tol and px[3] <= ly1 + tol):
                    inside += 1
                    same = [w["box"] for w in line.get("words", []) if w["text"] == text]
                    if same:
                        cx, cy = (px[0] + px[2]) / 2, (px[1] + px[3]) / 2
                        offsets.append(min(((b[0] + b[2]) / 2 - cx) ** 2 + ((b[1] + b[3]) / 2 - cy) ** 2
                                           for b in same) ** 0.5 / height)
                    break
            else:
                bad.append((page["page"], text, [round(v) for v in px]))
    return inside, total, bad, offsets


def qpdf_check(pdf: Path) -> tuple[bool, str]:
    out = run("qpdf", "--check", pdf)
    return (out.returncode == 0 and "No syntax or stream encoding errors found" in out.stdout,
            (out.stdout + out.stderr).strip().splitlines()[-1])


def rotation(pdf: Path, page: int) -> int:
    """/Rotate of page `page` (1-based), inherited or not, as pdfinfo reports it."""
    out = run("pdfinfo", "-f", str(page), "-l", str(page), pdf)
    line = next(line for line in out.stdout.splitlines() if line.startswith(f"Page {page:>4} rot:"))
    return int(line.split(":")[1]) % 360


def render(pdf: Path, page: int, width: int, height: int) -> np.ndarray:
    """Page `page` (1-based), as displayed, as gray pixels at exactly width × height (pdftoppm)."""
    if rotation(pdf, page) in (90, 270):      # pdftoppm scales the page before turning it
        width, height = height, width
    with tempfile.TemporaryDirectory() as tmp:
        out = run("pdftoppm", "-f", str(page), "-l", str(page), "-gray", "-singlefile", "-scale-to-x", str(width),
                  "-scale-to-y", str(height), pdf, Path(tmp, "p"))
        assert out.returncode == 0, out.stderr
        return np.array(Image.open(Path(tmp, "p.pgm")))


def image_page(source: Path, index: int) -> np.ndarray:
    """An image file's page as gray pixels, upright (EXIF), transparency on white: what the page should show."""
    with Image.open(source) as image:
        image.seek(index)
        frame = ImageOps.exif_transpose(image)
        if frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info:
            frame = frame.convert("RGBA")
            paper = Image.new("RGBA", frame.size, "white")
            frame = Image.alpha_composite(paper, frame)
        return np.array(frame.convert("L"))


def reference_page(source: Path, result: dict, index: int) -> np.ndarray:
    page = result["pages"][index]
    if result["source"]["format"] == "pdf":
        return render(source, index + 1, page["width"], page["height"])
    return image_page(source, index)


def changed_fraction(reference: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    """(share of the page's pixels, worst share in a TILE × TILE square) darker than the darkest, or lighter
    than the lightest, of the reference's 3×3 neighbourhood by more than LEVELS."""
    assert reference.shape == got.shape, (reference.shape, got.shape)
    kernel = np.ones((3, 3), np.uint8)
    low = cv2.erode(reference, kernel).astype(np.int16)
    high = cv2.dilate(reference, kernel).astype(np.int16)
    g = got.astype(np.int16)
    changed = ((g < low - LEVELS) | (g > high + LEVELS)).astype(np.float32)
    h, w = changed.shape
    tiles = cv2.resize(changed[:h - h % TILE or h, :w - w % TILE or w],
                       (max(1, w // TILE), max(1, h // TILE)), interpolation=cv2.INTER_AREA)
    return float(changed.mean()), float(tiles.max())


def looks_same(fractions: list[tuple[float, float]]) -> bool:
    return all(page <= MAX_CHANGED and tile <= MAX_TILE_CHANGED for page, tile in fractions)


def looks_like_input(out_pdf: Path, source: Path, result: dict) -> list[tuple[float, float]]:
    """changed_fraction per page of the output against the input."""
    fractions = []
    for index, page in enumerate(result["pages"]):
        ref = reference_page(source, result, index)
        fractions.append(changed_fraction(ref, render(out_pdf, index + 1, ref.shape[1], ref.shape[0])))
    return fractions


def with_visible_line(pdf_bytes: bytes, result: dict, reference: np.ndarray, index: int = 0) -> bytes:
    """The PDF with page `index`'s longest line also drawn in visible text where the input page (reference,
    its gray pixels) is whitest for the line's size (drawn over its own ink it would only thicken the
    letters): what a visible text layer looks like. The looks check must catch it."""
    import pikepdf
    from ocrmypdf.font import MultiFontManager
    from ocrmypdf.fpdf_renderer import Fpdf2PdfRenderer

    from ocrwatchd.outputs.ocr_tree import page_tree

    page = result["pages"][index]
    longest = max((line for line in page["lines"] if line.get("text")), key=lambda line: len(line["text"]))
    x0, y0, x1, y1 = (int(round(v)) for v in longest["box"])
    height = max(1, y1 - y0)
    rows = reference[:, max(0, x0):max(x0 + 1, x1)].astype(np.float64).mean(axis=1)
    sums = np.concatenate([[0.0], np.cumsum(rows)])
    windows = (sums[height:] - sums[:-height]) / height          # mean of each band of the line's height
    shift = float(np.argmax(windows)) - y0
    moved = {**longest, "polygon": [[x, y + shift] for x, y in longest["polygon"]],
             "box": [v + shift * (i % 2) for i, v in enumerate(longest["box"])],
             "words": [{**w, "polygon": [[x, y + shift] for x, y in w["polygon"]],
                        "box": [v + shift * (i % 2) for i, v in enumerate(w["box"])]} for w in longest["words"]]}
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf, tempfile.TemporaryDirectory() as tmp:
        target = pdf.pages[index]
        box = target.cropbox
        w_pt, h_pt = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
        dpi = page.get("dpi") or page["width"] * 72 / w_pt
        tree = page_tree(page | {"lines": [moved]}, dpi, size=(w_pt * dpi / 72, h_pt * dpi / 72))
        Fpdf2PdfRenderer(page=tree, dpi=dpi, multi_font_manager=MultiFontManager(),
                         invisible_text=False).render(Path(tmp, "v.pdf"))
        with pikepdf.open(Path(tmp, "v.pdf")) as visible:
            target.add_overlay(pdf.copy_foreign(visible.pages[0].as_form_xobject()))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def text_render_modes(pdf: Path) -> set[int]:
    """Every text rendering mode (Tr) set anywhere in the PDF's content, pages and form XObjects: an
    invisible text layer uses 3 only."""
    import pikepdf

    modes = set()
    with pikepdf.open(pdf) as doc:
        for obj in doc.objects:
            is_content = isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Form"
            if is_content:
                modes.update(int(operands[0]) for operands, op in pikepdf.parse_content_stream(obj)
                             if str(op) == "Tr")
        for page in doc.pages:
            modes.update(int(operands[0]) for operands, op in pikepdf.parse_content_stream(page)
                         if str(op) == "Tr")
    return modes
