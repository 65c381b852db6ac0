"""A result page as OCRmyPDF's OcrElement tree (page → lines → words, pixel boxes): what OCRmyPDF's text-layer
renderer draws and what its engine plugins return (ocrwatchd/ocrmypdf_plugin.py).

How OCRmyPDF 17's renderer (fpdf_renderer/renderer.py, _render_line) reads a line, and so how lines are built:
- textangle turns the whole line (counter-clockwise degrees): the renderer takes the axis-aligned box of the line
  box turned back by it. That is exact only for multiples of 90°, so textangle carries the text's direction
  rounded to a quarter turn (sideways or upside-down text on pages with orientation 90/180/270).
- The rest of the angle, a scan's few degrees of skew, is the baseline's slope: the renderer draws the words along
  it, starting at the line box's bottom-left corner (turned by textangle) plus the intercept.
- The font size is the line box's height plus the (negative) intercept. For a skewed line the axis-aligned box
  is taller than the text by length × sin(skew), which would blow up the font; so the line box is the text's own
  height at the line's start (where the baseline starts), stretched over the line's whole length. For straight
  lines (almost all) this is exactly the line's box.
- Text extractors do not follow a sloped baseline far. Poppler (pdftotext, evince) starts a new word wherever a
  character's baseline is more than 0.5 pt off the word's first one, and a new line where a word's baseline is
  more than half the font size off the line's first word: a long line with a degree of skew comes out in
  pieces, in the wrong order. With level_skewed a skewed line is drawn level instead: through its middle when
  it rises by no more than its height end to end (then each word is at most half a line height above or below
  its ink), else as level pieces of consecutive words that each rise no more than that.
"""
from __future__ import annotations

import functools
import math

from ocrmypdf.models.ocr_element import Baseline, BoundingBox, OcrClass, OcrElement

# Below this the skew is not worth a sloped baseline (0.05° over a 2000 px line is under 2 px).
_MIN_SKEW_DEG = 0.05
# Gaps between words, in text heights: poppler reads a space above 0.1 and a column break above 0.7 of the font
# size, which is about 0.8 of the text's height (_spaced).
_MIN_GAP, _MAX_GAP = 0.15, 0.4


def _bbox(box: list[float], width: float, height: float) -> BoundingBox:
    x0, y0, x1, y1 = box
    x0, x1 = min(max(x0, 0.0), width), min(max(x1, 0.0), width)
    y0, y1 = min(max(y0, 0.0), height), min(max(y1, 0.0), height)
    return BoundingBox(left=x0, top=y0, right=max(x1, x0), bottom=max(y1, y0))


def line_angle(polygon: list[list[float]]) -> float:
    """The direction the line's text runs, in degrees counter-clockwise from the x axis (polygons start where
    the text starts: first → second point is the reading direction)."""
    (x0, y0), (x1, y1) = polygon[0], polygon[1]
    return math.degrees(math.atan2(-(y1 - y0), x1 - x0))


@functools.cache
def descent_fraction() -> float:
    """The part of a line's height below the baseline, from the metrics of the font the renderer sizes lines
    with (its bundled NotoSans; the renderer uses the same ratio for lines without a baseline)."""
    from ocrmypdf.font import MultiFontManager

    ascent, descent, _ = MultiFontManager().fonts["NotoSans-Regular"].get_font_metrics()
    return abs(descent) / (ascent + abs(descent))


class _Frame:
    """The text frame of text turned `quarter` × 90° counter-clockwise, in page pixels (y down): u along the
    reading direction, v from the text's top towards its bottom."""

    def __init__(self, quarter: int) -> None:
        self.quarter = quarter % 4
        c, s = [(1, 0), (0, 1), (-1, 0), (0, -1)][self.quarter]
        self.u, self.v = (c, -s), (s, c)

    def to_uv(self, points: list[list[float]]) -> list[tuple[float, float]]:
        return [(x * self.u[0] + y * self.u[1], x * self.v[0] + y * self.v[1]) for x, y in points]

    def page_box(self, u0: float, u1: float, top: float, bottom: float, w: float, h: float) -> BoundingBox:
        """The page box of the frame's box u0..u1 × top..bottom (exact: the frame is turned by quarters)."""
        corners = [(u * self.u[0] + v * self.v[0], u * self.u[1] + v * self.v[1])
                   for u in (u0, u1) for v in (top, bottom)]
        return _bbox([min(x for x, _ in corners), min(y for _, y in corners),
                      max(x for x, _ in corners), max(y for _, y in corners)], w, h)

    @property
    def textangle(self) -> float | None:
        return float(self.quarter * 90) if self.quarter else None


def _quad(item: dict) -> list[list[float]]:
    if len(item["polygon"]) == 4:
        return item["polygon"]
    x0, y0, x1, y1 = item["box"]       # a many-point outline (--polygons): its box, read left to right
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _line_geometry(line: dict, w: float, h: float) -> tuple[_Frame, BoundingBox, Baseline, float]:
    """(text frame, renderer line box, baseline, text height) of a line whose quad starts at the text's
    top-left."""
    quad = _quad(line)
    frame = _Frame(round(line_angle(quad) / 90))
    uv = frame.to_uv(quad)
    u0, u1 = min(u for u, _ in uv), max(u for u, _ in uv)
    top, bottom = uv[0][1], uv[3][1]
    if bottom <= top:                        # a degenerate quad: its whole extent
        top, bottom = min(v for _, v in uv), max(v for _, v in uv)
    # the skew within the frame: v grows downwards, so a line rising to the right has a negative slope
    run = uv[2][0] - uv[3][0]
    slope = (uv[2][1] - uv[3][1]) / run if run > 0 else 0.0
    if abs(math.degrees(math.atan(slope))) < _MIN_SKEW_DEG:
        slope = 0.0
        top, bottom = min(v for _, v in uv), max(v for _, v in uv)
    return (frame, frame.page_box(u0, u1, top, bottom, w, h),
            Baseline(slope=slope, intercept=-descent_fraction() * (bottom - top)), bottom - top)


def _spaced(words: list[dict], frame: _Frame, height: float) -> list[dict]:
    """The words, with the gaps between neighbours brought within what an extractor reads as one space.

    Poppler inserts a space only where two words are more than a tenth of the font size apart, and takes a gap
    over 0.7 of the font size for a column break (then prints each word of such a line as its own paragraph).
    Word boxes from the recogniser's character positions often meet in the middle of the space, or overlap by
    a pixel: those are pulled apart (each side giving up at most a fifth of its word). Typewriter and
    letter-spaced text has gaps of a whole em between ink boxes: there the word before the gap is stretched
    towards the next (by at most half its length), as a real font's glyph advance would reach."""
    # the font size is about 0.8 of the text's height (see descent_fraction)
    min_gap, max_gap = _MIN_GAP * height, _MAX_GAP * height
    spans = []
    for word in words:
        u = [p for p, _ in frame.to_uv(_quad(word))]
        spans.append([min(u), max(u)])
    for a, b in zip(spans, spans[1:]):
        gap = b[0] - a[1]
        if gap < min_gap:
            a[1] -= min((min_gap - gap) / 2, (a[1] - a[0]) / 5)
            b[0] += min((min_gap - gap) / 2, (b[1] - b[0]) / 5)
        elif gap > max_gap:
            a[1] += min(gap - max_gap, (a[1] - a[0]) / 2)
    out = []
    for word, (u0, u1) in zip(words, spans):
        uv = frame.to_uv(_quad(word))
        lo, hi = min(u for u, _ in uv), max(u for u, _ in uv)
        # the quad's start side (points 0 and 3) and end side (1 and 2) moved along the line
        moved = [(u + (u0 - lo if i in (0, 3) else u1 - hi), v) for i, (u, v) in enumerate(uv)]
        points = [[u * frame.u[0] + v * frame.v[0], u * frame.u[1] + v * frame.v[1]] for u, v in moved]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        out.append(word | {"polygon": points, "box": [min(xs), min(ys), max(xs), max(ys)]})
    return out


def _word(word: dict, w: float, h: float) -> OcrElement:
    return OcrElement(ocr_class=OcrClass.WORD, bbox=_bbox(word["box"], w, h), text=word["text"],
                      confidence=word.get("score"))


def _level_pieces(line: dict, frame: _Frame, words: list[dict], slope: float, height: float, w: float,
                  h: float) -> list[OcrElement]:
    """A skewed line as level lines of consecutive words, each rising at most `height` end to end and drawn
    between the line's top and bottom edges at its middle."""
    (u0, t0), (u1, t1), (u2, b2), (u3, b3) = frame.to_uv(_quad(line))

    def edge(u, a, va, b, vb):
        return va + (vb - va) * (u - a) / (b - a) if b != a else va

    spans = []
    for word in words:
        u = [p for p, _ in frame.to_uv(_quad(word))]
        spans.append((min(u), max(u)))
    pieces, start = [], 0
    for end in range(1, len(words) + 1):
        if end == len(words) or (spans[end][1] - spans[start][0]) * abs(slope) > height:
            lo, hi = spans[start][0], spans[end - 1][1]
            mid = (lo + hi) / 2
            top, bottom = edge(mid, u0, t0, u1, t1), edge(mid, u3, b3, u2, b2)
            if bottom <= top:
                top, bottom = mid - height / 2, mid + height / 2
            pieces.append(OcrElement(ocr_class=OcrClass.LINE, bbox=frame.page_box(lo, hi, top, bottom, w, h),
                                     children=[_word(word, w, h) for word in words[start:end]],
                                     baseline=Baseline(slope=0.0, intercept=-descent_fraction() * (bottom - top)),
                                     textangle=frame.textangle, confidence=line.get("text_score")))
            start = end
    return pieces


def page_tree(page: dict, dpi: float, size: tuple[float, float] | None = None,
              level_skewed: bool = False) -> OcrElement:
    """One result page (its lines with text and words) as an ocr_page OcrElement at `dpi` pixels per inch.

    size: the page's exact extent in pixels when it is not whole pixels (a PDF page rendered at `dpi` is
    rounded up to whole pixels; the text layer must be the page's own size to the point).
    level_skewed: skewed lines are drawn level (for text extraction, see above)."""
    w, h = size or (page["width"], page["height"])
    lines = []
    for line in page["lines"]:
        if not line.get("text"):
            continue
        frame, box, baseline, height = _line_geometry(line, w, h)
        if box.width <= 0 or box.height <= 0:     # off the page (boxes are clipped to it): nothing to draw
            continue
        # a line without word boxes is one word
        words = _spaced(line.get("words") or [line], frame, height)
        if level_skewed and baseline.slope:
            lines.extend(_level_pieces(line, frame, words, baseline.slope, height, w, h))
            continue
        lines.append(OcrElement(ocr_class=OcrClass.LINE, bbox=box, baseline=baseline, textangle=frame.textangle,
                                children=[_word(word, w, h) for word in words],
                                confidence=line.get("text_score")))
    return OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(left=0, top=0, right=w, bottom=h), dpi=dpi,
                      children=lines, page_number=page["page"] - 1)
