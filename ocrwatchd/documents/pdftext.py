"""A PDF page's own text layer as result lines: PDFium's text page, grouped into lines, in rendered-page pixels.

PDFium already orders the characters and marks where one line ends (generated line breaks), so its lines are
taken as they are; a line is only split further where two of its characters stand more than FIELD_GAP line
heights apart (a producer that writes a table row, or two columns, as one run). Boxes are PDFium's loose character
boxes (the font's full height, so a line's box is even), mapped to the page as displayed (after /Rotate).

Called with PDFIUM_LOCK held (see pdf.py).
"""
from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

FIELD_GAP = 2.0          # line heights of blank between two characters that makes them two lines
MAX_UNMAPPED = 0.5       # share of characters without a Unicode mapping past which the text is gibberish


def text_lines(page: pdfium.PdfPage, width: int, height: int, warnings: list[str]) -> list[dict]:
    """The page's text lines (polygon, box, score, text, text_score) in a width×height rendering, top-left origin.

    Empty when the page has no text, or when most of its characters have no Unicode mapping (a font without a
    ToUnicode map: copying its text gives gibberish, so the page is read instead, with a warning).
    """
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        chars, unmapped, visible = [], 0, 0
        for i in range(count):
            ch = chr(pdfium_c.FPDFText_GetUnicode(textpage, i) or 0x20)
            if ch.isspace() or ch == "\0":
                chars.append((" " if ch not in "\r\n" else "\n", None))
                continue
            visible += 1
            unmapped += bool(pdfium_c.FPDFText_HasUnicodeMapError(textpage, i) == 1)
            chars.append((ch, _device_box(page, textpage.get_charbox(i, loose=True), width, height)))
    finally:
        textpage.close()
    if visible and unmapped > MAX_UNMAPPED * visible:
        warnings.append(f"{unmapped} of {visible} characters of the text layer have no Unicode mapping: "
                        "the page is read from its pixels instead")
        return []
    return [line for run in _runs(chars) for line in _split_at_gaps(run)]


def _device_box(page, box, width: int, height: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in the rendered page's pixels for a (left, bottom, right, top) box in PDF units."""
    left, bottom, right, top = box
    xs, ys = [], []
    for px, py in ((left, bottom), (right, top)):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page, 0, 0, width, height, 0, px, py, dx, dy)
        xs.append(dx.value)
        ys.append(dy.value)
    return min(xs), min(ys), max(xs), max(ys)


def _runs(chars: list[tuple[str, tuple | None]]) -> list[list[tuple[str, tuple | None]]]:
    runs, cur = [], []
    for ch, box in chars:
        if ch == "\n":
            runs.append(cur)
            cur = []
        else:
            cur.append((ch, box))
    runs.append(cur)
    return [r for r in runs if any(box for _, box in r)]


def _split_at_gaps(run: list[tuple[str, tuple | None]]) -> list[dict]:
    boxes = [b for _, b in run if b]
    line_h = max(1.0, sorted(b[3] - b[1] for b in boxes)[len(boxes) // 2])
    lines, cur, last = [], [], None
    for ch, box in run:
        if box and last and box[0] - last[2] > FIELD_GAP * line_h:
            lines.append(cur)
            cur = []
        cur.append((ch, box))
        last = box or last
    lines.append(cur)
    return [_line(part) for part in lines if any(b for _, b in part)]


def _line(part: list[tuple[str, tuple | None]]) -> dict:
    """A result line from characters (a space has no box): its box and text, and its words with theirs."""
    words: list[list[tuple[str, tuple]]] = [[]]
    for ch, box in part:
        if box is None:
            words.append([])
        else:
            words[-1].append((ch, box))
    words = [w for w in words if w]
    line = _boxed([b for w in words for _, b in w])
    line["text"] = " ".join("".join(ch for ch, _ in w) for w in words)
    line["text_score"] = 1.0
    line["words"] = [{"text": "".join(ch for ch, _ in w), **_boxed([b for _, b in w])} for w in words]
    return line


def _boxed(boxes: list[tuple]) -> dict:
    x0, y0 = float(min(b[0] for b in boxes)), float(min(b[1] for b in boxes))
    x1, y1 = float(max(b[2] for b in boxes)), float(max(b[3] for b in boxes))
    return {"polygon": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "box": [x0, y0, x1, y1], "score": 1.0}
