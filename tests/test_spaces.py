"""Spaces the recogniser dropped, put back from the crop's ink (engine/spaces.py add_missed_spaces): beside a
wide blank, around full-width marks and Latin words in CJK lines, and in proportional Latin faces, on hand-made CTC
paths and ink."""
import numpy as np
import pytest
from handmade import HEIGHT, PAD, layout


def test_a_space_the_recogniser_dropped_beside_a_wide_blank_is_put_back():
    from ocrwatchd.engine.spaces import add_missed_spaces

    spans, ink = layout("TEL : 03-4021", read="TEL:03-4021")       # spaces printed, not read
    text = "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 1.2))
    assert text == "TEL : 03-4021"
    spans, ink = layout("TOTAL:12.50")                              # printed without spaces: left alone
    assert "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 1.2)) == "TOTAL:12.50"
    spans, ink = layout("TEL : 03", read="TEL:03")
    assert "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 0)) == "TEL:03"   # 0: off


def test_the_blank_of_a_full_width_mark_is_its_own_not_a_space():
    """CJK type sets `：` in a whole em with its dots at one side: the blank after them is part of the mark (here
    13 px, 0.81 of the 16-px line), and only a wider one (a space typed after it: 23 px) is a space."""
    from ocrwatchd.engine.spaces import add_missed_spaces

    def spaced(printed, read, cjk=True):
        spans, ink = layout(printed, read=read)
        return "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 1.2, cjk))

    assert spaced("电话： 050-41", "电话：050-41") == "电话：050-41"
    assert spaced("金额 （元）", "金额（元）") == "金额（元）"               # … and the blank before `（`
    assert spaced("属性时，  仅显示", "属性时，仅显示") == "属性时， 仅显示"     # a space typed after the comma
    assert spaced("电话: 050-41", "电话:050-41") == "电话: 050-41"         # an ASCII colon's blank is a space
    assert spaced("压缩 900k 的", "压缩900k的") == "压缩 900k 的"          # and so is the blank beside a character
    # in a Latin line a full-width colon is the recogniser's reading of an ASCII one: its blank is a space
    assert spaced("TEL： 03-4021", "TEL：03-4021", cjk=False) == "TEL： 03-4021"


def _mixed_line(printed: str, read: str, track: int = 0):
    """A CJK line as set: a CJK character in a whole em (HEIGHT px, 2 px blank at its side), a Latin letter in
    half of one, a typed space 7 px (0.44 line heights), every cell `track` px further apart (letter-spacing).
    The CTC path reads `read`: the printed characters, spaces dropped where it has none."""
    from ocrwatchd.engine.segment import CharSpan, is_cjk

    x, cells = PAD, []
    for ch in printed:
        w = 7 if ch == " " else HEIGHT if is_cjk(ch) else HEIGHT // 2
        cells.append((ch, x, w))
        x += w + track
    ink = np.zeros(x + PAD, bool)
    for ch, x0, w in cells:
        if ch != " ":
            ink[x0:x0 + w - 2] = True
    spans = [CharSpan(ch, x0 // 5, x0 // 5 + 1, 0.9) for ch, x0, _ in cells]
    return [s for s, keep in zip(spans, _kept(printed, read)) if keep], ink


def _kept(printed: str, read: str) -> list[bool]:
    keep, j = [], 0
    for ch in printed:
        keep.append(j < len(read) and read[j] == ch)
        j += keep[-1]
    return keep


def test_spaces_typed_around_a_latin_word_in_a_cjk_line_are_put_back():
    """The recogniser drops them (its training text has none); the line's pitch, a whole em, is too coarse to
    see a 7-px space, the blank beside the Latin word (0.25 line heights) or between two CJK characters (0.25,
    the next one moved on as well) is not."""
    from ocrwatchd.engine.spaces import add_missed_spaces

    def read(printed, read, cjk=True, track=0):
        spans, ink = _mixed_line(printed, read, track)
        return "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 1.2, cjk))

    assert read("使用 Tcl 事件循环", "使用Tcl事件循环") == "使用 Tcl 事件循环"
    assert read("版本 3 的", "版本3的") == "版本 3 的"
    assert read("使用Tcl事件循环", "使用Tcl事件循环") == "使用Tcl事件循环"        # set without spaces: left alone
    assert read("事件 循环", "事件循环") == "事件 循环"                    # between two CJK characters: 9 px, 0.56
    assert read("事件循环", "事件循环") == "事件循环"                      # … 2 px of bearings: none
    # letter-spaced, every blank 9 px: a blank no wider than the line's others is no space
    assert read("使用Tcl事件", "使用Tcl事件", track=7) == "使用Tcl事件"


def test_a_narrow_glyph_set_in_a_whole_em_has_no_space_beside_it():
    """In a column of vertical type read turned, `一` lies across the line: 2 px of ink in the middle of its em,
    so the blank either side of it is as wide as a typed space's (0.5 line heights) — but the glyphs' middles
    stand the usual em apart, and only a typed space moves them further."""
    from ocrwatchd.engine.segment import CharSpan
    from ocrwatchd.engine.spaces import add_missed_spaces

    def read(printed: str) -> str:
        x, cells = PAD, []
        for ch in printed:
            cells.append((ch, x))
            x += 7 if ch == " " else HEIGHT
        ink = np.zeros(x + PAD, bool)
        for ch, x0 in cells:
            if ch == "一":
                ink[x0 + HEIGHT // 2 - 1:x0 + HEIGHT // 2 + 1] = True
            elif ch != " ":
                ink[x0 + 1:x0 + HEIGHT - 1] = True
        spans = [CharSpan(ch, (x0 + HEIGHT // 2) // 5, (x0 + HEIGHT // 2) // 5 + 1, 0.9) for ch, x0 in cells
                 if ch != " "]
        return "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 1.2, cjk=True))

    assert read("就假定是一个变量") == "就假定是一个变量"
    assert read("就假定是 一个变量") == "就假定是 一个变量"        # a space typed before it is still one
    assert read("事件 循环一个") == "事件 循环一个"


def test_a_narrow_space_between_cjk_characters_is_put_back_in_a_line_set_across():
    """A face whose space is narrow leaves 0.30-0.44 line heights of blank between two CJK characters (mkzh.py
    seed 761: `文档标题 或 手册标题`, every typed space of its page dropped), under a usual face's 0.5; the
    space still moves the next character on by its own width, which a narrow glyph's wide blank does not (above).
    In a column read turned the characters' middles are no such guide, and the blank must be a usual space's."""
    from ocrwatchd.engine.segment import CharSpan
    from ocrwatchd.engine.spaces import add_missed_spaces

    def read(printed, column=False):
        x, cells = PAD, []                  # each character in a whole em, its ink 2 px short of it; a space 4 px
        for ch in printed:
            cells.append((ch, x))
            x += 4 if ch == " " else HEIGHT
        ink = np.zeros(x + PAD, bool)
        for ch, x0 in cells:
            if ch != " ":
                ink[x0 + 1:x0 + HEIGHT - 1] = True     # a space leaves 6 px of blank, 0.375 line heights
        spans = [CharSpan(ch, (x0 + HEIGHT // 2) // 5, (x0 + HEIGHT // 2) // 5 + 1, 0.9) for ch, x0 in cells
                 if ch != " "]                          # read without its spaces, one frame at each middle
        return "".join(s.char for s in add_missed_spaces(spans, 5.0, ink, HEIGHT, 1.2, cjk=True, column=column))

    assert read("文档标题 或 手册标题 操作系统") == "文档标题 或 手册标题 操作系统"
    assert read("文档标题或手册标题") == "文档标题或手册标题"
    assert read("文档标题 或 手册标题", column=True) == "文档标题或手册标题"


NARROW, WIDE = "ijl.,:;'()!1", "mwMW"


def proportional(text: str, read: str, word: int = 14, letter: int = 2) -> tuple[list, np.ndarray]:
    """A line in a proportional face at 1 px per frame: glyphs 5 (narrow), 17 (wide) or 11 px of ink with
    `letter` px of blank between, word spaces `word` px of blank; the CTC path has one frame per character at its
    ink's middle, less the spaces `read` drops."""
    from ocrwatchd.engine.segment import CharSpan

    columns, spans, x = [], [], 10
    for ch in text:
        if ch == " ":
            spans.append(CharSpan(ch, x - letter + word // 2, x - letter + word // 2 + 1, 0.9))
            x += word - letter
            continue
        w = 5 if ch in NARROW else 17 if ch in WIDE else 11
        columns.append((x, x + w))
        spans.append(CharSpan(ch, x + w // 2, x + w // 2 + 1, 0.9))
        x += w + letter
    ink = np.zeros(x + 10, bool)
    for a, b in columns:
        ink[a:b] = True
    return [s for s, keep in zip(spans, _kept(text, read)) if keep], ink


@pytest.mark.parametrize("text, read", [
    ("version 8.0 of the Compact 2013 is supported out of the box",
     "version8.0 of the Compact2013 is supportedout of the box"),
    ("if it is not specified, the default will be used", "if it is not specified, thedefault will be used"),
])
def test_a_word_space_dropped_in_a_proportional_face_is_put_back(text, read):
    """Century Schoolbook's word blanks are 0.7-1.0 of its pitch, under the pitch test's 1.2: a blank as wide
    as the line's read spaces, far wider than its letters' and moving the next letter on, is one too."""
    from ocrwatchd.engine.spaces import add_missed_spaces

    spans, ink = proportional(text, read)
    assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 30, 1.2)) == text


def test_a_short_lines_dropped_spaces_are_put_back_where_the_next_letter_moves_on():
    """A narrow column's line shows 2 or 3 read spaces (`and $XDG_CONFIG_HOME tocreatea predictable`): enough,
    where the letters either side of the blank stand well over the line's usual advance apart."""
    from ocrwatchd.engine.spaces import add_missed_spaces

    for read in ("Compact2013 is out now", "Compact2013 isout now"):                  # 3, then 2 spaces read
        spans, ink = proportional("Compact 2013 is out now", read)
        assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 30, 1.2)) == "Compact 2013 is out now"


def test_no_space_is_put_where_the_line_shows_too_few_word_spaces_or_too_small_ones():
    from ocrwatchd.engine.spaces import add_missed_spaces

    spans, ink = proportional("Compact 2013 is out", "Compact2013is out")           # 1 space read: too few
    assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 30, 1.2)) == "Compact2013is out"
    text = "FOR THE RESEARCH AS SPECIFIED IN SECTION ONE"                # small print: 7 px word spaces
    spans, ink = proportional(text, text.replace("N O", "NO"), word=7, letter=1)
    assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 10, 1.2)) == text.replace("N O", "NO")


def test_a_typewriters_narrow_glyph_leaves_a_wide_blank_but_no_space():
    """In a monospaced face a narrow glyph stands in a whole cell: the blanks beside an I or a 1 are four times
    its letters', but under half a word space's (a whole cell's), so no space goes there (`SPECI FICATIONS`)."""
    from ocrwatchd.engine.segment import CharSpan
    from ocrwatchd.engine.spaces import add_missed_spaces

    text, cell = "THE SPECIFICATIONS IN 11 MG TAR IS", 16
    spans, ink = [], np.zeros(cell * len(text) + 20, bool)
    for k, ch in enumerate(text):
        x = 10 + k * cell
        w = 4 if ch in "I1" else 12
        if ch != " ":
            ink[x + (cell - w) // 2:x + (cell - w) // 2 + w] = True
        spans.append(CharSpan(ch, x + cell // 2, x + cell // 2 + 1, 0.9))
    assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 30, 1.2)) == text


def test_in_a_short_line_a_blank_inside_an_ordinary_advance_is_no_space():
    """`DETURNARLE`, `(1PAIR)` on receipts: two narrow glyphs leave a blank as wide as the line's 2 read word
    spaces, but their middles stand the line's usual advance apart — no space moved them."""
    from ocrwatchd.engine.segment import CharSpan
    from ocrwatchd.engine.spaces import add_missed_spaces

    layout = [("A", 0, 10), ("B", 12, 22), (" ", 22, 34), ("C", 34, 44), ("D", 46, 56), (" ", 56, 68),
              ("E", 68, 78), ("l", 80, 82), ("l", 92, 94), ("F", 96, 106), ("G", 108, 118)]
    ink = np.zeros(130, bool)
    spans = []
    for ch, a, b in layout:
        if ch != " ":
            ink[10 + a:10 + b] = True
        spans.append(CharSpan(ch, 10 + (a + b) // 2, 10 + (a + b) // 2 + 1, 0.9))
    assert "".join(sp.char for sp in add_missed_spaces(spans, 1.0, ink, 30, 1.2)) == "AB CD EllFG"


def _cells(cells: list[tuple[str, int, int]]):
    """A line cell by cell at 1 px per frame: (character, px of ink, px of blank after it); a character read is
    one frame at its ink's middle, a space is only blank. Returns the path with the spaces dropped, and the ink."""
    from ocrwatchd.engine.segment import CharSpan

    x, spans, ink_at = 10, [], []
    for ch, width, blank in cells:
        ink_at.append((x, x + width))
        spans.append(CharSpan(ch, x + width // 2, x + width // 2 + 1, 0.9))
        x += width + blank
    ink = np.zeros(x + 10, bool)
    for a, b in ink_at:
        ink[a:b] = True
    return spans, ink


def _narrow_latin_line(words: list[str]) -> list[tuple[str, int, int]]:
    """Words in a CJK line set as a face with narrow Latin does it (WenQuanYi Micro Hei): CJK characters 30 px of
    ink and 2 px between, Latin letters 12 px and 2 px between; a typed space leaves 9 px of blank beside a CJK
    character, 11 px between two Latin words (mkzh.py seed 233: 0.26-0.31 and 0.32-0.39 line heights)."""
    from ocrwatchd.engine.segment import is_cjk

    out = []
    for w, word in enumerate(words):
        for k, ch in enumerate(word):
            last = k == len(word) - 1
            latin_next = w < len(words) - 1 and not is_cjk(ch) and not is_cjk(words[w + 1][0])
            gap = (11 if latin_next else 9) if last and w < len(words) - 1 else 2
            if not last and is_cjk(ch) != is_cjk(word[k + 1]):
                gap = 2                        # unspaced: the two glyphs' side bearings
            out.append((ch, 30 if is_cjk(ch) else 12, gap))
    return out


def test_word_spaces_of_latin_words_in_a_cjk_line_in_a_narrow_face_are_put_back():
    """mkzh.py seed 233: `带着 WITH HOLD 创建的游标` read `带着WITHHOLD创建的游标`. A typed space leaves 9 px of
    blank on a 33-px line beside a CJK character (0.27 line heights) and 11 px between two Latin words (0.33; the
    words' letters 2 px), while the line's pitch (a CJK em) asks a word gap of 0.9 line heights."""
    from ocrwatchd.engine.spaces import add_missed_spaces

    spans, ink = _cells(_narrow_latin_line(["带着", "WITH", "HOLD", "创建的游标"]))
    assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 33, 1.2, cjk=True)) == "带着 WITH HOLD 创建的游标"
    # set without spaces: left alone
    spans, ink = _cells(_narrow_latin_line(["带着WITHHOLD创建的游标"]))
    assert "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 33, 1.2, cjk=True)) == "带着WITHHOLD创建的游标"


def test_narrow_letters_or_figures_in_cells_of_a_cjk_line_keep_their_blanks_without_a_space():
    """`ll` in a CJK face's Latin stands 0.23 line heights apart with no space (AR PL UKai, mkzh.py seed 233), a
    monospaced face's `jr` up to 0.29 (WenQuanYi Micro Hei Mono); tabular figures put a narrow `1` in a wide cell
    (`11` 0.28 on Chinese receipts): none of them is a word space."""
    from ocrwatchd.engine.spaces import add_missed_spaces

    def read(cells):
        spans, ink = _cells(cells)
        return "".join(s.char for s in add_missed_spaces(spans, 1.0, ink, 33, 1.2, cjk=True))

    cjk = [("使", 30, 2), ("用", 30, 2)]
    assert read(cjk + [("n", 12, 2), ("u", 12, 2), ("l", 4, 8), ("l", 4, 2), ("值", 30, 2), ("时", 30, 2)]) \
        == "使用null值时"                                                # 'll' 8 px: 0.24
    assert read(cjk + [("j", 8, 9), ("r", 12, 2), ("值", 30, 2)]) == "使用jr值"      # 9 px: 0.27
    assert read(cjk + [("1", 6, 10), ("1", 6, 2), ("元", 30, 2)]) == "使用11元"      # 10 px: 0.30, two figures
    # the same blank between two words of a Latin line read with one CJK character in it: that line's own tests
    line = [("O", 12, 2), ("K", 12, 11), ("S", 12, 2), ("T", 12, 2), ("中", 30, 2)]
    assert read(line) == "OKST中"
