"""Reading order of text lines: top to bottom, left to right, columns kept apart where the layout is clear.

A recursive XY-cut over line boxes: a block is split at a vertical gutter into columns (read left to right)
when the gutter is wide and the sides are columns of prose (long lines on both sides, as typeset columns are,
even when their rows line up) or do not continue each other row by row (a receipt's item and price "columns"
are rows, not columns); otherwise at horizontal gaps into bands (read top to bottom); a block that cannot be
cut is read row by row.
"""
from __future__ import annotations

import numpy as np

GUTTER = 1.5        # a column gutter is at least this many line heights wide
ROW_ALIGNED = 0.6   # share of the smaller side's lines with a same-row partner that makes it a table, not columns
PROSE = 8.0         # median line width, in line heights, from which a side is a column of running text


def reading_order(boxes: np.ndarray) -> list[int]:
    """Indices of boxes (N×4 [x0, y0, x1, y1]) in reading order."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 0:
        return []
    height = float(np.median(boxes[:, 3] - boxes[:, 1])) or 1.0
    return _order(boxes, list(range(len(boxes))), height)


def _gaps(lo: np.ndarray, hi: np.ndarray, min_gap: float) -> list[float]:
    """Cut positions inside empty stretches (≥ min_gap) of the union of [lo, hi) intervals."""
    order = np.argsort(lo)
    cuts, reach = [], hi[order[0]]
    for i in order[1:]:
        if lo[i] - reach >= min_gap:
            cuts.append((lo[i] + reach) / 2)
        reach = max(reach, hi[i])
    return cuts


def _is_table(boxes: np.ndarray, left: list[int], right: list[int], height: float) -> bool:
    widths = boxes[:, 2] - boxes[:, 0]
    if min(np.median(widths[left]), np.median(widths[right])) >= PROSE * height:
        return False
    small, big = (left, right) if len(left) <= len(right) else (right, left)
    cy_big = (boxes[big, 1] + boxes[big, 3]) / 2
    aligned = sum(np.abs(cy_big - (boxes[i, 1] + boxes[i, 3]) / 2).min() < 0.5 * height for i in small)
    return aligned >= ROW_ALIGNED * len(small)


def _order(boxes: np.ndarray, idx: list[int], height: float) -> list[int]:
    if len(idx) <= 1:
        return idx
    b = boxes[idx]
    for cut in _gaps(b[:, 0], b[:, 2], GUTTER * height):
        left = [i for i in idx if boxes[i, 2] <= cut]
        right = [i for i in idx if boxes[i, 0] >= cut]
        if len(left) >= 2 and len(right) >= 2 and not _is_table(boxes, left, right, height):
            return _order(boxes, left, height) + _order(boxes, right, height)
    y_cuts = _gaps(b[:, 1], b[:, 3], 0.5 * height)
    if y_cuts:
        bands: list[list[int]] = [[] for _ in range(len(y_cuts) + 1)]
        for i in idx:
            bands[int(np.searchsorted(y_cuts, boxes[i, 1]))].append(i)
        if sum(1 for band in bands if band) > 1:
            return [i for band in bands for i in _order(boxes, band, height)]
    return _rows(boxes, idx)


def _rows(boxes: np.ndarray, idx: list[int]) -> list[int]:
    """Group lines whose vertical centres fall within half a line of each other; read each row left to right."""
    by_y = sorted(idx, key=lambda i: (boxes[i, 1] + boxes[i, 3]) / 2)
    rows: list[list[int]] = []
    for i in by_y:
        if rows and _level(boxes[rows[-1][-1]], boxes[i]):
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
        if k and _same_row(boxes[k - 1], boxes[k]):
            out.append("\t")
        elif k:
            out.append("\n")
        out.append(text)
    return "".join(out)


def _level(a: np.ndarray, b: np.ndarray) -> bool:
    """Two boxes on one row: their vertical centres within half the taller one's height."""
    return abs((a[1] + a[3]) - (b[1] + b[3])) / 2 < 0.5 * max(a[3] - a[1], b[3] - b[1])


def _same_row(a: np.ndarray, b: np.ndarray) -> bool:
    """b continues a's row: b starts right of a (allowing slight overlap) and they are level."""
    return b[0] >= a[2] - 0.25 * max(a[3] - a[1], b[3] - b[1]) and _level(a, b)
