"""Which runs of boxes on a row are one line of a justified paragraph, parted at its stretched spaces
(justified_rows): the paragraph's lines flush with the run at both ends say so, and a word too long to have
fitted at its end explains a blank wider than justifying otherwise stretches one. Boxes as layout.py takes them
(N×4 [x0, y0, x1, y1], levelled where the page is skewed).
"""
from __future__ import annotations

import numpy as np

from .layout import INDENT, PROSE, same_row

ALIGNED = 0.35      # line ends this close (in line heights) are set flush with each other
SPREAD = 4.0        # the widest space a justified line is stretched to, in line heights
# A paragraph's lines around a parted one: FLUSH_LINES whole lines flush with it within FLUSH_REACH line heights
# above or below. One such line beside a receipt's item row is chance (SROIE 305, `FG-Y00133 | 1 | 16.80` under
# an item's name as wide: SROIE H-mean 0.9442 -> 0.9357 when one was enough). A run narrower than PROSE is a
# form's or a receipt's row whatever lines it is flush with (`☐ Permitive | ☐ Mandatory`, `Tax Code | %`).
FLUSH_LINES = 2
FLUSH_REACH = 3.5
NEXT_WORD_SLACK = 2.0   # line heights beyond the next line's first word a stretched line's blank may reach
# A paragraph's lines around a stretched one are as tall within this part of its height: each box is fitted to its
# own letters' ink, and a line of `${`, `(` and `|` is boxed from their tops to their tails (fresh `mkbook.py`
# pages, seed 683: `${CMAKE_CONFIGURATION_TYPES} if` 63 px under `configuration   from`, 48 px, whose blank that
# first word explains), a line of capitals and descenders taller than one of x-height letters and ascenders (seed
# 971: `With   this   option,   git   will   replace   all` boxed 53 px, both lines under it 38 and 36).
AS_TALL = 0.35
EVEN_STRETCH = 1.5      # … and its blanks, stretched alike, within this factor of each other
# A line stretched by more than this (line heights, its blanks together) by the next line's first word, which
# alone explains it all, needs one flush line beside its run, not FLUSH_LINES: a form's two fields on a row
# (FUNSD's `Wet Weight 99.2 gms.` 4.6 line heights from `Pump Press. …`, over `Complete Weight`) stand nearer; a
# line stretched by a URL that did not fit, further (`type, see:`: 38 in one blank; fresh seed 1153, `this   API
# can   be   found   at:` over a URL wider than the column, 27 in five blanks of 5.6, under the paragraph's
# first line, the URL's line not flush and the next paragraph's indented: one flush line is all there is).
FAR_SPREAD = 8.0
# A run indented by this much (line heights) or more from a whole line under it that it is flush with at the right
# opens a paragraph: that line alone is flush line enough (fresh seed 1201: `Additionally,   Workforce   Identity
# Federation`, a paragraph's first line over one whole line and a short one, its URL too long to follow).
OPENING_INDENT = 0.5
# Two rows' blanks closer than this (line heights) line up: a table's cells set edge to edge leave blanks of no
# width at the same place row after row (the Chinese tables, seed 3: their rows were joined as prose without it).
ALIGNED_GAP = 0.1


def _flush_left(bx0, bmid, x0: float, mid: float, h: float):
    """Lines starting at bx0 (their rows' middles at bmid) set flush at the left with a run starting at x0 (its
    middle at mid, lines h tall): at the same x, or one of the two indented as a paragraph's first line is — the
    run, or a line above it (fresh `mkbook.py` pages, seed 131: a line parted at its stretched spaces under its
    paragraph's first line, with the paragraph's last line, short, under it)."""
    return ((np.abs(bx0 - x0) <= ALIGNED * h) | ((bx0 < x0) & (x0 - bx0 <= INDENT * h))
            | ((bx0 > x0) & (bx0 - x0 <= INDENT * h) & (bmid < mid)))


def _next_word_reach(boxes: np.ndarray, first_words: np.ndarray) -> np.ndarray:
    """Per box, the widest blank a justified line starting at it may have been stretched to by the line under it:
    that line's first word (first_words: its width, 0 where unknown) did not fit at the end of this one, so this
    one's spaces took the room — up to that word's width and NEXT_WORD_SLACK line heights (its space and the
    line's own). The line under it: as tall, its middle 0.8-2 line heights lower, flush left with it or left of it
    by a paragraph's indent. As tall within AS_TALL of the taller of the two: a first word of x-height letters
    alone is boxed short (fresh seed 1303: `overview` 28 px over a URL's line of 39, `guide:` 44)."""
    heights = boxes[:, 3] - boxes[:, 1]
    mids = (boxes[:, 1] + boxes[:, 3]) / 2
    reach = np.zeros(len(boxes))
    for i in range(len(boxes)):
        h = heights[i]
        step = mids - mids[i]
        under = ((step >= 0.8 * h) & (step <= 2.0 * h) & (np.abs(heights - h) <= AS_TALL * np.maximum(heights, h))
                 & (first_words > 0) & _flush_left(boxes[:, 0], mids, boxes[i, 0], mids[i], h))
        if under.any():
            k = int(np.flatnonzero(under)[np.argmin(step[under])])
            reach[i] = first_words[k] + NEXT_WORD_SLACK * h
    return reach


def _lead_marks_raised(boxes: np.ndarray) -> np.ndarray:
    """boxes, with a mark that leads a row (a dash or a bullet: no wider than the row is high, under half as
    high) boxed as tall as the row's next box: its row is judged by the words' height, not the mark's (fresh
    `mkbook.py` pages, seed 683: `-     Name     of     the` stretched across a column, the dash boxed 7 px high
    beside 48-px words, parted into four; a row started at the dash took no word into it)."""
    out = boxes.copy()
    heights, widths = boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]
    mids = (boxes[:, 1] + boxes[:, 3]) / 2
    for m in np.flatnonzero(heights < 0.5 * heights.max()) if len(boxes) else []:
        right = ((boxes[:, 0] >= boxes[m, 2]) & (boxes[:, 1] <= mids[m]) & (boxes[:, 3] >= mids[m])
                 & (widths[m] <= heights) & (heights[m] < 0.5 * heights))
        if right.any():
            j = int(np.flatnonzero(right)[np.argmin(boxes[right, 0])])
            out[m, 1], out[m, 3] = boxes[j, 1], boxes[j, 3]
    return out


def justified_rows(boxes: np.ndarray, first_words: np.ndarray | None = None) -> list[list[int]]:
    """Runs of boxes (N×4 [x0, y0, x1, y1]) on one row, left to right, that together are one line of a
    justified paragraph: flush at both ends with FLUSH_LINES lines of the same height on the rows above and below
    (within FLUSH_REACH line heights), and as wide as a column of running text (PROSE). Those lines are in one
    box each, or parted themselves where none of their blanks lines up with one of the run's (within ALIGNED_GAP).

    Justifying stretches a short line's spaces to the column's width, and the detector or the field split then
    parts its words (a narrow column's line of a few long words); the paragraph's other lines, the column's
    width in one box each, say what it is. In Chinese prose with Latin words in it, the blanks around them take
    all the stretch, and most of a paragraph's lines can come back parted (fresh `mkzh.py` pages, seed 113: `如果
    全局变量    $auto_path    存在的话`); they say it too, as their blanks fall wherever their words do. A
    table's or a form's row has no such neighbour: the rows beside it are parted at the same columns (two
    columns of prose at their gutter), or end elsewhere.

    A space is stretched to at most SPREAD line heights, but for a line whose next line starts with a word too
    long to have fitted at its end (first_words: each line's first word's width, where known): a URL under `type,
    see:`, whose two words stand 38 line heights apart (fresh `mkbook.py` pages, seed 233)."""
    boxes = _lead_marks_raised(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    heights, widths = boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]
    mids = (boxes[:, 1] + boxes[:, 3]) / 2
    by_x = np.argsort(boxes[:, 0], kind="stable")
    reach = _next_word_reach(boxes, np.asarray(first_words, np.float64)) if first_words is not None \
        else np.zeros(len(boxes))

    def row_from(i: int, skip: set[int]) -> list[int]:
        # the boxes continuing i's row, left to right, each within SPREAD of the one before in heights of the
        # row's tallest box so far (a word without ascenders, `or` beside `the`, is boxed shorter: `namespaced
        # name` stood 123 px apart on a 35-px line, both boxed 25 px tall), taken from those near its row (one
        # array test); a mark, no wider than the row is high, whatever its height (`GitRepositoryLink  resource
        # -`: the dash that ends the stretched line is boxed 6 px high beside 53 px words)
        mark = (widths <= heights[i]) & (heights < 0.5 * heights[i])
        near = ((np.abs(mids - mids[i]) < 2 * heights[i]) & ((heights >= 0.5 * heights[i]) | mark)
                & (heights <= 2.0 * heights[i]) & (boxes[:, 0] > boxes[i, 0]))
        row, tallest = [int(i)], heights[i]
        for j in by_x[near[by_x]]:
            last = boxes[row[-1]]
            if j not in skip and same_row(last, boxes[j]) \
                    and boxes[j, 0] - last[2] <= max(SPREAD * max(tallest, heights[j]), reach[i]):
                row.append(int(j))
                tallest = max(tallest, heights[j])
        return row

    def blanks(row: list[int]) -> list[tuple[float, float]]:
        return [(boxes[a, 2], boxes[b, 0]) for a, b in zip(row, row[1:])]

    parted, inside = [], set()          # every row of two boxes or more, as a possible neighbour
    for i in by_x:
        if int(i) not in inside and len(row := row_from(int(i), set())) > 1:
            inside.update(row[1:])
            parted.append((row, boxes[row, 0].min(), boxes[row, 2].max(), heights[row].max(), mids[row].mean()))
    taken: set[int] = set()
    runs = []
    for i in by_x:
        if i in taken:
            continue
        row = row_from(int(i), taken)
        # the longest run from the row's start that a line beside it is flush with at both ends
        for end in range(len(row), 1, -1):
            part = row[:end]
            x0, x1, h, mid = boxes[part, 0].min(), boxes[part, 2].max(), heights[part].max(), mids[part].mean()
            step = np.abs(mids - mid)
            flush = ((np.abs(heights - h) <= AS_TALL * h) & (step >= 0.8 * h) & (step <= FLUSH_REACH * h)
                     & _flush_left(boxes[:, 0], mids, x0, mid, h) & (np.abs(boxes[:, 2] - x1) <= ALIGNED * h))
            own = blanks(part)
            tol = ALIGNED_GAP * h
            flush_parted = sum(
                1 for other, ox0, ox1, oh, omid in parted
                if not set(other) & set(part) and abs(oh - h) <= AS_TALL * h
                and 0.8 * h <= abs(omid - mid) <= FLUSH_REACH * h and abs(ox1 - x1) <= ALIGNED * h
                and _flush_left(ox0, omid, x0, mid, h)
                and not any(g0 - tol < o1 and o0 < g1 + tol for g0, g1 in own for o0, o1 in blanks(other)))
            # a blank wider than SPREAD is one the next line's first word explains (row_from let it in) and must be
            # stretched alike with the line's others, as justifying stretches them (a column's gutter after it is
            # no part of it); a stretch wider than FAR_SPREAD in all that that word alone explains (it did not fit
            # in the room the blanks took together) is evidence of its own: one flush line beside it is enough
            # (`type, see:` over a URL, the paragraph's first line above it)
            blank_widths = [b0 - a1 for a1, b0 in own]
            if max(blank_widths) > SPREAD * h and min(blank_widths) * EVEN_STRETCH < max(blank_widths):
                continue
            explained = FAR_SPREAD * h < sum(blank_widths) <= max(reach[part[0]], max(blank_widths))
            opens = (flush & (mids > mid) & (x0 - boxes[:, 0] >= OPENING_INDENT * h)).any()
            if flush.sum() + flush_parted >= FLUSH_LINES - (explained or opens) and x1 - x0 >= PROSE * h:
                runs.append(part)
                taken.update(part)
                break
    return runs
