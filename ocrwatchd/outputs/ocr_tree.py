"""A result page as OCRmyPDF's OcrElement tree (page → lines → words, pixel boxes): what OCRmyPDF's text-layer
renderer draws and what its engine plugins return (ocrwatchd/ocrmypdf_plugin.py)."""
from __future__ import annotations

import math

from ocrmypdf.models.ocr_element import BoundingBox, OcrClass, OcrElement


def _bbox(box: list[float], width: int, height: int) -> BoundingBox:
    x0, y0, x1, y1 = box
    x0, x1 = min(max(x0, 0.0), width), min(max(x1, 0.0), width)
    y0, y1 = min(max(y0, 0.0), height), min(max(y1, 0.0), height)
    return BoundingBox(left=x0, top=y0, right=max(x1, x0), bottom=max(y1, y0))


def line_angle(polygon: list[list[float]]) -> float:
    """The direction the line's text runs, in degrees counter-clockwise from the x axis (polygons start where
    the text starts: first → second point is the reading direction)."""
    (x0, y0), (x1, y1) = polygon[0], polygon[1]
    return math.degrees(math.atan2(-(y1 - y0), x1 - x0))


# Text extractors find the spaces of a PDF text layer in the gaps between its words (poppler's pdftotext puts
# none between words that touch, whatever space characters are drawn); OCRmyPDF's renderer fits each word to its
# box, so boxes that touch or overlap come out as one word ("simpleto"). The recogniser's word boxes can touch,
# so neighbours closer than this (in line heights) are pulled apart about the middle of their gap. On linn.pdf
# pdftotext needed 0.08 (word F1 0.89 → 0.99); 0.15 leaves a margin and moves a word's end by a few pixels.
MIN_WORD_GAP = 0.15


def _spaced_words(line: dict) -> list[list[list[float]]]:
    """The line's word polygons, each neighbour pair at least MIN_WORD_GAP line heights apart along the line.

    Only the facing ends move, along the line's direction, and no word loses more than a quarter of its length
    a side (a gap wider than that stays as read: a word is not squeezed to nothing to make room).
    """
    words = line.get("words", [])
    (x0, y0), (x1, y1) = line["polygon"][0], line["polygon"][1]
    length = math.hypot(x1 - x0, y1 - y0)
    if len(words) < 2 or length == 0:
        return [word["polygon"] for word in words]
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    height = abs((line["polygon"][-1][0] - x0) * -uy + (line["polygon"][-1][1] - y0) * ux)
    need = MIN_WORD_GAP * height
    span = [[min(px * ux + py * uy for px, py in word["polygon"]),
             max(px * ux + py * uy for px, py in word["polygon"])] for word in words]
    for left, right in zip(span, span[1:]):
        if right[0] < left[0] or right[0] - left[1] >= need:
            continue                          # out of order (not along the line), or already apart
        mid = (left[1] + right[0]) / 2
        left[1] = max(min(left[1], mid - need / 2), left[0] + (left[1] - left[0]) * 0.75)
        right[0] = min(max(right[0], mid + need / 2), right[1] - (right[1] - right[0]) * 0.75)
    out = []
    for word, (lo, hi) in zip(words, span):
        pts = []
        for px, py in word["polygon"]:
            t = px * ux + py * uy
            d = min(max(t, lo), hi) - t       # slide the point along the line into [lo, hi]
            pts.append([px + d * ux, py + d * uy])
        out.append(pts)
    return out


def _polygon_box(pts: list[list[float]]) -> list[float]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [min(xs), min(ys), max(xs), max(ys)]


def page_tree(page: dict, dpi: float) -> OcrElement:
    """One result page (its lines with text and words) as an ocr_page OcrElement at `dpi` pixels per inch."""
    w, h = page["width"], page["height"]
    lines = []
    for line in page["lines"]:
        if not line.get("text"):
            continue
        words = [OcrElement(ocr_class=OcrClass.WORD, bbox=_bbox(_polygon_box(poly), w, h), text=word["text"],
                            confidence=word["score"])
                 for word, poly in zip(line.get("words", []), _spaced_words(line))]
        angle = line_angle(line["polygon"])
        lines.append(OcrElement(ocr_class=OcrClass.LINE, bbox=_bbox(line["box"], w, h), children=words,
                                confidence=line.get("text_score"),
                                textangle=round(angle) if abs(angle) > 0.5 else None))
    return OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(left=0, top=0, right=w, bottom=h), dpi=dpi,
                      children=lines, page_number=page["page"] - 1)
