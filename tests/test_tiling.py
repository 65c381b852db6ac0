import numpy as np
import pytest

from ocrwatchd.engine.tiling import axis_starts, plan_tiles, window_to_cover


@pytest.mark.parametrize("w,h", [(1, 1), (500, 300), (1024, 1024), (1025, 1024), (2480, 3508), (1080, 16000),
                                 (9000, 6000), (4961, 7016), (33, 40000)])
@pytest.mark.parametrize("tile,overlap", [(640, 96), (800, 160), (1024, 160)])
def test_grid_covers_every_pixel_with_equal_tiles(w, h, tile, overlap):
    g = plan_tiles(w, h, tile, overlap)
    cover = np.zeros((h, w), np.uint8)
    for t in g.tiles:
        assert 0 <= t.x0 < t.x1 <= w and 0 <= t.y0 < t.y1 <= h
        assert t.width <= g.input_width and t.height <= g.input_height
        cover[t.y0:t.y1, t.x0:t.x1] = 1
    assert cover.all()
    assert g.input_width % 32 == 0 and g.input_height % 32 == 0
    assert g.input_width <= tile and g.input_height <= tile


def test_neighbours_overlap_by_at_least_the_requested_amount():
    g = plan_tiles(9000, 6000, 1024, 160)
    xs = sorted({t.x0 for t in g.tiles})
    ends = sorted({t.x1 for t in g.tiles})
    for a_end, b_start in zip(ends[:-1], xs[1:]):
        assert a_end - b_start >= 160


def test_last_tile_is_shifted_back_not_padded():
    assert axis_starts(2000, 1024, 160) == [0, 864, 976]
    g = plan_tiles(2000, 900, 1024, 160)
    assert all(t.width == g.input_width for t in g.tiles)    # full-width tiles along x
    assert g.input_height == 928 and all(t.height == 900 for t in g.tiles)   # padded to /32 along y


@pytest.mark.parametrize("length", [1025, 1200, 1736, 1889, 2000, 2456, 3508, 7016, 16000])
@pytest.mark.parametrize("tile,overlap", [(640, 96), (800, 160), (1024, 160), (640, 300)])
def test_tiles_are_sized_to_the_cover_not_to_the_preset(length, tile, overlap):
    """As many tiles as full-size ones would need, each no larger than that count needs: fewer pixels run through
    the model, and never more tiles (a line seen whole by a full-size tile is still seen whole by one)."""
    full = axis_starts(length, tile, overlap)
    window = window_to_cover(length, tile, overlap)
    starts = axis_starts(length, window, overlap)
    assert len(starts) == len(full)
    assert window % 32 == 0 and window <= tile
    assert window * len(starts) <= tile * len(full)
    need = max(-(-(length + (len(full) - 1) * overlap) // len(full)), 2 * overlap)
    assert window - 32 < need               # no smaller /32 window would do
    g = plan_tiles(length, 100, tile, overlap)
    assert g.input_width == window
    for a, b in zip(starts, starts[1:]):
        assert a + window - b >= overlap
    xs = sorted({t.x0 for t in g.tiles})
    for a, b in zip(xs, xs[1:]):
        assert a + g.input_width - b >= overlap  # the grid keeps the whole requested overlap


def test_a_page_just_over_one_tile_runs_two_smaller_tiles():
    g = plan_tiles(1736, 2456, 1024, 160)
    assert (g.input_width, g.input_height) == (960, 928)     # not 1024 x 1024: 15 % fewer pixels per tile
    assert len(g.tiles) == 2 * 3


def test_cut_flags_mark_only_inner_edges():
    g = plan_tiles(3000, 3000, 1024, 160)
    for t in g.tiles:
        assert t.cut_left == (t.x0 > 0) and t.cut_right == (t.x1 < 3000)
        assert t.cut_top == (t.y0 > 0) and t.cut_bottom == (t.y1 < 3000)
    corner = g.tiles[0]
    assert not corner.cut_left and not corner.cut_top and corner.cut_right and corner.cut_bottom


def test_static_input_is_always_that_shape():
    small = plan_tiles(500, 300, 1024, 160, static_input=(800, 800))
    assert (small.input_height, small.input_width) == (800, 800) and len(small.tiles) == 1
    big = plan_tiles(2000, 1000, 1024, 160, static_input=(800, 800))
    assert (big.input_height, big.input_width) == (800, 800)
    assert all(t.width == 800 for t in big.tiles)


def test_overlap_not_smaller_than_tile():
    with pytest.raises(ValueError):
        axis_starts(3000, 640, 640)
