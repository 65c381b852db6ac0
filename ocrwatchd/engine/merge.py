"""Merging per-tile detections into one set of text lines (SAHI keeps this in postprocess/combine.py).

What the overlap guarantees (overlap > tallest line): every line is seen *at full height* by some tile. So:

1. A detection touching a cut of its tile may be a fragment: a sliver of a line a vertical neighbour saw at full
   height (dropped when a larger detection from another tile covers most of it), or the last letters of a line
   that ends just past a vertical seam (dropped when one covers nearly all of it: a longer piece of a line that
   only partly overlaps carries the line's extent and is joined instead). If nothing covers it (a line taller than the overlap) it is
   kept and joined with its other fragments below. A detection that does not touch its tile's cut but lies
   inside a line another tile saw whole across that cut is a fragment too (_partial_view): the model's region
   may stop short of the cut.
2. Detections from different tiles that lie on the same line — same direction, similar height, centres on one
   axis, overlapping — are the same line seen twice (a duplicate in the overlap) or two pieces of a line cut by a
   vertical seam. They are joined into ONE quad: the minimum-area rectangle of all their corners. A piece only a
   letter or two wide (near-square, or a left/right-cut piece taller than wide) has no direction of its own and
   is measured across the other's.
3. Detections from the same tile are never joined: within a tile the model already separated lines, so two
   lines that merely touch (tight leading, unclipped boxes overlapping a little) stay two lines.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely import STRtree
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import unary_union

from .dbpost import Detection, min_area_quad

COVERED_SLIVER = 0.6     # share of a top/bottom-cut sliver inside a larger detection for it to be dropped
COVERED_PIECE = 0.9      # the same for a left/right-cut piece, which may carry the line's far end
MAX_ANGLE_DEG = 8.0      # pieces of one line point the same way
MIN_HEIGHT_RATIO = 0.6   # …have about the same height
MAX_OFFSET = 0.35        # …and their centres lie on one axis (offset across the line, in line heights)
MIN_OVERLAP = 0.05       # …and really overlap (intersection over the smaller area)
FUSED_ROWS = 1.8         # a cut piece this many times taller than lines it stands across spans several rows
SQUARE_ASPECT = 1.5      # a box this close to square (a letter or two) has no reliable direction
EDGE_PAST = 3.0          # px a line must reach past a tile's cut to be one that tile saw only in part


@dataclass
class Candidate:
    """A detection in global (detection-space) coordinates, with where it came from."""

    quad: np.ndarray
    score: float
    tile: int
    cut_vertical: bool     # touches a top or bottom cut of its tile: may be a partial-height sliver
    cut_horizontal: bool   # touches a left or right cut: may be a piece of a longer line
    polygon: np.ndarray | None = None
    rows: tuple[float, float] = (-math.inf, math.inf)   # the rows its tile saw, between its top and bottom cuts


def _axis(quad: np.ndarray) -> tuple[np.ndarray, float | None, float, float]:
    """Centre, direction angle in [0, 180) (None for near-square boxes), length along and height across."""
    top, right = quad[1] - quad[0], quad[3] - quad[0]
    w, h = float(np.hypot(*top)), float(np.hypot(*right))
    if max(w, h) < SQUARE_ASPECT * min(w, h):
        return quad.mean(axis=0), None, max(w, h), min(w, h)
    vec = top if w >= h else right
    return quad.mean(axis=0), math.degrees(math.atan2(vec[1], vec[0])) % 180.0, max(w, h), min(w, h)


def _piece_axis(c: Candidate) -> tuple[np.ndarray, float | None, float, float]:
    """_axis of a candidate, with no direction for a left/right-cut piece taller than wide: the last letter or two
    of a line, cut off by a seam, whose long side is no direction of the line's (a lone '3' is 48 × 82 px)."""
    centre, angle, length, height = _axis(c.quad)
    if c.cut_horizontal and np.ptp(c.quad[:, 0]) < np.ptp(c.quad[:, 1]):
        angle = None
    return centre, angle, length, height


def _same_line(a: Candidate, b: Candidate, inter: float, area_a: float, area_b: float) -> bool:
    if inter <= 0:
        return False
    small = min(area_a, area_b)
    if (a.cut_vertical or b.cut_vertical) and inter / small >= 0.3:
        # Fragments of a line taller than the overlap: above and below a seam, sharing the overlap band.
        return True
    # A whole line that merely ends near its tile's bottom cut is cut_vertical too; beside a piece of itself
    # from the next tile along (sharing only the seam's overlap) it is judged as any two pieces are. Returning
    # here split typewriter.png's "ter 1 dag laten w" / "en weken…" at a seam (word F1 1.0 → 0.980).
    if inter / small < MIN_OVERLAP:
        return False
    ca, ang_a, la, ha = _piece_axis(a)
    cb, ang_b, lb, hb = _piece_axis(b)
    if ang_a is not None and ang_b is not None:
        d_ang = abs(ang_a - ang_b)
        if min(d_ang, 180.0 - d_ang) > MAX_ANGLE_DEG:
            return False
    # Measure across the longer box's axis: a short piece's direction is only roughly known, and its error, times
    # the distance between centres, would let the next line down pass as this one.
    angles = [ang for ang, length in sorted([(ang_a, la), (ang_b, lb)], key=lambda t: -t[1]) if ang is not None]
    normal = _normal(angles[0] if angles else None)
    # A box with no direction of its own (near-square, or such a cut piece) may have its width as its shorter
    # side: its height is its extent across the line it may belong to.
    if ang_a is None:
        ha = float(np.ptp(a.quad @ normal))
    if ang_b is None:
        hb = float(np.ptp(b.quad @ normal))
    if min(ha, hb) < MIN_HEIGHT_RATIO * max(ha, hb):
        return False
    return abs(float(np.dot(cb - ca, normal))) <= MAX_OFFSET * max(ha, hb)


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(i)] = self.find(j)


def merge_candidates(cands: list[Candidate], polygons: bool = False) -> list[Detection]:
    """Join per-tile candidates into lines; see the module docstring for the rules."""
    if not cands:
        return []
    shapes = [_valid(Polygon(c.quad)) for c in cands]
    tree = STRtree(shapes)
    pairs = tree.query(shapes, predicate="intersects")
    overlaps: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(cands))}
    for i, j in zip(*pairs):
        i, j = int(i), int(j)
        if i < j and cands[i].tile != cands[j].tile:
            inter = shapes[i].intersection(shapes[j]).area
            overlaps[i].append((j, inter))
            overlaps[j].append((i, inter))

    keep = [True] * len(cands)
    for i, c in enumerate(cands):
        area = shapes[i].area
        if (c.cut_vertical or c.cut_horizontal) and area > 0:
            need = COVERED_SLIVER if c.cut_vertical else COVERED_PIECE
            covers = (inter for j, inter in overlaps[i]
                      if shapes[j].area > area and not (c.cut_vertical and cands[j].cut_vertical))
            if any(inter / area >= need for inter in covers):
                keep[i] = False
            elif c.cut_horizontal and _rows_fused_at_seam(i, c, shapes, cands, overlaps):
                keep[i] = False
        elif area > 0 and _partial_view(c, area, [(cands[j], shapes[j].area, inter) for j, inter in overlaps[i]]):
            keep[i] = False

    groups = _Groups(len(cands))
    for i in range(len(cands)):
        if not keep[i]:
            continue
        for j, inter in overlaps[i]:
            if j > i and keep[j] and _same_line(cands[i], cands[j], inter, shapes[i].area, shapes[j].area):
                groups.union(i, j)

    members: dict[int, list[int]] = {}
    for i in range(len(cands)):
        if keep[i]:
            members.setdefault(groups.find(i), []).append(i)
    out = []
    for idx in members.values():
        out.append(_join([cands[i] for i in idx], [shapes[i] for i in idx], polygons))
    return out


def _partial_view(c: Candidate, area: float, others: list[tuple[Candidate, float, float]]) -> bool:
    """A detection inside a line that another tile saw whole and that runs past a top or bottom cut of this one's
    tile: this tile saw only the part of the line on its side of the cut, and what it found there is a part of
    it, however far from the cut the model's region stopped (a slide's `在命令行中出现非法的选项。`, boxed 49 px
    tall, crossing the top cut of the tile below 30 px under its own top: that tile found the bottom 11 px of five
    of its characters, 4 px under the cut — one past EDGE_MARGIN, so not marked cut — and the recogniser read them
    `广法口贝`). Asked: COVERED_PIECE of it inside the other, its height under MIN_HEIGHT_RATIO of the other's (a
    sliver of the line, not a line of its own), the other not cut itself."""
    top, bottom = c.rows
    height = _axis(c.quad)[3]
    for other, other_area, inter in others:
        if other_area <= area or other.cut_vertical or inter < COVERED_PIECE * area:
            continue
        ys = other.quad[:, 1]
        if (ys.min() < top - EDGE_PAST or ys.max() > bottom + EDGE_PAST) \
                and height < MIN_HEIGHT_RATIO * _axis(other.quad)[3]:
            return True
    return False


def _rows_fused_at_seam(i: int, c: Candidate, shapes: list, cands: list[Candidate],
                        overlaps: dict[int, list[tuple[int, float]]]) -> bool:
    """A left/right-cut piece standing across several lines that other tiles saw whole: the first or last
    letters of a column of rows, fused by the model at its tile's cut where the rows lean (SROIE 305 turned 4°:
    a 102 × 555 px piece over six rows' first letters, read `FhEF`, and a 42 × 170 one that joined two rows into
    one box). Dropped when two or more lines from other tiles, each at most 1/FUSED_ROWS of its extent across
    them, together cover COVERED_SLIVER of it. Extents are measured across the lines' own direction (the
    longest one's): the piece of a long line leaning with them is as tall as they are, however far its ends
    climb, and two such pieces never drop each other."""
    others = [j for j, _ in overlaps[i]]
    if len(others) < 2:
        return False
    normal = _normal(_axis(cands[max(others, key=lambda j: _axis(cands[j].quad)[2])].quad)[1])
    extent = float(np.ptp(c.quad @ normal))
    rows = [j for j in others if not cands[j].cut_vertical     # (a sliver is no row's height)
            and FUSED_ROWS * float(np.ptp(cands[j].quad @ normal)) <= extent]
    if len(rows) < 2:
        return False
    covered = unary_union([shapes[j] for j in rows]).intersection(shapes[i]).area
    return covered >= COVERED_SLIVER * shapes[i].area


def _normal(angle: float | None) -> np.ndarray:
    """The unit vector across a line pointing `angle` degrees (_axis; None, no direction: taken as level)."""
    a = math.radians(angle or 0.0)
    return np.array([-math.sin(a), math.cos(a)])


def _valid(p: Polygon) -> Polygon:
    return p if p.is_valid else p.buffer(0)


def _join(parts: list[Candidate], shapes: list[Polygon], polygons: bool) -> Detection:
    if len(parts) == 1:
        c = parts[0]
        return Detection(quad=c.quad, score=c.score, polygon=c.polygon if polygons else None)
    quad, _ = min_area_quad(np.concatenate([p.quad for p in parts]))
    areas = np.array([max(s.area, 1e-6) for s in shapes])
    score = float(np.dot(areas, [p.score for p in parts]) / areas.sum())
    polygon = None
    if polygons:
        union = unary_union([_valid(Polygon(p.polygon if p.polygon is not None else p.quad)) for p in parts])
        if isinstance(union, MultiPolygon):
            union = union.convex_hull
        polygon = np.asarray(union.exterior.coords[:-1], dtype=np.float64)
    return Detection(quad=quad, score=score, polygon=polygon)
