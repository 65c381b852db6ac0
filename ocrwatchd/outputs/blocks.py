"""What the hOCR and ALTO writers share: the lines that carry text, whole-pixel boxes, which way a line's text
runs, and the lines grouped into blocks.

Coordinates stay in the page as given (pixels, origin top-left), whatever the page's orientation: only the
grouping and the direction of each line look at the page turned upright.
"""
from __future__ import annotations

import math
import re
import unicodedata

# Lines join the block above them when the blank between them is at most this many line heights (a paragraph
# break, or the next column's top, is more), when they overlap sideways by at least this share of the narrower
# line, and when neither is more than this many times as tall as the other (a heading starts its own block).
BLOCK_GAP = 0.8
BLOCK_OVERLAP = 0.25
BLOCK_HEIGHT_RATIO = 2.0
# Consecutive words of a line are written at least this many line heights apart (see word_boxes).
WORD_GAP = 0.05


# Characters XML 1.0 cannot carry at all (a PDF's text layer can hold such control characters).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def text_lines(page: dict) -> list[dict]:
    """The page's lines that have text, in reading order, each with at least one word (a result line always
    has its words; a line without them is taken as one word, so no text is ever dropped). Characters that XML
    cannot carry are left out of the texts; a word of nothing else is left out."""
    out = []
    for line in page.get("lines", []):
        text = xml_safe(line.get("text") or "").strip()
        if not text:
            continue
        words = [{**w, "text": xml_safe(w.get("text") or "")} for w in line.get("words") or []]
        words = [w for w in words if w["text"].strip()]
        if not words:
            words = [{"text": text, "box": line["box"], "polygon": line["polygon"],
                      "score": line.get("text_score", line.get("score", 0.0))}]
        out.append({**line, "text": text, "words": words})
    return out


def pixel_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """The whole-pixel box that encloses `box` [x0, y0, x1, y1], kept inside the page (hOCR wants integers)."""
    x0, y0, x1, y1 = box
    x0 = min(max(math.floor(x0), 0), width)
    y0 = min(max(math.floor(y0), 0), height)
    return x0, y0, min(max(math.ceil(x1), x0), width), min(max(math.ceil(y1), y0), height)


def union(boxes) -> tuple[int, int, int, int]:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def direction(line: dict, page: dict) -> tuple[int, float]:
    """Which way the line's text runs: (quarter, skew), quarter in 0/90/180/270 and skew in [-45, 45) degrees,
    both counter-clockwise (hOCR's textangle sense: 90 = text running bottom to top).

    A quad starts at the corner where its text starts, so its top and bottom edges run with the text (their mean
    is taken, which is steadier than one edge). Other outlines (--polygons) carry no direction: the page's
    orientation, which turned the whole page upright, is used.
    """
    polygon = line.get("polygon") or []
    if len(polygon) == 4:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = polygon
        dx, dy = (x1 - x0) + (x2 - x3), (y1 - y0) + (y2 - y3)
        angle = math.degrees(math.atan2(-dy, dx))   # y grows downwards: counter-clockwise is -dy
    else:
        angle = float(page.get("orientation") or 0)
    quarter = round(angle / 90.0) % 4 * 90
    skew = (angle - quarter + 180.0) % 360.0 - 180.0
    return quarter, skew


def to_text_frame(x: float, y: float, quarter: int) -> tuple[float, float]:
    """A page point in a frame where text turned by `quarter` (counter-clockwise) runs left to right, y down
    (the page turned clockwise by `quarter`, up to a shift that box-relative values don't depend on)."""
    return {0: (x, y), 90: (-y, x), 180: (-x, -y), 270: (y, -x)}[quarter]


def upright_box(box, quarter: int) -> tuple[float, float, float, float]:
    xs, ys = zip(*(to_text_frame(x, y, quarter) for x, y in ((box[0], box[1]), (box[2], box[3]))))
    return min(xs), min(ys), max(xs), max(ys)


def from_text_frame(u: float, v: float, quarter: int) -> tuple[float, float]:
    return {0: (u, v), 90: (v, -u), 180: (-u, -v), 270: (-v, u)}[quarter]


def word_boxes(line: dict, page: dict) -> list[tuple[int, int, int, int]]:
    """The line's word boxes in whole pixels, consecutive words kept at least WORD_GAP line heights apart
    along the text.

    The words of a line are apart on the page, but their boxes (placed from the recogniser's character
    positions) sometimes touch or overlap by a few pixels (7 % of the word pairs on linn.png), and enclosing
    them in whole pixels adds up to one more. Readers take such boxes for one word: a PDF text layer made from
    them reads "SequenceRecorder" (poppler joins glyphs closer than about 0.03 font sizes). So boxes closer
    than that are pulled apart around the middle of their gap or overlap, the best guess at the boundary.
    Every other edge is kept as it is."""
    w, h = page["width"], page["height"]
    quarter = direction(line, page)[0]
    lb = upright_box(pixel_box(line["box"], w, h), quarter)
    need = max(1, math.ceil(WORD_GAP * (lb[3] - lb[1])))
    framed = [list(upright_box(pixel_box(word["box"], w, h), quarter)) for word in line["words"]]
    for a, b in zip(framed, framed[1:]):
        if b[0] - a[2] < need and a[0] < b[0] and a[2] < b[2]:     # too close, still in order
            end = math.floor((a[2] + b[0] - need) / 2)
            if a[0] < end and end + need < b[2]:                   # (never so far that a box would vanish)
                a[2], b[0] = end, end + need
    out = []
    for u0, v0, u1, v1 in framed:
        (x0, y0), (x1, y1) = from_text_frame(u0, v0, quarter), from_text_frame(u1, v1, quarter)
        out.append((int(min(x0, x1)), int(min(y0, y1)), int(max(x0, x1)), int(max(y0, y1))))
    return out


def blocks(page: dict, lines: list[dict]) -> list[list[dict]]:
    """The lines cut into blocks, keeping their reading order: a line continues the block of the line before
    it when, on the page turned upright, it lies just below that line (a blank of at most BLOCK_GAP line
    heights), overlaps it sideways, is of a similar height and runs the same way. Anything else (a line beside
    the previous one, a column's top after the previous column's foot, a paragraph gap, a heading) starts a new
    block. Simple on purpose: the reading order already decided the hard part (columns, rows of a table)."""
    out: list[list[dict]] = []
    prev = None
    for line in lines:
        quarter = direction(line, page)[0]
        box = upright_box(line["box"], quarter)
        if prev is None or not _continues(prev[0], prev[1], box, quarter):
            out.append([])
        out[-1].append(line)
        prev = (box, quarter)
    return out


def _continues(above, q_above: int, box, quarter: int) -> bool:
    if quarter != q_above:
        return False
    h_above, h = above[3] - above[1], box[3] - box[1]
    if min(h_above, h) <= 0 or max(h_above, h) > BLOCK_HEIGHT_RATIO * min(h_above, h):
        return False
    gap = box[1] - above[3]
    if box[1] < above[1] + 0.5 * h_above or gap > BLOCK_GAP * max(h_above, h):
        return False              # beside the line above (same row), or too far below it
    overlap = min(above[2], box[2]) - max(above[0], box[0])
    return overlap >= BLOCK_OVERLAP * min(above[2] - above[0], box[2] - box[0])


# Unicode character-name prefixes of the scripts PP-OCR-style recognisers read → ISO 15924 codes.
_SCRIPTS = {"LATIN": "Latn", "CJK": "Hani", "HIRAGANA": "Hira", "KATAKANA": "Kana", "HANGUL": "Hang",
            "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARABIC": "Arab", "HEBREW": "Hebr", "THAI": "Thai",
            "DEVANAGARI": "Deva", "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "GEORGIAN": "Geor"}


def scripts(result: dict) -> list[str]:
    """ISO 15924 codes of the scripts of the letters in the result's text, most frequent first (digits and
    punctuation belong to no script; letters of a script not listed above are not guessed at)."""
    counts: dict[str, int] = {}
    for page in result.get("pages", []):
        for ch in page.get("text") or "":
            if not unicodedata.category(ch).startswith("L"):
                continue
            words = unicodedata.name(ch, "").replace("FULLWIDTH ", "").replace("HALFWIDTH ", "").split()
            code = _SCRIPTS.get(words[0]) if words else None
            if code:
                counts[code] = counts.get(code, 0) + 1
    return sorted(counts, key=lambda c: -counts[c])
