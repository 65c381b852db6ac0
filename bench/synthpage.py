"""What the page generators (mkzh.py, mkbook.py) share: their command line, a rendered page turned and scanned,
and a sample written as the eval kit reads it (NAME.png beside NAME.gt.json)."""
from __future__ import annotations

import argparse
import json
import os
import random

import cv2
import numpy as np


def arguments(doc: str, count: int, vertical: bool = False) -> argparse.Namespace:
    """OUTDIR [--seed N] [--count K] (count pages by default) [--vertical, where the generator has it], the folder
    made."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=count)
    if vertical:
        ap.add_argument("--vertical", action="store_true", help="columns read top to bottom, right to left")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    return a


def turned(pixels: np.ndarray, lines: list[dict], degrees: float) -> np.ndarray:
    """The page turned by degrees about its centre (white comes in at the corners); each line's quad turned with
    it, in place."""
    h, w = pixels.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    for line in lines:
        quad = np.c_[np.array(line["quad"], np.float64), np.ones(4)] @ turn.T
        line["quad"] = quad.round(1).tolist()
    return cv2.warpAffine(pixels, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def scanned(pixels: np.ndarray, rng: random.Random, seed: int, noise: tuple[float, float]) -> np.ndarray:
    """A scanner's softness and sensor noise: a Gaussian blur of sigma 0.4-1.0, noise of a sigma in noise."""
    pixels = cv2.GaussianBlur(pixels, (0, 0), rng.uniform(0.4, 1.0))
    pixels += np.random.default_rng(seed).normal(0, rng.uniform(*noise), pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def save(out: str, name: str, pixels: np.ndarray, gt: dict) -> None:
    cv2.imwrite(os.path.join(out, name + ".png"), pixels)
    with open(os.path.join(out, name + ".gt.json"), "w", encoding="utf-8") as f:
        json.dump(gt, f, ensure_ascii=False)
    print(name, gt["width"], "x", gt["height"], len(gt["lines"]), "lines")
