"""Tiling + merging end to end on exact geometry (ThresholdSession), and on the real model."""
import math

import numpy as np
import pytest
from conftest import ThresholdSession, text_image

from ocrwatchd.engine.dbpost import DBParams
from ocrwatchd.engine.detector import DetectorSpec, TextDetector, TilingParams
from ocrwatchd.engine.merge import Candidate, merge_candidates
from ocrwatchd.engine.preprocess import get_profile
from ocrwatchd.engine.tiling import plan_tiles

# A near-zero unclip keeps boxes at the drawn rectangles, so geometry can be asserted exactly.
SPEC = DetectorSpec("x", None, None, get_profile("paddle-bgr"), DBParams(unclip_ratio=0.01, use_dilation=False))
GROWING = DetectorSpec("x", None, None, get_profile("paddle-bgr"), DBParams(unclip_ratio=1.5, use_dilation=False))
TILING = TilingParams(tile_size=640, overlap=128, min_side=0, target_text_height=None)


def detect(img, tiling=TILING, spec=SPEC):
    return TextDetector(ThresholdSession(), spec, tiling).detect(img)


def bounds(det):
    return det.quad[:, 0].min(), det.quad[:, 1].min(), det.quad[:, 0].max(), det.quad[:, 1].max()


def test_line_crossing_a_vertical_and_a_horizontal_seam_is_one_polygon():
    img = np.full((1500, 1500), 255, np.uint8)
    # tiles at 0, 512, 860 on both axes: this bar crosses x-seams at 512..640 and 860..1152 and the y band 512..640
    img[560:600, 100:1400] = 0
    out = detect(img)
    assert len(out.grid.tiles) == 9
    (line,) = out.lines
    x0, y0, x1, y1 = bounds(line)
    assert x0 == pytest.approx(100, abs=3) and x1 == pytest.approx(1400, abs=3)
    assert y0 == pytest.approx(560, abs=3) and y1 == pytest.approx(600, abs=3)


def test_line_lying_in_an_overlap_is_reported_once():
    img = np.full((1200, 1500), 255, np.uint8)
    img[300:330, 520:630] = 0       # fully inside the x-overlap of tiles 0 and 1
    img[540:570, 200:400] = 0       # fully inside the y-overlap of rows 0 and 1
    out = detect(img)
    assert len(out.lines) == 2


def test_two_close_lines_are_never_merged_across_seams():
    img = np.full((1300, 1500), 255, np.uint8)
    img[570:600, 100:1400] = 0      # two long lines 6 px apart, both crossing vertical seams
    img[606:636, 100:1400] = 0
    out = detect(img, spec=GROWING)   # grown boxes overlap each other by ~30 px, as tight leading does
    assert len(out.lines) == 2
    assert bounds(out.lines[0])[3] > bounds(out.lines[1])[1] + 20
    centres = sorted(d.quad[:, 1].mean() for d in out.lines)
    assert centres[0] == pytest.approx(585, abs=2) and centres[1] == pytest.approx(621, abs=2)


def test_line_taller_than_the_overlap_is_still_one_polygon():
    img = np.full((1300, 600), 255, np.uint8)
    img[400:800, 100:500] = 0       # 400 px tall "heading" vs 128 px overlap, crossing the 512..640 band
    out = detect(img)
    (line,) = out.lines
    x0, y0, x1, y1 = bounds(line)
    assert y0 == pytest.approx(400, abs=3) and y1 == pytest.approx(800, abs=3)


def test_letter_just_past_a_seam_is_not_a_separate_line():
    # The last letter of a line sits at the start of the next tile: that tile sees it alone.
    img = np.full((600, 1500), 255, np.uint8)
    img[200:240, 100:548] = 0       # ends 36 px past the next tile's left edge (512)
    out = detect(img)
    assert len(out.lines) == 1


def test_every_line_of_a_grid_of_words_is_found_once():
    img = np.full((3000, 2600), 255, np.uint8)
    expected = 0
    for y in range(40, 2960, 70):
        for x in range(30, 2500, 430):
            img[y:y + 30, x:x + 380] = 0
            expected += 1
    out = detect(img)
    assert len(out.lines) == expected


def test_same_tile_overlapping_candidates_are_not_joined():
    q = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], float)
    a = Candidate(q, 0.9, tile=0, cut_vertical=False, cut_horizontal=False)
    b = Candidate(q + [0, 15], 0.9, tile=0, cut_vertical=False, cut_horizontal=False)
    assert len(merge_candidates([a, b])) == 2


def test_duplicate_from_two_tiles_becomes_one():
    q = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], float)
    a = Candidate(q, 0.8, tile=0, cut_vertical=False, cut_horizontal=False)
    b = Candidate(q + [1, 1], 0.9, tile=1, cut_vertical=False, cut_horizontal=False)
    (m,) = merge_candidates([a, b])
    assert 0.8 <= m.score <= 0.9


def test_a_whole_line_ending_at_a_bottom_cut_still_joins_its_piece_across_a_vertical_seam():
    """typewriter.png's case: a whole line whose box ends within EDGE_MARGIN of its tile's bottom cut is marked
    cut_vertical; the tile below saw it too (that copy is dropped, covered), and the tile to the right saw the
    rest of the line, sharing only the 160-px seam overlap. The two pieces are one line, not two."""
    def box(x0, y0, x1, y1):
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)

    left = Candidate(box(74, 770, 800, 831), 0.9, tile=0, cut_vertical=True, cut_horizontal=True)
    below = Candidate(box(75, 775, 799, 834), 0.9, tile=3, cut_vertical=False, cut_horizontal=True)
    right = Candidate(box(640, 771, 1384, 827), 0.9, tile=1, cut_vertical=False, cut_horizontal=True)
    (line,) = merge_candidates([left, below, right])
    assert bounds(line)[0] == pytest.approx(74, abs=1) and bounds(line)[2] == pytest.approx(1384, abs=1)


def test_real_model_reads_a_line_across_a_seam_as_one_line(engine):
    """The bundled detector: a text line spanning three tiles comes out as one line with the right extent."""
    img = text_image(2600, 800, [(60, 300, "tiled detection keeps every line whole across the seams", 2.6),
                                 (60, 600, "second line", 2.6)])
    out = engine.detector.detect(img)
    assert len(out.grid.tiles) >= 3
    assert len(out.lines) == 2
    x0, y0, x1, y1 = bounds(out.lines[0])
    ink = np.argwhere(img[:400] < 128)
    assert x0 <= ink[:, 1].min() + 5 and x1 >= ink[:, 1].max() - 5
    assert y0 <= ink[:, 0].min() + 5 and y1 >= ink[:, 0].max() - 5


def test_a_tilted_short_piece_does_not_join_the_line_above():
    # A short, slightly rotated piece at the start of one line (from one tile) and a long line one row up (from
    # the next tile): measured across the short piece's own tilted axis, the far-away centre looks aligned.
    piece = np.array([[2397, 1632], [2519, 1619], [2525, 1674], [2403, 1687]], float)
    above = np.array([[2410, 1582], [3042, 1589], [3042, 1636], [2410, 1629]], float)
    a = Candidate(piece, 0.55, tile=4, cut_vertical=False, cut_horizontal=False)
    b = Candidate(above, 0.78, tile=5, cut_vertical=False, cut_horizontal=False)
    assert len(merge_candidates([a, b])) == 2


def test_a_seam_cut_last_digit_taller_than_wide_joins_its_line():
    # SROIE 305 at 600 dpi: the left tile sees 'FG-Y00133' whole; the next tile, starting at x = 1728, sees only
    # its last digit, a 48 × 82 box mostly (87 %) inside the line. Its long side is vertical, which is no
    # direction of the line's: it must join the line, not come out a second time as '3'.
    line = np.array([[1446.8, 2762.8], [1772.2, 2762.8], [1772.2, 2844.2], [1446.8, 2844.2]])
    digit = np.array([[1728.0, 2758.0], [1776.0, 2758.0], [1776.0, 2840.0], [1728.0, 2840.0]])
    a = Candidate(line, 0.92, tile=19, cut_vertical=False, cut_horizontal=False)
    b = Candidate(digit, 0.84, tile=20, cut_vertical=False, cut_horizontal=True)
    (m,) = merge_candidates([a, b])
    assert m.quad[:, 0].min() == pytest.approx(1446.8, abs=1) and m.quad[:, 0].max() == pytest.approx(1776, abs=1)
    # a piece of the next line down, cut the same way, still doesn't
    below = Candidate(digit + [0, 90], 0.84, tile=20, cut_vertical=False, cut_horizontal=True)
    assert len(merge_candidates([a, below])) == 2


def tilted_rows(n: int, top: float = 2550.0) -> list[np.ndarray]:
    """n receipt rows 80 px tall, 330 px long, 88 px apart, leaning up 4.3° to the right (SROIE 305 turned 4°)."""
    row = np.array([[1595, 2572], [1922, 2547], [1928, 2627], [1601, 2652]], float) - [0, 2572 - top]
    return [row + [6 * k, 88 * k] for k in range(n)]


def test_a_seam_piece_fused_across_leaning_rows_is_dropped():
    """A receipt turned 4°: the tile whose right cut runs through its rows' first letters saw them as one piece
    102 × 555 px standing across six rows (read `FhEF`), and a 42 × 170 one across two that joined them into one
    box; the next tile saw each row whole. The fused pieces go; each row comes out once, as tall as it is."""
    rows = [Candidate(q, 0.88, tile=23, cut_vertical=False, cut_horizontal=False) for q in tilted_rows(7)]
    fused = Candidate(np.array([[1593, 2640], [1696, 2633], [1696, 3182], [1627, 3189]], float), 0.65, tile=22,
                      cut_vertical=False, cut_horizontal=True)
    pair = Candidate(np.array([[1610, 2560], [1652, 2560], [1652, 2730], [1610, 2730]], float), 0.7, tile=22,
                     cut_vertical=False, cut_horizontal=True)
    out = merge_candidates(rows + [fused, pair])
    assert len(out) == 7
    assert all(np.ptp(d.quad[:, 1]) < 110 for d in out)       # 80 px rows leaning 25 px: none spans two


def test_a_long_leaning_lines_seam_piece_still_joins_it():
    """The same lean on a long line cut by a vertical seam: its left piece climbs 53 px over its length, more than
    1.5 rows, and two thirds of it lie under the right piece (a row below covers a little more). Across the
    lines' own direction it is as tall as they are: it joins its line and is not taken for rows fused at the
    seam (measured upright, SROIE 008 turned 4° lost four such lines whole)."""
    left = Candidate(np.array([[1000, 2700], [1700, 2647], [1706, 2727], [1006, 2780]], float), 0.9, tile=23,
                     cut_vertical=False, cut_horizontal=True)
    right = Candidate(np.array([[1245, 2666], [2400, 2579], [2406, 2659], [1251, 2746]], float), 0.9, tile=24,
                      cut_vertical=False, cut_horizontal=True)
    below = Candidate(np.array([[980, 2785], [1300, 2761], [1306, 2841], [986, 2865]], float), 0.9, tile=24,
                      cut_vertical=False, cut_horizontal=False)
    out = merge_candidates([left, right, below])
    assert len(out) == 2
    line = max(out, key=lambda d: np.ptp(d.quad[:, 0]))
    assert line.quad[:, 0].min() < 1010 and line.quad[:, 0].max() > 2400


def test_tiles_without_ink_are_not_run_and_text_anywhere_is_still_found():
    from ocrwatchd.engine.detector import blank

    rng = np.random.default_rng(3)
    paper = np.clip(235 + rng.normal(0, 6, (640, 640)), 0, 255).astype(np.uint8)   # grain, JPEG-like noise
    assert blank(paper) and blank(np.full((640, 640), 40, np.uint8))               # plain paper, a black area
    label = paper.copy()
    label[300:318, 300:360] = 60                                                    # one small label
    assert not blank(label)
    negative = np.full((640, 640), 30, np.uint8)
    negative[100:120, 100:300] = 220                                                # light print on dark
    assert not blank(negative)
    faint = paper.copy()
    faint[200:216, 100:200] = 235 - 60                                              # faint pencil
    assert not blank(faint)
    session = ThresholdSession()
    img = np.full((1500, 1500), 255, np.uint8)
    img[1400:1430, 1300:1450] = 0                                                   # text only in one corner
    out = TextDetector(session, SPEC, TILING).detect(img)
    assert len(out.grid.tiles) == 9 and out.blank_tiles == 8 and len(session.shapes) == 1
    (line,) = out.lines
    assert bounds(line)[0] == pytest.approx(1300, abs=3) and bounds(line)[3] == pytest.approx(1430, abs=3)
    empty = TextDetector(ThresholdSession(), SPEC, TILING).detect(np.full((1500, 1500), 255, np.uint8))
    assert empty.lines == [] and empty.blank_tiles == 9 and empty.batches == 0


@pytest.mark.parametrize("height,second_pass", [(60, False), (40, False), (28, True)])
def test_the_overview_is_the_result_when_it_sees_the_text_at_a_usable_height(height, second_pass):
    """A 3000-px page: the overview runs at 2048/3000 = 0.68. Lines 60 px tall want 0.53 (the overview is more
    than enough), 40 px want 0.8 (the overview shows them 27 px tall, 0.85 of the target: usable), 28 px want
    native (19 px in the overview, 0.6 of the target: detected again at 1.0). Every line is found either way."""
    img = np.full((3000, 2200), 255, np.uint8)
    rows = range(100, 2900, 4 * height)
    for y in rows:
        img[y:y + height, 150:2000] = 0
    session = ThresholdSession()
    tiling = TilingParams(tile_size=1024, overlap=160, min_side=0, target_text_height=32.0)
    out = TextDetector(session, SPEC, tiling).detect(img)
    ov_scale = 2048 / 3000
    overview_runs = len(plan_tiles(round(2200 * ov_scale), 2048, 1024, 160).tiles)
    if second_pass:
        assert out.scale == 1.0 and len(session.shapes) > overview_runs and out.timings["overview"] > 0
    else:
        assert out.scale == pytest.approx(ov_scale, abs=1e-3) and len(session.shapes) == overview_runs
    assert len(out.lines) == len(rows)
    for line, y in zip(out.lines, rows):
        assert bounds(line)[1] == pytest.approx(y, abs=3 / out.scale)


def test_max_scale_caps_the_overview_too():
    """--max-scale 0.5 always halves big images: the overview (0.68 of this 3000-px page, where its lines would
    be the result) is not taken at a scale above the cap; the page is detected again at the cap."""
    img = np.full((3000, 2200), 255, np.uint8)
    for y in range(100, 2900, 240):
        img[y:y + 60, 150:2000] = 0
    tiling = TilingParams(tile_size=1024, overlap=160, min_side=0, target_text_height=32.0, max_scale=0.5)
    out = TextDetector(ThresholdSession(), SPEC, tiling).detect(img)
    assert out.scale == 0.5 and len(out.lines) == len(range(100, 2900, 240))


def box4(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def test_a_part_of_a_line_seen_across_its_tiles_cut_is_dropped_however_far_from_the_cut_it_stops():
    """A slide's line, 49 px tall, crosses the top cut of the tile below (y = 440); that tile found the bottom
    11 px of five of its characters, 4 px under its cut (so not marked cut), and they were read `广法口贝`. The
    tile above saw the line whole: what the tile below found inside it is a part of it."""
    line = Candidate(box4(138, 410, 760, 459), 0.845, tile=0, cut_vertical=False, cut_horizontal=False,
                     rows=(-math.inf, 640))
    part = Candidate(box4(505, 444, 711, 455), 0.522, tile=3, cut_vertical=False, cut_horizontal=False,
                     rows=(440, math.inf))
    (m,) = merge_candidates([line, part])
    assert m.quad[:, 1].min() == pytest.approx(410) and m.quad[:, 1].max() == pytest.approx(459)
    # a small line the tile below saw whole, the larger box from the other tile not crossing its cut: kept
    inside = Candidate(box4(138, 500, 760, 549), 0.845, tile=0, cut_vertical=False, cut_horizontal=False,
                       rows=(-math.inf, 640))
    small = Candidate(box4(505, 520, 711, 531), 0.8, tile=3, cut_vertical=False, cut_horizontal=False,
                      rows=(440, math.inf))
    assert len(merge_candidates([inside, small])) == 2
