"""Finding the marks the detector skips: a lone ':' between a label and its value, a '1' alone in a column.

DBNet learned text as runs of glyphs; an isolated colon, dash or single narrow digit often leaves no trace in
its probability map (a receipt's colon column scores ~0.02), so those characters are simply missing. They sit on
the rows of lines that were found, though. So after reading, each line's row is searched, up to `reach` line
heights either side, for ink no detected box covers; small clusters of it are marks, which the caller reads
together with the nearest line on their row (joined_with_neighbour) and keeps only when the recogniser is sure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .ink import minority_ink
from .segment import TEXT_MARGIN

REACH = 8.0          # how far along a line's row to look, in line heights (receipts align colons in a column)
MAX_WIDTH = 1.5      # a candidate is at most this wide (one or two characters), in line heights
MIN_EXTENT = 0.25    # … and at least this tall or wide: smaller ink is a speck, not a character
MAX_HEIGHT = 0.9     # … and fits inside the row with room to spare
JOIN_GAP = 0.35      # ink pieces closer than this (line heights) are one mark (a colon's two dots)
MARGIN = 0.25        # margin around a candidate's ink, in line heights
# Rows are searched on the page turned level (LevelFrame) where its lines' median slant is at least this. Below
# it a row's box grows by under a fifth of a line over 10 line heights, and a photographed page's rows lean by as
# much one from another: SROIE 305 (median -0.68°, its short rows fitted level) lost two colons levelled.
LEVEL_SLANT = math.radians(1.0)
HUG = 0.1            # ink this close (in its height) above or below a line's box is its glyphs' faint edge
# A mark is read with the words of its line that lie within this many line heights of it, not with the whole
# line: the mark's reading needs the letters beside it, and the line's far end only costs (synthetic faxes and
# book pages spent 7-15 % of their time re-reading whole lines for marks, 3-7 % this way). Cut mid-word, the
# context reads worse and the mark with it (SROIE 106: `cluding GST) :` gave the colon 0.58, `(Excluding GST) :`
# 0.74, the whole line 0.83; min_mark_score is 0.7), so the cut falls at a word's start.
CONTEXT = 6.0


@dataclass(frozen=True)
class LevelFrame:
    """The page turned level by its lines' slant, where rows are searched for marks.

    The search takes a line's row to be its upright box, and a mark's row-mate to be the line whose box's middle
    is at the mark's height. On a tilted page both are wrong: a 300-px line at 4° has a box 21 px taller than
    its 30-px text, and 8 line heights along its row the row has climbed half a line. The band then holds pieces
    of the rows above and below, and a mark is read with the wrong line in a box that cuts through two.
    """

    matrix: np.ndarray      # 2×3: page (x, y) to level
    inverse: np.ndarray     # 2×3: level to page
    size: tuple[int, int]   # the level image's width and height (the turned page, all of it)

    @classmethod
    def of(cls, slant: float, width: int, height: int) -> LevelFrame:
        """The frame that turns a page of this size tilted by slant (radians, layout.page_slant) level."""
        c, s = math.cos(-slant), math.sin(-slant)
        corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
        turned = corners @ np.array([[c, s], [-s, c]])
        lo = turned.min(axis=0)
        matrix = np.array([[c, -s, -lo[0]], [s, c, -lo[1]]])
        size = np.ceil(turned.max(axis=0) - lo).astype(int)
        return cls(matrix, cv2.invertAffineTransform(matrix), (int(size[0]), int(size[1])))

    def level(self, points: np.ndarray) -> np.ndarray:
        return _affine(self.matrix, points)

    def page(self, points: np.ndarray) -> np.ndarray:
        return _affine(self.inverse, points)

    def image(self, gray: np.ndarray) -> np.ndarray:
        """The page's pixels turned level (its edge pixels carried out into the corners the turn opens)."""
        return cv2.warpAffine(gray, self.matrix, self.size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def boxes(self, polygons: list) -> np.ndarray:
        """N×4 [x0, y0, x1, y1]: each polygon's upright box in the level frame."""
        out = np.empty((len(polygons), 4))
        for k, p in enumerate(polygons):
            q = self.level(np.asarray(p, dtype=np.float64).reshape(-1, 2))
            out[k] = (*q.min(axis=0), *q.max(axis=0))
        return out


def _affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return points @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class Neighbour:
    """The line a mark is read with: its index, the quad spanning both (the line's row, from the word at least
    CONTEXT line heights from the mark, or the line's far edge, to the mark plus MARGIN), where the mark lies in
    it, as fractions lo..hi of that quad's width, and the gap between the line's box and the mark's ink
    (negative where they overlap)."""

    index: int
    quad: np.ndarray
    lo: float
    hi: float
    gap: float


def orphan_candidates(image: np.ndarray, boxes: np.ndarray, reach: float = REACH) -> list[tuple[float, ...]]:
    """The ink boxes [x0, y0, x1, y1] of marks: uncovered ink on the rows of the given line boxes.

    boxes: N×4 [x0, y0, x1, y1] of every line on the page (all of them mask the ink they cover).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    height, width = image.shape[:2]
    found: list[tuple[float, ...]] = []     # ink boxes
    taken: list[tuple[float, ...]] = []     # … and the stretch of row each one claims
    # Shortest rows first, so each mark is found, clustered and claimed at the scale of its own row: a tall box
    # (a rubber stamp, a logo) spans several rows, and its search would join their colons into one mark that fits
    # none of them.
    for x0, y0, x1, y1 in boxes[np.argsort(boxes[:, 3] - boxes[:, 1], kind="stable")]:
        h = y1 - y0
        if h < 8 or (x1 - x0) < 0.5 * h:
            continue
        bx0, bx1 = int(max(0, x0 - reach * h)), int(min(width, x1 + reach * h))
        by0, by1 = int(max(0, y0)), int(min(height, np.ceil(y1)))
        if bx1 - bx0 < 2 or by1 - by0 < 4:
            continue
        ink = minority_ink(image[by0:by1, bx0:bx1])   # a row band: other lines' ink fills its margins
        covered = np.zeros(ink.shape, np.uint8)
        near = boxes[(boxes[:, 0] < bx1) & (boxes[:, 2] > bx0) & (boxes[:, 1] < by1) & (boxes[:, 3] > by0)]
        for cx0, cy0, cx1, cy1 in near:          # ink that a detected line already holds is not an orphan …
            hug = HUG * (cy1 - cy0)                # (nor the faint edge of its glyphs its fitted box left out)
            covered[max(0, int(cy0 - hug) - by0):max(0, int(np.ceil(cy1 + hug)) - by0),
                    max(0, int(cx0) - bx0):max(0, int(np.ceil(cx1)) - bx0)] = 1
        ink[covered > 0] = 0
        if not ink.any():
            continue
        # … nor is the rest of a glyph a box cuts through (it touches the covered area)
        touching = cv2.dilate(covered, np.ones((3, 3), np.uint8)) > 0
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
        cut = set(np.unique(labels[touching & (labels > 0)]).tolist())
        pieces = [tuple(stats[k, :4]) for k in range(1, n)
                  if k not in cut and stats[k, 1] > 0 and stats[k, 1] + stats[k, 3] < ink.shape[0]]
        # (touching the row's top or bottom edge: part of a line above or below, or of a stroke)
        for cx, cy, cw, ch in _clusters(pieces, JOIN_GAP * h):
            if cw > MAX_WIDTH * h or ch > MAX_HEIGHT * h or max(cw, ch) < MIN_EXTENT * h:
                continue
            claim = (bx0 + cx - MARGIN * h, y0, bx0 + cx + cw + MARGIN * h, y1)
            if not any(_overlaps(claim, t) for t in taken):
                taken.append(claim)
                found.append((float(bx0 + cx), float(by0 + cy), float(bx0 + cx + cw), float(by0 + cy + ch)))
    return found


def joined_with_neighbour(boxes: np.ndarray, ink: tuple[float, ...], reach: float = REACH,
                          words=None) -> Neighbour | None:
    """The nearest line whose row holds a mark's ink (within reach line heights along it), or None.

    A lone mark read by itself is a guess (a colon alone reads as '.' or '•'); read with the line beside it, it
    reads as surely as any character, and the field split then tells whether it stands apart from that line.
    words(k), where given: the line k's words' [x0, x1] along its row (N×2); the line is read from the word
    that leaves CONTEXT line heights between it and the mark, not from its far end: what the recogniser needs to
    be sure of the mark lies next to it, and a long line read whole for one colon costs what the line did.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x0, y0, x1, y1 = ink
    heights = boxes[:, 3] - boxes[:, 1]
    same_row = (np.abs((boxes[:, 1] + boxes[:, 3]) - (y0 + y1)) / 2 < 0.5 * heights) & (y1 - y0 <= MAX_HEIGHT * heights)
    gaps = np.maximum(boxes[:, 0] - x1, x0 - boxes[:, 2])
    dist = np.maximum(0.0, gaps)                                                # 0 where they overlap
    dist = np.where(same_row & (dist <= reach * heights), dist, np.inf)
    if not np.isfinite(dist).any():
        return None
    k = int(np.argmin(dist))
    b = boxes[k]
    m0, m1 = x0 - MARGIN * heights[k], x1 + MARGIN * heights[k]
    u0, u1 = min(b[0], m0), max(b[2], m1)
    right = x0 >= b[0]
    if words is not None:
        spans = np.asarray(words(k), dtype=np.float64).reshape(-1, 2)
        if right:     # the last word starting CONTEXT heights or more before the mark
            starts = spans[spans[:, 0] <= min(b[2], x0) - CONTEXT * heights[k], 0]
            u0 = max(u0, starts.max()) if len(starts) else u0
        else:
            ends = spans[spans[:, 1] >= max(b[0], x1) + CONTEXT * heights[k], 1]
            u1 = min(u1, ends.min()) if len(ends) else u1
    quad = np.array([[u0, b[1]], [u1, b[1]], [u1, b[3]], [u0, b[3]]], dtype=np.float64)
    span = u1 - u0
    return Neighbour(k, quad, (m0 - u0) / span, (m1 - u0) / span, float(gaps[k]))


def mark_box(ink: tuple[float, ...], line_height: float) -> np.ndarray:
    """A mark's own quad, fitted as textbox.text_bounds fits a read line's box: its ink plus TEXT_MARGIN line
    heights either side and TEXT_MARGIN of its own height above and below. A row-high box would be several
    times a colon's area."""
    mx, my = TEXT_MARGIN * line_height, TEXT_MARGIN * (ink[3] - ink[1])
    x0, y0, x1, y1 = ink[0] - mx, ink[1] - my, ink[2] + mx, ink[3] + my
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _clusters(pieces: list[tuple[int, int, int, int]], gap: float) -> list[tuple[int, int, int, int]]:
    """Pieces (x, y, w, h) joined left to right wherever the horizontal gap between them is under `gap`."""
    out: list[list[int]] = []
    for x, y, w, h in sorted(pieces):
        if out and x - (out[-1][0] + out[-1][2]) < gap:
            c = out[-1]
            right, bottom = max(c[0] + c[2], x + w), max(c[1] + c[3], y + h)
            c[1] = min(c[1], y)
            c[2], c[3] = right - c[0], bottom - c[1]
        else:
            out.append([x, y, w, h])
    return [tuple(c) for c in out]


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def already_read(own: str, before: str, mark: str, on_right: bool) -> int:
    """How many of the characters read within a mark's span are the line's own last (on the right) or first (on
    the left) letters: a glued mark's margin reaches into the line's end, and CTC places a character a frame or
    two off its ink, so the joint reading can put that letter in the mark's span ('Th' + 'he' for 'The',
    `GST` + `TT`). They are counted from the line's side while the line's own reading, spaces aside, still ends
    with the joint reading's two characters before the span followed by them (begins, on the left).
    before: the joint reading's characters on the line's side of the span, spaces aside."""
    own = own.replace(" ", "")
    if len(before) < 2:
        return 0
    k = 0
    if on_right:
        while k < len(mark) and own.endswith(before[-2:] + mark[:k + 1]):
            k += 1
    else:
        while k < len(mark) and own.startswith(mark[len(mark) - k - 1:] + before[:2]):
            k += 1
    return k
