"""ALTO 4.4: Description (pixels, the source file, the software) and Layout → Page → PrintSpace → TextBlock →
TextLine → String, with SP between the words of a line.

Positions are whole pixels of the page as given (HPOS/VPOS the top-left corner, WIDTH/HEIGHT the size), the same
boxes the hOCR carries; WC is the word's confidence (0–1). TextBlocks are the lines grouped as in
blocks.blocks (consecutive lines of the reading order that lie just below one another and overlap sideways);
a block whose text does not run left to right says how it runs with ROTATION (degrees counter-clockwise, as
ALTO defines it: 90 = bottom to top). OCRProcessing names the software, its version and the models.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .blocks import blocks, direction, from_text_frame, pixel_box, text_lines, union, upright_box, word_boxes
from .hocr import source_name

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{ALTO} http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrib) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    el.text = text
    return el


def _pos(box) -> dict[str, int]:
    x0, y0, x1, y1 = box
    return {"HPOS": x0, "VPOS": y0, "WIDTH": x1 - x0, "HEIGHT": y1 - y0}


def _models(result: dict) -> str:
    model = result.get("model") or {}
    parts = [f"{role} {m['name']}" for role, m in (("detector", model), ("classifier", model.get("classifier")),
                                                     ("recognizer", model.get("recognizer"))) if m and m.get("name")]
    return ", ".join(parts)


def write_alto(result: dict, source: Path | None = None) -> bytes:
    # The default namespace is declared as a plain attribute over unprefixed tags: ElementTree's
    # default_namespace option refuses unprefixed attributes (HPOS, CONTENT, …).
    alto = ET.Element("alto", {"xmlns": ALTO, f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION, "SCHEMAVERSION": "4.4"})
    description = _el(alto, "Description")
    _el(description, "MeasurementUnit", "pixel")
    _el(_el(description, "sourceImageInformation"), "fileName", source_name(result, source))
    # OCRProcessing is what ALTO readers look for (ALTO 4.4 also has Processing, its designated successor).
    step = _el(_el(description, "OCRProcessing", ID="OCR_1"), "ocrProcessingStep")
    if result.get("created"):
        _el(step, "processingDateTime", result["created"])
    if _models(result):
        _el(step, "processingStepSettings", _models(result))
    software = _el(step, "processingSoftware")
    _el(software, "softwareName", "ocrwatchd")
    if result.get("ocrwatchd_version"):
        _el(software, "softwareVersion", result["ocrwatchd_version"])
    layout = _el(alto, "Layout")
    for page in result["pages"]:
        _page(layout, page)
    ET.indent(alto, space=" ")
    return ET.tostring(alto, encoding="utf-8", xml_declaration=True) + b"\n"


def _page(layout: ET.Element, page: dict) -> None:
    n, w, h = page["page"], page["width"], page["height"]
    el = _el(layout, "Page", ID=f"page_{n}", PHYSICAL_IMG_NR=n, WIDTH=w, HEIGHT=h)
    space = _el(el, "PrintSpace", HPOS=0, VPOS=0, WIDTH=w, HEIGHT=h)
    nb = nl = nw = 0
    for block in blocks(page, text_lines(page)):
        nb += 1
        boxes = [pixel_box(line["box"], w, h) for line in block]
        quarter = direction(block[0], page)[0]
        extra = {"ROTATION": quarter} if quarter else {}
        text_block = _el(space, "TextBlock", ID=f"block_{n}_{nb}", **_pos(union(boxes)), **extra)
        for line, box in zip(block, boxes):
            nl += 1
            text_line = _el(text_block, "TextLine", ID=f"line_{n}_{nl}", **_pos(box))
            words = word_boxes(line, page)
            for i, (word, word_box) in enumerate(zip(line["words"], words)):
                if i:
                    _el(text_line, "SP", **_pos(_space(words[i - 1], word_box, box, quarter)))
                nw += 1
                _el(text_line, "String", ID=f"string_{n}_{nw}", CONTENT=word["text"], **_pos(word_box),
                    WC=f"{min(max(float(word['score']), 0.0), 1.0):.4f}".rstrip("0").rstrip("."))


def _space(before, after, line_box, quarter: int) -> tuple[int, int, int, int]:
    """The blank between two words: along the text, from the end of one to the start of the next; across it,
    the line's extent."""
    a, b, lb = (upright_box(x, quarter) for x in (before, after, line_box))
    u0, u1 = min(a[2], b[2]), max(a[0], b[0])
    corners = [from_text_frame(u, v, quarter) for u, v in ((u0, lb[1]), (max(u0, u1), lb[3]))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))
