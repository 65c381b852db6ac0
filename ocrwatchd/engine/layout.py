"""Reading order of text lines: top to bottom, left to right, columns kept apart where the layout is clear.

A recursive XY-cut over line boxes: a block is split at a vertical gutter into columns (read left to right)
when the gutter is wide and the sides are columns of prose (long lines on both sides, as typeset columns are,
even when their rows line up) or do not continue each other row by row (a receipt's item and price "columns"
are rows, not columns); otherwise at horizontal gaps into bands (read top to bottom), where bands that run on
in the same columns of prose are read as one (paragraph breaks level in both columns, a page number under the
gutter); a gutter that leans down a photographed page is followed a few lines at a time; a block that cannot
be cut is read row by row. The boxes it is given are levelled (levelled): each line's own length and height, in
the page turned level, so a tilted page's rows stay apart.

Which runs of boxes on a row are one line of a justified paragraph, parted at its stretched spaces, is
justified.py's.
"""
from __future__ import annotations

import math

import numpy as np

GUTTER = 1.5        # a column gutter is at least this many line heights wide
# ... or this many between columns of prose (_prose): typeset gutters are 1-1.5 line boxes wide, and the boxes'
# margins and the lines' ragged ends take most of it (a report page's 60-px gutter left 42 px, 1.33 line heights;
# a Chinese page's 0.8; UNLV 8071, a magazine spread in four columns, 25 px at 44-px lines, 0.58). A column of
# prose is one box per line, so no stretch runs blank through all its lines.
PROSE_GUTTER = 0.4
PROSE_LINES = 3
# Lines of one paragraph are stacked with at most LEADING line heights of blank between them (boxes fitted to the
# text: the report pages' 0.63-0.67, a Chinese page's 0.63); a faxed form's rows stand 1.0 or more apart.
LEADING = 0.85
INDENT = 3.0        # a paragraph's first line starts at most this many line heights in from the column's margin
DRIFT_SLAB = 4.0    # a leaning gutter is followed in slabs this many line heights tall (_drifting_gutter)
ROW_ALIGNED = 0.6   # share of the smaller side's lines with a same-row partner that makes it a table, not columns
PROSE = 8.0         # median line width, in line heights, from which a side is a column of running text


def reading_order(boxes: np.ndarray) -> list[int]:
    """Indices of boxes (N×4 [x0, y0, x1, y1]) in reading order."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    height = float(np.median(boxes[:, 3] - boxes[:, 1])) or 1.0
    return _order(boxes, list(range(len(boxes))), height)


def levelled(polygons: list) -> np.ndarray:
    """Boxes (N×4 [x0, y0, x1, y1]) for ordering lines of a tilted page: each line's own length and height,
    centred where the line is, in the page turned level by its lines' median slant.

    A line tilted on a photographed or skewed page has an upright box taller than the line by its length times the
    slant (a 1900-px line at 3.4°: 113 px on a 45-px line), so boxes of neighbouring rows overlap, rows merge and
    columns touch; and the two ends of one row sit at different heights. polygons: each line's corners clockwise
    from the top-left of its text, as the result's `polygon`; one of another shape keeps its upright box.
    """
    quads = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons]
    a = -page_slant(quads)
    c, s = math.cos(a), math.sin(a)
    out = np.empty((len(quads), 4))
    for k, q in enumerate(quads):
        x, y = q.mean(axis=0)
        x, y = c * x - s * y, s * x + c * y
        if len(q) == 4:
            half_w = (math.hypot(*(q[1] - q[0])) + math.hypot(*(q[2] - q[3]))) / 4
            half_h = (math.hypot(*(q[3] - q[0])) + math.hypot(*(q[2] - q[1]))) / 4
        else:
            half_w, half_h = (np.ptp(q[:, 0]) / 2, np.ptp(q[:, 1]) / 2)
        out[k] = (x - half_w, y - half_h, x + half_w, y + half_h)
    return out


def page_slant(polygons: list) -> float:
    """The median slant (radians, clockwise positive in image coordinates) of the lines at least twice as long
    as they are tall among polygons (each a line's corners clockwise from the top-left of its text); 0 when none
    is."""
    slants = []
    for p in polygons:
        q = np.asarray(p, dtype=np.float64).reshape(-1, 2)
        if len(q) == 4:
            dx, dy = q[1] - q[0]
            if math.hypot(dx, dy) >= 2 * math.hypot(*(q[3] - q[0])):
                slants.append(math.atan2(dy, dx))
    return float(np.median(slants)) if slants else 0.0


def _gaps(lo: np.ndarray, hi: np.ndarray, min_gap: float) -> list[tuple[float, float]]:
    """(cut position, width) of each empty stretch (≥ min_gap) of the union of [lo, hi) intervals."""
    order = np.argsort(lo)
    cuts, reach = [], hi[order[0]]
    for i in order[1:]:
        if lo[i] - reach >= min_gap:
            cuts.append(((lo[i] + reach) / 2, lo[i] - reach))
        reach = max(reach, hi[i])
    return cuts


def _prose(boxes: np.ndarray, side: list[int], height: float, min_lines: int = PROSE_LINES) -> bool:
    """A column of running text: most of its lines long, min_lines long lines of the page's text size (a form's
    handwritten entries, boxed two or three lines tall, are not a column's lines), and its lines stacked a
    line's spacing apart (a form's rows, however long their labels and values, stand further apart)."""
    widths, heights = boxes[side, 2] - boxes[side, 0], boxes[side, 3] - boxes[side, 1]
    lines = (widths >= PROSE * height) & (np.abs(heights - height) <= 0.5 * height)
    if int(lines.sum()) < min_lines or np.median(widths) < PROSE * height:
        return False
    tops, bottoms = boxes[side, 1], boxes[side, 3]
    order = np.argsort(tops)
    blanks = tops[order][1:] - bottoms[order][:-1]
    return len(blanks) == 0 or float(np.median(blanks)) <= LEADING * height


def _is_table(boxes: np.ndarray, left: list[int], right: list[int], height: float) -> bool:
    widths = boxes[:, 2] - boxes[:, 0]
    if min(np.median(widths[left]), np.median(widths[right])) >= PROSE * height:
        return False
    small, big = (left, right) if len(left) <= len(right) else (right, left)
    cy_big = (boxes[big, 1] + boxes[big, 3]) / 2
    aligned = sum(np.abs(cy_big - (boxes[i, 1] + boxes[i, 3]) / 2).min() < 0.5 * height for i in small)
    if aligned >= ROW_ALIGNED * len(small):
        return True
    # a side that is one row continuing a row of the other is no column (a receipt's header `品名 | 数量 金额`
    # above an item's name: the name has no partner, the header's words are one row with `品名`)
    for one, other in ((left, right), (right, left)):
        cy = (boxes[one, 1] + boxes[one, 3]) / 2
        cy_other = (boxes[other, 1] + boxes[other, 3]) / 2
        if np.ptp(cy) < 0.5 * height and np.abs(cy_other - cy.mean()).min() < 0.5 * height:
            return True
    return False


def _columns(boxes: np.ndarray, idx: list[int], height: float, prose_lines: int = 0):
    """The block's first gutter that parts it into columns, as (left, right); None where there is none.
    prose_lines: only a gutter between columns of prose with that many long lines on each side."""
    b = boxes[idx]
    min_lines = prose_lines or PROSE_LINES
    for cut, gap in _gaps(b[:, 0], b[:, 2], min(GUTTER, PROSE_GUTTER) * height):
        left = [i for i in idx if boxes[i, 2] <= cut]
        right = [i for i in idx if boxes[i, 0] >= cut]
        if left and right and _prose(boxes, left, height, min_lines) and _prose(boxes, right, height, min_lines):
            return left, right
        if not prose_lines and len(left) >= 2 and len(right) >= 2 and gap >= GUTTER * height \
                and not _is_table(boxes, left, right, height):
            return left, right
    if not prose_lines and (sides := _drifting_gutter(boxes, idx, height)):
        left, right = sides
        if len(left) >= 2 and len(right) >= 2 and _prose(boxes, left, height) and _prose(boxes, right, height):
            return left, right
    return None


def _drifting_gutter(boxes: np.ndarray, idx: list[int], height: float):
    """Columns parted by a gutter that drifts down the page, as (left, right); None where there is none.

    On a photographed page the columns' edges lean (perspective: a report page's gutter moves 76 px over 2800 px,
    more than its own width), so no one stretch is blank from top to bottom. Here the block is cut into slabs
    DRIFT_SLAB line heights tall; the gutter is the one blank stretch between the lines of the first slab, then in
    each slab the blank stretch that overlaps the one above (a slab whose lines all keep to one side of it, a
    column's last lines, keeps it): overlapping it by half the narrower's width, so a page number under the
    gutter, which leaves a blank beside it, does not pass for a column's line."""
    b = boxes[idx]
    top, step = b[:, 1].min(), DRIFT_SLAB * height
    count = int((b[:, 3].max() - top) // step) + 1
    if count < 2:
        return None
    path: list[tuple[float, float]] = []
    for k in range(count):
        inside = (b[:, 1] < top + (k + 1) * step) & (b[:, 3] > top + k * step)
        blanks = [(cut - gap / 2, cut + gap / 2)
                  for cut, gap in _gaps(b[inside, 0], b[inside, 2], PROSE_GUTTER * height)] if inside.any() else []
        if not path:
            if len(blanks) != 1:
                return None                 # no gutter, or more than one: left to the straight cuts
            path.append(blanks[0])
            continue
        a, z = path[-1]
        below = [g for g in blanks if min(g[1], z) - max(g[0], a) >= 0.5 * min(g[1] - g[0], z - a)]
        if below:
            path.append(max(below, key=lambda g: g[1] - g[0]))
        elif not np.any((b[inside, 0] < (a + z) / 2) & (b[inside, 2] > (a + z) / 2)):
            path.append((a, z))
        else:
            return None
    left, right = [], []
    for i in idx:
        a, z = path[min(count - 1, int(((boxes[i, 1] + boxes[i, 3]) / 2 - top) // step))]
        if boxes[i, 2] <= (a + z) / 2:
            left.append(i)
        elif boxes[i, 0] >= (a + z) / 2:
            right.append(i)
        else:
            return None                     # across the gutter's middle (a page number under it): not columns
    return left, right


def _order(boxes: np.ndarray, idx: list[int], height: float) -> list[int]:
    if len(idx) <= 1:
        return idx
    if columns := _columns(boxes, idx, height):
        left, right = columns
        return _order(boxes, left, height) + _order(boxes, right, height)
    b = boxes[idx]
    y_cuts = [cut for cut, _ in _gaps(b[:, 1], b[:, 3], 0.5 * height)]
    if y_cuts:
        bands: list[list[int]] = [[] for _ in range(len(y_cuts) + 1)]
        for i in idx:
            bands[int(np.searchsorted(y_cuts, boxes[i, 1]))].append(i)
        # a band that runs on in the columns of prose above it is read with them: where together they hold
        # columns of prose, or where it is the next row of prose on both sides, a line's spacing below (lines
        # boxed to their own height are bands one by one where the leading is generous, a Chinese page's 0.6)
        runs: list[list[int]] = []
        for band in filter(None, bands):
            if runs and (_columns(boxes, runs[-1] + band, height, PROSE_LINES)
                         or _next_row_of_prose(boxes, runs[-1], band, height)):
                runs[-1] += band
            else:
                runs.append(band)
        if len(runs) > 1:
            return [i for run in runs for i in _order(boxes, run, height)]
    return _rows(boxes, idx)


def _next_row_of_prose(boxes: np.ndarray, run: list[int], band: list[int], height: float) -> bool:
    """band is the next row of columns of prose that run holds: a line's spacing below it, parted by the same
    gutter into long lines, each side starting at that side's margin (give or take a paragraph's indent). A
    form's rows, labels and values however long, start wherever their text does."""
    if boxes[band, 1].min() - boxes[run, 3].max() > LEADING * height:
        return False
    columns = _columns(boxes, run + band, height, 1)
    if columns is None:
        return False
    in_band = set(band)
    for side in columns:
        new = [i for i in side if i in in_band]
        old = [i for i in side if i not in in_band]
        if new and old and abs(boxes[new, 0].min() - boxes[old, 0].min()) > INDENT * height:
            return False
    return True


def _rows(boxes: np.ndarray, idx: list[int]) -> list[int]:
    """Group lines whose vertical centres fall within half a line of each other; read each row left to right."""
    by_y = sorted(idx, key=lambda i: (boxes[i, 1] + boxes[i, 3]) / 2)
    rows: list[list[int]] = []
    for i in by_y:
        if rows and level(boxes[rows[-1][-1]], boxes[i]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: boxes[j, 0])]


def page_text(boxes: np.ndarray, texts: list[str]) -> str:
    """The page as text, from lines already in reading order: one text row per output line.

    Lines that follow each other on the same row (a receipt's item, quantity and price; the fields of a split
    line) are joined by a tab, so the row survives as a row; everything else starts a new line.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out: list[str] = []
    for k, text in enumerate(texts):
        if k and same_row(boxes[k - 1], boxes[k]):
            out.append("\t")
        elif k:
            out.append("\n")
        out.append(text)
    return "".join(out)


def level(a: np.ndarray, b: np.ndarray) -> bool:
    """Two boxes on one row: their vertical centres within half the taller one's height."""
    return abs((a[1] + a[3]) - (b[1] + b[3])) / 2 < 0.5 * max(a[3] - a[1], b[3] - b[1])


def same_row(a: np.ndarray, b: np.ndarray) -> bool:
    """b continues a's row: b starts right of a (allowing slight overlap) and they are level."""
    return b[0] >= a[2] - 0.25 * max(a[3] - a[1], b[3] - b[1]) and level(a, b)
