"""A table's walls (engine/walls.py): found in a line's crop, confirmed on the page, parting the cells."""
import cv2
import numpy as np
from conftest import DEJAVU, WQY, font, read
from handmade import HEIGHT, PAD, PITCH, ruled

from ocrwatchd.engine import walls
from ocrwatchd.engine.ink import ink_columns, without_rules
from ocrwatchd.engine.segment import split_fields


def confirmed_at(page, quad, pad, x, half=1):
    """walls.confirmed on a page for one candidate wall: the columns x - half .. x + half of the page (the quad
    runs level from its left end), asked of the crop's column under x."""
    from ocrwatchd.engine.ink import minority_ink
    from ocrwatchd.engine.linecrop import rectified

    left, right = quad[0][0], quad[1][0]
    at = int(x - left + pad)
    candidates = np.zeros(int(right - left + 2 * pad), bool)
    candidates[at - half:at + half + 1] = True
    tall = minority_ink(rectified(page, walls.tall_quad(quad)))
    return walls.confirmed(tall, candidates, pad, False)[at]


def test_a_wall_runs_on_straight_past_the_line_and_a_seals_ring_does_not():
    """walls.confirmed: a table's wall continues above and below the line's box, in one column; a seal's ring,
    which crosses the line as straight as a wall does, curves away outside it; a wall that stops under the line's
    box (a table's last row) still continues on one side."""
    from ocrwatchd.engine import walls
    from ocrwatchd.engine.linecrop import rectified
    from ocrwatchd.engine.ink import minority_ink

    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # a wall through the whole table
    cv2.line(page, (320, 20), (320, 125), 0, 2)                       # a wall that ends under the last row
    cv2.circle(page, (110, 110), 60, 0, 4)                            # a seal's ring, sides at x 50 and 170
    quad = np.array([[30, 100], [390, 100], [390, 120], [30, 120]], np.float64)
    pad = 2.0                                                         # 0.1 of the 20-px line height
    candidates = np.zeros(int(360 + 2 * pad), bool)
    for x in (50, 170, 200, 320):
        candidates[int(x - 30 + pad) - 1:int(x - 30 + pad) + 2] = True
    tall = minority_ink(rectified(page, walls.tall_quad(quad)))
    found = walls.confirmed(tall, candidates, pad, False)
    assert [x for x in (50, 170, 200, 320) if found[int(x - 30 + pad)]] == [200, 320]
    # a crop read turned by 180° has its columns the other way round: the same walls are found
    assert (walls.confirmed(tall, candidates[::-1], pad, True)[::-1] == found).all()


def test_a_wall_is_found_where_a_tables_rules_meet_it_a_row_apart():
    """A scanned table's rules meet a wall from either side, not always on the same row (`121have` read as one
    line across its wall): the rule's row runs out of the wall's window on one side, and the stroke is at its
    other end, not in its middle."""
    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # the wall
    cv2.line(page, (30, 92), (200, 92), 0, 2)                         # the row's top rule, from the left …
    cv2.line(page, (200, 94), (390, 94), 0, 2)                        # … and from the right, two rows lower
    cv2.line(page, (30, 126), (200, 126), 0, 2)                       # its bottom rule likewise
    cv2.line(page, (200, 128), (390, 128), 0, 2)
    quad = np.array([[30, 100], [390, 100], [390, 120], [30, 120]], np.float64)
    assert confirmed_at(page, quad, 2.0, 200)


def test_a_thick_wall_is_found_where_rules_meet_it_from_one_side():
    """A rule meeting a wall from one side ends at the wall's near edge, not at its centre: for a wall 4 px wide
    or more that is 2 columns or more off the wall's centre, and the wall read as bent (a scanned table's `Qty
    Total` read as one line across its 4-px wall, seed 577 of bench/mktable.py). The wall's centre is half its
    width in from that edge; the wall is found whatever its width."""
    for width in (2, 4, 6):
        page = np.full((240, 420), 255, np.uint8)
        page[10:231, 200 - width // 2:200 - width // 2 + width] = 0       # the wall
        page[92:94, 30:200] = 0                                           # the row's rules meet it from the left
        page[95:97, 200:390] = 0                                          # … and from the right, three rows lower
        page[126:128, 30:200] = 0
        page[129:131, 200:390] = 0
        quad = np.array([[30, 100], [390, 100], [390, 120], [30, 120]], np.float64)
        assert confirmed_at(page, quad, 2.0, 200, half=3), width


def test_a_wall_is_found_where_the_soft_edge_of_a_crossing_rule_joins_it():
    """A scanned rule crossing a wall has a soft edge: on the row beside it a short stub of grey joins the wall on
    one side, the run's centre moves by the stub's length, and the wall read as bent (`925.91数学位应该是`, a
    Chinese table's two cells as one line). The rows beside a crossing rule are not held to the wall's column;
    a stroke that bends anywhere else is still not a wall."""
    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # the wall, columns 199-201
    for y in (90, 140):                                              # rules crossing it above and below the row …
        cv2.line(page, (30, y), (390, y), 0, 2)
    page[88, 199:208] = 0                                             # … each with a stub of its soft edge
    page[143, 199:208] = 0                                            # joining the wall on one side
    quad = np.array([[30, 100], [390, 100], [390, 130], [30, 130]], np.float64)
    pad = 3.0                                                         # 0.1 of the 30-px line height
    assert confirmed_at(page, quad, pad, 200)
    page[110:113, 199:208] = 0                                        # a bend away from the rules is not a wall's
    assert not confirmed_at(page, quad, pad, 200)


def test_only_a_rule_runs_across_the_whole_box_never_a_letter():
    """walls.crossing_rows: the rows of a crop inked unbroken from one side of the box to the other. Rendered
    words boxed as the detector boxes them (a margin round the ink) and padded as the recogniser crops them have
    none, a bold T's bar and a CJK page's horizontal strokes included; a cell's rule across the box is found."""
    from PIL import Image, ImageDraw

    from ocrwatchd.engine import walls
    from ocrwatchd.engine.ink import ink_mask

    for text, face, size in [("TOTAL", DEJAVU / "DejaVuSans-Bold.ttf", 20), ("49", DEJAVU / "DejaVuSans.ttf", 13),
                             ("T", DEJAVU / "DejaVuSans-Bold.ttf", 20), ("三三王", WQY, 22),
                             ("Stem Meal", DEJAVU / "DejaVuSans.ttf", 13)]:
        f = font(face, size)
        img = Image.new("L", (300, 80), 255)
        d = ImageDraw.Draw(img)
        d.text((40, 20), text, font=f, fill=0)
        x0, y0, x1, y1 = d.textbbox((40, 20), text, font=f)
        margin = round(0.3 * (y1 - y0))                     # DB's unclipped box reaches past the ink
        pad = round(0.1 * (y1 - y0 + 2 * margin))           # … and the crop adds the recogniser's pad
        crop = np.asarray(img)[y0 - margin - pad:y1 + margin + pad, x0 - margin - pad:x1 + margin + pad]
        assert not walls.crossing_rows(ink_mask(crop), pad).any(), text
        ruled = crop.copy()
        ruled[1:3] = 0                                      # a cell's rule inside the box, through its top
        assert np.flatnonzero(walls.crossing_rows(ink_mask(ruled), pad)).tolist() == [1, 2], text


def test_a_wall_that_starts_at_the_rule_crossing_the_box_is_a_wall_too():
    """A table's top row: the rule above it crosses the box two rows down the crop, and its walls start there (the
    crop's margin above the rule is blank). Between that rule and the crop's bottom the walls are inked through,
    the letters are not; without the rule known, nothing is inked through the whole crop."""
    spans, plain = ruled("Code", 0, 0)
    mask = plain.copy()
    mask[2:4] = True                                         # the rule, across the box
    mask[2:, 1:3] = True                                     # the walls, from the rule down
    mask[2:, -3:-1] = True
    crossing = walls.crossing_rows(mask, PAD)
    assert np.flatnonzero(crossing).tolist() == [2, 3]
    assert not walls.borders(mask).any()
    assert set(np.flatnonzero(walls.borders(mask, crossing))) == {0, 1, 2, 3} | {len(mask[0]) - k for k in range(1, 5)}
    letters = plain.copy()
    letters[2:4] = True                                      # the rule and the letters, no walls
    assert not walls.borders(letters, walls.crossing_rows(letters, PAD)).any()


def test_a_rule_at_a_slant_across_the_box_ends_the_walls_that_meet_it():
    """Fresh seed 1049 of bench/mktable.py, a table's last row: its bottom rule, at a slant on the scan, steps
    from one row of the crop at the left to the one above at the right, so neither row is inked across the box
    alone; the crop runs two rows past it, and the wall between `44` and `PG-88480` ends at it. Both rows are the
    rule's, and the wall is found from it up; two rows of letters together are not inked across."""
    spans, plain = ruled("Code", 0, 0)
    rows, width = plain.shape
    half = width // 2
    mask = plain.copy()
    mask[rows - 4, :half] = True                             # the rule's left half, one row lower …
    mask[rows - 5, half:] = True                             # … than its right half
    mask[:rows - 3, width // 3] = True                       # a wall down to the rule, none below it
    crossing = walls.crossing_rows(mask, PAD)
    assert np.flatnonzero(crossing).tolist() == [rows - 5, rows - 4]
    assert walls.borders(mask, crossing)[width // 3]
    assert not walls.borders(mask, np.zeros(rows, bool)).any()          # to the crop's bottom, nothing is
    assert not walls.crossing_rows(plain | np.roll(plain, 1, axis=0), PAD).any()


def test_a_cells_wall_is_told_from_letters_and_parts_the_cells_it_stands_between():
    """`921.90` and `BS-66395` in two cells, one cell pitch apart with the wall between them: no gap of 2.1
    pitches, yet two fields. The wall is inked through the whole crop (its margin too), no letter is."""
    spans, mask = ruled("921.90 BS-66395", 0, 0)
    wall = PAD + 6 * PITCH + 4                               # in the blank cell between the two
    plain = mask.copy()
    mask[:, wall:wall + 2] = True
    borders = walls.borders(mask)
    assert not walls.borders(plain).any()                    # letters never reach the crop's top and bottom
    assert set(np.flatnonzero(borders)) == {wall - 1, wall, wall + 1, wall + 2}
    ink = ink_columns(without_rules(mask & ~borders, HEIGHT), PAD)
    assert split_fields(spans, 5.0, ink, PAD, HEIGHT, 2.1) is None          # a one-pitch gap: one field …
    pieces = split_fields(spans, 5.0, ink, PAD, HEIGHT, 2.1, borders)
    assert [p.text for p in pieces] == ["921.90", "BS-66395"]              # … but a wall between them: two


def test_a_thin_wall_at_a_slant_stepping_one_column_parts_the_cells_it_stands_between():
    """Fresh seed 1409 of bench/mktable.py --lang zh: a 1-px wall in one column of the crop's upper rows and the
    next column in its lower ones (the page's tilt), so no column is inked through the crop: `66 | 调用` read as
    one line. Two adjacent columns inked through it together are a wall, as two adjacent rows are a rule
    (crossing_rows); two letters side by side never reach the crop's margins."""
    spans, mask = ruled("921.90 BS-66395", 0, 0)
    wall = PAD + 6 * PITCH + 4
    half = mask.shape[0] // 2
    mask[:half, wall] = True
    mask[half:, wall + 1] = True
    borders = walls.borders(mask)
    assert borders[wall] and borders[wall + 1]
    ink = ink_columns(without_rules(mask & ~borders, HEIGHT), PAD)
    assert [p.text for p in split_fields(spans, 5.0, ink, PAD, HEIGHT, 2.1, borders)] == ["921.90", "BS-66395"]
    assert not walls.borders(ruled("921.90 BS-66395", 0, 0)[1]).any()   # letters alone: still no border


def test_a_glyph_of_the_next_cell_cut_by_the_box_past_a_wall_is_left_to_that_cell():
    """Fresh seed 1049 of bench/mktable.py: `14`'s box ran across the wall into the T of `TP-39…` in the next
    cell, and its stem read as a field `1`; that cell's own box reads the T whole. One character past a wall
    whose ink runs on out of the crop is dropped, at either end; a cell of one character inside the crop is
    read, and so is a cut field of two."""
    def fields(text, cut=None):
        spans, mask = ruled(text, 0, 0)
        wall = PAD + text.index(" ") * PITCH + 4
        mask[:, wall:wall + 2] = True
        if cut == "end":
            mask[PAD + 2:PAD + HEIGHT - 3, -3:] = True           # the glyph's stem, on out of the crop
        elif cut == "start":
            mask[PAD + 2:PAD + HEIGHT - 3, :3] = True
        borders = walls.borders(mask)
        ink = ink_columns(without_rules(mask & ~borders, HEIGHT), PAD)
        return [p.text for p in split_fields(spans, 5.0, ink, PAD, HEIGHT, 2.1, borders)]

    assert fields("14 T", "end") == ["14"]
    assert fields("T 14", "start") == ["14"]
    assert fields("14 TP", "end") == ["14", "TP"]
    assert fields("14 T") == ["14", "T"]


def test_a_letter_read_on_the_wall_it_touches_stays_in_its_cell():
    """Fresh seed 1361 of bench/mktable.py: a header `Unit` whose `t` touches the cell's right wall, the box
    ending at the wall. The recogniser put the `t`'s frames on the wall, so the blank before the wall was taken
    for the gap before the `t`, and a walled one: `Uni | t`. No ink lies past that gap: no field is there. The
    cell before the inner wall, ink on both sides of it, is still read apart, and so is a wall read as a letter
    further from the text than a letter's width."""
    def fields(text, late=True):
        spans, mask = ruled(text, 0, 0)
        inner = PAD + text.index(" ") * PITCH + 4                # the wall between the two cells
        mask[:, inner:inner + 2] = True
        right = PAD + (len(text) - 1) * PITCH + 8                  # 1 px past the last letter's ink
        mask = np.pad(mask, ((0, 0), (0, 4)))
        mask[:, right:right + 2] = True                            # the cell's right wall, the box's end
        if late:                                                   # the last letter read on the wall
            last = spans[-1]
            spans[-1] = type(last)(last.char, (right + 2) // 5, (right + 2) // 5 + 2, last.prob)
        borders = walls.borders(mask)
        ink = ink_columns(without_rules(mask & ~borders, HEIGHT), PAD)
        return [p.text for p in split_fields(spans, 5.0, ink, PAD, HEIGHT, 2.1, borders)]

    assert fields("Description Unit") == ["Description", "Unit"]
    assert fields("Description Unit", late=False) == ["Description", "Unit"]
    # a speck at a form's margin boxed with the line, its only ink a wall, read `l` four cells from the text: a
    # gap that wide is no letter read late, and the speck stays apart from the line's letters
    spans, mask = ruled("l    Unit", 0, 0)
    mask[:, PAD:PAD + 7] = False
    mask[:, PAD + 2:PAD + 4] = True
    borders = walls.borders(mask)
    ink = ink_columns(without_rules(mask & ~borders, HEIGHT), PAD)
    assert not ink[:PAD + PITCH].any()
    assert [p.text for p in split_fields(spans, 5.0, ink, PAD, HEIGHT, 2.1, borders)] == ["l", "Unit"]


def test_a_tables_cells_read_apart_however_close_they_come_to_their_walls(engine, tmp_path):
    """Cells 2 px from their walls at 13 px: the detector boxes two neighbours as one, and with the wall read
    as no ink the gap between them is one pitch: `Freedom specifyAB-20417`, `XX-80873212`. A wall between two
    read letters parts them."""
    from PIL import Image, ImageDraw

    f = font(DEJAVU / "DejaVuSans.ttf", 13)
    cells = [["Item", "Code", "Qty", "Amount"], ["Freedom specify", "AB-20417", "93", "921.90"],
             ["family rights", "BS-66395", "4", "160.63"], ["course solely", "XX-80873", "212", "5.18"]]
    img = Image.new("L", (700, 200), 255)
    d = ImageDraw.Draw(img)
    pad, row = 2, 23
    xs = np.cumsum([40] + [int(max(d.textlength(r[c], font=f) for r in cells)) + 2 * pad for c in range(4)])
    for r, texts in enumerate(cells):
        for c, t in enumerate(texts):
            x = xs[c + 1] - pad - d.textlength(t, font=f) if r and c >= 2 else xs[c] + pad
            d.text((x, 45 + r * row), t, font=f, fill=0)
    for r in range(len(cells) + 1):
        d.line([(xs[0], 40 + r * row), (xs[-1], 40 + r * row)], fill=0, width=2)
    for x in xs:
        d.line([(x, 40), (x, 40 + len(cells) * row)], fill=0, width=2)
    page = cv2.GaussianBlur(np.asarray(img).astype(np.float32), (0, 0), 0.6).astype(np.uint8)
    assert [l["text"] for l in read(engine, tmp_path, page)] == [t for texts in cells for t in texts]


def test_a_rules_soft_edge_on_the_boxs_first_row_is_beside_the_rule_above_the_box():
    """Fresh seed 1153 of bench/mktable.py: a cell's rule crosses the wall on the last row above the line's box and
    its soft edge joins the wall on the box's first row (the stroke's centre 119.5 there, 123.5 on every other row:
    `2015-05-04779.95` read as one line). That row is beside a crossing rule though the rule is outside the box's
    rows: the rows beside one are found on the whole column, not on the box's part of it alone."""
    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # the wall, columns 199-201
    page[98:100, 30:390] = 0                                          # the rule above the row, its last rows …
    page[100, 192:201] = 0                                            # … its soft edge on the box's first row
    page[131:133, 30:390] = 0                                         # the rule under the row
    quad = np.array([[30, 100], [390, 100], [390, 130], [30, 130]], np.float64)
    assert confirmed_at(page, quad, 3.0, 200)
    page[115, 192:201] = 0                                            # the same stub inside the box is a bend
    assert not confirmed_at(page, quad, 3.0, 200)
