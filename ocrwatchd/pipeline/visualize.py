"""The picture the original WebUI shows: a page with each detected line outlined (--visualize, visualize = true)."""
from __future__ import annotations

import cv2
import numpy as np


def visualization_jpeg(pixels: np.ndarray, lines: list[dict], quality: int = 85) -> bytes:
    """The page with its lines drawn, as JPEG bytes."""
    ok, jpg = cv2.imencode(".jpg", draw_lines(pixels, lines), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the visualization")
    return jpg.tobytes()


def draw_lines(pixels: np.ndarray, lines: list[dict]) -> np.ndarray:
    canvas = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels.copy()
    thickness = max(2, round(max(canvas.shape[:2]) / 1500))
    for line in lines:
        pts = np.round(np.array(line["polygon"])).astype(np.int32)
        cv2.polylines(canvas, [pts], True, (0, 0, 255), thickness)
    return canvas
