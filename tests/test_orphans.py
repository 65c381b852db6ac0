"""Lone marks beside lines (engine/orphans.py): found on the rows of detected lines, on real pixels."""
import math

import cv2
import numpy as np

from ocrwatchd.engine.orphans import (CONTEXT, LevelFrame, already_read, joined_with_neighbour, mark_box,
                                     orphan_candidates)
from ocrwatchd.engine.segment import TEXT_MARGIN


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
    cols = np.flatnonzero((img[:, 300:600] < 128).any(axis=0)) + 300
    rows = np.flatnonzero((img[:, 300:600] < 128).any(axis=1))
    assert (x0, x1) == (cols[0], cols[-1] + 1)                  # the colon's own ink, not the row's height
    assert (y0, y1) == (rows[0], rows[-1] + 1)


def test_a_marks_own_box_is_its_ink_with_a_fitted_lines_margin():
    quad = mark_box((420, 70, 430, 100), line_height=50)
    mx, my = TEXT_MARGIN * 50, TEXT_MARGIN * 30                  # line heights across, the mark's height up/down
    np.testing.assert_allclose(quad, [[420 - mx, 70 - my], [430 + mx, 70 - my], [430 + mx, 100 + my],
                                      [420 - mx, 100 + my]])


def test_specks_lines_above_and_covered_ink_are_not_marks():
    img, boxes = receipt_row()
    img[:, 400:460] = 255                                        # no colon …
    img[88:90, 500:502] = 0                                      # … but a 2-px speck on the row,
    img[40:70, 300:380] = 0                                      # a blot reaching in from the row above,
    img[95:99, 30:250] = 0                                       # and an underline inside SUBTOTAL's box
    assert orphan_candidates(img, boxes) == []


def test_a_mark_is_read_together_with_its_nearest_line_on_the_row():
    boxes = np.array([[30, 62, 250, 112], [630, 62, 760, 112], [30, 300, 760, 350]], float)
    near = joined_with_neighbour(boxes, (420, 75, 430, 100))
    assert near.index == 0                                                   # SUBTOTAL is nearer than 26.00
    right = 430 + 0.25 * 50                                                  # the mark and a margin
    np.testing.assert_allclose(near.quad[[0, 2]], [[30, 62], [right, 112]])
    width = right - 30
    assert near.lo * width + 30 < 420 and 430 < near.hi * width + 30 <= right + 1e-9
    assert joined_with_neighbour(boxes, (420, 210, 430, 240)) is None       # nothing on that row
    assert joined_with_neighbour(boxes, (2000, 75, 2010, 100)) is None      # too far along the row
    assert joined_with_neighbour(boxes, (420, 40, 430, 135)) is None        # taller than the row: not its mark


def test_a_mark_beside_a_long_line_is_read_with_the_words_next_to_it_only():
    """A colon after a 30-line-height label is read with the label's last words, cut at a word's start at least
    CONTEXT line heights before the colon, not with the whole line (what it costs the recogniser); a line with no
    word that far from the mark is read whole, and so is any line where its words are not given."""
    h = 50
    boxes = np.array([[30, 62, 30 + 30 * h, 112]], float)
    starts = np.arange(30, 30 + 30 * h, 3 * h, dtype=float)                 # a word every 3 line heights …
    words = lambda k: np.stack([starts, starts + 2.5 * h], axis=1)          # … 2.5 line heights long
    mark = (30 * h + 60, 75, 30 * h + 70, 100)
    near = joined_with_neighbour(boxes, mark, words=words)
    begin = near.quad[0, 0]
    assert begin in starts and mark[0] - begin >= CONTEXT * h > mark[0] - (begin + 3 * h)  # the nearest such
    width = near.quad[1, 0] - begin
    assert near.lo * width + begin < mark[0] and mark[2] < near.hi * width + begin     # the mark, in the new quad
    assert joined_with_neighbour(boxes, mark).quad[0, 0] == 30                         # no words: the whole line
    shifted = boxes + [200, 0, 200, 0]                                                 # on the left: cut at an end
    near = joined_with_neighbour(shifted, (150, 75, 160, 100), words=lambda k: words(k) + 200)
    end = near.quad[1, 0]
    assert end in starts + 200 + 2.5 * h and end - shifted[0, 0] >= CONTEXT * h > end - 3 * h - shifted[0, 0]
    short = np.array([[30, 62, 30 + 4 * h, 112]], float)                               # shorter than CONTEXT
    assert joined_with_neighbour(short, (4 * h + 60, 75, 4 * h + 70, 100), words=words).quad[0, 0] == 30


def test_a_lines_own_last_letter_read_in_a_marks_span_is_not_the_marks():
    """The joint reading of a line and its glued mark can place the line's end letter in the mark's span (the
    box of 'Th' left out the 'e', read 'The', the span holding 'he'): written as the mark, it doubled
    (`Thhe`, `GSTTT`, `SUMMARYY` on SROIE's photographed copies). A double letter the line does not end
    with is the mark's."""
    assert already_read("operated Inclusion Th", "operatedInclusionT", "he", on_right=True) == 1
    assert already_read("GST", "TotalGS", "TT", on_right=True) == 1
    assert already_read("fre", "fre", "e", on_right=True) == 0                      # 'free': the second e
    assert already_read("fre", "fr", "ee", on_right=True) == 1                      # the line's e in the span
    assert already_read("SUBTOTAL", "SUBTOTAL", ":", on_right=True) == 0
    assert already_read("ello world", "llo", "He", on_right=False) == 1             # on the left: mirrored
    assert already_read("Exclusive", "Exclusive", "•", on_right=False) == 0
    assert already_read("a", "a", "a", on_right=True) == 0                          # too little read to tell


def test_the_pipeline_reads_a_receipts_lone_colon(engine, tmp_path):
    from ocrwatchd.pipeline import process

    img, _ = receipt_row()
    path = tmp_path / "row.png"
    cv2.imwrite(str(path), img)
    lines = process(path, engine).lines
    assert [l["text"] for l in lines] == ["SUBTOTAL", ":", "26.00"]
    x0, y0, x1, y1 = lines[1]["box"]
    assert x1 - x0 < 40 and y1 - y0 < 45          # boxed to the colon itself, not to the 50-px row


def test_the_pipeline_lets_a_line_take_in_a_close_colon(engine, tmp_path):
    """A colon one space after its label is part of that field: the line's text and box take it in."""
    from ocrwatchd.pipeline import process

    img = np.full((200, 1000), 255, np.uint8)
    cv2.putText(img, "DISCOUNT", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    cv2.putText(img, ":", (238, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)   # the detector misses it
    cv2.putText(img, "0.00", (640, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    path = tmp_path / "row.png"
    cv2.imwrite(str(path), img)
    lines = process(path, engine).lines
    assert [" ".join(l["text"].replace(":", " :").split()) for l in lines] == ["DISCOUNT :", "0.00"]
    colon = np.flatnonzero((img[:, 230:400] < 128).any(axis=0)) + 230
    assert lines[0]["box"][2] > colon[-1]          # the box reaches over the colon


def test_the_rest_of_a_glyph_a_box_cuts_through_is_not_a_mark():
    img = np.full((200, 1000), 255, np.uint8)
    cv2.putText(img, "inform", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    ink = np.flatnonzero((img < 128).any(axis=0))
    box = np.array([[30, 62, ink[-1] - 8, 112]], float)          # the detected box ends inside the final 'm'
    assert orphan_candidates(img, box) == []


def test_the_faint_edge_of_a_lines_glyphs_just_outside_its_fitted_box_is_not_a_mark():
    """`MC-4` beside a taller line on its row: its box, fitted to its dense rows, left out a faint row of its
    letters' tops, one pixel-row apart from them. On the taller line's row that row was a mark, read with the
    nearest line as `MManufacturing fines` (FUNSD-train). Ink hugging a line's box (within a tenth of its height
    above or below) is that line's."""
    img = np.full((200, 1000), 255, np.uint8)
    cv2.putText(img, "Manufacturing", (300, 110), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    cv2.putText(img, "MC4", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2, cv2.LINE_AA)
    rows = np.flatnonzero((img[:, 30:200] < 128).any(axis=1))
    img[rows[0] - 2, 45:75] = 90                                 # a faint row over the letters, a row apart
    boxes = np.array([[30, rows[0], 200, rows[-1] + 1], [290, rows[0] - 12, 640, 125]], float)
    assert orphan_candidates(img, boxes) == []


def test_a_tall_box_across_rows_does_not_gather_their_colons_into_one_mark():
    """A rubber stamp's box spans three receipt rows whose colons stand in one column (SROIE 106): each colon is
    found as its own mark, on its own row, wherever the stamp comes in the list of boxes."""
    img = np.full((400, 1000), 255, np.uint8)
    rows = []
    for k, y in enumerate((100, 160, 220)):
        cv2.putText(img, "TOTAL", (40, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
        cv2.putText(img, ":", (420, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
        rows.append([30, y - 38, 170, y + 8])
    stamp = [60, 40, 380, 260]                                   # the stamp's own ink is not drawn: only its box
    for boxes in (np.array([stamp] + rows, float), np.array(rows + [stamp], float)):
        marks = sorted(orphan_candidates(img, boxes), key=lambda m: m[1])
        assert len(marks) == 3
        for (x0, y0, x1, y1), row in zip(marks, rows):
            assert 415 <= x0 < x1 <= 440
            assert row[1] <= y0 < y1 <= row[3]                   # inside its own row


def tilted_receipt(degrees: float) -> np.ndarray:
    """Four rows `LABEL   :   VALUE`, their colons standing alone in a column, the sheet turned by `degrees`."""
    img = np.full((560, 1100), 255, np.uint8)
    for k, (label, value) in enumerate((("SUBTOTAL", "26.00"), ("DISCOUNT", "0.00"), ("ROUNDING", "0.02"),
                                        ("TOTAL", "26.02"))):
        y = 130 + 100 * k
        for text, x in ((label, 60), (":", 440), (value, 720)):
            cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    turn = cv2.getRotationMatrix2D((550, 280), degrees, 1.0)
    return cv2.warpAffine(img, turn, (1100, 560), flags=cv2.INTER_LINEAR, borderValue=255)


def test_a_level_frame_turns_a_tilted_line_level_and_back():
    slant = math.radians(4.0)
    frame = LevelFrame.of(slant, 1000, 600)
    line = np.array([[100, 100], [500, 100 + 400 * math.tan(slant)]])
    level = frame.level(line)
    assert abs(level[0, 1] - level[1, 1]) < 1e-9                            # level in the frame …
    assert abs((level[1, 0] - level[0, 0]) - 400 / math.cos(slant)) < 1e-6   # … its length kept
    np.testing.assert_allclose(frame.page(level), line, atol=1e-9)
    corners = frame.level(np.array([[0, 0], [1000, 0], [1000, 600], [0, 600]]))
    assert corners.min() > -1e-9 and (corners.max(axis=0) <= frame.size).all()  # the whole page is in it
    quad = np.array([[100, 100], [500, 128], [498, 158], [98, 130]], float)   # a line 30 px tall at 4°
    x0, y0, x1, y1 = frame.boxes([quad])[0]
    assert y1 - y0 < 31 < 58 <= np.ptp(quad[:, 1])                            # its own height, not 58 px


def test_a_tilted_receipts_lone_colons_are_found_on_their_own_rows(engine, tmp_path):
    """Turned 5° either way, a row's upright box is a line taller than its text and, 8 line heights along it,
    the row has climbed half a line: the colons were not found at all (and in SROIE's receipts turned 4°, marks
    were read with the row above, `QS/Price`). Searched on the page turned level, each is read on its row."""
    from ocrwatchd.pipeline import process

    upright = tmp_path / "upright.png"
    cv2.imwrite(str(upright), tilted_receipt(0))
    expected = [l["text"] for l in process(upright, engine).lines]
    assert expected.count(":") >= 3          # of the four: 3 with the detector before its head conv was int8, 4 now
    for degrees in (5, -5):
        path = tmp_path / f"tilted{degrees}.png"
        cv2.imwrite(str(path), tilted_receipt(degrees))
        lines = process(path, engine).lines
        texts = [l["text"] for l in lines]
        assert [t for t in texts if t != ":"] == [t for t in expected if t != ":"]
        colons = [l for l in lines if l["text"] == ":"]
        assert len(colons) >= 3
        for colon in colons:        # boxed to a colon: small, and where the column of colons stands
            x0, y0, x1, y1 = colon["box"]
            assert x1 - x0 < 45 and y1 - y0 < 50 and 400 < x0 < 480


def test_the_marks_stage_writes_a_glued_letter_once_where_the_joint_reading_puts_the_lines_end_in_its_span():
    """The stage's own bookkeeping, with a recogniser that places characters where we say: the line's box
    left out the 'e' of 'Bathe'; read together, CTC put the line's 'h' a frame into the mark's span. The line
    becomes 'Bathe', its box over the 'e', not 'Bathhe'."""
    from types import SimpleNamespace

    from ocrwatchd.engine.decode import DecodedImage
    from ocrwatchd.engine.dbpost import Detection
    from ocrwatchd.engine.recognize import LineReading
    from ocrwatchd.pipeline.result import line_json
    from ocrwatchd.pipeline.stages import PageContext, marks_stage, word_json

    img = np.full((160, 600), 255, np.uint8)
    cv2.putText(img, "Bath", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    th = np.flatnonzero((img < 128).any(axis=0))
    cv2.putText(img, "e", (th[-1] + 8, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3, cv2.LINE_AA)
    e = np.flatnonzero((img[:, th[-1] + 3:] < 128).any(axis=0)) + th[-1] + 3
    quad = np.array([[th[0] - 2, 62], [th[-1] + 2, 62], [th[-1] + 2, 112], [th[0] - 2, 112]], float)
    line = line_json(Detection(quad, 0.9)) | {"text": "Bath", "text_score": 0.99,
                                              "words": [word_json(quad, "Bath", 0.99)]}

    def read_lines(image, quads):
        x0, x1 = quads[0][0, 0], quads[0][1, 0]
        at = lambda x: (x - x0) / (x1 - x0)
        chars = tuple((at(th[0] + 10 + 25 * k), c, 1.0) for k, c in enumerate("Bat")) + (
            (at(e[0] - 3), "h", 1.0), (at((e[0] + e[-1]) / 2), "e", 1.0))
        return [LineReading("Bathe", 1.0, chars=chars)]

    engine = SimpleNamespace(recognizer=SimpleNamespace(read_lines=read_lines),
                             settings=SimpleNamespace(min_mark_score=0.7))
    ctx = PageContext(image=DecodedImage(img, None), timings={}, lines=[line])
    marks_stage(ctx, engine)
    assert [l["text"] for l in ctx.lines] == ["Bathe"]
    assert ctx.lines[0]["box"][2] > e[-1]
