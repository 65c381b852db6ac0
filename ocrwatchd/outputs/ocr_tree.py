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


def page_tree(page: dict, dpi: float) -> OcrElement:
    """One result page (its lines with text and words) as an ocr_page OcrElement at `dpi` pixels per inch."""
    w, h = page["width"], page["height"]
    lines = []
    for line in page["lines"]:
        if not line.get("text"):
            continue
        words = [OcrElement(ocr_class=OcrClass.WORD, bbox=_bbox(word["box"], w, h), text=word["text"],
                            confidence=word["score"]) for word in line.get("words", [])]
        angle = line_angle(line["polygon"])
        lines.append(OcrElement(ocr_class=OcrClass.LINE, bbox=_bbox(line["box"], w, h), children=words,
                                confidence=line.get("text_score"),
                                textangle=round(angle) if abs(angle) > 0.5 else None))
    return OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(left=0, top=0, right=w, bottom=h), dpi=dpi,
                      children=lines, page_number=page["page"] - 1)
