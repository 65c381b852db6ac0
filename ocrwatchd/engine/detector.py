"""The detection stage: image → tiles → batched DB model → per-tile boxes → merged text lines.

Memory is bounded by design: the image is kept once (gray stays one channel), and only parallel_runs batches of
tiles (one, or two where the model has two cores: session.in_parallel), their float tensors and probability maps
exist at a time; boxes, not maps, are what survive a batch.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .dbpost import DBParams, Detection, boxes_from_probability_map
from .merge import Candidate, merge_candidates
from .preprocess import Profile, to_tensor
from .session import covered_seconds, in_parallel
from .tiling import Tile, TileGrid, plan_tiles

EDGE_MARGIN = 3.0   # px: a box this close to a cut edge is treated as continuing past it (a sliver of a line
                    # cut by the edge can end 2.4 px short of it: its mask rows are few and the box is fitted inside)
PAD_VALUE = 255     # tiles smaller than the input are padded with paper white
BLANK_CONTRAST = 32   # levels from the paper that could be ink (see blank)
BLANK_MIN_INK = 4     # sampled pixels of ink below which a tile is blank


@dataclass(frozen=True)
class DetectorSpec:
    """What the model needs, from the manifest."""

    input_name: str
    output_name: str | None
    static_input: tuple[int, int] | None   # (h, w) for exports without dynamic axes
    profile: Profile
    db: DBParams = DBParams()


@dataclass(frozen=True)
class TilingParams:
    tile_size: int = 1024   # one of the WebUI presets 640/800/1024 (ignored for static-shape models)
    overlap: int = 160      # > tallest text line (in detection-space px) seen whole by one tile
    batch_size: int = 1     # tiles per session.run
    min_side: int = 736     # small images are upscaled so their short side reaches this (DB misses tiny text)
    max_upscale: float = 4.0
    max_scale: float = 1.0  # hard cap on the scale (< 1 always downscales big images)
    # Text-height policy: DB works best on text about target_text_height px tall, and big scans at 300-600 dpi
    # carry text two or three times that. An overview (the image shrunk to overview_side) measures the lines; when
    # even the small ones (10th percentile) are taller than the target, detection runs at the scale that brings
    # them to it (never below min_scale), and when the overview already is that scale its lines are the result.
    # Lines the overview cannot resolve (under min_resolved px there, e.g. drawing labels) keep native
    # resolution, as do images where it finds fewer than overview_min_lines. None disables the policy.
    # The overview must pay for itself: when its scale is at least overview_usable of the one wanted (the small
    # lines stand at least that share of the target height in it), its lines are the result too, and the
    # second pass, the most expensive one on a 300-dpi page, is not run.
    target_text_height: float | None = 32.0
    overview_usable: float = 0.75
    overview_side: int = 2048
    overview_max_scale: float = 0.7   # a bigger overview costs nearly a full pass; such images go native
    min_resolved: float = 16.0
    min_scale: float = 0.25
    overview_min_lines: int = 5


@dataclass
class DetectionOutput:
    lines: list[Detection]
    scale: float
    grid: TileGrid
    batches: int
    timings: dict[str, float] = field(default_factory=dict)
    blank_tiles: int = 0    # tiles of the grid not run through the model: nothing on them could be ink


@dataclass
class TileBatch:
    """What one batch of tiles left: its candidates, whether the model ran (0: every tile blank), the tiles
    skipped as blank, and the seconds it spent in each stage."""

    candidates: list[Candidate]
    ran: int
    skipped: int
    preprocess: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0


def scale_for_text(heights: np.ndarray, overview_scale: float, tiling: TilingParams) -> float:
    """Scale that brings the smaller lines (10th percentile of heights, source px) to the target height.

    1.0 (native) when there are too few lines to judge or the small ones were too small at overview scale to be
    measured: the overview cannot tell those from smudges, so it must not shrink them further.
    """
    if tiling.target_text_height is None or len(heights) < tiling.overview_min_lines:
        return 1.0
    small = float(np.percentile(heights, 10))
    if small * overview_scale < tiling.min_resolved:
        return 1.0
    return float(np.clip(tiling.target_text_height / small, tiling.min_scale, 1.0))


class TextDetector:
    def __init__(self, session, spec: DetectorSpec, tiling: TilingParams = TilingParams(),
                 parallel_runs: int = 1) -> None:
        self.session = session
        self.spec = spec
        self.tiling = tiling
        self.parallel_runs = parallel_runs   # batches of tiles in the model at once (session.in_parallel)

    def detect(self, image: np.ndarray) -> DetectionOutput:
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"expected a uint8 gray or BGR image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        timings = {"overview": 0.0, "preprocess": 0.0, "inference": 0.0, "postprocess": 0.0}
        t = self.tiling
        if min(h, w) < t.min_side:  # small images: DB misses tiny text, so upscale (as RapidOCR's limit_side_len)
            scale = min(t.min_side / min(h, w), t.max_upscale)
        elif t.target_text_height is not None and t.overview_side / max(h, w) <= t.overview_max_scale:
            ov_scale = t.overview_side / max(h, w)
            ov_timings: dict[str, float] = {}
            ov = self._detect_at(image, ov_scale, ov_timings)
            timings["overview"] = sum(ov_timings.values())
            heights = np.array([_height(d.quad) for d in ov[0]])
            scale = min(scale_for_text(heights, ov_scale, t), t.max_scale)
            # the overview saw the text at a usable height, and at a scale max_scale allows
            if scale * t.overview_usable <= ov_scale <= t.max_scale:
                return DetectionOutput(lines=ov[0], scale=ov_scale, grid=ov[1], batches=ov[2], timings=ov_timings,
                                       blank_tiles=ov[3])
        else:
            scale = min(1.0, t.max_scale)
        lines, grid, batches, skipped = self._detect_at(image, scale, timings)
        return DetectionOutput(lines=lines, scale=scale, grid=grid, batches=batches, timings=timings,
                               blank_tiles=skipped)

    def _detect_at(self, image: np.ndarray, scale: float, timings: dict) -> tuple[list[Detection], TileGrid, int, int]:
        """Lines found at `scale`, the tile grid, the batches run and the tiles skipped as blank."""
        h, w = image.shape[:2]
        grid = plan_tiles(
            max(1, round(w * scale)), max(1, round(h * scale)),
            self.tiling.tile_size, self.tiling.overlap, static_input=self.spec.static_input,
        )
        for k in ("preprocess", "inference", "postprocess", "merge"):
            timings.setdefault(k, 0.0)
        batch_size = max(1, self.tiling.batch_size)
        groups = [grid.tiles[i:i + batch_size] for i in range(0, len(grid.tiles), batch_size)]
        t0 = time.perf_counter()
        spans: list = []
        done = in_parallel(lambda group: self._run_batch(image, group, scale, grid), groups, self.parallel_runs,
                           spans)
        candidates = [c for batch in done for c in batch.candidates]
        seconds = {k: sum(getattr(batch, k) for batch in done) for k in ("preprocess", "inference", "postprocess")}
        if spans:   # batches ran side by side: the model's share of this wall is the time it ran at all
            wall, seconds["inference"] = time.perf_counter() - t0, covered_seconds(spans, (self.session,))
            python = seconds["preprocess"] + seconds["postprocess"]
            for k in ("preprocess", "postprocess"):
                seconds[k] = (wall - seconds["inference"]) * (seconds[k] / python if python else 0.5)
        for k, v in seconds.items():
            timings[k] += v
        batches = sum(batch.ran for batch in done)
        skipped = sum(batch.skipped for batch in done)
        t3 = time.perf_counter()
        lines = merge_candidates(candidates, polygons=self.spec.db.polygons) if len(grid.tiles) > 1 else [
            Detection(c.quad, c.score, c.polygon) for c in candidates
        ]
        lines = [_to_source(d, scale, w, h) for d in lines]
        lines.sort(key=lambda d: (float(d.quad[:, 1].min()), float(d.quad[:, 0].min())))
        timings["merge"] += time.perf_counter() - t3
        return lines, grid, batches, skipped

    def _run_batch(self, image: np.ndarray, tiles: tuple[Tile, ...], scale: float, grid: TileGrid) -> TileBatch:
        """One batch of tiles through the model (those with ink). Only its pixels, tensor and maps exist while it
        runs."""
        t0 = time.perf_counter()
        batch, pixels = [], []
        for tile in tiles:
            tile_px = self._tile_pixels(image, tile, scale, grid)
            if blank(tile_px):
                continue
            batch.append(tile)
            pixels.append(tile_px)
        skipped = len(tiles) - len(batch)
        if not batch:
            return TileBatch([], 0, skipped, preprocess=time.perf_counter() - t0)
        tensor = to_tensor(pixels, self.spec.profile)
        del pixels
        t1 = time.perf_counter()
        outputs = [self.spec.output_name] if self.spec.output_name else None
        prob = self.session.run(outputs, {self.spec.input_name: tensor})[0]
        t2 = time.perf_counter()
        del tensor
        candidates = []
        for n, tile in enumerate(batch):
            candidates.extend(self._tile_candidates(_prob_plane(prob, n), tile))
        return TileBatch(candidates, 1, skipped, t1 - t0, t2 - t1, time.perf_counter() - t2)

    def _tile_pixels(self, image: np.ndarray, tile: Tile, scale: float, grid: TileGrid) -> np.ndarray:
        """The tile's pixels at detection scale, padded to the model input shape."""
        if scale == 1.0:
            crop = image[tile.y0:tile.y1, tile.x0:tile.x1]
        else:
            h, w = image.shape[:2]
            sx0, sy0 = int(tile.x0 / scale), int(tile.y0 / scale)
            sx1, sy1 = min(w, int(np.ceil(tile.x1 / scale))), min(h, int(np.ceil(tile.y1 / scale)))
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            crop = cv2.resize(image[sy0:sy1, sx0:sx1], (tile.width, tile.height), interpolation=interp)
        if crop.shape[:2] == (grid.input_height, grid.input_width):
            return crop
        padded = np.full((grid.input_height, grid.input_width) + crop.shape[2:], PAD_VALUE, dtype=np.uint8)
        padded[: crop.shape[0], : crop.shape[1]] = crop
        return padded

    def _tile_candidates(self, prob: np.ndarray, tile: Tile) -> list[Candidate]:
        out = []
        for det in boxes_from_probability_map(prob[: tile.height, : tile.width], self.spec.db):
            q = det.quad
            cut_v = (tile.cut_top and q[:, 1].min() <= EDGE_MARGIN) or (
                tile.cut_bottom and q[:, 1].max() >= tile.height - EDGE_MARGIN)
            cut_h = (tile.cut_left and q[:, 0].min() <= EDGE_MARGIN) or (
                tile.cut_right and q[:, 0].max() >= tile.width - EDGE_MARGIN)
            offset = np.array([tile.x0, tile.y0], dtype=np.float64)
            poly = det.polygon + offset if det.polygon is not None else None
            rows = (tile.y0 if tile.cut_top else -math.inf, tile.y1 if tile.cut_bottom else math.inf)
            out.append(Candidate(q + offset, det.score, tile.index, bool(cut_v), bool(cut_h), poly, rows))
        return out


def blank(pixels: np.ndarray, step: int = 2) -> bool:
    """No text can lie on a tile without ink: not BLANK_MIN_INK sampled pixels BLANK_CONTRAST levels darker (or
    lighter, for light-on-dark print) than the tile's median. Such a tile is not run through the model.

    Every second pixel of every second row is looked at (a 20-px label still leaves hundreds of samples). The
    contrast is far below printed text's (100+ levels) and faint pencil's (~60); paper grain, JPEG noise and
    shading stay under it, a speck of dust does not — a tile is skipped only when nothing on it could be ink.
    """
    gray = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    sample = gray[::step, ::step]
    paper = int(np.median(sample))
    dark = np.count_nonzero(sample < paper - BLANK_CONTRAST)
    light = np.count_nonzero(sample > paper + BLANK_CONTRAST)
    return dark < BLANK_MIN_INK and light < BLANK_MIN_INK


def _height(quad: np.ndarray) -> float:
    """Shorter side of a quad: a text line's height whatever its direction."""
    return float(min(np.hypot(*(quad[1] - quad[0])), np.hypot(*(quad[3] - quad[0]))))


def _prob_plane(prob: np.ndarray, n: int) -> np.ndarray:
    """The n-th probability map, whether the model returns N×1×H×W or N×H×W."""
    plane = prob[n]
    return plane[0] if plane.ndim == 3 else plane


def _to_source(det: Detection, scale: float, width: int, height: int) -> Detection:
    def back(pts: np.ndarray) -> np.ndarray:
        pts = pts / scale
        pts[:, 0] = np.clip(pts[:, 0], 0, width)
        pts[:, 1] = np.clip(pts[:, 1], 0, height)
        return pts

    return Detection(back(det.quad), det.score, back(det.polygon) if det.polygon is not None else None)
