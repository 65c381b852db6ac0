"""Tiling geometry, apart from the model and from merging (as SAHI keeps slicing.py apart).

All tiles of one image have the same input shape, so they batch into one session.run. Positions follow SAHI:
a fixed stride, and the last row/column shifted back so every tile is full size; only an image smaller than a
tile in some direction is padded. Each tile records which of its edges are *cuts* (lie inside the image), so
the merger knows which detections may be fragments of a longer line.

The overlap must exceed the tallest text line that should be seen whole by at least one tile; taller lines
still come out whole because the merger joins fragments, only with a less exact outline.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

TILE_PRESETS = (640, 800, 1024)  # the input sizes the original cv_resnet18_ocr-detection WebUI exported


@dataclass(frozen=True)
class Tile:
    index: int
    x0: int          # the tile's window in detection space (the scaled image), end-exclusive
    y0: int
    x1: int
    y1: int
    cut_left: bool   # the edge lies inside the image: text crossing it continues in a neighbour
    cut_top: bool
    cut_right: bool
    cut_bottom: bool

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True)
class TileGrid:
    width: int            # detection-space image size
    height: int
    input_width: int      # the model input every tile is padded to
    input_height: int
    tiles: tuple[Tile, ...]


def round_up(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple)


def axis_starts(length: int, window: int, overlap: int) -> list[int]:
    """Start offsets of windows covering [0, length); the last one is shifted back to end at length."""
    if length <= window:
        return [0]
    stride = window - overlap
    if stride <= 0:
        raise ValueError(f"overlap {overlap} must be smaller than the tile size {window}")
    starts = list(range(0, length - window, stride))
    starts.append(length - window)
    return starts


def window_to_cover(length: int, tile_size: int, overlap: int, multiple: int = 32) -> int:
    """The smallest window (a multiple of `multiple`, at most tile_size) that covers `length` with as few windows
    as tile_size would need, neighbours overlapping by at least `overlap`.

    Full-size windows waste work wherever the last one is shifted back over its neighbour: a 1736-px wide page
    needs two 1024-px windows, which run 2048 px for 1736; two 960-px windows cover it with the same overlap.
    The count of windows stays that of full-size ones, so every line is still seen whole by one tile.
    """
    if length <= tile_size:
        return min(tile_size, round_up(length, multiple))
    overlap = min(overlap, tile_size // 2)
    count = math.ceil((length - overlap) / (tile_size - overlap))
    window = round_up(math.ceil((length + (count - 1) * overlap) / count), multiple)
    # never so small that plan_tiles would have to cut the overlap to half the window
    return min(tile_size, max(window, round_up(2 * overlap, multiple)))


def plan_tiles(
    width: int,
    height: int,
    tile_size: int,
    overlap: int,
    *,
    multiple: int = 32,
    static_input: tuple[int, int] | None = None,
) -> TileGrid:
    """Cut a width×height image into equally shaped tiles.

    Dynamic models get tiles of at most tile_size, shrunk to what covers the image with as many tiles as
    tile_size would need (rounded up to `multiple`, which the network's strides need; see window_to_cover).
    A 300-dpi A4 page detected at 0.7 (1736 x 2456 px) runs six 960 x 928 tiles instead of six of 1024 x 1024:
    15 % fewer pixels through the model. A static model (static_input = (h, w)) gets exactly that
    shape whatever the image, padding where the image is smaller.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"empty image {width}×{height}")
    if static_input is not None:
        in_h, in_w = static_input
    else:
        in_h = window_to_cover(height, tile_size, overlap, multiple)
        in_w = window_to_cover(width, tile_size, overlap, multiple)
    ov_y = min(overlap, in_h // 2)
    ov_x = min(overlap, in_w // 2)
    xs = axis_starts(width, in_w, ov_x)
    ys = axis_starts(height, in_h, ov_y)
    tiles = []
    for y0 in ys:
        for x0 in xs:
            x1, y1 = min(x0 + in_w, width), min(y0 + in_h, height)
            tiles.append(Tile(len(tiles), x0, y0, x1, y1, x0 > 0, y0 > 0, x1 < width, y1 < height))
    return TileGrid(width, height, in_w, in_h, tuple(tiles))
