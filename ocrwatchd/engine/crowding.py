"""Lines set close: a line is read from its own rows, not from the letters of the lines above and below it.

A line is read from its box grown by the recogniser's pad. Where lines are set solid — a fax's small-print notice,
8-px type on a 10-11 px pitch — the detector's boxes of two neighbouring lines overlap by a third of their height,
and the crop of one takes in the bottom of the letters above it and the top of those below. The recogniser reads
those strokes as part of the line: fax07 of `bench/mkfax.py --seed 409`, `ALL material restricting later work`
read `A meal tmg laer workor` at 0.50 from its crop (its box 323-337 px, the line above boxed 314-328), and
`ALL mmterial rectnering later work` at 0.86 shown from 326.5 px down, below the blank row that parts the two.

So where the box of a line above or below overlaps this one's along at least half of the shorter of the two, the
recogniser is shown the box cut at a blank row of the overlap (no more ink than BLANK_INK of its columns), the
one nearest its middle (recognize.py grows the cut rows by the whole box's pad and measures everything
after the model in the whole box's crop; the box is fitted to the text's rows in it less the ink past the cut,
without_others). Where the two lines' letters interleave — a typewritten form's descenders reaching below the next
line's capitals — no row of the overlap is blank and the box stays whole: a cut there would take the letters'
tails off (FUNSD's `product samples. (Note:` read at 0.98 whole and at 0.62 cut through its `p` and brackets).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .ink import ink_mask
from .linecrop import is_turned, quad_size, rectified

# A box whose centre lies within this share of a line's height of the line's own centre, across the line, is on
# the line's row (a field beside it, or a box that holds it), not above or below it: it is left alone.
SAME_ROW = 0.5
# A line above or below cuts the box only where the two run along each other for at least this share of the
# shorter (a word reaching over one end of a long line does not take the line's top off).
ALONG = 0.5
# A row of the overlap is blank with ink in at most this share of the box's columns (a fax's specks;
# 0.05 read the faxes a little better and SROIE a little worse, docs/quality.md).
BLANK_INK = 0.02


@dataclass(frozen=True)
class Overlap:
    """A line above (before=True) or below whose box reaches `depth` of this line's height into it (at most
    half), over the fractions [t0, t1] of this line's length it spans."""

    before: bool
    depth: float
    t0: float
    t1: float


def neighbours(quads: list[np.ndarray]) -> list[list[int]]:
    """For each quad, the indices of the others whose axis-aligned boxes meet its own."""
    if len(quads) < 2:
        return [[] for _ in quads]
    q = np.asarray(quads, dtype=np.float64)
    lo, hi = q.min(axis=1), q.max(axis=1)                      # (n, 2) x/y extents
    meets = (lo[:, None, :] <= hi[None, :, :]).all(axis=2) & (lo[None, :, :] <= hi[:, None, :]).all(axis=2)
    np.fill_diagonal(meets, False)
    return [np.flatnonzero(row).tolist() for row in meets]


def overlaps(quad: np.ndarray, others: list[np.ndarray]) -> list[Overlap]:
    """The lines of `others` above and below this one whose boxes overlap its own, running along it (ALONG)."""
    q = np.asarray(quad, np.float32)
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(q, unit)
    found = []
    for other in others:
        pts = cv2.perspectiveTransform(np.asarray(other, np.float32).reshape(-1, 1, 2), m).reshape(-1, 2)
        a0, a1 = float(pts[:, 1].min()), float(pts[:, 1].max())
        s0, s1 = float(pts[:, 0].min()), float(pts[:, 0].max())
        t0, t1 = max(0.0, s0), min(1.0, s1)
        if t1 <= t0 or t1 - t0 < ALONG * min(1.0, s1 - s0) or abs((a0 + a1) / 2 - 0.5) <= SAME_ROW:
            continue
        if (a0 + a1) / 2 < 0.5 and a1 > 0:
            found.append(Overlap(True, min(a1, 0.5), t0, t1))
        elif (a0 + a1) / 2 > 0.5 and a0 < 1:
            found.append(Overlap(False, min(1 - a0, 0.5), t0, t1))
    return found


def own_rows(crop: np.ndarray, found: list[Overlap]) -> tuple[float, float]:
    """The rows [v0, v1] of the box (its crop, unpadded and not turned) left to its own line: cut at the blank row
    nearest the middle of each overlap that holds one. Blank across the whole box, not only where the other line
    runs: the cut takes the row off the whole line, and its own ascenders beyond the other line's end must keep
    theirs."""
    if not found:
        return 0.0, 1.0
    mask = ink_mask(crop)
    h, w = mask.shape
    inked = mask.sum(axis=1)
    v0, v1 = 0.0, 1.0
    for o in found:
        depth = max(1, int(round(o.depth * h)))
        rows = np.arange(depth) if o.before else np.arange(h - depth, h)
        blank = rows[inked[rows] <= BLANK_INK * w]
        if not len(blank):
            continue
        middle = (depth / 2) if o.before else h - depth / 2
        row = int(blank[np.argmin(np.abs(blank + 0.5 - middle))])
        if o.before:
            v0 = max(v0, (row + 0.5) / h)
        else:
            v1 = min(v1, (row + 0.5) / h)
    return v0, v1


def without_others(mask: np.ndarray, rows: tuple[float, float], pad_px: float, flipped: bool = False) -> np.ndarray:
    """The ink of a line's padded crop less what lies beyond its own rows (own_rows, as fractions of the unpadded
    box; flipped: the crop was turned by 180°): the other line's letters, past a blank row of the overlap, are
    that line's, read with it. A box is fitted to its text by the rows the text's ink fills (textbox.py), and the
    bottom of the letters above in the crop carried the box up to them (fax00 of `bench/mkfax.py --seed 829`:
    8-px print on a 12-px pitch boxed 14 px tall, 2 rows of the line above 3 blank rows over it, and the box
    matched no ground truth)."""
    v0, v1 = (1 - rows[1], 1 - rows[0]) if flipped else rows
    if v0 <= 0 and v1 >= 1:
        return mask
    quad_h = mask.shape[0] - 2 * pad_px
    out = mask.copy()
    if v0 > 0:
        out[:max(0, int(pad_px + v0 * quad_h))] = False
    if v1 < 1:
        out[int(np.ceil(pad_px + v1 * quad_h)):] = False
    return out


def shown_rows(image: np.ndarray, quads: list[np.ndarray]) -> list[tuple[float, float]]:
    """For each of a page's line quads, the rows [v0, v1] of it to show the recogniser: its own line's (own_rows);
    a column, read turned, whole."""
    rows = [(0.0, 1.0)] * len(quads)
    for i, near in enumerate(neighbours(quads)):
        if near and not is_turned(*quad_size(quads[i])):
            rows[i] = own_rows(rectified(image, quads[i]), overlaps(quads[i], [quads[j] for j in near]))
    return rows
