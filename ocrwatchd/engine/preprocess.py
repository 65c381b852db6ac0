"""Preprocessing profiles: how a model wants its pixels (channel order, mean, std, layout).

Profiles are named in models/manifest.toml so a new export needs a manifest entry, not code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Profile:
    name: str
    channel_order: str                         # "bgr" or "rgb": what the model was trained on
    mean: tuple[float, float, float]           # in pixel units (0..255), per channel in channel_order
    std: tuple[float, float, float]            # in pixel units: x = (pixel - mean) / std


PROFILES: dict[str, Profile] = {
    # PaddleOCR / RapidOCR detectors: BGR, (x/255 - 0.5) / 0.5.
    "paddle-bgr": Profile("paddle-bgr", "bgr", (127.5, 127.5, 127.5), (127.5, 127.5, 127.5)),
    # ModelScope cv_resnet18_ocr-detection DBNet: BGR, subtract ImageNet-ish mean, divide by 255, no std.
    "modelscope-bgr": Profile("modelscope-bgr", "bgr", (123.68, 116.78, 103.94), (255.0, 255.0, 255.0)),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown preprocessing profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None


def to_tensor(tiles: list[np.ndarray], profile: Profile, out: np.ndarray | None = None) -> np.ndarray:
    """Stack equally shaped uint8 tiles (H×W gray or H×W×3 BGR) into a normalised float32 N×3×H×W batch.

    Gray tiles are never expanded to three uint8 channels first: each output plane is normalised straight from
    the one gray plane, which keeps the working set at the size of the float batch.
    """
    h, w = tiles[0].shape[:2]
    shape = (len(tiles), 3, h, w)
    if out is None or out.shape != shape:
        out = np.empty(shape, dtype=np.float32)
    scale = [1.0 / s for s in profile.std]
    for n, tile in enumerate(tiles):
        if tile.shape[:2] != (h, w):
            raise ValueError(f"tiles differ in shape: {tile.shape[:2]} vs {(h, w)}")
        for c in range(3):
            # Input pixels are BGR; an RGB model reads plane c from source channel 2 - c.
            src_c = c if profile.channel_order == "bgr" else 2 - c
            plane = tile if tile.ndim == 2 else tile[:, :, src_c]
            np.subtract(plane, profile.mean[c], out=out[n, c], casting="unsafe")
            out[n, c] *= scale[c]
    return out
