"""The start of a form's fill-in rule read as a character at a line's end.

A label's box often takes in the first pixels of the rule that follows it (`Date____`, `BRAND........`): where
the rule touches the last letter's foot the detector sees one blob. Inside the crop that piece is shorter than
a rule (ink.without_rules wants RULE_HEIGHTS line heights unbroken) and the recogniser reads it as `.`, `_` or
`-` (FUNSD: `Date.`, `Nicotine_`, `SOFT PACK:_`, `Length of Cigarettes_`). Outside the box the rule goes on.

Found by the pixels: a stroke reaching the crop's end in one thin band of rows below the letters' middle, whose
band is not inked all along under the last letters (their feet), and that the page continues past the box as a
rule (bridging a dotted leader's gaps, in rows of its own: a full stop standing on a rule reaches above them)
until the whole stroke is a rule long. Told by the recogniser: the stub is painted over with the paper and the
crop read again; only where the line then reads as before less its end character is that character dropped.
Its place in the path cannot tell: CTC emits a character up to two frames past its ink, and the N of
`POPULATION` was read nearer a rule's tail than its own ink. A real full stop (`NO SHIPPING REQUIRED.`) reads
again as a stop, a `)` or a `2` read beside a rule's tail reads again as itself, and they stay.

A value typed on its rule has the same fault where the rule begins before it or ends after it inside the box
(`_Mary D. Davis`, `Nicotine_`): there the rule runs on under the letters — one row inked without a break for
RULE_HEIGHTS line heights, which letters' feet never are — and that is rule enough, whether or not the page
continues it past the box. Only a stroke (`_`, `-`) read there goes: a stop standing on the rule is painted over
with it and would read as gone (`120 mm.`, `400 F.P.M.`).
"""
from __future__ import annotations

import unicodedata
from typing import Callable

import cv2
import numpy as np

from .ink import RULE_HEIGHTS, runs
from .segment import CharSpan

UNDERLINE = 0.8     # a band inked along this share of the line height under the last letters, with no rule: feet
LOW = 0.3           # a stub lies below this fraction of the letters' height (an underscore, a dash, a dot)
STROKE = 0.3        # a rule's band of rows, at most this many line heights thick (FUNSD's rules: 1-3 px of ~20)
LEADER_GAP = 0.5    # gaps of a dotted or dashed leader, at most this many line heights (FUNSD's: 0.2-0.4) …
LEADER_INKED = 0.4  # … and its rows inked along this share of its length at least (a solid rule: all of it)
TUCK = 0.3          # a rule may begin this many line heights under the last letter (painted there below its ink)


def rule_stub(ink: np.ndarray, pad_px: float, line_height: float) -> tuple[tuple[int, int] | None, range, int]:
    """The stub of a rule at a crop's right end: its rows [r0, r1), its columns and how long the rule is in the
    crop; (None, range(0), 0) where there is none. The stub is the stroke at the ink's right end, in one thin
    band of rows below the letters' middle, taken leftwards over every column whose ink lies in that band (blank
    ones too); it reaches the crop's edge, or stops short of it where the rule runs on under the letters (a
    value typed on its line), and then that run counts in its length."""
    none = (None, range(0), 0)
    inked_cols = np.flatnonzero(ink.any(axis=0))
    if len(inked_cols) == 0:
        return none
    # the stroke at the ink's end: at the crop's edge, or short of it where the rule runs under the letters
    right = int(inked_cols[-1]) + 1
    at_edge = right >= ink.shape[1] - int(pad_px) - 2
    edge = ink[:, max(0, right - int(pad_px) - 2):right]
    rows = np.flatnonzero(edge.any(axis=1))
    if len(rows) == 0 or rows[-1] + 1 - rows[0] > max(2.0, STROKE * line_height):
        return none
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    outside = ink.copy()
    outside[max(0, r0 - 1):r1 + 1] = False
    inked = np.flatnonzero(outside.any(axis=0))
    start = int(inked[-1]) + 1 if len(inked) else 0
    cols = start + np.flatnonzero(ink[r0:r1, start:].any(axis=0))
    text = np.flatnonzero(ink[:, :start].any(axis=1))
    if len(text) == 0 or r0 < text[0] + LOW * (text[-1] - text[0]):
        return none          # a stroke above the letters' middle (a cell's top border), or no letters
    stub = range(int(cols[0]), int(cols[-1]) + 1)
    # a rule under the letters: one of the band's rows inked without a break from the stub leftwards, as long
    # as ink.without_rules wants a rule (letters' feet sit in the band too, but part between letters)
    under = max((_run_leftwards(ink[r, :stub.start]) for r in range(max(0, r0 - 1), min(len(ink), r1 + 1))),
                default=0)
    underlines = under >= RULE_HEIGHTS * line_height
    if not (underlines or at_edge):
        return none          # a stroke stopping inside the crop, on its own: a dot or a dash of the text's
    feet = ink[r0:r1, max(0, start - int(line_height)):start].any(axis=0)
    if not underlines and len(feet) and feet.mean() >= UNDERLINE:
        return none          # ink under the last letters all along, but no rule: a glyph's own foot
    length = len(stub) + (under if underlines else 0)
    # the stub's own rows: the band, and the row above it where the stub inks that (no row further up can hold
    # ink past `start`: such ink would lie outside the band and have moved `start` on)
    band = (r0 - 1, r1) if r0 > 0 and ink[r0 - 1, cols[0]:].any() else (r0, r1)
    return band, stub, length


def _run_leftwards(row: np.ndarray) -> int:
    """How many columns from the row's right end are inked without a break. Not even a pixel's break is
    bridged: the feet of serifed letters set close stand one pixel apart."""
    blank = np.flatnonzero(~row[::-1])
    return int(blank[0]) if len(blank) else len(row)


def paint_from(column: np.ndarray, band: tuple[int, int]) -> int | None:
    """The first row of a crop column to paint over with the paper: the band's, less a row above it (a blurred
    rule's fringe reads as a dot), but below any ink over the band (the last letter a rule begins under keeps
    its foot); None where ink reaches below the band (a comma's tail, a descender: a glyph through the band)."""
    if column[band[1] + 1:].any():
        return None
    over = np.flatnonzero(column[:max(0, band[0] - 1)])
    return max(band[0] - 1, int(over[-1]) + 2) if len(over) else max(0, band[0] - 1)


def runs_on(beyond: np.ndarray, band: tuple[int, int], need: float, line_height: float) -> bool:
    """Does a rule continue the band in `beyond` (the page past the crop's edge, as a crop of the same rows, the
    edge at column 0) for `need` pixels: ink along the band's rows, bridging gaps shorter than a leader's, in
    rows of its own (inked along LEADER_INKED of it) that hold all of the band's? A full stop standing on a rule
    reaches above the rule's rows; handwriting running on past the box crosses the band but inks no row along."""
    reach = int(np.ceil(need))
    r0, r1 = max(0, band[0] - 1), min(beyond.shape[0], band[1] + 1)
    cols = beyond[r0:r1, :reach].any(axis=0)
    if len(cols) < reach or not cols[:max(1, int(LEADER_GAP * line_height))].any():
        return False
    starts, ends = runs(~cols)
    if any(b - a > LEADER_GAP * line_height for a, b in zip(starts, ends)):
        return False
    # the rule's own rows: those inked along a leader's share of its length at least
    near = beyond[max(0, band[0] - int(STROKE * line_height)):band[1] + int(STROKE * line_height) + 1, :reach]
    rows = np.flatnonzero(near.mean(axis=1) >= LEADER_INKED) + max(0, band[0] - int(STROKE * line_height))
    return len(rows) > 0 and rows[0] - 1 <= band[0] and band[1] <= rows[-1] + 2


def without_rule_stubs(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray, crop: np.ndarray,
                       pad_px: float, line_height: float, beyond: Callable[[bool, float], np.ndarray],
                       reread: Callable[[np.ndarray], str]) -> list[CharSpan]:
    """The path less an end character read from the start of a rule that runs on past the box.

    ink and crop are the crop's (as read, turned if it was); beyond(at_end, px) is the page's gray for px pixels
    past the crop's right (at_end) or left edge, the crop's rows, oriented as the crop is; reread(image) is what
    the recogniser reads in a crop (see the module's docstring)."""
    letters = [k for k, s in enumerate(spans) if not s.char.isspace()]
    if len(letters) < 2:
        return spans
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    width, level, dark = ink.shape[1], None, True
    for at_end in (True, False):
        k = letters[-1] if at_end else letters[0]
        # a rule's stub reads as a mark, never as a letter or a digit: where painting it over loses one, the paint
        # took the letter's foot (`PARTIAL`'s L, `STRUCTURE`'s E stand on the rule that runs on past them)
        if unicodedata.category(spans[k].char)[0] in "LN":
            continue
        band, stub, length = rule_stub(ink if at_end else ink[:, ::-1], pad_px, line_height)
        if band is None:
            continue
        # under the letters a rule's piece reads as a stroke (`_`, `-`); a stop read there is one standing on the
        # rule (`120 mm.`, `400 F.P.M.` on FUNSD's rules), which the paint over the rule's band would take too
        if length > len(stub) and unicodedata.category(spans[k].char) not in ("Pc", "Pd"):
            continue
        # the character's frames reach the stub (a frame's slack), or the recogniser read none of it and the line
        # is not read again (FUNSD's 25 forms: 45 lines read again, 0.4 s of the set's 15 s)
        cols = range(stub.start, stub.stop) if at_end else range(width - stub.stop, width - stub.start)
        reaches = ((spans[k].end + 1) * px_per_frame >= cols.start if at_end
                   else (spans[k].start - 1) * px_per_frame < cols.stop)
        if not reaches:
            continue
        need = RULE_HEIGHTS * line_height - length
        if need > 0:         # the rule must run on past the box (or lie in it already)
            if level is None:    # the crop's own split of ink from paper, for the page past it
                level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
                dark = bool(ink[gray <= level].mean() > 0.5)
            past = beyond(at_end, need)
            past_ink = (past <= level) if dark else (past > level)
            if not runs_on(past_ink if at_end else past_ink[:, ::-1], band, need, line_height):
                continue
        painted = crop.copy()
        paper = np.median(crop[~ink], axis=0)
        for x in (range(max(0, cols.start - int(TUCK * line_height)), width) if at_end
                  else range(0, min(width, cols.stop + int(TUCK * line_height)))):
            top = paint_from(ink[:, x], band)
            if top is not None:
                painted[top:band[1] + 1, x] = paper
        expected = "".join(s.char for j, s in enumerate(spans) if j != k).strip()
        if reread(painted).strip() == expected:
            return [s for j, s in enumerate(spans) if j != k]
    return spans
