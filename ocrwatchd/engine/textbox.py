"""Fitting a read line's box to its text: where, in the detector's quad, the read letters' ink lies.

A detection box can take in ink that is not text: a drawing's stroke touching a label, a rule under a line, a
table cell's border the box reached. The letters' positions (their CTC frames) and the crop's ink say where the
text is; the box is fitted to that plus a margin (segment.TEXT_MARGIN), wherever that is smaller than the box.
"""
from __future__ import annotations

import numpy as np

from .ink import reach_ink, runs
from .segment import TEXT_MARGIN, CharSpan

# Ink at the crop's top or bottom edge (or beside a rule taken out), set apart from the text by a blank of EDGE_GAP
# line heights and at most EDGE_THIN of one thick or holding a stroke a line height long, is a rule's remnant the
# box reached, not the text's (_text_rows)
EDGE_GAP = 0.15
EDGE_THIN = 0.1
# A detector's box holds its text's rows at about this share of its height (the median over SROIE's lines is 0.71,
# FUNSD's 0.65). Where the text fills less, something else stretched the box — a table cell's rules above and
# below — and the margin kept beside the text follows the line height the text implies, not the box's: a cell's
# `79`, 12 px of digits in a 28 px box, kept 5.6 px each side and matched no ground truth (synthetic tables seed 9
# H-mean 0.883 -> 0.948; SROIE and the other sets the same).
TEXT_FILL = 0.7


def text_bounds(spans: list[CharSpan], px_per_frame: float, mask: np.ndarray, ink: np.ndarray, pad_px: float,
                line_height: float, ruled: np.ndarray | None = None,
                walls: np.ndarray | None = None) -> tuple[float, float, float, float]:
    """Where the read text lies in its quad, as fractions (t0, t1) of its width and (v0, v1) of its height.

    A detection box can take in ink that is not text (a drawing's stroke touching a label, a rule under a line):
    DB's region follows the stroke and the box grows, sometimes to twice the text's height. The letters'
    positions say where the text is: the box is fitted to the ink from the first letter to the last (and the
    rows where that ink is dense) plus a margin, wherever that is smaller than the detected box. The margin beside
    the text is TEXT_MARGIN of the line height, or of the height its rows imply (TEXT_FILL) where that is less.
    mask is the crop's ink, ink its columns (ink_columns); ruled, per row, whether a rule was taken out of it;
    walls, per column, a table's wall (walls.confirmed): the text reaches no further than the walls either side of
    it, beyond which is the next cell's.
    """
    letters = [s for s in spans if s.char != " "]
    height, width = mask.shape
    quad_w, quad_h = width - 2 * pad_px, height - 2 * pad_px
    if not letters or quad_w <= 0 or quad_h <= 0:
        return (0.0, 1.0, 0.0, 1.0)
    first = min(width - 1, int((letters[0].start + letters[0].end) / 2 * px_per_frame))
    last = min(width - 1, int((letters[-1].start + letters[-1].end) / 2 * px_per_frame))
    # The columns the text may reach into are inked within the letters' own rows (found over the columns from
    # the first letter to the last): a rule's remnant above or below them, cut by the crop, is not text and
    # must not carry the box to the crop's ends (`86` right-aligned in a ruled cell: a tilted border left a
    # 1-px row of it beside the row taken out, and the box ran 36 px for 19 px of digits).
    core = mask[:, min(first, last):max(first, last) + 1]
    core_rows = core.sum(axis=1)
    if core_rows.max() > 0:
        r0, r1 = _text_rows(core_rows >= 0.1 * core_rows.max(), core_rows, core, ruled, line_height)
        ink = ink & mask[r0:r1].any(axis=0)
    lo = reach_ink(ink, first, -1, 0.4 * line_height, int(line_height))
    hi = reach_ink(ink, last, 1, 0.4 * line_height, int(line_height)) + 1
    if walls is not None and walls.any():
        at = np.flatnonzero(walls)
        lo = max([lo] + [int(k) + 1 for k in at if k < first])
        hi = min([hi] + [int(k) for k in at if k > last])
    rows = mask[:, lo:hi].sum(axis=1)
    text_rows = None
    if rows.max() > 0:
        dense = rows >= 0.1 * rows.max()                 # a thin stroke adds a few pixels a row, text many
        text_rows = _text_rows(dense, rows, mask[:, lo:hi], ruled, line_height)
    implied = line_height if text_rows is None else min(line_height, (text_rows[1] - text_rows[0]) / TEXT_FILL)
    t0 = max(0.0, (lo - TEXT_MARGIN * implied - pad_px) / quad_w)
    t1 = min(1.0, (hi + TEXT_MARGIN * implied - pad_px) / quad_w)
    if text_rows is None:
        return (t0, t1, 0.0, 1.0)
    r0, r1 = text_rows
    margin = TEXT_MARGIN * (r1 - r0)
    return (t0, t1, max(0.0, (r0 - margin - pad_px) / quad_h), min(1.0, (r1 + margin - pad_px) / quad_h))


# A field of a line keeps the line's rows unless its own span under FIELD_SHORTER of them: set in another size or
# script. Fields of one face stand at 0.9 and more of their line (FUNSD's `Leslie L. Daniels - Secretary`, 0.92,
# beside `(202) 662-5942`, whose parentheses reach above and below the letters, and matched its ground truth's
# entity box only so); figures beside CJK words in a whole em at 0.62-0.79 (a Chinese table's cells), a receipt's
# `18.00` set smaller than its line at 0.73. Without the limit FUNSD-train's H-mean fell 0.845 -> 0.843.
FIELD_SHORTER = 0.85


def field_rows(t0: float, t1: float, v0: float, v1: float, spans: list[CharSpan], px_per_frame: float,
               mask: np.ndarray, ink: np.ndarray, pad_px: float, line_height: float, ruled: np.ndarray | None = None,
               walls: np.ndarray | None = None) -> tuple[float, float]:
    """The rows (v0, v1), as fractions of the quad's height, that the letters of one field of a line ([t0, t1] of
    its width) span, within the line's own (v0, v1): text_bounds over the field's letters alone, where they span
    less than FIELD_SHORTER of the line's rows; else the line's.

    A row of a table read as one line and split into cells takes the height of its tallest cells (CJK words in
    a whole em) for every cell; a cell of figures beside them is 0.6 of that tall, and its box twice the height
    of its text (`298.38` boxed 23 px for 11 px of digits) matched no ground truth's."""
    quad_w = mask.shape[1] - 2 * pad_px
    letters = [s for s in spans if s.char != " "
               and t0 <= ((s.start + s.end) / 2 * px_per_frame - pad_px) / max(quad_w, 1.0) <= t1]
    if not letters:
        return v0, v1
    _, _, f0, f1 = text_bounds(letters, px_per_frame, mask, ink, pad_px, line_height, ruled, walls)
    f0, f1 = max(v0, f0), min(v1, f1)
    return (f0, f1) if f1 - f0 < FIELD_SHORTER * (v1 - v0) else (v0, v1)


def _text_rows(dense: np.ndarray, rows: np.ndarray, mask: np.ndarray, ruled: np.ndarray | None,
               line_height: float) -> tuple[int, int]:
    """The rows [r0, r1) the text's ink spans: from the first dense row to the last, less a rule's remnant at the
    crop's top or bottom: a run of dense rows set apart from the rest by a blank (the rows of a rule taken out
    between them are blank: ink beyond a cell's rule is not its text), that adjoins the crop's edge or
    holds a rule already taken out, and that is thin or holds a stroke a line height long. That is a rule the box
    reached, cut by the crop (a table cell's border, a form's line over a field; the crop pads the box the letters
    were found in, so their own ink does not reach its edge). The rows a rule was taken out of join the runs beside
    them: a tilted rule leaves pieces beside the rows it crossed whole, a thick one its ragged edge between those
    rows and the crop's edge, and a tilted thick one both, which no blank parts (2026-11-30: synthetic tables seed
    3 H-mean 0.964 -> 0.986, seed 21 0.943 -> 0.973, with the walls of walls.borders' cells).
    What else reaches the edge is the descenders or capitals of a neighbouring line, which some ground truth
    (SROIE's) draws its boxes around: cutting every run up to 0.15 line heights thick cost SROIE H-mean 0.9442 ->
    0.9410, so those are kept. mask: the crop's ink over the text's columns."""
    ruled = np.zeros(len(dense), bool) if ruled is None else ruled
    # runs of ink, a rule taken out counting as ink: no blank parts a remnant's pieces on either side of it, and a
    # remnant beside a rule taken out holds its rows
    starts, ends = runs(dense | ruled)
    inked = [k for k in range(len(starts)) if dense[starts[k]:ends[k]].any()]
    starts, ends = starts[inked], ends[inked]
    if len(starts) > 1:
        gap = max(2.0, EDGE_GAP * line_height)
        total = np.concatenate(([0], np.cumsum(rows)))
        heaviest = int(np.argmax(total[ends] - total[starts]))

        def remnant(a: int, b: int) -> bool:               # thin (its inked rows) or holding a rule's stroke
            if np.count_nonzero(dense[a:b]) <= max(1.0, EDGE_THIN * line_height):
                return True
            return any(len(r[0]) and (r[1] - r[0]).max() >= line_height for r in map(runs, mask[a:b]))

        def at_edge_or_rule(a: int, b: int) -> bool:
            return a == 0 or b == len(dense) or bool(ruled[a:b].any())

        def blank_between(k: int) -> int:                # rows between run k's ink and run k + 1's: a rule
            above = np.flatnonzero(dense[starts[k]:ends[k]])[-1] + starts[k]   # taken out between them is no ink
            below = np.flatnonzero(dense[starts[k + 1]:ends[k + 1]])[0] + starts[k + 1]
            return int(below - above - 1)

        def apart(a: int, b: int, k: int) -> bool:      # the runs in rows [a, b) stand apart from their
            # neighbour (across the blank after run k) by EDGE_GAP line heights, or, holding a rule taken out (the
            # rule says what they are), by 2 blank rows
            return blank_between(k) >= (2 if ruled[a:b].any() else gap)

        # The runs from the crop's edge up to each blank, taken together: a rule's remnant may come with the
        # last row of the letters beyond it, one blank row apart, which alone is no run apart from the rule (a
        # table cell's `Public`, its box reaching over the thick rule above to the baseline of the row above:
        # 1 row of their letters, 1 blank, the rule, 4 blank rows, then the cell's text, boxed from the letters
        # above and matched no ground truth). The widest such group is left out.
        first, last = 0, len(starts) - 1
        for k in range(heaviest):
            if at_edge_or_rule(starts[0], ends[k]) and apart(starts[0], ends[k], k) and remnant(starts[0], ends[k]):
                first = k + 1
        for k in range(len(starts) - 1, heaviest, -1):
            if (at_edge_or_rule(starts[k], ends[-1]) and apart(starts[k], ends[-1], k - 1)
                    and remnant(starts[k], ends[-1])):
                last = k - 1
        starts, ends = starts[first:last + 1], ends[first:last + 1]
    kept = np.flatnonzero(dense[starts[0]:ends[-1]]) + starts[0]    # the text's own rows, not the rules' beside
    return int(kept[0]), int(kept[-1]) + 1
