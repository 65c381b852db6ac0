"""Checkboxes (engine/checkbox.py): found by their shape in a line's ink, on drawn masks; then a rendered form
row through the real models, the way a user drops a form."""
import cv2
import numpy as np
import pytest
from conftest import text_image

from ocrwatchd.engine.checkbox import EMPTY, TICKED, Checkbox, find_checkboxes, trimmed, with_checkboxes
from ocrwatchd.engine.segment import CharSpan

H = 16            # line height (px)


def canvas(width: int = 120) -> np.ndarray:
    return np.zeros((H + 8, width), np.uint8)


def box(img: np.ndarray, x: int, side: int = 11, wall: int = 1) -> np.ndarray:
    cv2.rectangle(img, (x, 6), (x + side - 1, 6 + side - 1), 1, wall)
    return img


def tick(img: np.ndarray, x: int, side: int = 11) -> np.ndarray:
    cv2.line(img, (x + 2, 6 + side // 2), (x + side // 2, 6 + side - 3), 1, 2)
    cv2.line(img, (x + side // 2, 6 + side - 3), (x + side - 3, 8), 1, 2)
    return img


def test_empty_and_ticked_boxes_are_found_where_they_are():
    img = tick(box(box(canvas(), 10), 60), 60)
    found = find_checkboxes(img.astype(bool), H)
    assert [(b.x0, b.x1, b.glyph) for b in found] == [(10, 21, EMPTY), (60, 71, TICKED)]
    assert all(b.inked == 1.0 for b in found)


def test_a_bold_or_blurred_empty_box_is_not_ticked():
    img = box(canvas(), 10, side=12, wall=3)                      # walls a quarter of the box
    assert [b.glyph for b in find_checkboxes(img.astype(bool), H)] == [EMPTY]


def test_a_small_box_whose_corners_blur_rounded_is_found():
    """FUNSD's faxed 9 px boxes: blur takes the corner pixel off each side (a side inked along 7 of its 9 px, one
    short of either end), and a 1-px offset row of the top side hangs into a corner."""
    img = canvas()
    for x, marked in ((10, False), (40, True)):
        side = 9
        img[6, x + 2:x + side] = 1                    # the top side, starting a pixel late …
        img[7, x:x + side] = 1                        # … over a full row
        img[6 + side - 1, x + 1:x + side - 1] = 1     # bottom: a pixel short of each corner
        img[7:6 + side - 1, x + 1] = 1                # left: inside by a pixel, rounded off at the bottom
        img[6:6 + side - 1, x + side - 1] = 1         # right
        if marked:
            img[9:13, x + 3:x + 6] = 1
    found = find_checkboxes(img.astype(bool), H)
    assert [(b.x0, b.glyph) for b in found] == [(10, EMPTY), (40, TICKED)]


@pytest.mark.parametrize("shape", ["ring", "D", "bullet", "tall", "wide frame", "speck", "open side", "rounded square",
                                   "glued to a letter", "cut by the edge"])
def test_shapes_that_are_not_checkboxes(shape):
    img = canvas()
    if shape == "ring":                                           # an O or a 0: no ink in its corners
        cv2.circle(img, (20, 12), 6, 1, 2)
    elif shape == "D":
        cv2.ellipse(img, (14, 12), (7, 6), 0, -90, 90, 1, 2)
        cv2.line(img, (14, 6), (14, 18), 1, 2)
    elif shape == "bullet":                                       # ■ is a bullet, not a box
        cv2.rectangle(img, (10, 6), (20, 16), 1, -1)
    elif shape == "tall":                                         # a blocky 0 of a receipt font: 2:1
        cv2.rectangle(img, (10, 4), (16, 17), 1, 1)
    elif shape == "wide frame":                                   # a frame around a word is no checkbox
        cv2.rectangle(img, (10, 2), (70, 21), 1, 1)
    elif shape == "speck":
        cv2.rectangle(img, (10, 10), (14, 14), 1, 1)
    elif shape == "open side":                                    # a ⊔: one side missing
        cv2.line(img, (10, 6), (10, 16), 1, 1)
        cv2.line(img, (10, 16), (20, 16), 1, 1)
        cv2.line(img, (20, 6), (20, 16), 1, 1)
    elif shape == "rounded square":                               # a squarish O: each side's band inked along
        ring = np.zeros((12, 12), np.uint8)                       # most of it, but by a curve, not a straight run
        ring[0, 3:9] = ring[-1, 3:9] = ring[3:9, 0] = ring[3:9, -1] = 1
        ring[1, 1:3] = ring[1, 9:11] = ring[-2, 1:3] = ring[-2, 9:11] = 1
        ring[1:11, 1] = ring[1:11, -2] = 1
        img[6:18, 10:22] = ring
    elif shape == "glued to a letter":                            # a box-like glyph inside a word
        box(img, 10)
        cv2.line(img, (22, 8), (22, 16), 1, 2)
    else:                                                         # a letter the crop cuts looks boxed
        box(img, img.shape[1] - 11)
    assert find_checkboxes(img.astype(bool), H) == []


def spans_of(chars: str, *, x0: int = 0, prob: float = 0.99) -> list[CharSpan]:
    """One 2-frame span per character, 10 px apart at 5 px per frame, from column x0."""
    return [CharSpan(c, (x0 + 10 * k) // 5, (x0 + 10 * k) // 5 + 2, prob) for k, c in enumerate(chars)]


def text(spans: list[CharSpan]) -> str:
    return "".join(s.char for s in spans)


def test_what_was_read_in_a_box_gives_way_to_its_glyph_a_word_of_its_own():
    # read ' Yes' (the box as a space), then '(7Yes' (the box as two doubtful marks glued to the word)
    assert text(with_checkboxes(spans_of(" Yes"), [Checkbox(0, 10, False, 1.0)], 5.0)) == "☐ Yes"
    doubtful = [CharSpan(c, s.start, s.end, 0.6 if c in "(7" else 0.99) for c, s in zip("(7Yes", spans_of("(7Yes"))]
    assert text(with_checkboxes(doubtful, [Checkbox(0, 20, True, 1.0)], 5.0)) == "☑ Yes"
    # a box the recogniser read nothing in: the glyph goes in at its place
    assert text(with_checkboxes(spans_of("No", x0=20), [Checkbox(0, 12, False, 1.0)], 5.0)) == "☐ No"
    assert text(with_checkboxes(spans_of("No"), [Checkbox(30, 42, False, 1.0)], 5.0)) == "No ☐"


def test_a_sure_letter_in_a_box_stays_as_read():
    """A comb field's boxed digits, a blocky 0: what the recogniser reads surely inside a box is kept."""
    spans = spans_of("A0B")
    assert with_checkboxes(spans, [Checkbox(10, 20, False, 1.0)], 5.0) == spans


def test_a_letters_piece_that_passed_for_a_box_read_a_frame_beside_it_stays_as_read():
    """CTC placed the s of `is` a frame past the box-like piece of its ink (a serif s on a book page; the right
    half of 指 in a Chinese line is read a frame before it): the word stays whole. A box a space away from the
    letter before it is a box."""
    word = spans_of("is")                                  # s read at 10-20 px, centred at 15
    assert with_checkboxes(word, [Checkbox(7, 13, True, 1.0)], 5.0) == word
    assert text(with_checkboxes(spans_of("L "), [Checkbox(16, 26, False, 1.0)], 5.0)) == "L ☐"


def test_spaces_the_recogniser_put_at_the_ends_go():
    assert text(trimmed(spans_of("  Total "))) == "Total"
    assert trimmed(spans_of("   ")) == []


def form_row(tmp_path, ticked: bool):
    """'[ ] Yes   [x] No' drawn at ~150 dpi, each box as tall as the capitals beside it (as on FUNSD's forms)."""
    img = text_image(900, 160, [(110, 100, "Yes", 1.3), (420, 100, "No", 1.3)])
    for x, mark in ((66, ticked), (376, not ticked)):
        cv2.rectangle(img, (x, 73), (x + 25, 98), 0, 2)
        if mark:
            cv2.line(img, (x + 5, 86), (x + 11, 93), 0, 3)
            cv2.line(img, (x + 11, 93), (x + 20, 78), 0, 3)
    path = tmp_path / f"row-{ticked}.png"
    cv2.imwrite(str(path), img)
    return path


@pytest.mark.parametrize("ticked", [True, False])
def test_a_form_row_reads_which_box_is_ticked(engine, tmp_path, ticked):
    from ocrwatchd.pipeline import process

    lines = process(form_row(tmp_path, ticked), engine).lines
    got = " ".join(l["text"] for l in sorted(lines, key=lambda l: l["box"][0]))
    assert got == ("☑ Yes ☐ No" if ticked else "☐ Yes ☑ No")
    words = [w for l in lines for w in l["words"]]
    glyphs = sorted((w for w in words if w["text"] in (EMPTY, TICKED)), key=lambda w: w["box"][0])
    assert [round(w["box"][0] / 100) for w in glyphs] == [1, 4]   # each glyph's word box is where its box is
