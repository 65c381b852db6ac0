"""Lines set close: each is shown to the recogniser from its own rows, not with the letters of the lines above and
below it (engine/crowding.py). Geometry and ink with arrays; the reading itself on the bundled recogniser."""
import numpy as np

from ocrwatchd.engine.crowding import neighbours, overlaps, own_rows, without_others
from ocrwatchd.engine.linecrop import rectified


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def strokes(page: np.ndarray, y0: int, y1: int, x0: int = 20, x1: int = 290) -> None:
    """Letters as vertical strokes every 4 px (a quarter of each row inked, as print is)."""
    page[y0:y1, x0:x1:4] = 0


def test_the_lines_above_and_below_that_overlap_a_box_along_it_are_found():
    above, line, below = box(10, 10, 300, 24), box(10, 20, 300, 34), box(10, 30, 300, 44)
    assert neighbours([above, line, below]) == [[1], [0, 2], [1]]
    found = overlaps(line, [above, below])
    assert [(o.before, round(o.depth, 3)) for o in found] == [(True, round(4 / 14, 3)), (False, round(4 / 14, 3))]


def test_boxes_apart_on_the_same_row_or_over_one_end_only_are_not_overlaps():
    line = box(100, 20, 300, 34)
    touching = box(100, 6, 300, 20)                   # above, meeting the box's top edge and no more
    beside = box(320, 21, 400, 35)                    # a field on the same row
    holder = box(0, 5, 420, 50)                       # a box around it: its centre on the line's row
    over_one_end = box(0, 10, 130, 24)                # 30 px of the line's 200, 30 of its own 130
    assert overlaps(line, [touching, beside, holder, over_one_end]) == []


def test_a_box_is_cut_at_the_blank_row_between_its_ink_and_the_line_above():
    page = np.full((60, 320), 255, np.uint8)
    strokes(page, 12, 22)                             # the line above's letters, its box 10-24
    strokes(page, 24, 31)                             # the line's own, its box 20-34: rows 22-23 are blank
    line, above = box(10, 20, 300, 34), box(10, 10, 300, 24)
    v0, v1 = own_rows(rectified(page, line), overlaps(line, [above]))
    assert v1 == 1.0 and 20 + 14 * v0 in (22.5, 23.5)  # a blank row of the overlap (rows 20-23), not an inked one
    shown = rectified(page, box(10, 20 + 14 * v0, 300, 34))
    assert not ((shown[:2] < 128).mean(axis=1) > 0.15).any()   # none of the line above's strokes


def test_a_row_blank_only_under_the_line_above_does_not_cut_the_lines_own_ascenders_beyond_it():
    page = np.full((60, 320), 255, np.uint8)
    strokes(page, 12, 22, 20, 190)                    # the line above, its box 10-24, ending at x 200
    strokes(page, 24, 31)                             # the line's x-height …
    strokes(page, 21, 31, 220, 290)                   # … and its capitals past the line above's end, from row 21
    line, above = box(10, 20, 300, 34), box(10, 10, 200, 24)
    assert len(overlaps(line, [above])) == 1
    assert own_rows(rectified(page, line), overlaps(line, [above])) == (0.0, 1.0)


def test_a_box_whose_letters_interleave_with_the_next_lines_is_left_whole():
    page = np.full((60, 320), 255, np.uint8)
    strokes(page, 12, 29, 20, 150)                    # the line above: a descender reaching to row 28 …
    strokes(page, 22, 31, 152, 290)                   # … beside this line's capitals from row 22
    strokes(page, 24, 31)
    line, above = box(10, 20, 300, 34), box(10, 10, 300, 26)
    assert own_rows(rectified(page, line), overlaps(line, [above])) == (0.0, 1.0)


def test_a_box_is_fitted_to_its_own_lines_ink_not_to_the_letters_above_the_cut():
    """The crop the box is measured in is the whole box's, padded: the bottom of the line above's letters lies in
    its top rows, past the blank row the box was cut at for the recogniser. Fitted to all the crop's ink, the box
    reached up to them; fitted to its own line's, it holds the text's rows and a margin."""
    from ocrwatchd.engine.ink import ink_columns, ink_mask
    from ocrwatchd.engine.segment import CharSpan
    from ocrwatchd.engine.textbox import text_bounds

    page = np.full((60, 320), 255, np.uint8)
    strokes(page, 12, 22)                             # the line above, its box 10-24
    strokes(page, 25, 33)                             # the line's own 8 rows, its box 20-34
    line, above = box(10, 20, 300, 34), box(10, 10, 300, 24)
    own = own_rows(rectified(page, line), overlaps(line, [above]))
    assert own[0] > 0
    pad = 2.0
    crop = rectified(page, box(10 - pad, 20 - pad, 300 + pad, 34 + pad))
    spans = [CharSpan("a", f, f + 1, 0.9) for f in range(4, 70, 6)]     # letters along the line, 4 px a frame

    def top(mask):
        _, _, v0, v1 = text_bounds(spans, 4.0, mask, ink_columns(mask, pad), pad, 14.0)
        return 20 + 14 * v0

    mask = ink_mask(crop)
    assert top(mask) < 21                             # the line above's last rows (20-21) taken for its text
    assert 23 <= top(without_others(mask, own, pad)) <= 25   # its own from row 25, less a margin of 0.2 × 8 rows
    assert top(without_others(mask, (0.0, 1.0), pad)) == top(mask)          # no line above: nothing taken off
    flipped = without_others(mask[::-1], own, pad, flipped=True)[::-1]      # a crop read turned by 180°
    assert (flipped == without_others(mask, own, pad)).all()


def test_a_faxs_small_print_line_is_boxed_to_its_own_rows(engine):
    """bench/mkfax.py's form 0 of seed 829: 8-px print on a 12-px pitch. `terms separately copyrightable…` was
    boxed 430-444 for its ink at 434-441 (the line above's letters in the crop's top rows) and matched no ground
    truth at IoU 0.5; fitted to its own rows it does."""
    import random
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    from mkfax import form

    page, truth = form(random.Random(829 * 1000), 829, 0)
    gt = next(l for l in truth["pages"][0]["lines"] if l["text"].lower().startswith("terms separately"))
    x0, y0, x1, y1 = gt["box"]
    quads = [d.quad for d in engine.detector.detect(page).lines]
    k = min(range(len(quads)), key=lambda i: abs(quads[i][:, 1].mean() - (y0 + y1) / 2)
            + abs(quads[i][:, 0].mean() - (x0 + x1) / 2))
    reading = engine.recognizer.read_lines(page, quads, page_lines=True)[k]
    t0, t1, v0, v1 = reading.bounds
    q = quads[k]
    qx0, qx1, qy0, qy1 = q[:, 0].min(), q[:, 0].max(), q[:, 1].min(), q[:, 1].max()
    bx0, bx1 = qx0 + t0 * (qx1 - qx0), qx0 + t1 * (qx1 - qx0)
    by0, by1 = qy0 + v0 * (qy1 - qy0), qy0 + v1 * (qy1 - qy0)
    inter = max(0, min(x1, bx1) - max(x0, bx0)) * max(0, min(y1, by1) - max(y0, by0))
    union = (x1 - x0) * (y1 - y0) + (bx1 - bx0) * (by1 - by0) - inter
    assert inter / union >= 0.5, ((bx0, by0, bx1, by1), gt["box"])


def test_a_faxs_small_print_set_solid_reads_better_from_each_lines_own_rows(engine):
    """bench/mkfax.py's form 7 of seed 409: a notice in 9-px type on a 10-11 px pitch, blurred and noisy. Read as
    the page's lines, each line is shown from its own rows, and the page reads with half the edits it has when
    every line is read from its whole box (107 -> 49 measured; the other lines are read alike)."""
    import random
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    from mkfax import form

    page, truth = form(random.Random(409 * 1000 + 7), 409, 7)
    lines = truth["pages"][0]["lines"]
    quads = [d.quad for d in engine.detector.detect(page).lines]

    def edits(readings) -> int:
        """Edits from each reading to the ground-truth line nearest its box (case aside)."""
        total = 0
        for quad, reading in zip(quads, readings):
            cx, cy = quad.mean(axis=0)
            near = min(lines, key=lambda l: abs((l["box"][1] + l["box"][3]) / 2 - cy)
                       + 0.01 * abs((l["box"][0] + l["box"][2]) / 2 - cx))
            total += _levenshtein(reading.text.lower(), near["text"].lower())
        return total

    whole = edits(engine.recognizer.read_lines(page, quads))
    own = edits(engine.recognizer.read_lines(page, quads, page_lines=True))
    assert own < 0.7 * whole


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
