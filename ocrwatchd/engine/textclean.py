"""Cleaning what the recogniser read: its Chinese training shows in Latin lines (full-width punctuation, typographic
quotes, a stray CJK character for a speck), and faded digits come out as their look-alike letters. Pure text in,
text out (CharSpan paths for the letter-in-number fix)."""
from __future__ import annotations

import re
from collections import Counter

from .segment import CharSpan, is_cjk

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


def cjk_chars(text: str) -> list[str]:
    """The text's CJK characters, in order."""
    return [ch for ch in text if is_cjk(ch)]


# Typographic quotes: the recogniser reads the same printed “ as “ in one line and " in the next, so which one it
# emits carries no information; folding them gives one form to search for.
_QUOTES = {ord(c): '"' for c in "“”„‟″〝〞"} | {ord(c): "'" for c in "‘’‚‛′"}
_FULLWIDTH_AND_QUOTES = _FULLWIDTH | _QUOTES


def stray_cjk(texts: list[str]) -> list[bool]:
    """For each line: is it a stray reading of one or two CJK characters on a page with no CJK text?

    The recogniser learned mostly Chinese; a speck, a logo or a stroke of a drawing on a Latin page comes out as
    '一', '三' or '中'. A page with CJK text (any line with three or more CJK characters) keeps them all.
    """
    cjk = [len(cjk_chars(t)) for t in texts]
    if any(n >= 3 for n in cjk):
        return [False] * len(texts)
    return [0 < n <= 2 and n == len(t.replace(" ", "")) for n, t in zip(cjk, texts)]


# A row of one glyph printed over and over (a receipt's `=====`, `-----` or `*****` between its sections, a form's
# `.....` leaders or `_____` rules standing alone) is drawn, not written: it carries nothing to read or search for,
# and the recogniser reads such rows unreliably — a faded `=` rule on a synthetic receipt came out as
# `冰水水冰水…` at 0.63-0.70, which also made the Latin page look like a CJK one to stray_cjk. Misread rules mix in a
# few other glyphs (`本本本*冰冰****冰*本*水水*****`), so a rule is few kinds of character for its length with one
# of them common. Prose has many kinds but no common one: over every line read from the shared and synthetic sets,
# long capitals lines of faxed print have one kind in 5 (18 in 94 characters) and their commonest letter at
# 13-15 %; the most repetitive real line under RULE_MIN_SHARE has 5 kinds in 13 (`81.1111111136`).
RULE_MIN_GLYPHS = 8
RULE_MIN_SHARE = 0.3


def glyph_rule(text: str) -> bool:
    """Is the reading a rule of repeated glyphs: RULE_MIN_GLYPHS or more characters (spaces aside) of at most two
    kinds, or of one kind per five characters with the commonest RULE_MIN_SHARE of them, and not digits alone
    (`00000000` is a number, whatever its digits)?"""
    chars = text.replace(" ", "")
    if len(chars) < RULE_MIN_GLYPHS or chars.isdigit():
        return False
    counts = Counter(chars)
    return len(counts) <= max(2, len(chars) // 5) and counts.most_common(1)[0][1] >= RULE_MIN_SHARE * len(chars)


# A faded rule can also come out as a few CJK characters in turn (`本水水水水南承水水本水冰水`, `家冰家冰家家家冰>`),
# with more kinds among them than glyph_rule allows. Chinese text does not repeat like that: it draws on thousands
# of characters. Over 78,891 40-character stretches of Debian's Chinese man pages with 8 or more CJK characters, 6
# have at most 0.4 as many kinds as characters (a table's `别名1|别名2|别名3`), and every line with 8 or more read
# from the Chinese sets here has at least 0.47 and is read at 0.82 or more; the rules misread on synthetic
# receipts have 0.18-0.38, read at 0.33-0.61. Both are asked: few kinds, and the recogniser in doubt.
PATTERN_MAX_KINDS = 0.4     # kinds of CJK character per CJK character, at most
PATTERN_MAX_SCORE = 0.8     # read less surely than this


def repeated_cjk(text: str, score: float) -> bool:
    """Is the reading a misread pattern: RULE_MIN_GLYPHS or more CJK characters of at most PATTERN_MAX_KINDS as
    many kinds, read below PATTERN_MAX_SCORE?"""
    cjk = cjk_chars(text)
    return (len(cjk) >= RULE_MIN_GLYPHS and len(set(cjk)) <= PATTERN_MAX_KINDS * len(cjk)
            and score < PATTERN_MAX_SCORE)


_NUMBER_CHARS = set("0123456789Oo.,:/-")


def _enough_number(chars) -> bool:
    """Does a token hold enough number to be one: two digits, or a digit and one of . , : / ?"""
    digits = sum(ch.isdigit() for ch in chars)
    return digits >= 2 or (digits > 0 and any(ch in ".,:/" for ch in chars))


def _zeros(token: str) -> str:
    if not set(token) <= _NUMBER_CHARS or ("O" not in token and "o" not in token):
        return token
    return token.replace("O", "0").replace("o", "0") if _enough_number(token) else token


def zeros_in_numbers(text: str) -> str:
    """O and o → 0 in a token made only of digits, O/o and . , : / - that has two digits, or a digit and one of
    . , : / (`456OO` → `45600`, `1O.OO` → `10.00`; `O2` and `O-1` stay).

    The recogniser tells 0 from O by shape and context; on faded receipt print it reads a price's or postcode's
    zeros as O at 0.6-0.7. No word is spelt with digits and O alone, so in such a token O is a zero."""
    return re.sub(r"\S+", lambda m: _zeros(m.group(0)), text)


# Letters a digit turns into when print fades or a paper edge cuts it: a zero's left half is a C, a 1 without its
# foot an l. O and o are zeros_in_numbers' and need no doubt.
_DIGIT_LOOKALIKES = {"C": "0", "c": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "Z": "2", "S": "5",
                     "s": "5", "G": "6", "b": "6", "B": "8", "g": "9", "q": "9"}


def unsure_letters_in_numbers(spans: list[CharSpan], max_prob: float = 0.9) -> list[CharSpan]:
    """The path with a digit for a look-alike letter the recogniser doubted (read below max_prob) where it is the
    only letter in a number: a token otherwise of digits and . , : / - with two digits, or a digit and one of
    . , : / (`15.0C` → `15.00` where the receipt's edge cut the last zero's right half).

    A letter read surely stays (`21.5C`, `3/137B`, `CS0001`), as does a token with two letters (`12kg`)."""
    out = list(spans)
    word: list[int] = []
    for k in range(len(spans) + 1):
        if k < len(spans) and spans[k].char != " ":
            word.append(k)
            continue
        chars = [spans[n].char.translate(_FULLWIDTH) for n in word]
        others = [n for n, ch in zip(word, chars) if ch not in _NUMBER_CHARS or ch in "Oo"]
        if (len(others) == 1 and spans[others[0]].char in _DIGIT_LOOKALIKES and spans[others[0]].prob < max_prob
                and _enough_number(chars)):
            s = spans[others[0]]
            out[others[0]] = CharSpan(_DIGIT_LOOKALIKES[s.char], s.start, s.end, s.prob)
        word = []
    return out


def latin_char_table(fold_quotes: bool = False) -> dict[int, int | str]:
    """What halfwidth_if_latin does to a single character of a Latin line, as one str.translate table (a lone
    character is no number for zeros_in_numbers): the full-width ASCII variants, and the typographic quotes if
    asked. One translate per character instead of the whole line's cleaning: 0.3 s of the 16 real samples' 25.9."""
    return _FULLWIDTH_AND_QUOTES if fold_quotes else _FULLWIDTH


def halfwidth_if_latin(text: str, fold_quotes: bool = False) -> str:
    """Full-width ASCII variants → ASCII (and, if asked, typographic quotes → ASCII quotes) and zeros read as O in
    numbers → 0, unless the line has Chinese, Japanese or Korean characters."""
    if has_cjk(text):
        return text
    # quotes are no number characters, so folding them before zeros_in_numbers changes nothing it sees
    return zeros_in_numbers(text.translate(latin_char_table(fold_quotes)))


# Vertical CJK type sets its punctuation full-width, upright in its em; read with its column turned, the recogniser
# takes a `？` lying on its side for an ASCII `?` (fresh `mkzh.py --vertical` pages, seed 233: 33 of 47, and no
# ASCII mark in the vertical pages' ground truth of seeds 3, 157 and 233; across the page it reads them upright:
# 40 `？` for 39 printed on seed 157's pages). `.` has no full-width twin CJK type uses (`。` is a character).
_COLUMN_MARKS = {ord(a): b for a, b in zip("?!,:;()", "？！，：；（）")}


def fullwidth_in_column(spans: list[CharSpan]) -> list[CharSpan]:
    """The path of a vertical CJK column with its ASCII punctuation marks written full-width, but for one beside a
    Latin letter or digit (a Latin word set turned in the column keeps its own brackets and commas)."""
    out = list(spans)
    for k, s in enumerate(spans):
        if ord(s.char) in _COLUMN_MARKS:
            near = [spans[n].char for n in (k - 1, k + 1) if 0 <= n < len(spans)]
            if not any(c.isascii() and c.isalnum() for c in near):
                out[k] = CharSpan(s.char.translate(_COLUMN_MARKS), s.start, s.end, s.prob)
    return out
