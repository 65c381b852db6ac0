"""A table's walls in a line's crop: the vertical rules between cells, which are not text and part the cells.

A table ruled on every side puts a wall a few pixels from each cell's text; the detector often boxes two
neighbouring cells as one line, and the wall, read as no character, leaves a blank of about one pitch between them:
`Freedom specifyAB-20417`. borders() finds columns inked through the whole crop (no letter is: the crop adds a
margin around the box the letters were found in); confirmed() keeps those that run on, straight, past the line's
box on the page (a seal's ring crossing the line does not, nor does a tall bracket). Their ink is taken out of the
crop's mask (a cell's box is fitted to its text, not to its walls) and the line is split at the confirmed ones.
Measured on synthetic ruled tables (bench/mktable.py) and on every other set, in docs/quality.md.
"""
from __future__ import annotations

import cv2
import numpy as np

from .ink import runs
from .segment import sub_quad

BORDER_ROWS = 0.95      # a column inked through this share of a crop's rows is a border, not part of a letter
# A table's wall runs on straight past a line's box: inked in WALL_ROWS of the rows WALL_REACH line heights above
# the box, or as far below it, its stroke's centre within WALL_DRIFT columns.
WALL_REACH = 1.0
WALL_ROWS = 0.9
WALL_DRIFT = 2.0


def borders(mask: np.ndarray, crossing: np.ndarray | None = None) -> np.ndarray:
    """Boolean per column: is it (or a neighbour) inked through nearly the whole crop, its margin above and below
    the box included — a table's cell border, a frame's side? The letters were boxed by the detector and the crop
    adds a margin around that box, so no letter's stroke runs from the crop's top to its bottom; a border does,
    past the box at both ends. Its ink is not the text's (it stretched a cell's fitted box to the cell's walls),
    and where it stands between letters it parts two cells (segment.split_fields).

    crossing (crossing_rows): where a rule crosses the box in the crop's upper or lower half, the cell ends there,
    and a wall need only run from that rule to the other end (a table's top row: its walls start at the rule, and
    the crop's margin above it is blank; `Code` between two walls was boxed to the walls)."""
    height, width = mask.shape
    top, bottom = 0, height
    if crossing is not None and crossing.any():
        at = np.flatnonzero(crossing)
        top = int(at[0]) if at[0] < height / 2 else 0
        bottom = int(at[-1]) + 1 if at[-1] >= height / 2 else height
    if bottom - top < 8 or width < 3:
        return np.zeros(width, bool)
    band = mask[top:bottom]
    enough = BORDER_ROWS * (bottom - top)
    # a thin wall at a slant steps from one column to the next (fresh seed 1409 of bench/mktable.py --lang zh: a
    # 1-px wall in column 33 of the crop's upper 24 rows and 34 of its lower 22, of 34; `66 | 调用` read as one
    # line), as a rule at a slant steps from one row to the next in crossing_rows
    full = _with_steps(band.sum(axis=0) >= enough, (band[:, :-1] | band[:, 1:]).sum(axis=0) >= enough)
    return cv2.dilate(full.astype(np.uint8)[None, :], np.ones((1, 3), np.uint8))[0] > 0


def _with_steps(single: np.ndarray, paired: np.ndarray) -> np.ndarray:
    """single (per row or column: inked through on its own) with both members of each adjacent pair that is
    inked through together (paired[i]: i and i + 1) while neither is alone — a stroke at a slant stepping from
    one to the next. single is set in place and returned."""
    stepped = paired & ~single[:-1] & ~single[1:]
    single[:-1] |= stepped
    single[1:] |= stepped
    return single


def crossing_rows(mask: np.ndarray, pad_px: float) -> np.ndarray:
    """Boolean per row: is it inked unbroken across the whole box (from the crop's left padding to its right)?
    The horizontal counterpart of borders(): the detector boxes letters with a margin and the crop pads that box,
    so no letter's stroke runs from one side of the box to the other, while a cell's top or bottom rule does.
    without_rules finds rules by their length (ink.RULE_HEIGHTS line heights); a cell holding one short number
    is narrower than that, so its rule stayed in its mask and stretched its fitted box to the rule (`49` between a
    table's rules: a box 22 px tall for 13 px of digits).

    A rule lying at a slant across the box steps from one row to the next: then two adjacent rows are inked
    unbroken together and neither alone (fresh seed 1049 of bench/mktable.py: a table's last row's bottom rule
    in row 32 of the crop at the left and 31 at the right, 105 and 87 of 140 columns each, 140 together; the
    walls ending at it were not found, `44 | PG-88480` read as one line). Two rows of letters leave their gaps."""
    height, width = mask.shape
    inner = width - 2 * int(round(pad_px))
    if height < 8 or inner < 3:
        return np.zeros(height, bool)
    return _with_steps(_unbroken(mask, inner), _unbroken(mask[:-1] | mask[1:], inner))


def _unbroken(mask: np.ndarray, inner: int) -> np.ndarray:
    """Boolean per row: does it hold a run of `inner` inked columns?"""
    out = np.zeros(len(mask), bool)
    full = np.flatnonzero(np.count_nonzero(mask, axis=1) >= inner)   # rows with that much ink at all (few)
    if len(full):
        # a run of `inner` inked columns: some window of that width summing to its width
        ink = np.pad(np.cumsum(mask[full], axis=1, dtype=np.int32), ((0, 0), (1, 0)))
        out[full] = ((ink[:, inner:] - ink[:, :-inner]) == inner).any(axis=1)
    return out


def tall_quad(quad: np.ndarray) -> np.ndarray:
    """The line's quad grown WALL_REACH line heights up and as far down: where a wall must go on."""
    return sub_quad(quad, 0.0, 1.0, -WALL_REACH, 1.0 + WALL_REACH)


def confirmed(tall_ink: np.ndarray, candidates: np.ndarray, pad_px: float, flipped: bool) -> np.ndarray:
    """The candidates (borders() of a line's crop) that are a table's walls: a straight stroke that
    runs on past the line's box for WALL_REACH line heights above it or below it (a table's first or last row
    has cells on one side only). A seal's ring crossing a line looks like a border inside the crop but curves away
    outside it (r = 2 line heights: its stroke's centre drifts by 0.7 of one at 1.5), and a tall bracket ends.
    tall_ink is the ink (ink.minority_ink) of the line's quad grown WALL_REACH line heights up and down
    (tall_quad), unturned; candidates are per crop column (the quad widened by pad_px each side, turned 180° if
    flipped)."""
    rows, width = tall_ink.shape
    line = rows / (1 + 2 * WALL_REACH)                       # rows per line height
    above, below = int(round(WALL_REACH * line)), int(round((1 + WALL_REACH) * line))
    out = np.zeros_like(candidates)
    for a, b in zip(*runs(candidates)):                      # one wall: adjacent columns
        middle = (a + b - 1) / 2
        k = int(round((len(candidates) - 1 - middle if flipped else middle) - pad_px))
        if not 0 <= k < width:
            continue
        centre = _stroke_centres(tall_ink, k, max(2, int(0.3 * line)))
        near = _beside_crossing(centre)

        def straight(rows: slice) -> bool:
            return _straight(centre[rows], near[rows])

        if straight(slice(above, below)) and (straight(slice(None, above)) or straight(slice(below, None))):
            out[a:b] = True
    return out


def _stroke_centres(ink: np.ndarray, k: int, reach: int) -> np.ndarray:
    """Per row, the centre column of the ink run through (or nearest to) column k within reach; NaN where there
    is none, inf where the run fills the window (a rule crossing the wall, or the wall's own corner), the wall's
    centre from the run's inner end where it runs out of the window on one side (a rule meeting the wall)."""
    lo, hi = max(0, k - reach), min(ink.shape[1], k + reach + 1)
    window = ink[:, lo:hi]
    width = window.shape[1]
    cols = np.arange(width)
    near = np.where(window, np.abs(cols + lo - k), width + reach).argmin(axis=1)[:, None]   # nearest inked column
    first = np.where(~window & (cols < near), cols, -1).max(axis=1) + 1        # its run, grown both ways
    last = np.where(~window & (cols > near), cols, width).min(axis=1) - 1
    inked = window.any(axis=1)
    out = np.where(inked, lo + (first + last) / 2, np.nan)
    # a run running out of the window on one side for longer than a wall is wide is a rule meeting the wall (a
    # T-junction; its two arms need not be on one row of a scan): the run's other end is the wall's edge, and the
    # wall's centre is half the wall's width (its runs' median on the other rows) in from it — a scanned table's
    # 4-px wall: its edge 35 where the next row's rule meets it, its centre 37.5 on every other row. A seal's ring
    # curving away is placed by its edge as well, and drifts.
    long = last - first + 1 > reach
    left, right = long & (first == 0) & (last < width - 1), long & (first > 0) & (last == width - 1)
    plain = inked & ~long
    half = (np.median(last[plain] - first[plain]) if plain.any() else 0.0) / 2
    out[left] = lo + last[left] - half
    out[right] = lo + first[right] + half
    out[(first == 0) & (last == width - 1) & inked] = np.inf
    return out


def _beside_crossing(centres: np.ndarray) -> np.ndarray:
    """Per row, whether a rule crosses the stroke there (inf) or on a row next to it: there the rule's soft edge
    joins the wall in a stub too short to be told from the wall's own ink (`_stroke_centres`), and the run's centre
    moves by its length (a Chinese table's wall: 61 px on every row but 64 and 67 next to the two rules it meets).
    Found on the whole column, not per part of it: a rule crossing on the last row above a line's box moves the
    centre on the box's first (fresh seed 1153 of bench/mktable.py: 119.5 beside 123.5, `2015-05-04779.95`)."""
    crossed = np.isinf(centres)
    return crossed | np.r_[crossed[1:], False] | np.r_[False, crossed[:-1]]


def _straight(centres: np.ndarray, beside: np.ndarray) -> bool:
    """A stroke inked in WALL_ROWS of these rows whose centre stays within WALL_DRIFT columns, the rows beside a
    rule crossing it (beside: _beside_crossing) aside."""
    found = centres[~np.isnan(centres)]
    placed = centres[np.isfinite(centres) & ~beside]
    return (len(centres) > 0 and len(found) >= WALL_ROWS * len(centres) and len(placed) >= len(found) / 2
            and np.ptp(placed) <= WALL_DRIFT)
