"""A line's crop: its quad's pixels, rectified to an upright rectangle, grown by a pad, turned to lie flat.

Everything that cuts a line out of a page for the recogniser (recognize.py, the crowding of close lines, the page
orientation's samples) cuts it here, so a crop and the measures taken in it agree on its size.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def quad_size(quad: np.ndarray) -> tuple[int, int]:
    """Width and height of the rectangle a quad is rectified to (before any turning)."""
    # float32 corners, as the warp gets them; the four sides by math.hypot on Python floats (a tenth of what four
    # np.linalg.norm calls cost: quad_size runs ~5000 times on the 16 real samples)
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = np.asarray(quad, dtype=np.float32).tolist()
    w = int(round(max(math.hypot(ax - bx, ay - by), math.hypot(dx - cx, dy - cy))))
    h = int(round(max(math.hypot(ax - dx, ay - dy), math.hypot(bx - cx, by - cy))))
    return max(w, 1), max(h, 1)


def line_aspect(quad: np.ndarray) -> float:
    """Width over height of the crop as the recogniser will read it (tall crops are turned)."""
    w, h = quad_size(quad)
    return h / w if is_turned(w, h) else w / h


def pad_quad(quad: np.ndarray, pad: float, margin: float | None = None) -> np.ndarray:
    """Grow a quad outward on all sides by pad × its shorter side (the line height), or by `margin` px."""
    q = np.asarray(quad, dtype=np.float64)
    margin = pad * min(quad_size(q)) if margin is None else margin
    if margin <= 0:
        return q
    top, left = q[1] - q[0], q[3] - q[0]            # the quad's two edge directions from its top-left corner
    u = top / (np.linalg.norm(top) or 1.0) * margin
    v = left / (np.linalg.norm(left) or 1.0) * margin
    return q + np.array([-u - v, u - v, u + v, -u + v])


def crop_quad(image: np.ndarray, quad: np.ndarray, pad: float = 0.0) -> np.ndarray:
    """The quad's pixels, perspective-rectified to an upright rectangle; tall crops are turned to lie flat."""
    crop = rectified(image, pad_quad(quad, pad))
    if is_turned(crop.shape[1], crop.shape[0]):  # vertical line (or a rotated one): read it lying down
        crop = cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return crop


def is_turned(width: float, height: float) -> bool:
    """Is a line this size (its quad, or its crop with the pad) a column, read turned?"""
    return height >= 1.5 * width


def rectified(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad's pixels warped to an upright rectangle of its size, as they lie (never turned)."""
    q = np.asarray(quad, np.float32)
    w, h = quad_size(q)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
