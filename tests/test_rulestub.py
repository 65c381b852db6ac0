"""A fill-in rule's start read as a character at a line's end (engine/rulestub.py): found by its pixels, and
dropped only where the recogniser, reading the crop again with the stub painted over, reads the line less it."""
import cv2
import numpy as np
import pytest

from conftest import text_image
from ocrwatchd.engine.rulestub import rule_stub, runs_on, without_rule_stubs
from ocrwatchd.engine.segment import CharSpan

H = 20          # line height of the crops below


def label_crop(rule_from: int | None = 44, rule_rows=(15, 17), width: int = 50) -> np.ndarray:
    """A 24 × width ink mask: letters over rows 5-15 in columns 2-40, and a rule in rule_rows from rule_from on."""
    ink = np.zeros((24, width), bool)
    for x in range(2, 40, 8):
        ink[5:16, x:x + 5] = True
    if rule_from is not None:
        ink[rule_rows[0]:rule_rows[1], rule_from:] = True
    return ink


def test_a_rule_begun_after_the_last_letter_is_a_stub():
    band, cols, length = rule_stub(label_crop(), pad_px=2, line_height=H)
    assert band == (15, 17) and cols == range(44, 50) and length == 6


def test_a_value_typed_on_its_rule_has_the_rules_end_past_it_as_a_stub_and_the_whole_rule_as_its_length():
    """`Mary D. Davis` typed on a rule begun before it (and ended short of the box's edge): the rule's end
    past the last letter is the stub, and the rule under the letters counts in its length (1.5 line heights
    of it make it a rule without looking past the box)."""
    ink = label_crop(rule_from=1, rule_rows=(15, 17), width=50)
    ink[:, 47:] = False                                  # the rule stops 3 px short of the crop's edge
    band, cols, length = rule_stub(ink, pad_px=2, line_height=H)
    assert band == (15, 17) and cols == range(39, 47) and length == 46
    feet = label_crop(rule_from=None)
    for x in range(2, 40, 8):
        feet[15:17, x - 1:x + 6] = True                  # serifed letters' feet in the band, parted between letters
    feet[14:17, 41:44] = True                            # and a full stop after them
    assert rule_stub(feet, pad_px=2, line_height=H)[0] is None


@pytest.mark.parametrize("ink, why", [
    (label_crop(rule_from=None), "no stroke at the end"),
    (np.pad(label_crop(), ((0, 0), (0, 8))), "the stroke stops well inside the crop: a dash of the text's own"),
    (label_crop(rule_rows=(2, 4)), "a stroke over the letters' middle: a cell's top border"),
    (label_crop(rule_from=None, rule_rows=(15, 17)) | np.pad(np.ones((2, 3), bool), ((15, 7), (40, 7))),
     "a dot after the letters, short of the crop's edge, no rule under them"),
    (label_crop(rule_rows=(12, 20)), "a band thicker than a rule's stroke"),
])
def test_strokes_that_are_no_stub(ink, why):
    assert rule_stub(ink, pad_px=2, line_height=H)[0] is None, why


def past(rows: tuple[int, int], cols: np.ndarray, height: int = 24) -> np.ndarray:
    out = np.zeros((height, len(cols)), bool)
    out[rows[0]:rows[1]] = cols
    return out


def test_a_solid_or_dotted_rule_runs_on_and_a_gap_or_a_word_does_not():
    need = 30
    assert runs_on(past((15, 17), np.ones(40, bool)), (15, 17), need, H)
    dotted = np.arange(40) % 6 < 3                        # a leader: 3 px dots, 3 px gaps
    assert runs_on(past((15, 17), dotted), (15, 17), need, H)
    gap = np.ones(40, bool)
    gap[8:20] = False                                     # 12 px: more than a leader's gap (0.5 × 20)
    assert not runs_on(past((15, 17), gap), (15, 17), need, H)
    assert not runs_on(past((15, 17), np.ones(10, bool)), (15, 17), need, H)   # the page ends first
    word = np.zeros((24, 40), bool)                       # handwriting: crosses the band, inks no row along
    for x in range(0, 40, 5):
        word[4 + x % 3:22, x] = True
    assert not runs_on(word, (15, 17), need, H)
    stop_on_rule = past((17, 19), np.ones(40, bool))      # the band (a dot) stands above the rule's rows
    assert not runs_on(stop_on_rule, (13, 17), need, H)


def spans_of(text: str, frames: list[int]) -> list[CharSpan]:
    return [CharSpan(ch, f, f + 1, 0.9) for ch, f in zip(text, frames)]


class Reader:
    """A recogniser stand-in: what it reads in the painted crop, and the crops it was asked to read."""

    def __init__(self, reads: str):
        self.reads, self.asked = reads, []

    def __call__(self, crop: np.ndarray) -> str:
        self.asked.append(crop)
        return self.reads


def run(spans, reader, ink=None, frames_px=4.0):
    ink = label_crop() if ink is None else ink
    crop = np.where(ink, 0, 255).astype(np.uint8)
    beyond = lambda at_end, px: np.where(past((15, 17), np.ones(int(np.ceil(px)), bool)), 0, 255).astype(np.uint8)
    return without_rule_stubs(spans, frames_px, ink, crop, 2.0, H, beyond, reader)


def test_the_end_character_goes_where_the_line_reads_without_it_once_the_stub_is_painted_over():
    spans = spans_of("Date.", [1, 3, 5, 8, 11])          # the '.' at frame 11: 44 px, over the stub
    reader = Reader("Date")
    assert "".join(s.char for s in run(spans, reader)) == "Date"
    painted = reader.asked[0]
    assert (painted[14:18, 44:] == 255).all()              # the stub (and a row either side) is paper now
    assert (painted[5:14, 2:40] == np.where(label_crop()[5:14, 2:40], 0, 255)).all()   # the letters are not


@pytest.mark.parametrize("reads", ["Date.", "Date:", "Dat"])
def test_the_end_character_stays_where_the_recogniser_still_reads_it_or_reads_otherwise(reads):
    spans = spans_of("Date.", [1, 3, 5, 8, 11])
    assert "".join(s.char for s in run(spans, Reader(reads))) == "Date."


def test_a_line_whose_reading_ends_before_the_stub_is_not_read_again():
    reader = Reader("Date")
    spans = spans_of("Date", [1, 3, 5, 7])                  # the 'e' ends at frame 8: 32 px, the stub starts at 44
    assert run(spans, reader) == spans and reader.asked == []


def test_a_stub_at_the_lines_start_is_found_as_at_its_end():
    ink = label_crop()[:, ::-1].copy()                     # the rule before the label: `_____Date`
    spans = spans_of("_Date", [0, 4, 6, 8, 10])
    reader = Reader("Date")
    assert "".join(s.char for s in run(spans, reader, ink)) == "Date"
    assert (reader.asked[0][14:18, :6] == 255).all()


def test_on_a_rule_under_the_letters_a_stroke_read_past_them_goes_and_a_stop_is_not_read_again():
    ink = label_crop(rule_from=1)
    ink[:, 47:] = False                                    # the value's rule ends inside the box, past the value
    reader = Reader("Date")
    assert "".join(s.char for s in run(spans_of("Date_", [1, 3, 5, 8, 11]), reader, ink)) == "Date"
    assert (reader.asked[0][14:18, 40:47] == 255).all() and (reader.asked[0][15:17, 2:33] == 0).all()
    stop = Reader("Date")                                  # `120 mm.`: painting the rule would take the stop too
    spans = spans_of("Date.", [1, 3, 5, 8, 11])
    assert run(spans, stop, ink) == spans and stop.asked == []


def test_a_label_whose_fill_in_rule_touches_it_reads_without_the_rules_start(engine, tmp_path):
    """Drawn: `Account Number` with its fill-in rule begun under the r's foot and running on 400 px; the
    recogniser reads the rule's start inside the label's box as `_`."""
    from ocrwatchd.pipeline import process

    scale = 0.8
    img = text_image(1000, 120, [(40, 70, "Account Number", scale)])
    (tw, _), _ = cv2.getTextSize("Account Number", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.line(img, (40 + tw - 2, 72), (40 + tw + 400, 72), 0, 2)
    cv2.putText(img, "12/04/87", (40 + tw + 120, 66), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, 1, cv2.LINE_AA)
    path = tmp_path / "label.png"
    cv2.imwrite(str(path), cv2.GaussianBlur(img, (3, 3), 0))
    texts = sorted(l["text"] for l in process(path, engine).lines)
    assert texts == ["12/04/87", "Account Number"]
