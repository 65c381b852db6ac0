"""bench/reading_order.py: the measure the reading order is judged by (the kit's scores do not see order)."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from reading_order import longest_in_order, page_order_score  # noqa: E402


def _two_columns(rows: int = 10) -> np.ndarray:
    left = [[0, 40 * k, 600, 40 * k + 30] for k in range(rows)]
    right = [[640, 40 * k, 1240, 40 * k + 30] for k in range(rows)]
    return np.array(left + right, dtype=float)          # ground truth: the left column, then the right


def test_longest_in_order():
    assert longest_in_order([0, 1, 2, 3]) == 4
    assert longest_in_order([0, 10, 1, 11, 2, 12]) == 4
    assert longest_in_order([3, 2, 1]) == 1
    assert longest_in_order([1, 1, 2]) == 3                # a line split in two matches one line twice


def test_columns_in_order_score_one_and_read_across_about_half():
    truth = _two_columns()
    assert page_order_score(truth, truth) == 1.0
    across = np.array([b for pair in zip(truth[:10], truth[10:]) for b in pair])
    assert 0.5 <= page_order_score(across, truth) <= 0.6


def test_result_lines_outside_every_truth_line_are_left_out():
    truth = _two_columns(3)
    result = np.vstack([truth, [[2000, 2000, 2100, 2030]]])
    assert page_order_score(result, truth) == 1.0
    assert page_order_score(np.array([[2000, 2000, 2100, 2030]]), truth) is None
