"""Optional 0°/180° line classifier: turns upside-down line crops before they are read.

A page fed into the scanner the wrong way round still detects fine (lines are lines), but every crop is
upside down and reads as nonsense. PP-OCR's mobile classifier looks at each crop squeezed to 48×192 and says
0° or 180°; crops it is sure are upside down are turned. Off by default: on upright scans it can only cost time.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import Profile


@dataclass(frozen=True)
class ClassifierSpec:
    input_name: str
    output_name: str | None
    profile: Profile
    height: int = 48
    width: int = 192
    thresh: float = 0.9      # turn only when the model is this sure
    max_batch: int = 16


def to_cls_tensor(crops: list[np.ndarray], spec: ClassifierSpec) -> np.ndarray:
    out = np.zeros((len(crops), 3, spec.height, spec.width), dtype=np.float32)
    mean = np.array(spec.profile.mean, np.float32).reshape(3, 1, 1)
    std = np.array(spec.profile.std, np.float32).reshape(3, 1, 1)
    for n, crop in enumerate(crops):
        w = min(spec.width, max(1, int(np.ceil(spec.height * crop.shape[1] / max(crop.shape[0], 1)))))
        small = cv2.resize(crop, (w, spec.height))
        planes = np.broadcast_to(small, (3, spec.height, w)) if small.ndim == 2 else small.transpose(2, 0, 1)
        out[n, :, :, :w] = (planes.astype(np.float32) - mean) / std
    return out


class LineOrientation:
    def __init__(self, session, spec: ClassifierSpec) -> None:
        self.session = session
        self.spec = spec

    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """For each crop: is it upside down (class 180° at or above the threshold)?"""
        flags: list[bool] = []
        outputs = [self.spec.output_name] if self.spec.output_name else None
        for i in range(0, len(crops), self.spec.max_batch):
            probs = self.session.run(outputs, {self.spec.input_name: to_cls_tensor(crops[i:i + self.spec.max_batch],
                                                                                     self.spec)})[0]
            flags.extend(bool(p[1] >= self.spec.thresh) for p in probs)
        return flags
