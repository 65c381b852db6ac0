"""Full-width or half-width punctuation in a CJK line, told by the cell the mark stands in (engine/spaces.py
halfwidth_marks), on hand-made CTC paths and ink: in many CJK faces `:` and `：` are one glyph, and the recogniser
writes the full-width one; CJK type sets that in a whole em, an ASCII mark in its own narrow advance."""
import numpy as np

from ocrwatchd.engine.segment import CharSpan, is_cjk
from ocrwatchd.engine.spaces import halfwidth_marks

HEIGHT = 16   # line height, px; a CJK character's em
PAD = 4
FRAME = 5     # px per CTC frame


def cjk_line(cells: list[tuple[str, int, int, int]], read: str) -> tuple[list[CharSpan], np.ndarray]:
    """A line of (character, cell width, ink start, ink end within the cell) cells; the CTC path reads `read`,
    one character per cell, each at its cell's middle."""
    assert len(read) == len(cells)
    ink = np.zeros(2 * PAD + sum(w for _, w, _, _ in cells), bool)
    spans, x = [], PAD
    for ch, (_, w, a, b) in zip(read, cells):
        ink[x + a:x + b] = True
        middle = (x + w / 2) / FRAME
        spans.append(CharSpan(ch, int(middle), int(middle) + 1, 0.9))
        x += w
    return spans, ink


def cell(ch: str, em: int = HEIGHT, ascii_colon: int = 5) -> tuple[str, int, int, int]:
    if is_cjk(ch):
        return ch, em, 1, em - 1                     # an ideograph fills its em but a pixel either side
    if ch == "：":
        return ch, em, 2, 5                          # full-width: the dots at the em's left, the rest blank
    if ch == ":":
        return ch, ascii_colon, 1, 4                 # ASCII: its own narrow advance
    if ch in "）)":
        return ch, 5, 1, 4
    return ch, em // 2, 1, em // 2 - 1               # a digit in half an em


def read_as(printed: str, read: str, **face) -> str:
    spans, ink = cjk_line([cell(c, **face) for c in printed], read)
    return "".join(s.char for s in halfwidth_marks(spans, FRAME, ink, HEIGHT))


def test_an_ascii_colon_read_full_width_is_written_half_width():
    # 4 px of blank around it, 0.25 line heights: no em
    assert read_as("电话:050", "电话：050") == "电话:050"
    assert read_as("日期:2020年", "日期：2020年") == "日期:2020年"


def test_the_cell_is_measured_in_the_lines_own_em_where_it_has_one():
    """A wide face (a 20-px em on a 16-px line box): an ASCII colon's 12 px is 0.75 line heights, as wide as a
    full-width colon in a condensed face, but 0.6 of this line's em, which three CJK pairs measure."""
    assert read_as("数据处理:完成", "数据处理：完成", em=20, ascii_colon=10) == "数据处理:完成"
    assert read_as("数据处理：完成", "数据处理：完成", em=20) == "数据处理：完成"
    # … and a condensed face (a 12-px em): its full-width colon is 14 px, 0.875 line heights, a whole em
    assert read_as("数据处理：完成", "数据处理：完成", em=12) == "数据处理：完成"


def test_a_full_width_colon_keeps_its_form():
    # its em's blank after the dots: 15 px around it, 0.94 line heights
    assert read_as("电话：050", "电话：050") == "电话：050"
    assert read_as("电话:050", "电话:050") == "电话:050"        # read half-width: left as read


def test_a_mark_beside_another_or_at_the_lines_end_is_left_as_read():
    # CJK typesetting may squeeze a mark beside another mark, or at a line's end, into half an em
    assert read_as("金额)：50", "金额）：50") == "金额）：50"
    assert read_as("金额:", "金额：") == "金额："


def test_ascii_marks_read_in_a_vertical_column_are_written_full_width_but_beside_a_latin_word():
    """Vertical CJK type sets its marks full-width, upright in their em; read with the column turned, `？` lying
    on its side comes out `?` (fresh mkzh.py --vertical pages, seed 233: 33 of 47). A Latin word set turned in the
    column keeps its own brackets and commas; `.` has no full-width twin CJK type uses."""
    from ocrwatchd.engine.textclean import fullwidth_in_column

    def column(read: str) -> str:
        return "".join(s.char for s in fullwidth_in_column([CharSpan(ch, k, k + 1, 0.9) for k, ch in enumerate(read)]))

    assert column("如何购买商业版本的?如果发现要向何处报告?") == "如何购买商业版本的？如果发现要向何处报告？"
    assert column("目录(选单);完成!") == "目录（选单）；完成！"
    assert column("安装(make install)软件包,然后") == "安装(make install)软件包，然后"
    assert column("版本 v2.0.") == "版本 v2.0."
