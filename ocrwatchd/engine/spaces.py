"""Spaces and punctuation widths a read line's ink tells where its CTC path does not: the spaces the recogniser
dropped (beside a wide blank, in proportional Latin faces, around Latin words and between characters of CJK lines)
and full-width marks that stand in a half-width cell.

The recogniser's training text has few spaces and its path marks each character's middle, not its extent; the
blank columns of the crop (ink.py) and the letters' positions (segment.letter_gaps) measure what it left out.
"""
from __future__ import annotations

import unicodedata

import numpy as np

from .segment import CharSpan, is_cjk, letter_gaps

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
# 0.51 / 0.54 (5th pct / quartile / median; the same pages, 829 spaces) — in those pages' faces. A face with a
# narrow space leaves less (mkzh.py seed 761, page 3: `文档标题 或 手册标题` 0.30-0.44, every typed space of the
# page missed at 0.5), while the advance test below tells a space from a narrow glyph by itself: in lines set
# across, no unspaced pair of 29,558 (Chinese pages, slides, receipts and tables of seeds 3, 5, 683 and 761, and
# the pages photographed; ground truth aligned letter by letter) has both a blank of 0.2 and a middle moved by
# 0.2, the widest blanks of the unspaced (0.30-0.40) standing at most +0.12 further apart. A blank of a typed
# space's least in any CJK face (CJK_LATIN_BLANK, from the fonts rendered) is asked there: 383 -> 611 of the
# 623 typed spaces found. In a column of vertical type read turned the middles are no guide (unspaced `如果`
# 0.32 blank, +0.41; `在一` 0.51, +0.34: a glyph's ink sits high or low in its em down the column), and the
# blank keeps a typed space's usual width there (CJK_BLANK_IN_COLUMN; no typed space in the 15,991 pairs of the
# vertical pages of seeds 3, 683 and 761).
CJK_BLANK = 0.25
CJK_BLANK_IN_COLUMN = 0.5
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


def add_missed_spaces(spans: list[CharSpan], px_per_frame: float, ink: np.ndarray, line_height: float,
                      min_blank: float, cjk: bool = False, column: bool = False) -> list[CharSpan]:
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
    the usual) between two Latin letters of the line (`NO SCROLL`), and so is a blank of CJK_BLANK (in a column of
    vertical type read turned, CJK_BLANK_IN_COLUMN) between two CJK characters whose middles stand
    CJK_SPACE_ADVANCE further apart than the line's usual two: a narrow glyph leaves a wide blank in its em, a
    space moves its neighbour (and in a letter-spaced or justified line every blank is wide, every advance as
    usual).
    """
    measured = letter_gaps(spans, px_per_frame, ink, line_height) if min_blank > 0 else None
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
        or cjk and (blank := _cjk_space(spans[before[k]].char, spans[k].char, bool(both_cjk), column)) is not None
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


def _cjk_space(a: str, b: str, measured: bool = True, column: bool = False) -> float | None:
    """The blank, in line heights, from which two neighbouring characters of a CJK line stand a space apart: two
    CJK characters CJK_BLANK (CJK_BLANK_IN_COLUMN in a column read turned), a CJK character and a Latin letter or
    digit CJK_LATIN_BLANK, two Latin letters LATIN_IN_CJK_BLANK where the line has two CJK characters side by side
    (measured: its usual blank is known; a Latin line with one CJK character read in it keeps its own word spaces'
    tests); None for other pairs."""
    if is_cjk(a) and is_cjk(b):
        return CJK_BLANK_IN_COLUMN if column else CJK_BLANK
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
    measured = letter_gaps(spans, px_per_frame, ink, line_height)
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
