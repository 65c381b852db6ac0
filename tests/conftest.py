import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """../shared beside the checkout (or $OCRWATCHD_SHARED): real scans and the eval kit, when present."""
    for cand in (os.environ.get("OCRWATCHD_SHARED"), REPO.parent / "shared"):
        if cand and Path(cand, "data").is_dir():
            return Path(cand)
    return None


class ThresholdSession:
    """A stand-in for an ONNX session: 'text probability' = darkness of the normalised input.

    Lets tiling and merging be tested with exact geometry: every dark rectangle is one text kernel.
    Records the shapes it was run with.
    """

    def __init__(self):
        self.shapes = []

    def run(self, outputs, feed):
        x = next(iter(feed.values()))
        self.shapes.append(x.shape)
        # paddle-bgr normalisation maps white to +1 and black to -1
        return [(x.mean(axis=1, keepdims=True) < 0).astype(np.float32)]


def text_image(w: int, h: int, lines: list[tuple[int, int, str, float]]) -> np.ndarray:
    """A white gray image with black text lines drawn at (x, y-baseline) with the given font scale."""
    img = np.full((h, w), 255, np.uint8)
    for x, y, text, scale in lines:
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, max(1, int(scale * 2)), cv2.LINE_AA)
    return img


@pytest.fixture(scope="session")
def engine():
    """The bundled default detector on the CPU (models come from `make models`)."""
    from ocrwatchd.pipeline import Engine, EngineSettings

    return Engine(EngineSettings(device="cpu"))
