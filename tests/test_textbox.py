"""Fitting a read line's box to its text (engine/textbox.py): on hand-made crops, then on rendered table cells
through the real models."""
import numpy as np
import pytest
from conftest import DEJAVU, WQY, font
from handmade import HEIGHT, PAD, layout

from ocrwatchd.engine.segment import CharSpan


def test_text_bounds_fit_the_box_to_the_text_not_to_a_stroke_through_it():
    """A label whose detected box took in a drawing's stroke: the box is fitted to the letters' ink + a margin."""
    from ocrwatchd.engine.ink import ink_columns
    from ocrwatchd.engine.segment import TEXT_MARGIN
    from ocrwatchd.engine.textbox import text_bounds

    spans, ink_cols = layout("which is")                 # 8 cells of 10 px
    left = 30                                            # the detected box starts 30 px before the text …
    spans = [CharSpan(s.char, s.start + left // 5, s.end + left // 5, s.prob) for s in spans]
    mask = np.zeros((3 * HEIGHT, left + len(ink_cols) + 60), bool)   # … is 3 lines tall and 60 px too wide
    mask[HEIGHT:2 * HEIGHT, left:left + len(ink_cols)] = ink_cols    # the text, in the middle third
    for y in range(mask.shape[0]):                       # a thin diagonal stroke crossing the box on the right
        mask[y, left + len(ink_cols) + 20 + y // 2] = True
    pad = PAD
    t0, t1, v0, v1 = text_bounds(spans, 5.0, mask, ink_columns(mask, pad), pad, HEIGHT)
    quad_w, quad_h = mask.shape[1] - 2 * pad, mask.shape[0] - 2 * pad
    ink_x = np.flatnonzero(ink_cols) + left
    assert t0 * quad_w + pad == pytest.approx(ink_x[0] - TEXT_MARGIN * HEIGHT, abs=1)
    assert t1 * quad_w + pad == pytest.approx(ink_x[-1] + 1 + TEXT_MARGIN * HEIGHT, abs=1)
    assert v0 * quad_h + pad == pytest.approx(HEIGHT - TEXT_MARGIN * HEIGHT, abs=1)
    assert v1 * quad_h + pad == pytest.approx(2 * HEIGHT + TEXT_MARGIN * HEIGHT, abs=1)


def test_text_bounds_leave_out_a_rules_remnant_at_the_crops_edge_but_not_a_neighbours_letters():
    """A table cell's box that reached the rule above it: the crop's top row holds a piece of the rule, set apart
    from the letters by blank rows. That row is not the text's, and the box is fitted to the letters; so is a piece
    beside rows a tilted rule crossed whole (taken out as a rule). Ink as thick as a neighbouring line's descenders
    at the edge is kept (some ground truth draws boxes around it), and so is ink adjoining neither."""
    from ocrwatchd.engine.ink import ink_columns
    from ocrwatchd.engine.segment import TEXT_MARGIN
    from ocrwatchd.engine.textbox import text_bounds

    spans, ink_cols = layout("654.38")
    top = 8                                                # blank rows between the crop's top and the letters
    mask = np.zeros((top + HEIGHT + PAD, len(ink_cols)), bool)
    mask[top:top + HEIGHT] = ink_cols
    quad_h = mask.shape[0] - 2 * PAD
    remnant = mask.copy()
    remnant[0, 10:30] = True                               # a skewed rule's piece, one row thick, in the top row
    _, _, v0, _ = text_bounds(spans, 5.0, remnant, ink_columns(remnant, PAD), PAD, HEIGHT)
    assert v0 * quad_h + PAD == pytest.approx(top - TEXT_MARGIN * HEIGHT, abs=1)
    descenders = mask.copy()
    descenders[0:3, 10:40:3] = True                        # three rows of a line above's descenders
    _, _, v0, _ = text_bounds(spans, 5.0, descenders, ink_columns(descenders, PAD), PAD, HEIGHT)
    assert v0 == 0.0
    apart = mask.copy()                                    # the same remnant at the bottom edge
    apart = np.vstack([apart, np.zeros((6, apart.shape[1]), bool)])
    apart[-1, 10:30] = True
    quad_h = apart.shape[0] - 2 * PAD
    _, _, _, v1 = text_bounds(spans, 5.0, apart, ink_columns(apart, PAD), PAD, HEIGHT)
    assert v1 * quad_h + PAD == pytest.approx(top + HEIGHT + TEXT_MARGIN * HEIGHT, abs=1)
    tilted = mask.copy()                                   # a tilted rule: its rows crossing the box whole were
    tilted[3, 10:30] = True                                # taken out (rows 0-2), a piece of it is left beside them
    ruled = np.zeros(len(tilted), bool)
    quad_h = tilted.shape[0] - 2 * PAD
    _, _, v0, _ = text_bounds(spans, 5.0, tilted, ink_columns(tilted, PAD), PAD, HEIGHT)
    assert v0 == 0.0                                       # ink that adjoins neither the edge nor a rule is kept
    ruled[:3] = True
    _, _, v0, _ = text_bounds(spans, 5.0, tilted, ink_columns(tilted, PAD), PAD, HEIGHT, ruled)
    assert v0 * quad_h + PAD == pytest.approx(top - TEXT_MARGIN * HEIGHT, abs=1)
    beyond = np.vstack([np.zeros((6, mask.shape[1]), bool), mask])   # the letters 14 rows down; a thick rule
    beyond[4, 10:30] = True                                # taken out (rows 5-6) left its ragged edge, a piece
    ruled = np.zeros(len(beyond), bool)                    # of row 4, between it and the crop's edge
    ruled[5:7] = True
    quad_h = beyond.shape[0] - 2 * PAD
    _, _, v0, _ = text_bounds(spans, 5.0, beyond, ink_columns(beyond, PAD), PAD, HEIGHT, ruled)
    assert v0 * quad_h + PAD == pytest.approx(top + 6 - TEXT_MARGIN * HEIGHT, abs=1)
    thick = beyond.copy()                                  # a tilted thick rule: pieces of it on both sides of
    thick[0:4, 20:60] = True                               # the row taken out, rows 0-3 holding its stroke, and
    thick[5, 10:20] = True                                 # row 5, not parted from them by any blank
    thick[4] = False                                       # (row 4 taken out)
    ruled = np.zeros(len(thick), bool)
    ruled[4] = True
    _, _, v0, _ = text_bounds(spans, 5.0, thick, ink_columns(thick, PAD), PAD, HEIGHT, ruled)
    assert v0 * quad_h + PAD == pytest.approx(top + 6 - TEXT_MARGIN * HEIGHT, abs=1)


def test_text_bounds_stop_at_a_cells_walls_and_ignore_a_rules_remnant_beside_the_letters_rows():
    """`86` right-aligned in a ruled table cell (a fresh seed of bench/mktable.py): its box took in the cell's
    right wall and the first letter of the next cell, and a tilted border left a 1-px row of itself across the
    crop beside the rows taken out. Fitted, the box is the digits' ink plus the margin: the remnant's row is not
    the letters' (the columns are measured in their rows) and the next cell's letter lies beyond the wall."""
    from ocrwatchd.engine.ink import ink_columns
    from ocrwatchd.engine.segment import TEXT_MARGIN
    from ocrwatchd.engine.textbox import text_bounds

    spans, ink_cols = layout("  86")                      # the digits at the right of their cell,
    end = np.flatnonzero(ink_cols)[-1] + 1                 # then 1 px blank, a 2-px wall, 1 px, the next cell's
    width = end + 9                                        # letter (closer than the 0.4 line heights a box
    mask = np.zeros((HEIGHT + 2 * PAD + 6, width), bool)   # reaches across a blank)
    top = PAD + 4                                          # the letters 3 blank rows under the remnant's
    mask[top:top + HEIGHT, :end] = ink_cols[:end]
    wall = np.zeros(width, bool)
    wall[end + 1:end + 3] = True
    mask[top:top + HEIGHT, end + 4:end + 9] = True
    ruled = np.zeros(len(mask), bool)
    ruled[PAD - 2:PAD] = True                              # the border's rows crossing the box, taken out,
    mask[PAD, 2:width] = True                              # and its remnant beside them, blank rows under it
    mask[:, wall] = False                                  # the wall's ink is taken out before the fit
    pad = PAD
    quad_w = width - 2 * pad
    digits = np.flatnonzero(ink_cols)
    t0, t1, _, _ = text_bounds(spans, 5.0, mask, ink_columns(mask, pad), pad, HEIGHT, ruled, wall)
    assert t0 * quad_w + pad == pytest.approx(digits[0] - TEXT_MARGIN * HEIGHT, abs=1)
    assert t1 * quad_w + pad == pytest.approx(digits[-1] + 1 + TEXT_MARGIN * HEIGHT, abs=1)


def test_a_fields_box_fits_its_own_letters_rows():
    """A table's row read as one line and split into fields: `名称` in a whole em, the line's full height, and a
    number beside it whose digits are half of that. A field that much shorter than its line (FIELD_SHORTER) is set
    in another size or script, and its rows are its own letters' (and a margin): the number's box is not the height
    of the CJK word's. A field nearly as tall as its line keeps the line's rows."""
    from ocrwatchd.engine.ink import ink_columns
    from ocrwatchd.engine.segment import TEXT_MARGIN
    from ocrwatchd.engine.textbox import field_rows, text_bounds

    pad, tall, short = PAD, (PAD + 2, PAD + 22), (PAD + 9, PAD + 19)    # rows of the word's ink, the number's
    mask = np.zeros((2 * PAD + 24, 2 * pad + 200), bool)
    spans = []
    for k, (x, rows) in enumerate([(0, tall), (24, tall), (120, short), (132, short), (144, short)]):
        mask[rows[0]:rows[1], pad + x:pad + x + 18 if k < 2 else pad + x + 8] = True
        spans.append(CharSpan("名称123"[k], (pad + x + 5) // 5, (pad + x + 5) // 5 + 1, 0.9))
    ink = ink_columns(mask, pad)
    t0, t1, v0, v1 = text_bounds(spans, 5.0, mask, ink, pad, 24)
    quad_h = mask.shape[0] - 2 * pad
    number = field_rows(0.55, 1.0, v0, v1, spans, 5.0, mask, ink, pad, 24)
    word = field_rows(0.0, 0.3, v0, v1, spans, 5.0, mask, ink, pad, 24)
    margin = TEXT_MARGIN * (short[1] - short[0])
    assert number[0] * quad_h + pad == pytest.approx(short[0] - margin, abs=1)
    assert number[1] * quad_h + pad == pytest.approx(short[1] + margin, abs=1)
    assert word == pytest.approx((v0, v1))                              # the line's rows are the word's
    assert field_rows(0.9, 1.0, v0, v1, spans, 5.0, mask, ink, pad, 24) == (v0, v1)   # no letter: the line's
    mask[PAD + 3:PAD + 9, pad + 120:pad + 200] = mask[PAD + 9, pad + 120:pad + 200]   # digits 0.8 of the line
    nearly = field_rows(0.55, 1.0, v0, v1, spans, 5.0, mask, ink_columns(mask, pad), pad, 24)
    assert nearly == (v0, v1)


def test_text_bounds_keep_a_box_that_already_fits():
    from ocrwatchd.engine.ink import ink_columns
    from ocrwatchd.engine.textbox import text_bounds

    spans, ink_cols = layout("TOTAL 12.50")
    mask = np.zeros((HEIGHT + 2 * PAD, len(ink_cols)), bool)
    mask[PAD:PAD + HEIGHT] = ink_cols
    assert text_bounds(spans, 5.0, mask, ink_columns(mask, PAD), PAD, HEIGHT) == (0.0, 1.0, 0.0, 1.0)


def test_text_bounds_keep_beside_short_text_the_margin_its_own_height_implies_not_the_boxs():
    """A table cell's `79`: the detector's box took in the space up to the cell's rules (taken out before), so it is
    2.5 times the digits' height. The margin left and right of the digits is the one a box fitted to them would
    have (TEXT_MARGIN of the height they imply, TEXT_FILL), not TEXT_MARGIN of the stretched box; a line that fills
    its box as text does keeps TEXT_MARGIN of the box."""
    from ocrwatchd.engine.ink import ink_columns
    from ocrwatchd.engine.segment import TEXT_MARGIN
    from ocrwatchd.engine.textbox import TEXT_FILL, text_bounds

    spans, ink_cols = layout("79")
    digits = 12
    box_h = int(2.5 * digits)
    top = (box_h - digits) // 2 + PAD
    mask = np.zeros((box_h + 2 * PAD, len(ink_cols) + 40), bool)   # 20 px of blank cell either side
    spans = [CharSpan(s.char, s.start + 4, s.end + 4, s.prob) for s in spans]
    mask[top:top + digits, 20:20 + len(ink_cols)] = ink_cols
    t0, t1, _, _ = text_bounds(spans, 5.0, mask, ink_columns(mask, PAD), PAD, box_h)
    quad_w = mask.shape[1] - 2 * PAD
    ink_x = np.flatnonzero(ink_cols) + 20
    implied = TEXT_MARGIN * digits / TEXT_FILL
    assert TEXT_MARGIN * box_h - implied > 2              # px: the two margins told apart
    assert t0 * quad_w + PAD == pytest.approx(ink_x[0] - implied, abs=0.5)
    assert t1 * quad_w + PAD == pytest.approx(ink_x[-1] + 1 + implied, abs=0.5)
    full_h = 16                                            # the same digits filling their box as text does
    assert digits / full_h > TEXT_FILL
    full = np.zeros((full_h + 2 * PAD, mask.shape[1]), bool)
    full[PAD + 2:PAD + 2 + digits, 20:20 + len(ink_cols)] = ink_cols
    t0, _, _, _ = text_bounds(spans, 5.0, full, ink_columns(full, PAD), PAD, full_h)
    assert t0 * quad_w + PAD == pytest.approx(ink_x[0] - TEXT_MARGIN * full_h, abs=0.5)


def digits_on_a_page(text: str, y: int):
    """A 200 × 100 white page with `text` in 13 px DejaVu Sans at (60, y): the page, a drawing on it, the text's
    ink box."""
    from PIL import Image, ImageDraw

    f = font(DEJAVU / "DejaVuSans.ttf", 13)
    img = Image.new("L", (200, 100), 255)
    d = ImageDraw.Draw(img)
    d.text((60, y), text, font=f, fill=0)
    return img, d, d.textbbox((60, y), text, font=f)


def fitted_rows(reading, quad: np.ndarray) -> tuple[float, float]:
    """The top and bottom of a reading's fitted box, in page rows (an upright quad)."""
    _, _, v0, v1 = reading.bounds
    height = quad[2, 1] - quad[0, 1]
    return quad[0, 1] + v0 * height, quad[0, 1] + v1 * height


def test_a_short_cells_box_fits_its_digits_not_the_rule_its_box_took_in(engine):
    """A cell holding one short number between a table's thick rules: the detector's box reached the rule above
    it. The rule is narrower than a rule must be to be taken out by its length (ink.RULE_HEIGHTS line
    heights), but it runs across the whole box, as no letter does, so its ink is not the text's and the box is
    fitted to the digits (a synthetic table's `49`: 22 px tall for 13 px of digits, matched to no ground truth)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("49", 40)
    d.line([(20, y0 - 6), (180, y0 - 6)], fill=0, width=3)        # the cell's top rule, inside the box
    d.line([(20, y1 + 8), (180, y1 + 8)], fill=0, width=3)        # its bottom rule, below the box
    d.line([(x1 + 4, 20), (x1 + 4, 80)], fill=0, width=3)          # the wall on its right
    quad = np.array([[x0 - 4, y0 - 8], [x1 + 7, y0 - 8], [x1 + 7, y1 + 4], [x0 - 4, y1 + 4]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "49"
    top, bottom = fitted_rows(reading, quad)
    t1 = reading.bounds[1]
    assert y0 - 3 <= top <= y0 and y1 <= bottom <= y1 + 3          # the digits' rows and a margin, no rule
    assert quad[0, 0] + t1 * (quad[1, 0] - quad[0, 0]) < x1 + 3     # nor the wall


def test_a_narrow_cells_box_leaves_out_the_ragged_edge_of_the_thick_rule_under_it(engine):
    """A cell's `28` over a rule two rows thick whose top row is ragged (a piece of it only, as a scan's
    anti-aliasing leaves it): the rows crossing the box are taken out as the cell's rule, and the piece left beside
    them is the rule's too. The crop is narrower than a rule must be long to be taken out by its length, which once
    made the rows crossing the box vanish from the record of rows a rule was taken out of, and the box reached down
    to the piece (a synthetic table's digits, 9 px of them in a 23 px box, matched no ground truth)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("28", 30)
    d.line([(20, y1 + 9), (180, y1 + 9)], fill=0, width=2)           # the rule, across the box's bottom
    d.line([(x0 - 2, y1 + 8), (x0 + 6, y1 + 8)], fill=0, width=1)    # its ragged top row
    quad = np.array([[x0 - 4, y0 - 4], [x1 + 4, y0 - 4], [x1 + 4, y1 + 9], [x0 - 4, y1 + 9]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "28"
    top, bottom = fitted_rows(reading, quad)
    assert y0 - 3 <= top <= y0 and y1 <= bottom <= y1 + 3            # the digits' rows and a margin only


def test_ink_beyond_a_cells_rule_is_not_its_text_however_close_the_rule(engine):
    """The box of a cell's `2023-07-12` reached over the cell's top rule (3 rows thick) to the broken row of ink
    just beyond it (the rule's soft edge, or the cell above's descenders); between the rule and the digits only 2
    blank rows. The rule's rows are taken out, and the ink beyond them is set apart from the digits by the rule
    and the blank together, not by the blank alone (a synthetic table's cells: 13 px of digits in 25 px boxes)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("2023-07-12", 40)
    d.line([(10, y0 - 4), (190, y0 - 4)], fill=0, width=3)           # the cell's top rule: rows y0-5..y0-3
    for x in range(x0, x1, 9):                                       # broken ink on the row beyond it
        d.line([(x, y0 - 6), (x + 5, y0 - 6)], fill=0, width=1)
    quad = np.array([[x0 - 3, y0 - 8], [x1 + 3, y0 - 8], [x1 + 3, y1 + 3], [x0 - 3, y1 + 3]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "2023-07-12"
    top, bottom = fitted_rows(reading, quad)
    assert y0 - 3 <= top <= y0 and y1 <= bottom <= y1 + 3            # the digits' rows and a margin only


def test_a_number_beside_a_cjk_word_on_one_line_is_boxed_to_its_own_height(engine):
    """`名称合计` in a 22-px Hei and `298.38` in 13-px digits, one detected line split into two fields at the gap: the
    number's box is its digits' rows and a margin, not the CJK word's whole em (a Chinese table's row read as one
    line: `298.38` boxed 23 px for 11 px of digits, matched to no ground truth)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (300, 80), 255)
    d = ImageDraw.Draw(img)
    d.text((20, 28), "名称合计", font=font(WQY, 22), fill=0)
    word = d.textbbox((20, 28), "名称合计", font=font(WQY, 22))
    d.text((word[2] + 40, 35), "298.38", font=font(DEJAVU / "DejaVuSans.ttf", 13), fill=0)
    x0, y0, x1, y1 = d.textbbox((word[2] + 40, 35), "298.38", font=font(DEJAVU / "DejaVuSans.ttf", 13))
    quad = np.array([[word[0] - 4, word[1] - 4], [x1 + 4, word[1] - 4], [x1 + 4, word[3] + 4],
                     [word[0] - 4, word[3] + 4]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert [f.text for f in reading.fields] == ["名称合计", "298.38"]
    height = quad[2, 1] - quad[0, 1]
    number = [quad[0, 1] + v * height for v in reading.fields[1].rows]
    assert y0 - 3 <= number[0] <= y0 and y1 <= number[1] <= y1 + 3     # the digits' rows and a margin
    cjk = [quad[0, 1] + v * height for v in reading.fields[0].rows]
    assert cjk[0] <= word[1] + 1 and cjk[1] >= word[3] - 1


def test_a_rules_remnant_and_the_letters_beyond_it_are_left_out_together(engine):
    """A table cell's `Public` whose box reached the thick rule above it, the crop (the box padded) to the bottom
    row of the letters of the row above, one blank row beyond the rule's ragged edge: that row of letters alone is
    no run apart from the rule, but the two together stand apart from the cell's text, and the box is fitted to
    `Public` (a synthetic table's cell: boxed from that row down, 25 px for 14 px of letters, it matched no ground
    truth)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("Public", 40)
    d.line([(10, y0 - 6), (190, y0 - 6)], fill=0, width=3)           # the cell's top rule: rows y0-7..y0-5
    for x in range(x0 - 3, x1 + 3, 10):                              # its ragged edge
        d.line([(x, y0 - 8), (x + 6, y0 - 8)], fill=0, width=1)
    for x in range(x0, x1, 7):                                       # the feet of the row above's letters,
        d.line([(x, y0 - 11), (x + 2, y0 - 11)], fill=0, width=1)    # in the crop's top row
    quad = np.array([[x0 - 3, y0 - 8], [x1 + 3, y0 - 8], [x1 + 3, y1 + 11], [x0 - 3, y1 + 11]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "Public"
    top, _ = fitted_rows(reading, quad)
    assert y0 - 3 <= top <= y0                                       # the letters' rows and a margin only
