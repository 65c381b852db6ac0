"""A line crop's ink: which pixels are letters (not the paper, a band behind them or a rule through them), which
columns hold them, and the blank runs between.

What the recogniser read says where the characters are; these masks say where the ink is, and segment.py and
textbox.py set one against the other (fields, dropped spaces, a box fitted to the letters).
"""
from __future__ import annotations

import cv2
import numpy as np

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
# … or, where blur joins the glyphs into pieces of two or three (so the pieces are not of one width), the band is
# like itself moved one pitch along (correlation ≥ PITCH_ALIKE), unlike itself at some shorter shift (by
# PITCH_DIP: a smooth stroke is like itself at every shift), and its ink spans PITCH_REPEATS pitches or more. On the
# 184 lines asked in 70 sets' dumps (seeds 947, 971, 1049, 1153 and the README's), the eight rules reach 0.92-0.99
# at their pitch, dips 0.46-1.43, 3.5-9.7 pitches; no text line more than 0.75 (a `---` at a 2-px shift, no dip).
# SROIE's ground truth holds `***` as text: 2.6 pitches.
PITCH_ALIKE = 0.85
PITCH_DIP = 0.3
PITCH_REPEATS = 3.5


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
    if not ink.any():
        return False
    starts, ends = runs(ink.any(axis=0))          # the pieces: runs of inked columns
    if len(starts) < GLYPH_ROW_MIN:
        return _repeats_at_one_pitch(gray, ink)
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
    return bool((alike & even).mean() >= GLYPH_ROW_SHARE) or _repeats_at_one_pitch(gray, ink)


def _repeats_at_one_pitch(gray: np.ndarray, ink: np.ndarray) -> bool:
    """Is the ink's band one glyph over and over, told by the band and itself moved along it, not by pieces? A
    faded rule of small asterisks blurred into pieces of two and three (fresh seed 1153 of bench/mkreceipt.py, read
    `RE 33 3 3 3 38?` at 0.47), or four `=` of a photographed receipt's rule (read `SESS`), has no run of GLYPH_ROW_MIN
    alike pieces: moved by its pitch (the first shift, past 0.4 band heights, like it by PITCH_ALIKE) it is like
    itself (0.91-0.99), half a glyph over unlike (PITCH_DIP less)."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    band = gray[max(0, rows[0] - 1):rows[-1] + 2].astype(np.float64)
    height, width = band.shape
    alike = np.zeros(width // 3 + 1)                  # alike[s]: correlation of the band with itself s columns on
    for s in range(1, len(alike)):
        a, b = band[:, :-s].ravel(), band[:, s:].ravel()
        if a.std() > 0 and b.std() > 0:
            alike[s] = np.corrcoef(a, b)[0, 1]
    span = cols[-1] - cols[0] + 1
    for pitch in range(max(2, int(np.ceil(0.4 * height))), len(alike)):
        if alike[pitch] >= PITCH_ALIKE and alike[pitch] >= alike[pitch - 1] \
                and (pitch + 1 == len(alike) or alike[pitch] >= alike[pitch + 1]):
            return bool(alike[1:pitch].min() <= alike[pitch] - PITCH_DIP and span >= PITCH_REPEATS * pitch)
    return False


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
