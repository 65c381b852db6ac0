import numpy as np

from ocrwatchd.engine.layout import page_text, reading_order


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
