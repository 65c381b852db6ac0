import math

import numpy as np

from ocrwatchd.engine.justified import justified_rows
from ocrwatchd.engine.layout import levelled, page_text, reading_order


def test_single_column_top_to_bottom():
    boxes = [[0, 200, 500, 230], [0, 100, 500, 130], [0, 0, 500, 30]]
    assert reading_order(boxes) == [2, 1, 0]


def test_words_on_one_row_left_to_right():
    boxes = [[300, 5, 400, 35], [0, 0, 100, 30], [150, 2, 250, 32]]
    assert reading_order(boxes) == [1, 2, 0]


def test_two_typeset_columns_are_read_one_after_the_other_even_with_aligned_rows():
    left = [[0, y, 600, y + 30] for y in range(0, 400, 40)]
    right = [[660, y, 1260, y + 30] for y in range(0, 400, 40)]
    boxes = [b for pair in zip(left, right) for b in pair]        # interleaved, as detection sorts them
    order = reading_order(boxes)
    assert order == list(range(0, 20, 2)) + list(range(1, 20, 2))


def test_title_above_two_columns():
    title = [[0, 0, 1260, 60]]
    left = [[0, y, 600, y + 30] for y in range(100, 300, 40)]
    right = [[660, y + 7, 1260, y + 37] for y in range(100, 300, 40)]
    order = reading_order(title + right + left)
    assert order[0] == 0 and order[1:6] == [6, 7, 8, 9, 10] and order[6:] == [1, 2, 3, 4, 5]


def _column(x0: int, x1: int, top: int, rows: int, breaks=(), height: int = 30, step: int = 40) -> list[list[int]]:
    """A column of prose: `rows` full lines, a blank line after each row number in `breaks`."""
    out, y = [], top
    for k in range(rows):
        out.append([x0, y, x1, y + height])
        y += step * (2 if k in breaks else 1)
    return out


def test_columns_of_prose_with_a_narrow_gutter_are_read_one_after_the_other():
    # a gutter of 0.7 line heights (21 px at 30-px lines): typeset columns, not one column's lines
    left, right = _column(0, 600, 0, 10), _column(621, 1221, 0, 10)
    boxes = [b for pair in zip(left, right) for b in pair]
    assert reading_order(boxes) == list(range(0, 20, 2)) + list(range(1, 20, 2))


def test_columns_whose_paragraph_breaks_level_and_a_page_number_under_the_gutter():
    # both columns break after their 3rd and 7th rows, at the same height (a blank band across the page), and the
    # page number sits under the gutter: the columns still run on past the breaks
    left, right = _column(0, 600, 0, 12, breaks=(2, 6)), _column(640, 1240, 0, 12, breaks=(2, 6))
    folio = [[590, 700, 650, 730]]
    boxes = [b for pair in zip(left, right) for b in pair] + folio
    assert reading_order(boxes) == list(range(0, 24, 2)) + list(range(1, 24, 2)) + [24]


def test_a_forms_short_entries_beside_its_labels_are_not_columns():
    # label rows at the left; at the right two typed entries and two handwritten ones boxed three lines tall: too
    # few lines of the page's size to be a column, so the rows are read across (FUNSD 71206427's ITEM: field)
    labels = [[0, y, 300, y + 30] for y in range(0, 240, 40)]
    entries = [[330, 0, 600, 30], [330, 40, 600, 70], [330, 80, 560, 170], [330, 160, 600, 250]]
    order = reading_order(labels + entries)
    assert order.index(6) < order.index(1) and order.index(7) < order.index(2)


def _quads(boxes, degrees: float = 0.0, about=(0.0, 0.0)) -> list:
    """Each box as its corners clockwise from the top-left, the whole page turned by `degrees` about `about`."""
    a = np.radians(degrees)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = []
    for x0, y0, x1, y1 in boxes:
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float) - about
        out.append((corners @ turn.T + about).tolist())
    return out


def _upright(quads) -> np.ndarray:
    q = np.array(quads)
    return np.stack([q[:, :, 0].min(1), q[:, :, 1].min(1), q[:, :, 0].max(1), q[:, :, 1].max(1)], axis=1)


def test_levelled_boxes_of_an_upright_page_are_its_boxes():
    boxes = [[10, 20, 610, 50], [10, 70, 300, 100], [400, 70, 610, 100]]
    assert np.allclose(levelled(_quads(boxes)), boxes)


def test_a_tilted_page_is_read_as_it_was_set():
    # a page of prose turned 3 degrees, as a phone photographs it: a 1500-px line's upright box is 108 px tall
    # for 30 px of text, so boxes of neighbouring rows overlap and the rows run together
    quads = _quads(_column(0, 1500, 0, 10), 3.0, about=(750, 200))
    assert reading_order(levelled(quads)) == list(range(10))
    assert reading_order(_upright(quads)) != list(range(10))


def test_a_tilted_receipts_rows_stay_rows():
    # an item and its price 700 px apart on a receipt turned 2 degrees: their centres 24 px apart, a 30-px row
    items = [[0, y, 300, y + 30] for y in range(0, 400, 50)]
    prices = [[700, y, 800, y + 30] for y in range(0, 400, 50)]
    order = reading_order(levelled(_quads(items + prices, 2.0)))
    n = len(items)
    assert order == [i for k in range(n) for i in (k, n + k)]


def test_columns_of_prose_with_generous_leading_are_read_one_after_the_other():
    # every row its own band (0.6 line heights of blank between rows), both columns flush left
    left, right = _column(0, 600, 0, 8, step=48), _column(640, 1240, 0, 8, step=48)
    boxes = [b for pair in zip(left, right) for b in pair]
    assert reading_order(boxes) == list(range(0, 16, 2)) + list(range(1, 16, 2))


def test_columns_whose_gutter_leans_down_a_photographed_page_are_read_one_after_the_other():
    # perspective leans both columns' edges 1.5 px per row: over 30 rows the gutter (20 px, 0.67 line heights)
    # moves 45 px, so no stretch is blank from top to bottom, but it is in every few rows
    left = [[0 - 1.5 * k, 40 * k, 600 - 1.5 * k, 40 * k + 30] for k in range(30)]
    right = [[620 - 1.5 * k, 40 * k, 1220 - 1.5 * k, 40 * k + 30] for k in range(30)]
    boxes = [b for pair in zip(left, right) for b in pair]
    assert reading_order(boxes) == list(range(0, 60, 2)) + list(range(1, 60, 2))


def test_a_receipts_header_row_above_an_items_name_stays_a_row():
    # `品名 | 数量 | 金额` tilting 8 px down to the right, the item's name just under `品名`: the right side is one
    # row continuing the header's, not a column (SROIE 106 and 12 of the synthetic Chinese receipts)
    boxes = [[99, 371, 140, 392], [101, 401, 178, 424], [377, 375, 419, 398], [565, 379, 607, 400]]
    assert reading_order(boxes) == [0, 2, 3, 1]


def test_a_forms_long_labels_and_values_stay_rows():
    # a fax's rows: a label and its value, each 9-12 line heights long in small print, a line's height apart;
    # the values start wherever they were typed, so they are no column of prose
    labels = [[60, y, 60 + w, y + 14] for y, w in zip(range(0, 140, 28), (130, 160, 125, 150, 140))]
    values = [[x, y, x + 150, y + 14] for y, x in zip(range(0, 140, 28), (240, 290, 280, 350, 235))]
    order = reading_order([b for pair in zip(labels, values) for b in pair])
    assert order == list(range(10))


def test_receipt_rows_stay_rows():
    # item names on the left, prices far right, aligned row by row: read "item price" per row
    items = [[0, y, 300, y + 30] for y in range(0, 300, 40)]
    prices = [[800, y, 900, y + 30] for y in range(0, 300, 40)]
    order = reading_order(prices + items)
    n = len(items)
    assert order == [i for k in range(n) for i in (n + k, k)]


def test_empty():
    assert reading_order(np.zeros((0, 4))) == []


def test_page_text_keeps_rows_as_rows():
    boxes = [[0, 0, 300, 30], [0, 40, 200, 70], [400, 42, 500, 72], [600, 41, 650, 71], [0, 80, 300, 110]]
    texts = ["TAX INVOICE", "Green Tea", "3.00", "SR", "Thank you"]
    assert page_text(boxes, texts) == "TAX INVOICE\nGreen Tea\t3.00\tSR\nThank you"


def test_page_text_starts_a_new_line_when_the_next_line_is_not_to_the_right():
    # a column break: the next line is back at the left, lower — and a line above the previous one's centre band
    boxes = [[0, 0, 600, 30], [0, 40, 600, 70], [660, 0, 1260, 30]]
    assert page_text(boxes, ["a", "b", "c"]) == "a\nb\nc"
    assert page_text([], []) == ""


def test_a_justified_line_parted_at_its_stretched_spaces_is_one_run():
    """A paragraph's lines span the column [100, 700] in one box each; the third, three long words stretched
    across it, came back in three boxes (`or` boxed shorter: no ascenders). They are one run; the whole lines are
    in none."""
    column = [[100, y, 700, y + 30] for y in (0, 40)]
    parted = [[101, 80, 300, 110], [400, 80, 590, 110], [640, 86, 699, 110]]
    below = [[100, 120, 700, 150]]
    assert justified_rows(column + parted + below) == [[2, 3, 4]]


def test_a_paragraphs_indented_first_line_ending_in_a_dash_is_one_run():
    """A paragraph's first line, indented 1.4 line heights and stretched across the column, parted into two words
    and the dash that ends it (boxed 6 px high beside 53 px words): one run, under the whole lines of the
    paragraph above and beside the two below. Indented further than a paragraph's indent, it is none."""
    above = [[1267, 765, 2031, 811]]                                  # the last line of the paragraph before
    parted = [[1341, 842, 1763, 895], [1853, 850, 2048, 887], [2146, 862, 2174, 868]]
    below = [[1272, 904, 2172, 963], [1267, 967, 2174, 1020]]
    assert justified_rows(above + parted + below) == [[1, 2, 3]]
    deep = [[1267 + 300, 842, 1763, 895], [1853, 850, 2048, 887], [2146, 862, 2174, 868]]
    assert justified_rows(above + deep + below) == []


def test_a_line_parted_under_its_paragraphs_indented_first_line_is_one_run():
    """A paragraph of three lines and a short last one (fresh mkbook page, seed 131: `represented   with   its
    numeric   id ...` stretched to the column under `as the full resource name...`, above the short
    `{parent_namespace}/...`): the whole line above it and the paragraph's indented first line above that are the
    two flush lines. A line indented below it starts the next paragraph and makes the parted line a last line,
    which justifying does not stretch: it is not joined."""
    h = 40
    first = [[310, 0, 2216, h]]                                       # indented 1.4 line heights
    whole = [[254, 55, 2218, 55 + h]]
    parted = [[254, 110, 434, 110 + h], [555, 110, 632, 110 + h], [751, 110, 797, 110 + h],
              [917, 110, 1049, 110 + h], [1170, 110, 2224, 110 + h]]
    last = [[258, 165, 1336, 165 + h]]
    assert justified_rows(first + whole + parted + last) == [[2, 3, 4, 5, 6]]
    assert justified_rows(whole + parted + last) == []               # one flush line is not enough
    next_first = [[310, 165, 2216, 165 + h]]
    assert justified_rows(whole + parted + next_first) == []


def test_a_line_led_by_a_dash_and_stretched_across_the_column_is_one_run():
    """Fresh mkbook page, seed 683: `-     Name     of     the` stretched across a report's column (the next line
    starts with `BackendAuthenticationConfig`, too long to fit), parted into four boxes, the dash boxed 7 px high
    beside 48-px words, under the paragraph's indented first line and above two whole lines. The row is judged by
    its words' height, not the dash's: one run. With one line flush with it, the next line's first word explaining
    all its 12.8 line heights of stretch (wider than FAR_SPREAD) is evidence enough; with none, none."""
    first = [[1341, 397, 2194, 445]]
    parted = [[1269, 489, 1304, 496], [1506, 463, 1650, 510], [1857, 461, 1914, 511], [2117, 461, 2201, 509]]
    below = [[1275, 529, 2198, 579], [1270, 597, 2196, 646]]
    first_words = np.array([177, 35, 125, 42, 65, 640, 159], np.float64)
    assert justified_rows(first + parted + below, first_words) == [[1, 2, 3, 4]]
    assert justified_rows(parted + below[:1], first_words[1:6]) == [[0, 1, 2, 3]]
    ragged = [[1275, 529, 1760, 579]]                              # the next line, ending short of the column
    assert justified_rows(parted + ragged, first_words[1:6]) == []


def test_a_line_stretched_above_a_taller_line_of_brackets_is_one_run():
    """Fresh mkbook page, seed 683: `configuration          from` (48 px) over `${CMAKE_CONFIGURATION_TYPES} if`,
    boxed 63 px tall from the brackets' tops to their tails: that line's first word, too long to have fitted,
    explains the blank of 11 line heights, though the line is a third taller."""
    above = [[240, 1922, 1194, 1973], [240, 1987, 1194, 2038]]
    parted = [[244, 2049, 528, 2097], [1098, 2050, 1209, 2096]]
    below = [[241, 2108, 1214, 2171]]
    first_words = np.array([300, 280, 270, 92, 834], np.float64)
    assert justified_rows(above + parted + below, first_words) == [[2, 3]]
    first_words[-1] = 200                          # a first word that would have fitted: the blank is a gutter
    assert justified_rows(above + parted + below, first_words) == []


def test_a_stretched_line_is_one_run_beside_lines_boxed_shorter_or_taller_by_their_letters():
    """Fresh mkbook page, seed 971 (levelled boxes as the stage takes them): a paragraph's indented first line
    `With   this   option,   git   will   replace   all` read in five fields, each boxed 53 px from its capitals'
    tops to its descenders' tails, over two whole lines boxed 38 and 36 px; and `--reference-excluded-parents
    option   is` (38 px) between lines of 36 and 50 px. Each box is fitted to its own letters' ink: the lines are
    one paragraph's, and both parted lines are one run. Lines twice as tall are no neighbours of theirs."""
    above = [[1265, 1624, 2026, 1674]]                                # the paragraph before's short last line
    parted = [[1335, 1700, 1449, 1753], [1464, 1701, 1565, 1754], [1579, 1714, 1745, 1755],
              [1762, 1704, 2139, 1757], [2154, 1706, 2219, 1759]]
    below = [[1269, 1782, 2218, 1819], [1266, 1850, 2219, 1886]]
    assert justified_rows(above + parted + below) == [[1, 2, 3, 4, 5]]
    around = [[1266, 800, 2218, 836], [1265, 926, 2216, 976]]
    long_word = [[1266, 868, 1888, 906], [1951, 868, 2103, 906], [2167, 868, 2219, 906]]
    assert justified_rows(around[:1] + long_word + around[1:]) == [[1, 2, 3]]
    doubled = [[x0, y0 - (y1 - y0), x1, y1] for x0, y0, x1, y1 in below]
    assert justified_rows(above + parted + doubled) == []


def test_a_line_stretched_by_a_url_under_it_is_one_run_beside_one_flush_line():
    """Fresh mkbook page, seed 1153 (levelled boxes as the stage takes them): `this   API   can   be   found   at:`
    stretched across the column in six fields, blanks of 5.6 line heights each, under the paragraph's indented
    first line; under it a URL wider than the column (not flush: it runs past the margin), then the next
    paragraph's indented first line. One flush line is all there is; the URL, which did not fit at its end,
    explains all 27 line heights of stretch together: one run. Where the next line's first word would have fitted
    in the room the blanks took together, nothing explains them: none."""
    above = [[239, 399, 1466, 430]]
    parted = [[188, 439, 250, 471], [433, 439, 498, 472], [681, 446, 737, 470], [922, 439, 965, 471],
              [1149, 438, 1241, 470], [1426, 443, 1469, 470]]
    below = [[192, 481, 1625, 513], [239, 531, 1465, 563]]
    first_words = np.array([60, 62, 65, 56, 43, 92, 43, 1433, 60], np.float64)
    assert justified_rows(above + parted + below, first_words) == [[1, 2, 3, 4, 5, 6]]
    first_words[7] = 300
    assert justified_rows(above + parted + below, first_words) == []


def test_a_paragraphs_indented_first_line_over_one_whole_line_is_one_run():
    """Fresh mkbook page, seed 1201: `Additionally,   Workforce   Identity   Federation`, a paragraph's first line
    indented 1.4 line heights and stretched to the column, over the paragraph's one whole line and a short one
    (`parameters]`: the URL after it did not fit), under the paragraph before's short last lines. The whole line
    under it is the only line flush with it at both ends, and it starts an indent to the left: the run opens a
    paragraph, and is one. The same row not indented has one flush line and nothing else: none."""
    above = [[163, 1323, 619, 1347], [164, 1354, 424, 1380]]
    parted = [[201, 1395, 346, 1422], [378, 1396, 506, 1422], [539, 1395, 632, 1422], [664, 1395, 796, 1421]]
    below = [[161, 1427, 796, 1457], [162, 1468, 307, 1489]]
    assert justified_rows(above + parted + below) == [[2, 3, 4, 5]]
    flush = [[161, 1395, 346, 1422]] + parted[1:]
    assert justified_rows(above + flush + below) == []


def test_a_stretched_line_led_by_a_word_boxed_short_reaches_the_url_under_it():
    """Fresh mkbook page, seed 1303: `overview                 guide:` stretched across the column, 15 line heights
    apart, over a URL's line that did not fit at its end. `overview` (x-height letters alone) is boxed 28 px,
    the URL's line 39, `guide:` 44: the line under a stretched one is as tall within AS_TALL of the taller of the
    two, and the URL's first word explains the blank: one run, beside the whole line above it. A line under it
    twice as tall is no line of its paragraph: none."""
    above = [[1273, 812, 2191, 851]]
    parted = [[1276, 872, 1428, 900], [2087, 863, 2193, 908]]
    below = [[1276, 915, 2170, 954], [1337, 980, 2192, 1018]]
    first_words = np.array([80, 150, 106, 894, 60], np.float64)
    assert justified_rows(above + parted + below, first_words) == [[1, 2]]
    doubled = [[1276, 895, 2170, 975]] + below[1:]                # its middle where the URL's line is
    assert justified_rows(above + parted + doubled, first_words) == []


def test_words_without_ascenders_stretched_apart_stay_in_their_line():
    """Two words boxed short (`namespaced name`: no ascenders, 25 px on a 35-px line) stand 123 px apart, 4.9
    times their own height but 3.5 times the line's: the spread is measured in the line's height (its tallest
    box), and the line is one run to its end."""
    whole = [[254, y, 2218, y + 35] for y in (0, 50)]
    parted = [[254, 100, 434, 135], [555, 100, 1536, 135], [1655, 108, 1847, 133], [1970, 108, 2060, 133],
              [2178, 100, 2218, 135]]
    assert justified_rows(whole + parted) == [[2, 3, 4, 5, 6]]


def test_rows_of_a_table_or_a_receipt_are_not_joined():
    # a table: every row parted at the same columns, none whole beside them
    table = [[x, y, x + 150, y + 30] for y in (0, 40, 80) for x in (100, 350, 600)]
    assert justified_rows(table) == []
    # a receipt: an item row under a whole line that ends elsewhere, a price far off (more than SPREAD heights)
    receipt = [[100, 0, 500, 30], [100, 40, 300, 70], [460, 40, 520, 70], [100, 80, 700, 110], [650, 120, 700, 150],
               [100, 120, 200, 150]]
    assert justified_rows(receipt) == []
    # a run that whole lines are flush with only at one end, or that one whole line alone is flush with
    assert justified_rows([[100, 0, 700, 30], [100, 40, 300, 70], [400, 40, 650, 70], [100, 80, 700, 110]]) == []
    assert justified_rows([[100, 0, 700, 30], [100, 40, 300, 70], [400, 40, 700, 70]]) == []
    # a form's two options of one question, flush by chance with two lines: narrower than a column of prose
    assert justified_rows([[100, 0, 300, 30], [100, 40, 180, 70], [230, 40, 300, 70], [100, 80, 300, 110]]) == []


def test_a_paragraph_whose_lines_are_nearly_all_parted_is_joined_line_by_line():
    """Chinese prose set justified, Latin words in it: the blanks around them take the stretch and four lines of
    six come back in two or three boxes each, their blanks where their words fall (fresh mkzh page, seed 113).
    Only two lines are whole, so no parted line has two whole lines beside it: the parted ones beside it count
    too, as their blanks do not line up with its own."""
    h = 30
    whole = [[180, 0, 1465, h], [180, 250, 1465, 250 + h]]
    parted = [[[180, 50, 834, 50 + h], [890, 50, 1029, 50 + h], [1087, 50, 1465, 50 + h]],
              [[180, 100, 535, 100 + h], [595, 100, 873, 100 + h], [930, 100, 1465, 100 + h]],
              [[180, 150, 288, 150 + h], [344, 150, 1465, 150 + h]],
              [[180, 200, 973, 200 + h], [1033, 200, 1465, 200 + h]]]
    boxes = whole + [b for line in parted for b in line]
    assert justified_rows(boxes) == [[2, 3, 4], [5, 6, 7], [8, 9], [10, 11]]


def test_rows_parted_at_the_same_columns_are_a_tables_not_prose():
    """A table whose cells stand edge to edge (the Chinese tables: `NK-43898` `2020-02-14` `索引`, one box each,
    touching) and rows parted at the same columns: their blanks line up, however wide."""
    touching = [[x, y, x + 100, y + 30] for y in (0, 40, 80, 120) for x in (100, 200, 300, 400, 500, 600, 700, 800)]
    assert justified_rows(touching) == []
    spaced = [[x, y, x + 80 + 10 * (y // 40), y + 30] for y in (0, 40, 80, 120) for x in (100, 400, 700)]
    assert justified_rows(spaced) == []


def test_the_other_columns_line_on_the_row_stays_apart():
    """Two columns side by side: a parted line of the left one is joined, the right column's line beside it on the
    same row is not taken into it (the run stops where a flush line beside it ends)."""
    left = [[100, y, 600, y + 30] for y in (0, 80)]
    right = [[660, y, 1160, y + 30] for y in (0, 40, 80)]
    parted = [[100, 40, 300, 70], [420, 40, 600, 70]]
    runs = justified_rows(left + right + parted)
    assert runs == [[5, 6]]


def _line(box, text):
    x0, y0, x1, y1 = box
    poly = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    return {"box": box, "polygon": poly, "score": 0.9, "text": text, "text_score": 0.95,
            "words": [{"text": text, "polygon": poly, "box": box, "score": 0.95}]}


def test_the_stage_joins_a_parted_justified_line_but_not_a_row_of_figures():
    from types import SimpleNamespace

    from ocrwatchd.pipeline.stages import join_justified_stage

    column = [_line([100, y, 700, y + 30], "the paragraph's other lines fill the column") for y in (0, 40, 120)]
    ctx = SimpleNamespace(lines=column + [_line([101, 80, 300, 110], "implementation"),
                                          _line([400, 80, 590, 110], "dependencies"),
                                          _line([640, 86, 699, 110], "or")])
    join_justified_stage(ctx)
    joined = [l for l in ctx.lines if l["text"] == "implementation dependencies or"]
    assert len(ctx.lines) == 4 and len(joined) == 1
    x0, y0, x1, y1 = joined[0]["box"]
    assert [w["text"] for w in joined[0]["words"]] == ["implementation", "dependencies", "or"]
    assert all(x0 - 1 <= w["box"][0] and w["box"][2] <= x1 + 1 and y0 - 1 <= w["box"][1] and w["box"][3] <= y1 + 1
               for w in joined[0]["words"])
    figures = SimpleNamespace(lines=column + [_line([101, 80, 300, 110], "62.4"), _line([400, 80, 590, 110], "1.07"),
                                              _line([640, 80, 699, 110], "61.7")])
    join_justified_stage(figures)
    assert len(figures.lines) == 6


def test_a_rule_read_in_parts_is_dropped_once_the_page_has_made_it_one_line(monkeypatch):
    """Fresh seed 1409 of bench/mkreceipt.py photographed: an asterisk rule read as CJK in two parts, seven and
    two glyphs, each too short to call a rule (textclean.RULE_MIN_GLYPHS 8) when the strays are dropped; the
    justified lines' join then made them one line of nine. The page's stages ask for rules again at the end."""
    from types import SimpleNamespace

    from ocrwatchd.engine.decode import DecodedImage
    from ocrwatchd.pipeline import stages

    column = [_line([100, y, 700, y + 30], "the paragraph's other lines fill the column") for y in (0, 40, 120)]
    parts = [_line([101, 80, 300, 110], "水冰水冰水水水"), _line([640, 80, 699, 110], "水水")]

    def read(ctx, engine):                     # the page's lines as the recogniser left them
        ctx.lines = [dict(line) for line in column + parts]

    monkeypatch.setattr(stages, "detect_stage", lambda ctx, engine: None)
    monkeypatch.setattr(stages, "recognize_stage", read)
    monkeypatch.setattr(stages, "marks_stage", lambda ctx, engine: None)
    engine = SimpleNamespace(page_orientation=None, recognizer=object(), settings=SimpleNamespace(min_mark_score=0.5))
    ctx = stages.PageContext(DecodedImage(np.full((200, 800), 255, np.uint8), None), {})
    stages.page_stages(ctx, engine)
    assert [l["text"] for l in ctx.lines] == ["the paragraph's other lines fill the column"] * 3

    # each part alone is no rule, and the join makes the two one line
    alone = SimpleNamespace(lines=[dict(line) for line in column + parts], dropped_lines=0)
    stages.drop_stray_stage(alone)
    assert len(alone.lines) == 5
    stages.join_justified_stage(alone)
    assert "水冰水冰水水水 水水" in [l["text"] for l in alone.lines]


def test_the_stage_keeps_a_forms_options_led_by_checkboxes_apart():
    """FUNSD-train photographed (bench/mkphoto.py, seed 3), form 13149651, boxes levelled as the stage takes them:
    a column of options, each led by a checkbox, beside the heading `Local :`; `☐ Permissive` and `☑ Mandatory`
    5 px apart on one row, flush at both ends with the options above and below. The geometry is a justified
    line's; the checkbox found in the pixels says each field is an option of a form: they stay apart. The same
    row of words without checkboxes is joined."""
    from types import SimpleNamespace

    from ocrwatchd.pipeline.stages import join_justified_stage

    def page(first, second):
        return SimpleNamespace(lines=[
            _line([140, 365, 265, 376], "☐ Create New Appropriation"), _line([101, 387, 132, 395], "Local :"),
            _line([139, 386, 264, 396], "☐ No local government cost"),
            _line([139, 414, 198, 427], first), _line([203, 413, 265, 426], second),
            _line([139, 438, 198, 451], first), _line([203, 437, 265, 451], second)])

    options = page("☐ Permissive", "☑ Mandatory")
    join_justified_stage(options)
    assert [l["text"] for l in options.lines][3:] == ["☐ Permissive", "☑ Mandatory"] * 2
    words = page("Permissive", "Mandatory")
    join_justified_stage(words)
    assert "Permissive Mandatory" in [l["text"] for l in words.lines]


def test_a_line_stretched_by_a_long_word_that_did_not_fit_is_one_run():
    """Fresh mkbook page, seed 233: `type, see:` stretched across the column, its two words 38 line heights
    apart, over a URL that did not fit at its end; the paragraph's indented first line above it is its one
    flush line (the URL runs past the column). The URL's width says why the blank is that wide: one run. Without
    the next line's first word, or under a short one, the blank is no space."""
    first = [[221, 1662, 1453, 1692]]                                  # the paragraph's first line, indented
    parted = [[177, 1709, 254, 1739], [1401, 1709, 1456, 1729]]        # `type,` … `see:` (boxed short)
    url = [[178, 1744, 1636, 1771]]
    boxes = first + parted + url
    assert justified_rows(boxes, np.array([75.0, 66.0, 47.0, 1454.0])) == [[1, 2]]
    assert justified_rows(boxes) == []
    assert justified_rows(boxes, np.array([75.0, 66.0, 47.0, 120.0])) == []       # a short word would have fitted
    # a stretched line's blanks are stretched alike: the gutter's narrow blank before the next column's line on
    # its row is no part of it, though a line across both columns (a URL run over the gutter) is flush with both
    right_column = [[1500, 1709, 2300, 1739]]
    across = [[178, 1744, 2300, 1771]]
    assert justified_rows(first + parted + across + right_column, np.array([75.0, 66.0, 47.0, 1454.0, 80.0])) \
        == [[1, 2]]


def test_the_stage_joins_a_stretched_line_of_a_skewed_page_by_its_levelled_boxes():
    """The same paragraph on a page skewed 0.6°: `see:` stands 1150 px right of `type,`, 12 px higher on the page
    for the skew alone — more than half a line's height with its own shorter box. The stage judges rows by the
    lines' boxes levelled (layout.levelled), in which the two are one row; and the URL's first word says why
    they stand so far apart."""
    from types import SimpleNamespace

    from ocrwatchd.pipeline.stages import join_justified_stage

    a = math.radians(-0.6)
    turn = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])

    def line(box, text):
        x0, y0, x1, y1 = box
        quad = (np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float) @ turn.T).round(1)
        upright = [*quad.min(axis=0), *quad.max(axis=0)]
        word = {"text": text.split()[0], "polygon": quad.tolist(), "box": upright, "score": 0.95}
        if " " in text:       # a whole line: its first word 75 px wide
            word["box"] = [upright[0], upright[1], upright[0] + 75, upright[3]]
        return {"box": upright, "polygon": quad.tolist(), "score": 0.9, "text": text, "text_score": 0.95,
                "words": [word]}

    ctx = SimpleNamespace(lines=[line([221, 1662, 1453, 1692], "Each asset type has its own content, for the"),
                                 line([177, 1709, 254, 1739], "type,"), line([1401, 1714, 1456, 1734], "see:"),
                                 line([178, 1744, 1636, 1771], "https://cloud.google.com/deployment-manager")])
    ctx.lines[3]["words"][0]["box"][2] = ctx.lines[3]["box"][2]     # the URL is one word
    join_justified_stage(ctx)
    assert [l["text"] for l in ctx.lines][1] == "type, see:" and len(ctx.lines) == 3
