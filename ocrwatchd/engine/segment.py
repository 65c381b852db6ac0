"""What a read line's character positions tell about it: fields, dropped spaces, and where the text lies.

At the detector's working scale, words a couple of characters apart fuse into one box: a receipt's
"3.00   SR", a form's "Order No.   1000070", a table row's cells. Those are separate fields to whoever reads the
result (and separate segments in ground truths such as SROIE's). After recognition the line's characters have
positions (their CTC frames); with the crop's blank columns they measure each gap in character pitches: a word
space is ~1.3, a monospaced double space ~2.3, so a break goes where a gap is `min_gap` (2.1) pitches or more.
The same measure puts back spaces the recogniser dropped (the box is fitted to the letters' ink in textbox.py).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from .ink import blank_runs, longest_blanks, reach_ink

MIN_GAP_HEIGHTS = 0.5   # whatever the pitch, a field gap is at least this many line heights
FULLWIDTH_BLANK = 0.85  # a space beside full-width punctuation is a blank this many line heights wide (see
                        # add_missed_spaces: the mark's own blank is 0.54-0.73, with a typed space 0.94-1.16)
# Between a CJK character and a Latin letter or digit, a typed space leaves 0.31-0.55 line heights of blank (the
# quartiles) and none 0.07-0.14 (1151 pairs of the Chinese pages, slides, receipts and tables, seeds 3, 131, 157,
# 233, and seed 233's pages photographed; their ground truth aligned letter by letter). A face whose Latin is
# narrow (WenQuanYi Micro Hei, mkzh.py seed 233) leaves 0.25-0.31 for a typed space (`OLL 可能`, `带着 WITH`);
# unspaced pairs stand under 0.25 but where every blank of the line is wide (letter-spaced, justified: their
# median blank between CJK characters 0.15-0.24), which is told by that median, a space being at least twice it.
# From 0.3 to 0.25: 793 -> 871 of the 898 typed spaces, none of the 432 unspaced pairs. Rendered from the fonts
# (each pair set alone, a line height 1.1 of the size), unspaced pairs stand up to 0.24 in AR PL UKai and
# WenQuanYi Zen Hei Mono, typed spaces 0.26 and more in every CJK face.
CJK_LATIN_BLANK = 0.25
# Between two Latin letters of a CJK line the line's pitch (a CJK em) is too coarse to find a word space by: the
# recogniser drops it (`NO SCROLL` read `NOSCROLL`: 0.32 line heights of blank, letters of the word 0.03-0.12).
# Unspaced pairs stand under 0.24 in the pages read (3495 pairs, 'll' the widest) and under 0.18 in every
# proportional face rendered, up to 0.29 in WenQuanYi Micro Hei Mono and 0.36 in DejaVu Sans Mono (`jr`), whose
# letters stand in cells; typed spaces 0.25 and more (and 0.45 in every monospaced face). Two digits are left to
# the pitch: tabular figures set a narrow `1` in a wide cell (`11` 0.28 on Chinese receipts).
LATIN_IN_CJK_BLANK = 0.3
# Between two CJK characters, each set in a whole em, the blank is the two glyphs' side bearings: 0.12 at the
# median, 0.31 at the 99th percentile and up to 0.46 beside narrow glyphs (`目录`, `自己`); a typed space 0.47 /
# 0.51 / 0.54 (5th pct / quartile / median; the same pages, 829 spaces).
CJK_BLANK = 0.5
# … and the two characters' middles stand this many line heights further apart than the line's usual CJK pair:
# a blank that wide is also what a glyph narrow in its em leaves, `一` most of all in a column of vertical type
# read turned (0.5-0.57 line heights of blank beside it, its middle -0.05 to +0.05 from the usual advance; bench/
# mkzh.py --vertical seed 3), where a typed space moves the next character by its own width (+0.35 to +0.50 in
# horizontal pages, seeds 3, 41, 51; +0.26 to +0.32 in justified two-column lines, whose blanks are all widened).
CJK_SPACE_ADVANCE = 0.2
# A full-width punctuation mark stands in a whole em: from the ink before it to the ink after it, at least 0.99 of
# the line's usual advance between two CJK characters (545 marks between two characters on the Chinese pages,
# slides and receipts, seeds 3, 131 and 157; `？` and `／` fill more of it than a comma, so it is the cell and not
# the blanks beside the mark that is measured). The same mark typed in ASCII in the same faces and read full-width
# stands in 0.62 of one at the median for a colon, and as wide as a full-width one where a space was typed after
# it (commas, parentheses): those cannot be told and are left as read. Under HALFWIDTH_CELL ems the mark is
# half-width; in a line too short to measure its advance (two CJK pairs at least), under HALFWIDTH_CELL_HEIGHTS
# line heights (full-width colons on receipts in condensed faces: 0.67 and more; ASCII ones 0.32-0.6 and more).
HALFWIDTH_CELL = 0.75
HALFWIDTH_CELL_HEIGHTS = 0.6
# The recogniser also drops word spaces in Latin lines set in a wide face (Century Schoolbook's `version8.0`,
# `Compact2013`, `supportedout`: blanks of 14-15 px where the line's read spaces are 11-16 and its letters' at
# most 5), which the pitch test misses: a proportional face's word blank is 0.7-1.0 of its pitch. In a line that
# shows its word spaces (WORD_SPACES_SEEN read, their blank at least MIN_WORD_BLANK px), a blank LIKE_A_SPACE of
# their median wide and LETTER_BLANKS times its letters' is one too. A typewriter's narrow glyph leaves under
# 0.5 of a space's blank in its cell. Measured on the 60 sets: with 3 spaces seen, 6 px and 0.7 of a space,
# small print's blanks (a receipt's `RE TURNABLE`, `SHOU LD` on a ~100 dpi form: 6-7 px, as wide as its
# spaces), a line of three (`1 7 JAN 2018`) and a quote after a wide glyph (`3½ "`: 0.71 of a space) took
# spaces they do not have; asking the next letter to stand a half space further on as well refused only real
# ones (`License. You`, `(a) is`, `~" for`).
# A short line (a narrow column's, 5-6 words) shows fewer: with 2 or 3 read, the letters either side must also
# stand ADVANCE times the line's usual advance apart (middle to middle) — a space moves the next letter on, while
# a monospaced face's narrow glyph leaves its blank inside an ordinary advance (`DETU RNARLE`, `(1 PAIR )` on
# receipts were refused so; `1 7 JAN`, in a proportional face's tabular digits, was not).
WORD_SPACES_SEEN = 2
WORD_SPACES_SURE = 4
ADVANCE = 1.25
MIN_WORD_BLANK = 8
LIKE_A_SPACE = 0.8
LETTER_BLANKS = 3.0
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


def _letter_gaps(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray,
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
    measured = _letter_gaps(spans, px_per_frame, ink, line_height) if quad_w > 0 and line_height > 0 else None
    if measured is None:
        return None
    gaps, pitch = measured
    threshold = max(min_gap * pitch, MIN_GAP_HEIGHTS * line_height)
    walled = borders if borders is not None else np.zeros(width, bool)
    cuts = [(k, a, b) for k, a, b, _ in gaps
            if walled[a:b].any() or b - a >= threshold and not (b - a < SENTENCE_GAP * pitch
                                                                and sentence_space(spans, k))]
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


def add_missed_spaces(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray, line_height: float,
                      min_blank: float, cjk: bool = False) -> list[CharSpan]:
    """The path with a space put in wherever two letters read with none between them stand min_blank character
    pitches or more apart (blank columns): the recogniser drops spaces beside narrow glyphs (`TEL:03` for
    `TEL : 03`), and a blank that wide is a space in any font.

    Beside full-width punctuation (`：`, `，`, `（`) the blank must also be wider than the mark's own: CJK type
    sets each such mark in a whole em with its dot or stroke at one side, so `电话：050` has 0.54-0.65 line
    heights of blank after the colon and no space, while a space typed after a comma (`属性时， 仅显示`) leaves
    0.94-1.16 (book pages: commas without one 0.58-0.73). FULLWIDTH_BLANK sits between. Only in a CJK line
    (cjk): in a Latin one a full-width mark is the recogniser's reading of an ASCII one (folded back to ASCII
    after this), whose blank is a space (`: SS3511032318` on a receipt).

    In a CJK line the recogniser, trained on text that has none, drops the spaces typed around a Latin word
    (`使用 Tcl 事件循环` read `使用Tcl事件循环`), where the line's pitch, a whole em, is too coarse to measure them:
    there a blank of CJK_LATIN_BLANK line heights and twice the line's usual blank between CJK characters
    between a CJK character and a Latin letter or digit is a space, as is one of LATIN_IN_CJK_BLANK (and twice
    the usual) between two Latin letters of the line (`NO SCROLL`), and so is a blank of CJK_BLANK between two CJK
    characters whose middles stand CJK_SPACE_ADVANCE further apart than the line's usual two: a narrow glyph
    leaves a wide blank in its em, a space moves its neighbour (and in a letter-spaced or justified line every
    blank is wide, every advance as usual).
    """
    measured = _letter_gaps(spans, px_per_frame, ink, line_height) if min_blank > 0 else None
    if measured is None:
        return spans
    gaps, pitch = measured
    letters = [k for k, s in enumerate(spans) if s.char != " "]
    before = dict(zip(letters[1:], letters))
    both_cjk = {k for k, _, _, _ in gaps if is_cjk(spans[before[k]].char) and is_cjk(spans[k].char)}
    # the line's usual blank and advance between two CJK characters (letter-spacing and justifying widen them); a
    # Latin line, most lines read, has none to measure
    usual = float(np.median([b - a for k, a, b, _ in gaps if k in both_cjk] or [0])) if cjk else 0.0
    advance = _advances(gaps, ink) if cjk else {}
    usual_advance = float(np.median(_cjk_advances(spans, gaps, advance) or [0])) if cjk else 0.0
    like_a_space = _like_a_space(gaps, ink) if not cjk else set()
    missed = like_a_space | {k for k, a, b, spaced in gaps if not spaced and (
        b - a >= min_blank * pitch
        and (not cjk or b - a >= FULLWIDTH_BLANK * line_height
             or not (fullwidth_punctuation(spans[before[k]].char) or fullwidth_punctuation(spans[k].char)))
        or cjk and (blank := _cjk_space(spans[before[k]].char, spans[k].char, bool(both_cjk))) is not None
        and b - a >= blank * line_height
        and (advance[k] >= usual_advance + CJK_SPACE_ADVANCE * line_height if k in both_cjk
             else b - a >= 2 * usual))}
    out: list[CharSpan] = []
    for k, span in enumerate(spans):
        if k in missed:
            out.append(CharSpan(" ", out[-1].end, out[-1].end, out[-1].prob))
        out.append(span)
    return out


def _like_a_space(gaps: list[tuple[int, int, int, bool]], ink: np.ndarray) -> set[int]:
    """The unspaced gaps of a Latin line as wide as its read word spaces (see LIKE_A_SPACE); none where the line
    shows too few word spaces, or too small to measure."""
    read = [b - a for _, a, b, spaced in gaps if spaced]
    unspaced = [(k, a, b) for k, a, b, spaced in gaps if not spaced]
    word = float(np.median(read)) if read else 0.0
    if len(read) < WORD_SPACES_SEEN or not unspaced or word < MIN_WORD_BLANK:
        return set()
    letter = max(1.0, float(np.median([b - a for _, a, b in unspaced])))
    # a blank with ink at both ends: a blank cut by the window ends where CTC placed a letter late, past its ink
    # (a closing `.` read 2 frames after it: the blank after the line's last ink is no word space)
    found = {k for k, a, b in unspaced if b - a >= LIKE_A_SPACE * word and b - a >= LETTER_BLANKS * letter
             and 0 < a and b < len(ink) and ink[a - 1] and ink[b]}
    if found and len(read) < WORD_SPACES_SURE:
        advance = _advances(gaps, ink)
        usual = float(np.median([advance[k] for k, _, _ in unspaced]))
        found = {k for k in found if advance[k] >= ADVANCE * usual}
    return found


def _advances(gaps: list[tuple[int, int, int, bool]], ink: np.ndarray) -> dict[int, float]:
    """For each gap (keyed by the letter after it), how far apart the middles of the two letters' ink stand: a
    letter's ink runs from the end of the blank before it to the start of the blank after it."""
    inked = np.flatnonzero(ink)
    starts = [int(inked[0])] + [b for _, _, b, _ in gaps]
    ends = [a for _, a, _, _ in gaps] + [int(inked[-1]) + 1]
    middles = [(s + e) / 2 for s, e in zip(starts, ends)]
    return {k: middles[n + 1] - middles[n] for n, (k, _, _, _) in enumerate(gaps)}


def _cjk_advances(spans: list[CharSpan], gaps: list[tuple[int, int, int, bool]],
                  advance: dict[int, float]) -> list[float]:
    """The advances (_advances) between two CJK characters with no space read between them: the line's em, where
    letter-spacing or justifying has not widened it."""
    letters = [k for k, s in enumerate(spans) if s.char != " "]
    before = dict(zip(letters[1:], letters))
    return [advance[k] for k, _, _, spaced in gaps
            if not spaced and is_cjk(spans[before[k]].char) and is_cjk(spans[k].char)]


def is_cjk(char: str) -> bool:
    """Kana, CJK ideographs (and the symbols between), Hangul syllables, compatibility ideographs."""
    return "\u3040" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" or "\uf900" <= char <= "\ufaff"


def _cjk_space(a: str, b: str, measured: bool = True) -> float | None:
    """The blank, in line heights, from which two neighbouring characters of a CJK line stand a space apart: two
    CJK characters CJK_BLANK, a CJK character and a Latin letter or digit CJK_LATIN_BLANK, two Latin letters
    LATIN_IN_CJK_BLANK where the line has two CJK characters side by side (measured: its usual blank is known;
    a Latin line with one CJK character read in it keeps its own word spaces' tests); None for other pairs."""
    if is_cjk(a) and is_cjk(b):
        return CJK_BLANK
    if (is_cjk(a) and b.isascii() and b.isalnum()) or (a.isascii() and a.isalnum() and is_cjk(b)):
        return CJK_LATIN_BLANK
    if measured and a.isascii() and a.isalpha() and b.isascii() and b.isalpha():
        return LATIN_IN_CJK_BLANK
    return None


def fullwidth_punctuation(char: str) -> bool:
    """A punctuation mark set in a whole em (East Asian width F or W), as CJK type sets them."""
    return _is_punctuation(char) and unicodedata.east_asian_width(char) in ("F", "W")


def halfwidth_marks(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray,
                    line_height: float) -> list[CharSpan]:
    """The path with each full-width punctuation mark that stands in too narrow a cell for one written as its
    half-width twin (NFKC: `，` → `,`, `：` → `:`, `（` → `(`), in a CJK line set across.

    In a CJK face the two forms of a colon or a comma are often the same glyph, and the recogniser writes the
    full-width one (389 of 396 commas on the Chinese pages, slides and receipts of seeds 3 and 131, 107 of them
    typed `,`); what tells them apart is the cell: CJK type sets a full-width mark in a whole em and an ASCII one
    in its own narrow advance (HALFWIDTH_CELL). Only between two characters that are not punctuation: CJK
    typesetting may set a mark beside another one, or at a line's end, in half an em (punctuation squeezing)."""
    measured = _letter_gaps(spans, px_per_frame, ink, line_height)
    if measured is None:
        return spans
    gaps = measured[0]
    blank = {k: (a, b) for k, a, b, _ in gaps}           # keyed by the letter after the blank
    letters = [k for k, s in enumerate(spans) if s.char != " "]
    after, before = dict(zip(letters, letters[1:])), dict(zip(letters[1:], letters))
    cjk_advances = _cjk_advances(spans, gaps, _advances(gaps, ink))
    narrow = (HALFWIDTH_CELL * float(np.median(cjk_advances)) if len(cjk_advances) >= 2
              else HALFWIDTH_CELL_HEIGHTS * line_height)
    out = list(spans)
    for k in letters:
        mark, nxt, prev = spans[k].char, after.get(k), before.get(k)
        twin = unicodedata.normalize("NFKC", mark)
        if not fullwidth_punctuation(mark) or len(twin) != 1 or not twin.isascii() or nxt is None or prev is None:
            continue
        if _is_punctuation(spans[prev].char) or _is_punctuation(spans[nxt].char):
            continue
        if blank[nxt][1] - blank[k][0] < narrow:       # from the ink before the mark to the ink after it
            out[k] = CharSpan(twin, spans[k].start, spans[k].end, spans[k].prob)
    return out


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


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


