"""hOCR 1.2 (XHTML): ocr_page → ocr_carea → ocr_par → ocr_line → ocrx_word, one ocr_page per page.

What is written, and why:
- integer bboxes in the page's pixels as given (hOCR and OCRmyPDF's parser read only whole numbers);
- on ocr_page: image (the source file's name), bbox 0 0 W H, ppageno (0-based, the spec's "front cover is page
  0"), scan_res where the result knows the page's resolution (PDF pages: the render dpi; an image's pixels have
  no resolution in the result, so none is invented);
- on ocr_line: textangle where the text does not run left to right (90 = bottom to top, 180, 270: from the
  line's quad, whose first edge runs along the text). Without it OCRmyPDF drops vertical lines as implausible
  (0 of 22 words read back on a page turned 90°, 22 of 22 with it). No baseline is written: the detector finds
  text regions, not baselines, and a skew baseline hurts the one consumer that reads it back, OCRmyPDF, which
  sizes glyphs from the axis-aligned box, so a long skewed line's glyphs grow to the box's height and mix
  with the next line's (measured while writing this, slope from the quad's lower edge: 14 of 22 words read
  back on a page skewed 5°, 22 of 22 without). A skewed line is written as its enclosing box;
- ocr_carea (one ocr_par in each): the lines grouped into blocks (blocks.blocks), the same as ALTO's TextBlocks;
- on ocrx_word: the word's box (consecutive words at least a little apart: blocks.word_boxes) and x_wconf, its
  confidence as an integer percentage;
- the metas ocr-system, ocr-capabilities (every class this writer can produce; no ocrp_lang/dir/poly/font/nlp,
  since none of those is written), ocr-number-of-pages, ocr-langs (unknown: the recogniser reads scripts, and
  nothing in the result says which language) and ocr-scripts (the scripts of the recognised letters).
Tesseract's x_size/x_descenders/x_ascenders are left out: they say nothing the boxes don't, and the hocr-spec
checker cannot parse them. The tree is built with ElementTree, so text and attributes are escaped by it.
"""
from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

from .blocks import blocks, direction, pixel_box, scripts, text_lines, union, word_boxes, xml_safe

XHTML = "http://www.w3.org/1999/xhtml"
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"   # ocrp_wconf: Tesseract's name for x_wconf


def source_name(result: dict, source: Path | None) -> str:
    """The source file's name (the file given, else the one the result was read from), as XML can carry it."""
    return xml_safe(Path(source).name if source is not None else Path(result["source"]["path"]).name)


def _quoted(name: str) -> str:
    """The file name as a title-attribute string. Properties are split at ';' and the string is delimited by
    '"', so a name with either (or a control character) is written as a relative URL (percent-encoded), which
    the spec allows for `image`; other names are written as they are."""
    if re.search(r'[;"\\\x00-\x1f\x7f]', name):
        name = urllib.parse.quote(name)
    return f'"{name}"'


def _el(parent: ET.Element, tag: str, **attrib: str) -> ET.Element:
    """An XHTML child; class_ stands for class, http_equiv for http-equiv."""
    return ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrib.items()})


def _title(*props: str) -> str:
    return "; ".join(p for p in props if p)


def _bbox(box) -> str:
    return "bbox {} {} {} {}".format(*box)


def textangle(line: dict, page: dict) -> str:
    """The line's textangle property where its text does not run left to right, else ''."""
    quarter = direction(line, page)[0]
    return f"textangle {quarter}" if quarter else ""


def write_hocr(result: dict, source: Path | None = None) -> bytes:
    pages = result["pages"]
    # The namespace is declared as a plain attribute with unprefixed tags: ElementTree's default_namespace
    # option refuses the unprefixed attributes (class, title) that hOCR needs.
    html = ET.Element("html", xmlns=XHTML)
    head = _el(html, "head")
    _el(head, "title").text = source_name(result, source) or " "
    _el(head, "meta", http_equiv="Content-Type", content="text/html; charset=utf-8")
    _el(head, "meta", name="ocr-system", content=f"ocrwatchd {result.get('ocrwatchd_version', '')}".strip())
    _el(head, "meta", name="ocr-capabilities", content=CAPABILITIES)
    _el(head, "meta", name="ocr-number-of-pages", content=str(len(pages)))
    _el(head, "meta", name="ocr-langs", content="unknown")
    _el(head, "meta", name="ocr-scripts", content=" ".join(scripts(result)) or "unknown")
    body = _el(html, "body")
    image = _quoted(source_name(result, source))
    for page in pages:
        _page(body, page, image)
    ET.indent(html, space=" ")
    return ET.tostring(html, encoding="utf-8", xml_declaration=True) + b"\n"


def _page(body: ET.Element, page: dict, image: str) -> None:
    n, w, h = page["page"], page["width"], page["height"]
    dpi = page.get("dpi")
    div = _el(body, "div", class_="ocr_page", id=f"page_{n}",
              title=_title(f"image {image}", f"bbox 0 0 {w} {h}", f"ppageno {n - 1}",
                           f"scan_res {round(dpi)} {round(dpi)}" if dpi else ""))
    # Only void elements (meta) may be written self-closing: an HTML parser (browsers, hocr-spec) reads a
    # <div .../> as an opening <div>, so a blank page's div gets a blank to keep its closing tag.
    div.text = " "
    number = {"block": 0, "line": 0, "word": 0}

    def next_id(kind: str) -> str:
        number[kind] += 1
        return f"{kind}_{n}_{number[kind]}"

    for block in blocks(page, text_lines(page)):
        boxes = [pixel_box(line["box"], w, h) for line in block]
        block_id = next_id("block")
        area = _el(div, "div", class_="ocr_carea", id=block_id, title=_bbox(union(boxes)))
        par = _el(area, "p", class_="ocr_par", id=block_id.replace("block", "par"), title=_bbox(union(boxes)))
        for line, box in zip(block, boxes):
            span = _el(par, "span", class_="ocr_line", id=next_id("line"),
                       title=_title(_bbox(box), textangle(line, page)))
            for word, word_box in zip(line["words"], word_boxes(line, page)):
                _el(span, "span", class_="ocrx_word", id=next_id("word"),
                    title=_title(_bbox(word_box),
                                 f"x_wconf {min(max(round(word['score'] * 100), 0), 100)}")).text = word["text"]
