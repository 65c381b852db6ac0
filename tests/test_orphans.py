"""Lone marks beside lines (engine/orphans.py): found on the rows of detected lines, on real pixels."""
import cv2
import numpy as np

from ocrwatchd.engine.orphans import joined_with_neighbour, orphan_candidates


def receipt_row() -> tuple[np.ndarray, np.ndarray]:
    """'SUBTOTAL      :      26.00' drawn, with detected boxes for the label and the value only."""
    img = np.full((200, 1000), 255, np.uint8)
    cv2.putText(img, "SUBTOTAL", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    cv2.putText(img, ":", (420, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    cv2.putText(img, "26.00", (640, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    boxes = np.array([[30, 62, 250, 112], [630, 62, 760, 112]], float)
    return img, boxes


def test_an_uncovered_colon_on_a_row_is_a_candidate():
    img, boxes = receipt_row()
    (x0, y0, x1, y1), = orphan_candidates(img, boxes)
    ink = np.flatnonzero((img[:, 300:600] < 128).any(axis=0)) + 300
    assert x0 < ink[0] and ink[-1] < x1 and x1 - x0 < 50        # around the colon, one mark wide
    assert (y0, y1) == (62, 112)                                # at its row's height


def test_specks_lines_above_and_covered_ink_are_not_marks():
    img, boxes = receipt_row()
    img[:, 400:460] = 255                                        # no colon …
    img[88:90, 500:502] = 0                                      # … but a 2-px speck on the row,
    img[40:70, 300:380] = 0                                      # a blot reaching in from the row above,
    img[95:99, 30:250] = 0                                       # and an underline inside SUBTOTAL's box
    assert orphan_candidates(img, boxes) == []


def test_a_mark_is_read_together_with_its_nearest_line_on_the_row():
    boxes = np.array([[30, 62, 250, 112], [630, 62, 760, 112], [30, 300, 760, 350]], float)
    union = joined_with_neighbour(boxes, (410, 62, 445, 112))
    np.testing.assert_allclose(union[[0, 2]], [[30, 62], [445, 112]])      # SUBTOTAL is nearer than 26.00
    assert joined_with_neighbour(boxes, (410, 200, 445, 250)) is None       # nothing on that row
    assert joined_with_neighbour(boxes, (2000, 62, 2030, 112)) is None      # too far along the row


def test_the_pipeline_reads_a_receipts_lone_colon(engine, tmp_path):
    from ocrwatchd.pipeline import process

    img, _ = receipt_row()
    path = tmp_path / "row.png"
    cv2.imwrite(str(path), img)
    texts = [l["text"] for l in process(path, engine).lines]
    assert texts == ["SUBTOTAL", ":", "26.00"]


def test_the_rest_of_a_glyph_a_box_cuts_through_is_not_a_mark():
    img = np.full((200, 1000), 255, np.uint8)
    cv2.putText(img, "inform", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    ink = np.flatnonzero((img < 128).any(axis=0))
    box = np.array([[30, 62, ink[-1] - 8, 112]], float)          # the detected box ends inside the final 'm'
    assert orphan_candidates(img, box) == []
