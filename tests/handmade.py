"""Hand-made lines for the tests of engine/segment.py, textbox.py and walls.py: a monospaced line's CTC path and
its ink, cell by cell, so each test can say exactly where every letter and blank is."""
import numpy as np

from ocrwatchd.engine.segment import CharSpan

PITCH = 10        # px per character cell: 7 px of ink, 3 px blank
PAD = 4           # crop padding either side (px)
HEIGHT = 16       # line height (px)


def layout(text: str, *, read: str | None = None) -> tuple[list[CharSpan], np.ndarray]:
    """A monospaced line: each character one PITCH-wide cell (a space is a blank cell); ink per column and the
    CTC path a recogniser would give (one 2-frame span per character at 5 px per frame). `read` is the text as
    read, when it drops a space the layout has (the same characters otherwise)."""
    ink = np.zeros(2 * PAD + PITCH * len(text), bool)
    spans = []
    for k, ch in enumerate(text):
        x = PAD + k * PITCH
        if ch != " ":
            ink[x:x + 7] = True
        spans.append(CharSpan(ch, x // 5, x // 5 + 2, 0.9))
    if read is not None:
        spans = [s for s, keep in zip(spans, _align(text, read)) if keep]
    return spans, ink


def _align(text: str, read: str) -> list[bool]:
    keep, j = [], 0
    for ch in text:
        take = j < len(read) and read[j] == ch
        keep.append(take)
        j += take
    return keep


def ruled(text: str, rule_from: float, rule_to: float) -> tuple[list[CharSpan], np.ndarray]:
    """layout()'s line as a 2-D crop mask: each letter a block of ink over the band, and a 1-px rule just under
    the letters from cell rule_from to cell rule_to (a form's fill-in line)."""
    spans, columns = layout(text)
    mask = np.zeros((HEIGHT + 2 * PAD, len(columns)), bool)
    mask[PAD + 2:PAD + HEIGHT - 3, columns] = True
    mask[PAD + HEIGHT - 1, PAD + int(rule_from * PITCH):PAD + int(rule_to * PITCH)] = True
    return spans, mask
