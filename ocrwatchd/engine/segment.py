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

import cv2
import numpy as np


MIN_GAP_HEIGHTS = 0.5   # whatever the pitch, a field gap is at least this many line heights
FULLWIDTH_BLANK = 0.85  # a space beside full-width punctuation is a blank this many line heights wide (see
                        # add_missed_spaces: the mark's own blank is 0.54-0.73, with a typed space 0.94-1.16)
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
RULE_HEIGHTS = 1.5      # a row of ink this many line heights long is a rule, not part of a letter
OUTER_INK = 0.05        # "ink" filling a crop's outer quarters this much more than its middle is not the text
MIN_CONTRAST = 32       # gray levels between two shades that could be letters and their ground (a slide title on
                        # its band: 84; the two halves of a slide's gradient, which hold no letters: 6)
# A rule printed as one glyph over and over (a receipt's `*****`): its ink, split at blank columns, is at least
# GLYPH_ROW_MIN pieces, and GLYPH_ROW_SHARE of them are of one width (within GLYPH_WIDTH_SPREAD of the median) and
# look like the median piece (correlation of their 12 × 12 gray patches ≥ GLYPH_ALIKE). See one_glyph_repeated.
GLYPH_ROW_MIN = 5
GLYPH_ROW_SHARE = 0.8
GLYPH_WIDTH_SPREAD = 0.35
GLYPH_ALIKE = 0.7


@dataclass(frozen=True)
class CharSpan:
    """One character of a best CTC path: the frames [start, end) its label held, and its mean probability."""

    char: str
    start: int
    end: int
    prob: float


@dataclass(frozen=True)
class Piece:
    """A field of a line: [t0, t1] as fractions of the line's quad width (reading direction), its text and score."""

    t0: float
    t1: float
    text: str
    score: float


def minority_ink(crop: np.ndarray) -> np.ndarray:
    """Boolean ink mask of a crop: the minority side of an Otsu split, so dark-on-light and light-on-dark text
    both work."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, dark = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return (dark if dark.mean() <= 0.5 else 1 - dark).astype(bool)


def ink_mask(crop: np.ndarray) -> np.ndarray:
    """Boolean ink mask of a line crop: minority_ink, unless that lies in the crop's outer quarters more than in
    its middle rows, where a line's letters are.

    Then the split found a third shade around the text instead of the text: a banner's coloured band, the page
    around it, white letters on the band. Otsu drew the line between band and page, and the page's thin strips
    at the crop's top and bottom (the minority) became the "ink": a slide's title came back as single letters in
    boxes 2 px high. Such a crop is split again on its middle rows alone (band and letters), and the ink is the
    side that fills the middle more than the margins. Where the middle rows hold no two shades MIN_CONTRAST
    levels apart there are no letters to find, and the mask stays as it was (its ink, outside the middle, tells
    the reader there is no text: see recognize.py). Whichever side is taken, it is the minority of the middle
    rows: small print between a form's two rules also fills the margins less than the rules do, and there the
    side denser in the middle is the paper.
    """
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    ink = minority_ink(gray)
    q = ink.shape[0] // 4
    if q < 2 or _denser_in_middle(ink, q) > -OUTER_INK:
        return ink
    middle = np.ascontiguousarray(gray[q:-q])
    level, _ = cv2.threshold(middle, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    above = middle > level
    if above.all() or not above.any() or middle[above].mean() - middle[~above].mean() < MIN_CONTRAST:
        return ink
    light = gray > level
    ink = light if _denser_in_middle(light, q) >= 0 else ~light
    # Letters are the minority of the rows they stand in. Small print between two rules of a form or a table's
    # borders also fills the outer quarters more than the middle, but there the side "denser in the middle" is
    # the paper around the letters: the letters are the other side.
    return ~ink if ink[q:-q].mean() > 0.5 else ink


def ink_in_middle(mask: np.ndarray) -> bool:
    """Does a line crop's mask hold ink in its middle rows (the half between its outer quarters)? A line of
    text does, whatever its box took in around it; a crop whose only ink is a band's edges or a shade at its
    top or bottom holds no letters."""
    q = mask.shape[0] // 4
    return q < 2 or bool(mask[q:-q].any())


def one_glyph_repeated(crop: np.ndarray) -> bool:
    """Is the crop one glyph printed again and again, whatever it was read as?

    A receipt's rule of asterisks, faded and blurred, is read as a row of unrelated CJK characters at 0.33-0.45
    (`本本车家东本水审本家水末`), or as a few `*` where the detector boxed part of it: glyph_rule in textclean.py
    cannot tell those from text, the pixels can. Over the 5105 lines read from the receipt, form, fax, Chinese and
    UNLV sets here, the seven such rules have 0.83-1.0 of their pieces alike; lines of text reach 0.85 (a 13-digit
    barcode number in a monospaced face: digits look alike at 12 × 12), but no doubted one (read below
    min_text_score) has more than 0.46, so only doubted readings and readings with no letter or digit are asked
    (stages.recognize_stage)."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    ink = ink_mask(gray)
    starts, ends = runs(ink.any(axis=0))          # the pieces: runs of inked columns
    if len(starts) < GLYPH_ROW_MIN:
        return False
    rows = [np.flatnonzero(ink[:, a:b].any(axis=1)) for a, b in zip(starts, ends)]
    top, bottom = int(np.median([r[0] for r in rows])), int(np.median([r[-1] for r in rows])) + 1
    band = gray[max(0, top - 1):bottom + 1].astype(np.float32)
    patches = np.stack([cv2.resize(band[:, a:b], (12, 12), interpolation=cv2.INTER_AREA) for a, b in zip(starts, ends)])
    patches = (patches - patches.mean(axis=(1, 2), keepdims=True)) / (patches.std(axis=(1, 2), keepdims=True) + 1e-6)
    median = np.median(patches, axis=0)
    median = (median - median.mean()) / (median.std() + 1e-6)
    alike = (patches * median).mean(axis=(1, 2)) >= GLYPH_ALIKE
    widths = (ends - starts).astype(np.float64)
    even = np.abs(widths - np.median(widths)) <= GLYPH_WIDTH_SPREAD * np.median(widths)
    return bool((alike & even).mean() >= GLYPH_ROW_SHARE)


def _denser_in_middle(mask: np.ndarray, q: int) -> float:
    """How much more of a mask's middle rows is set than of its outer q rows above and below."""
    return float(mask[q:-q].mean() - (mask[:q].mean() + mask[-q:].mean()) / 2)


def without_rules(mask: np.ndarray, line_height: float) -> np.ndarray:
    """The ink mask less horizontal rules: ink running unbroken along a row for RULE_HEIGHTS line heights or more.

    No letter has a horizontal stroke that long (a T's bar, a dash: under one line height), but an underline, a
    form's fill-in rule under its value and a table border crossing the band do. Left in, they bridge the blank
    between a label and its value (`Date:  ____12-4-87`), so the gap is not seen, and they stretch the text's
    fitted box to the rule's ends."""
    length = int(round(RULE_HEIGHTS * line_height)) | 1     # odd: OpenCV's opening is exact with a centred anchor
    if length < 3 or mask.shape[1] < length:
        return mask
    rules = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    return mask & ~rules.astype(bool)


def ink_columns(mask: np.ndarray, pad_px: float) -> np.ndarray:
    """Boolean per column: does the line's band (the crop less its padding) hold ink there?"""
    top, bottom = int(round(pad_px)), mask.shape[0] - int(round(pad_px))
    band = mask[top:bottom] if bottom - top >= 4 else mask
    return band.any(axis=0)


def runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every maximal run of set entries of a 1-D boolean array, as (starts, ends) in order, ends exclusive."""
    edges = np.diff(np.r_[False, flags, False].astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def blank_runs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every maximal run of ink-free columns, as (starts, ends) in column order, ends exclusive."""
    return runs(~ink)


def longest_blanks(runs: tuple[np.ndarray, np.ndarray], windows: np.ndarray) -> np.ndarray:
    """For each window [lo, hi) (rows of an n×2 array), the longest run of ink-free columns inside it, as
    (start, end); the first of the longest where several tie, (lo, lo) where there is none.

    A blank run inside a window is a line's run cut to the window, so all windows are answered at once from the
    line's runs (one n × runs array) instead of re-scanning the columns per window: on UNLV 8071 this was 2.0 s of
    a 34 s profile, called for every pair of neighbouring letters of every line.
    """
    starts, ends = runs
    lo, hi = windows[:, :1], windows[:, 1:]
    if len(starts) == 0:
        return np.repeat(lo, 2, axis=1)
    a, b = np.maximum(starts[None, :], lo), np.minimum(ends[None, :], hi)
    k = np.argmax(b - a, axis=1)
    rows = np.arange(len(windows))
    found = (b - a)[rows, k] > 0
    return np.where(found[:, None], np.stack([a[rows, k], b[rows, k]], axis=1), np.repeat(lo, 2, axis=1))


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
    """
    measured = _letter_gaps(spans, px_per_frame, ink, line_height) if min_blank > 0 else None
    if measured is None:
        return spans
    gaps, pitch = measured
    letters = [k for k, s in enumerate(spans) if s.char != " "]
    before = dict(zip(letters[1:], letters))
    missed = {k for k, a, b, spaced in gaps if not spaced and b - a >= min_blank * pitch
              and (not cjk or b - a >= FULLWIDTH_BLANK * line_height
                   or not (fullwidth_punctuation(spans[before[k]].char) or fullwidth_punctuation(spans[k].char)))}
    out: list[CharSpan] = []
    for k, span in enumerate(spans):
        if k in missed:
            out.append(CharSpan(" ", out[-1].end, out[-1].end, out[-1].prob))
        out.append(span)
    return out


def fullwidth_punctuation(char: str) -> bool:
    """A punctuation mark set in a whole em (East Asian width F or W), as CJK type sets them."""
    return unicodedata.category(char).startswith("P") and unicodedata.east_asian_width(char) in ("F", "W")


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


def reach_ink(ink: np.ndarray, start: int, step: int, max_blank: float, limit: int) -> int:
    """From column start, walk by step over ink and blanks shorter than max_blank; the last inked column met."""
    last = x = start
    while 0 <= x < len(ink) and abs(x - start) <= limit:
        if ink[x]:
            last = x
        elif abs(x - last) > max_blank:
            break
        x += step
    return last
