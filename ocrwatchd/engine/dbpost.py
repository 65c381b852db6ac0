"""DB (Differentiable Binarization) post-processing: probability map → text-line quads.

The model predicts, per pixel, the probability of lying in a *shrunk* text kernel. We binarise it, take each
connected region's minimum-area rectangle, score it on the map, and grow ("unclip") it back to the full line by
the offset DB was trained to shrink with (area × ratio / perimeter). Follows PaddleOCR's db_postprocess and
ModelScope's utils, with wider integer types (their int16 casts overflow above 32767 px).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper


@dataclass(frozen=True)
class DBParams:
    thresh: float = 0.3          # binarisation threshold on the probability map
    box_thresh: float = 0.5      # minimum mean probability inside a candidate box
    unclip_ratio: float = 1.6    # how far a kernel is grown back to the whole line
    use_dilation: bool = True    # 2×2 dilation joins kernels broken by thin strokes
    max_candidates: int = 1000   # contours looked at per probability map
    min_size: float = 3.0        # shortest side of a kernel box (the grown box must reach min_size + 2)
    polygons: bool = False       # also return the unclipped contour polygon, not just the quad
    # A text kernel is nearly a rectangle. A region filling less than this share of its minimum-area rectangle
    # is several things bridged together (a line fused with a drop cap, a label with a drawing stroke through
    # it); the bridges are weaker, so the region is thresholded again, higher, to pull the lines apart.
    min_fill: float = 0.55
    split_steps: tuple[float, ...] = (0.15, 0.3)


@dataclass
class Detection:
    """One text line in some coordinate frame: quad is 4×2 float (clockwise from top-left)."""

    quad: np.ndarray
    score: float
    polygon: np.ndarray | None = None


def order_quad(points: np.ndarray) -> np.ndarray:
    """Order 4 points clockwise starting at the top-left one (as PaddleOCR's get_mini_boxes does)."""
    pts = sorted(np.asarray(points, dtype=np.float64).tolist(), key=lambda p: p[0])
    left, right = sorted(pts[:2], key=lambda p: p[1]), sorted(pts[2:], key=lambda p: p[1])
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float64)


def min_area_quad(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimum-area rectangle of a point set as an ordered quad, and its shorter side."""
    rect = cv2.minAreaRect(np.asarray(points, dtype=np.float32).reshape(-1, 2))
    return order_quad(cv2.boxPoints(rect)), float(min(rect[1]))


def box_score_fast(prob: np.ndarray, quad: np.ndarray) -> float:
    """Mean probability inside the quad, computed only over the quad's bounding box (cheap on big maps)."""
    h, w = prob.shape
    x0 = int(np.clip(np.floor(quad[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(quad[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(quad[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(quad[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    local = np.round(quad - (x0, y0)).astype(np.int32)
    cv2.fillPoly(mask, [local], 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0])


def unclip(points: np.ndarray, ratio: float) -> np.ndarray | None:
    """Grow a polygon outward by DB's offset distance; None when the offset collapses it."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    area = abs(cv2.contourArea(pts.astype(np.float32)))
    perimeter = cv2.arcLength(pts.astype(np.float32), True)
    if perimeter <= 0:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath([tuple(p) for p in pts.tolist()], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = offset.Execute(area * ratio / perimeter)
    if not grown:
        return None
    # An offset can split into several paths on odd shapes; the largest one is the line.
    return np.array(max(grown, key=lambda p: abs(pyclipper.Area(p))), dtype=np.float64)


def boxes_from_probability_map(prob: np.ndarray, params: DBParams = DBParams()) -> list[Detection]:
    """Text lines in the map's own pixel coordinates. prob is H×W float in [0, 1]."""
    if prob.ndim != 2:
        raise ValueError(f"probability map must be 2-D, got shape {prob.shape}")
    prob = np.ascontiguousarray(prob, dtype=np.float32)
    mask = (prob > params.thresh).astype(np.uint8)
    if params.use_dilation:
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = prob.shape
    out: list[Detection] = []
    candidates = [c.reshape(-1, 2) for c in contours[: params.max_candidates]]
    if params.min_fill > 0 and not params.polygons:
        candidates = [part for c in candidates for part in _split_irregular(prob, c, params)]
    for contour in candidates:
        det = _detection_from_contour(prob, contour, params)
        if det is None:
            continue
        det.quad[:, 0] = np.clip(det.quad[:, 0], 0, w)
        det.quad[:, 1] = np.clip(det.quad[:, 1], 0, h)
        if det.polygon is not None:
            det.polygon[:, 0] = np.clip(det.polygon[:, 0], 0, w)
            det.polygon[:, 1] = np.clip(det.polygon[:, 1], 0, h)
        out.append(det)
    return out


def _split_irregular(prob: np.ndarray, contour: np.ndarray, params: DBParams) -> list[np.ndarray]:
    """The contour itself, or the parts it falls into at a higher threshold when it is far from rectangular."""
    if len(contour) < 3:
        return [contour]
    rect = cv2.minAreaRect(contour.astype(np.float32))
    rect_area = rect[1][0] * rect[1][1]
    if rect_area <= 0 or cv2.contourArea(contour.astype(np.float32)) >= params.min_fill * rect_area:
        return [contour]
    x, y, w, h = cv2.boundingRect(contour.astype(np.int32))
    inside = np.zeros((h, w), np.uint8)
    cv2.drawContours(inside, [contour.astype(np.int32) - (x, y)], -1, 1, thickness=-1)
    sub = prob[y:y + h, x:x + w]
    for step in params.split_steps:
        mask = ((sub > params.thresh + step) & (inside > 0)).astype(np.uint8)
        parts, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        parts = [p.reshape(-1, 2) + (x, y) for p in parts if cv2.contourArea(p) >= params.min_size ** 2]
        if len(parts) > 1:
            return parts
    return [contour]


def _detection_from_contour(prob: np.ndarray, contour: np.ndarray, params: DBParams) -> Detection | None:
    if params.polygons:
        eps = 0.002 * cv2.arcLength(contour.astype(np.float32), True)
        shape = cv2.approxPolyDP(contour.astype(np.float32), eps, True).reshape(-1, 2)
        if len(shape) < 4:
            return None
    else:
        shape, short_side = min_area_quad(contour)
        if short_side < params.min_size:
            return None
    score = box_score_fast(prob, shape if not params.polygons else min_area_quad(shape)[0])
    if score < params.box_thresh:
        return None
    grown = unclip(shape, params.unclip_ratio)
    if grown is None:
        return None
    quad, short_side = min_area_quad(grown)
    if short_side < params.min_size + 2:
        return None
    return Detection(quad=quad, score=score, polygon=grown if params.polygons else None)
