"""Checkboxes in a read line: a form's ☐ and ☑ beside their labels.

The recogniser never learned them. On FUNSD's forms it reads an empty box as a space (`' CORRECTED'` for
`☐ CORRECTED`), now and then as `(7` or `□`, and a ticked one as a space too, so whether a box was ticked — often
the one thing a form says — was lost. A box is found by its shape instead, in the line crop's ink: one piece of
ink about a letter tall and about as wide as tall, standing clear of the letters beside it, whose four sides are
straight runs of ink with ink in every corner, around an interior that is blank (☐) or holds a mark (☑) without
being filled (■ is a bullet, not a box). An O, a 0 or a D leaves corners blank; a serif n (its feet look like a
bottom side), a bold B and a cut letter at the crop's edge passed a looser test on UNLV's book pages, which the
straight-run and clear-sides tests turn away. Where the recogniser read a letter or digit inside a box surely,
the reading stands (a comb field's boxed characters, a boxed 0 of a blocky font).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .segment import CharSpan

MIN_SIDE = 0.4       # a box's longer side, in line heights (FUNSD's boxes: 0.6-0.8 of the detected line) …
MAX_SIDE = 1.1       # … at most this: a frame around a word or a table cell is no checkbox
MIN_SIDE_PX = 7      # fewer pixels cannot tell a box from a blot
MAX_SKEW = 1.3       # longer side / shorter side (digits and most letters are taller: 1.4-2)
SIDE_INKED = 0.8     # each side inked along at least this fraction of its length (a faxed box has breaks)
GAP = 0.2            # blank columns either side of a box, as a fraction of its shorter side
BAND = 0.2           # a side's band, as a fraction of the box's shorter side
CORE = 0.3           # the interior's core: the box less this fraction of its shorter side all round
MARKED = 0.1         # ink in the core (fraction) from which the box holds a mark: ☑ (an empty box's core is blank
                     # even where its sides are bold or blurred; FUNSD's ticks and crosses fill 0.78-0.89 of it)
FILLED = 0.9         # ink inside the sides from which it is a solid square (a bullet), not a box (a heavy
                     # cross in a 9 px box fills 0.6)
SURE = 0.9           # a letter or digit read this surely inside a box stays as read
EMPTY, TICKED = "☐", "☑"


@dataclass(frozen=True)
class Checkbox:
    """A box found in a line crop: its columns [x0, x1), whether it holds a mark, and how box-like it is (its
    least inked side, as a fraction: the 'score' of a glyph nobody read)."""

    x0: int
    x1: int
    ticked: bool
    inked: float

    @property
    def glyph(self) -> str:
        return TICKED if self.ticked else EMPTY


def find_checkboxes(mask: np.ndarray, line_height: float) -> list[Checkbox]:
    """The checkboxes in a line crop's boolean ink mask, left to right."""
    if line_height <= 0 or not mask.any():
        return []
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    w, h = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    long, short = np.maximum(w, h), np.minimum(w, h)
    sized = ((long >= MIN_SIDE * line_height) & (long <= MAX_SIDE * line_height) & (short >= MIN_SIDE_PX)
             & (long <= MAX_SKEW * short))
    found = []
    for i in np.flatnonzero(sized) + 1:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        if x == 0 or x + bw >= mask.shape[1]:
            continue                # cut by the crop's edge: a letter the box ends in, perhaps
        # The cheap tests first (most letters of a page's lines come this far: an o fails its corners, a letter
        # inside a word its clear sides), the straight sides last: find_checkboxes on UNLV 8071's 125 lines
        # 0.32 -> 0.11 s (cProfile), the same boxes.
        g = max(1, int(round(GAP * min(bw, bh))))          # clear of the letters beside it: a word of its own
        if mask[y:y + bh, max(0, x - g):x].any() or mask[y:y + bh, x + bw:x + bw + g].any():
            continue
        piece = labels[y:y + bh, x:x + bw] == i
        b = max(1, int(round(BAND * min(bw, bh))))
        inner = mask[y + b:y + bh - b, x + b:x + bw - b]
        if inner.size == 0 or not (piece[:b, :b].any() and piece[:b, -b:].any() and piece[-b:, :b].any()
                                   and piece[-b:, -b:].any()):
            continue                # a corner left blank: an O, a 0, a D
        # each side straight, in one of the piece's two outermost rows (columns): a ring's straightest column
        # lies further in
        e = min(b, 2)
        least = 1.0
        for side in (piece[:e], piece[-e:], piece[:, :e].T, piece[:, -e:].T):
            least = min(least, _straight(side))
            if least < SIDE_INKED:
                break
        if least < SIDE_INKED:
            continue
        c = max(b, int(round(CORE * min(bw, bh))))
        core = mask[y + c:y + bh - c, x + c:x + bw - c]
        if core.size == 0 or inner.mean() >= FILLED:
            continue
        found.append(Checkbox(x, x + bw, bool(core.mean() >= MARKED), round(float(least), 4)))
    return sorted(found, key=lambda c: c.x0)


def _straight(rows: np.ndarray) -> float:
    """How much of a box's side is a straight run: the best of the given rows (the side runs along them) whose
    ink reaches both corners, as the share of its length inked; 0 when none does.

    A row's end pixels are left out of the share, and its ink may stop one pixel short of a corner: blur rounds a
    small box's corners off its sides (FUNSD's 9 px boxes lose a pixel at each end, 2 of 9, which had kept them
    under SIDE_INKED). An n's arch, a B's bowls, an E's open side, a ring, or a box with a stroke glued on (its
    side stops short of the piece's corner) ink no such row."""
    best = 0.0
    for row in rows:
        ink = np.flatnonzero(row)
        if len(row) > 2 and len(ink) and ink[0] <= 1 and ink[-1] >= len(row) - 2:
            best = max(best, float(row[1:-1].mean()))
    return best


def with_checkboxes(spans: list[CharSpan], boxes: list[Checkbox], px_per_frame: float) -> list[CharSpan]:
    """The path with each box's glyph in place of what was read inside it (a space, `(7`, `□`), a word of its
    own (spaces put in either side); a box read as a sure letter or digit is left as read."""
    out = list(spans)
    for box in boxes:
        centre = [(s.start + s.end) / 2 * px_per_frame for s in out]
        inside = [k for k, c in enumerate(centre) if box.x0 <= c < box.x1]
        at = inside[0] if inside else next((k for k, c in enumerate(centre) if c >= box.x1), len(out))
        # … or read next to it, with no space between, within a frame of its edge: CTC places a character a frame
        # or two from its ink, so a letter's piece that passed for a box can be read just beside it (a serif s
        # on a book page, `it i ☑ s done`; the right half of 指 in a Chinese line, `以指 ☑ 定`)
        beside = [k for k in (at - 1, at + len(inside)) if 0 <= k < len(out) and not out[k].char.isspace()
                  and box.x0 - px_per_frame <= centre[k] < box.x1 + px_per_frame]
        if any(out[k].char.isalnum() and out[k].prob >= SURE for k in inside + beside):
            continue
        start = int(box.x0 / px_per_frame)
        glyph = CharSpan(box.glyph, start, max(start + 1, int(np.ceil(box.x1 / px_per_frame))), box.inked)
        out[at:at + len(inside)] = [glyph]
        if at + 1 < len(out) and out[at + 1].char != " ":
            out.insert(at + 1, CharSpan(" ", glyph.end, glyph.end, glyph.prob))
        if at > 0 and out[at - 1].char != " ":
            out.insert(at, CharSpan(" ", glyph.start, glyph.start, glyph.prob))
    return out


def trimmed(spans: list[CharSpan]) -> list[CharSpan]:
    """The path without leading or trailing spaces (the recogniser reads a blank it cannot place as one)."""
    lo, hi = 0, len(spans)
    while lo < hi and spans[lo].char.isspace():
        lo += 1
    while hi > lo and spans[hi - 1].char.isspace():
        hi -= 1
    return spans[lo:hi]
