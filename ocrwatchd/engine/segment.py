"""What a read line's character positions tell about it: its fields and where its words lie.

At the detector's working scale, words a couple of characters apart fuse into one box: a receipt's
"3.00   SR", a form's "Order No.   1000070", a table row's cells. Those are separate fields to whoever reads the
result (and separate segments in ground truths such as SROIE's). After recognition the line's characters have
positions (their CTC frames); with the crop's blank columns they measure each gap in character pitches: a word
space is ~1.3, a monospaced double space ~2.3, so a break goes where a gap is `min_gap` (2.1) pitches or more.
The same measure puts back spaces the recogniser dropped (spaces.py; the box is fitted to the letters' ink in
textbox.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ink import blank_runs, longest_blanks, reach_ink

MIN_GAP_HEIGHTS = 0.5   # whatever the pitch, a field gap is at least this many line heights
# A typist's two spaces after a full stop are a sentence space, not a field gap. FUNSD's typed memos were split
# mid-line there (`product samples.` | `Special requests for coal`, one line in its ground truth); those 8 gaps
# measured 2.2–2.6 pitches. So a gap after a sentence's end, before a capitalised word, parts no field below this.
SENTENCE_GAP = 3.0
SENTENCE_ENDS = ".!?"
CLOSERS = "\"'”’)"
# Justified type stretches every space of a line alike to fill the column: a narrow column's line of a few long
# words then has spaces of 2-4 line heights, each as wide as the next (book and report pages, bench/mkbook.py).
# A line whose word gaps, JUSTIFIED_GAPS or more, are all within JUSTIFIED_SPREAD of each other is one field,
# unless half its fields or more would be figures (a table's row of numbers, `62.4  1.07  .41  61.7`, is spaced
# alike too); a form's or a receipt's field gap stands out from the spaces beside it.
JUSTIFIED_GAPS = 3
JUSTIFIED_SPREAD = 1.5
TEXT_MARGIN = 0.2       # margin kept around the text when a box is fitted to it, in line (band) heights


@dataclass(frozen=True)
class CharSpan:
    """One character of a best CTC path: the frames [start, end) its label held, and its mean probability."""

    char: str
    start: int
    end: int
    prob: float


@dataclass(frozen=True)
class Piece:
    """A field of a line: [t0, t1] as fractions of the line's quad width (reading direction), its text and score,
    and where measured the rows [v0, v1] of the quad's height its own letters span (textbox.field_rows)."""

    t0: float
    t1: float
    text: str
    score: float
    rows: tuple[float, float] | None = None


def letter_gaps(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray,
                line_height: float) -> tuple[list[tuple[int, int, int, bool]], float] | None:
    """The blank stretch before each letter but the first, and the line's character pitch; None for a line of
    fewer than two letters or no ink.

    A gap is (index in spans of the letter after it, first blank column, end column, whether a space was read in
    it), the longest blank between the two letters' centres. The pitch is the inked extent less the word gaps
    (where a space was read, or blanks so wide the recogniser must have missed it), per letter.
    """
    inked = np.flatnonzero(ink)
    letters = [k for k, s in enumerate(spans) if s.char != " "]
    if len(letters) < 2 or len(inked) == 0:
        return None
    width = len(ink)
    windows = np.array([(int((spans[prev].start + spans[prev].end) / 2 * px_per_frame),
                         min(width, int(np.ceil((spans[k].start + spans[k].end) / 2 * px_per_frame))))
                        for prev, k in zip(letters, letters[1:])], dtype=np.int64)
    blanks = longest_blanks(blank_runs(ink), windows)
    gaps = [(k, int(a), int(b), k - prev > 1)         # a span between two letters is a space
            for (prev, k), (a, b) in zip(zip(letters, letters[1:]), blanks)]
    word_gaps = sum(b - a for _, a, b, spaced in gaps if spaced or b - a >= MIN_GAP_HEIGHTS * line_height)
    return gaps, (inked[-1] + 1 - inked[0] - word_gaps) / len(letters)


def split_fields(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray, pad_px: float,
                 line_height: float, min_gap: float, borders: np.ndarray | None = None) -> list[Piece] | None:
    """Fields of one read line, or None when it has no gap of min_gap character pitches (and at least
    MIN_GAP_HEIGHTS line heights) and no border (walls.py: borders, per column) between two letters: a table's
    cells are read apart however close their text comes to the rule between them. None too for a justified line,
    whose word gaps (JUSTIFIED_GAPS or more, spaces read and wide gaps alike) are all about as wide.

    Coordinates: frames × px_per_frame are crop columns; the crop is the line's quad grown by pad_px on each side,
    so a field's t is measured on the quad itself. Each field keeps a margin of a quarter line height of the gap.
    """
    width = len(ink)
    quad_w = width - 2 * pad_px
    measured = letter_gaps(spans, px_per_frame, ink, line_height) if quad_w > 0 and line_height > 0 else None
    if measured is None:
        return None
    gaps, pitch = measured
    threshold = max(min_gap * pitch, MIN_GAP_HEIGHTS * line_height)
    walled = borders if borders is not None else np.zeros(width, bool)
    cuts = [(k, a, b) for k, a, b, _ in gaps
            if walled[a:b].any() or b - a >= threshold and not (b - a < SENTENCE_GAP * pitch
                                                                and sentence_space(spans, k))]
    # a cut narrower than a letter with no ink past it to the crop's end parts no field: the letters read past it
    # are the near side's, their frames a little late or early (fresh seed 1361 of bench/mktable.py: `Unit` with
    # its `t` touching the cell's right wall, the `t`'s frames on the wall and the 2-px blank before the wall
    # taken for its gap: `Uni | t`). A wider one stays: what was read past it is the wall itself (a speck at a
    # form's margin boxed with the line and read `1`, 5 line heights from its first letter).
    cuts = [(k, a, b) for n, (k, a, b) in enumerate(cuts)
            if b - a >= pitch or (n > 0 or ink[:a].any()) and (n < len(cuts) - 1 or ink[b:].any())]
    if not cuts:
        return None
    word_gaps = [b - a for _, a, b, spaced in gaps if spaced or b - a >= threshold]
    stretched = (not walled.any() and len(word_gaps) >= JUSTIFIED_GAPS
                 and max(word_gaps) <= JUSTIFIED_SPREAD * min(word_gaps))
    # fields: spans from the first (or the letter after a cut) up to the letter before the next cut
    bounds = [0] + [k for k, _, _ in cuts] + [len(spans)]
    margin = 0.25 * line_height
    edges = [0.0] + [x for _, a, b in cuts for x in (a + min(margin, (b - a) / 2), b - min(margin, (b - a) / 2))]
    edges.append(float(width))
    pieces = []
    for n in range(len(cuts) + 1):
        inside = spans[bounds[n]:bounds[n + 1]]
        while inside[-1].char == " ":               # the spaces read in the cut belong to no field
            inside = inside[:-1]
        while inside[0].char == " ":
            inside = inside[1:]
        t0 = min(max((edges[2 * n] - pad_px) / quad_w, 0.0), 1.0) if n else 0.0
        t1 = min(max((edges[2 * n + 1] - pad_px) / quad_w, 0.0), 1.0) if n < len(cuts) else 1.0
        text = " ".join("".join(s.char for s in inside).split())
        pieces.append(Piece(t0, t1, text, float(np.mean([s.prob for s in inside]))))
    if stretched and mostly_words([p.text for p in pieces]):
        return None     # spaces stretched alike between words: a justified line (figures alike apart: a table)
    # past a wall at the box's end, one character whose ink runs on out of the crop is the next cell's glyph cut
    # by the box, which that cell's own box reads whole (fresh seed 1049 of bench/mktable.py: `14 | 1`, the `1`
    # the stem and half the bar of `TP-39…`'s T; seed 971: an `8` read twice)
    for end, (_, a, b) in ((-1, cuts[-1]), (0, cuts[0])):
        edge = ink[end] and not walled[end]
        if len(pieces) > 1 and walled[a:b].any() and edge and len(pieces[end].text) == 1:
            pieces.pop(end)
    return pieces


def mostly_words(texts: list[str]) -> bool:
    """Whether fewer than half of the texts are figures (no letter: `62.4`, `1.07`, as a table's columns or a
    receipt's quantity and price hold); prose has a number among its words now and then (`RFC 2616`)."""
    return 2 * sum(not any(ch.isalpha() for ch in t) for t in texts) < len(texts)


def sentence_space(spans: list[CharSpan], k: int) -> bool:
    """Whether the gap before spans[k] follows a sentence's end (`.`, `!`, `?`, a closing quote or bracket
    after one) and starts a capitalised word (an upper-case letter, then a lower-case one): how prose continues.

    A field after a full stop is not written that way: a receipt's `3.00  SR`, a form's `No.  C-51` or an
    all-capital label start with a digit, a symbol or two capitals, and keep their split."""
    before = [s.char for s in spans[:k] if s.char != " "]
    while before and before[-1] in CLOSERS:
        before.pop()
    after = [s.char for s in spans[k:k + 2]]
    return (bool(before) and before[-1] in SENTENCE_ENDS and len(after) == 2
            and after[0].isupper() and after[1].islower())


def is_cjk(char: str) -> bool:
    """Kana, CJK ideographs (and the symbols between), Hangul syllables, compatibility ideographs."""
    return "\u3040" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" or "\uf900" <= char <= "\ufaff"


def word_pieces(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray, pad_px: float,
                line_height: float) -> list[Piece]:
    """Each word of a read line (a run of characters between spaces) with where it lies, [t0, t1] of the quad's
    width: from its first letter's ink to its last letter's, never past half-way to the neighbouring word.

    A letter's CTC frames mark its middle, not its extent, so the ink around them says where a word starts and
    ends; the half-way limit keeps a word from reaching over a narrow space into the next one.
    """
    width = len(ink)
    quad_w = width - 2 * pad_px
    words: list[list[CharSpan]] = [[]]
    for span in spans:
        if span.char == " ":
            words.append([])
        else:
            words[-1].append(span)
    words = [w for w in words if w]
    if not words or quad_w <= 0:
        return []
    centre = [((w[0].start + w[0].end) / 2 * px_per_frame, (w[-1].start + w[-1].end) / 2 * px_per_frame)
              for w in words]
    out = []
    for n, (word, (first, last)) in enumerate(zip(words, centre)):
        left = (centre[n - 1][1] + first) / 2 if n else 0.0
        right = (last + centre[n + 1][0]) / 2 if n + 1 < len(words) else float(width)
        a, b = min(width - 1, int(first)), min(width - 1, int(last))
        lo = reach_ink(ink, a, -1, 0.4 * line_height, int(max(0.0, first - left)))
        hi = reach_ink(ink, b, 1, 0.4 * line_height, int(max(0.0, right - last))) + 1
        t0 = min(max((lo - pad_px) / quad_w, 0.0), 1.0)
        t1 = min(max((hi - pad_px) / quad_w, t0), 1.0)
        out.append(Piece(t0, t1, "".join(s.char for s in word), float(np.mean([s.prob for s in word]))))
    return out


def sub_quad(quad: np.ndarray, t0: float, t1: float, v0: float = 0.0, v1: float = 1.0) -> np.ndarray:
    """The part of a quad (clockwise from top-left) between fractions t0..t1 of its width and v0..v1 of its
    height."""
    q = np.asarray(quad, dtype=np.float64)

    def at(t: float, v: float) -> np.ndarray:
        top, bottom = q[0] + t * (q[1] - q[0]), q[3] + t * (q[2] - q[3])
        return top + v * (bottom - top)

    return np.array([at(t0, v0), at(t1, v0), at(t1, v1), at(t0, v1)])


