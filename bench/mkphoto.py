#!/usr/bin/env python3
"""A scored set photographed: each page as a phone camera sees it, lying on a desk, for checking that a result
holds on the photos people drop, not only on flat scans.

Each image of SOURCE that has ground truth (NAME.gt.json, or the page's text in NAME.gt.txt / NAME.txt, as
../shared/eval reads it) is laid on a textured desk
a little larger than the page, seen in perspective (each page corner moved up to --tilt of the page's size), lit
unevenly (a gradient across the page and a darker corner, a warm or cool cast), blurred a little (a phone's focus
and its denoising) and written as JPEG at --quality. The ground truth goes through the same perspective: every
point of a quad, polygon or points list is mapped, and a box becomes the quad its corners map to; words too.
The page is drawn at its own resolution, so the text's size in pixels is about the scan's.

`python bench/mkphoto.py ../shared/data/real/funsd-train OUT --seed 3` is the set measured in docs/quality.md.
The random draw is per image, from --seed and the image's name, so a set is the same whatever else is in SOURCE.

Usage: python bench/mkphoto.py SOURCE OUT [--seed 3] [--tilt 0.04] [--quality 80]
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
POINT_LISTS = ("quad", "polygon", "points")
BOXES = ("box", "bbox")
GROUND_TRUTH = (".gt.json", ".gt.txt", ".txt")    # as ../shared/eval/scoreset.py looks for it


def rng_for(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")])


def desk(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A desk: one colour (dark wood, grey laminate, a light table) with a slow grain and fine noise."""
    colour = rng.choice([(40, 60, 90), (70, 70, 70), (150, 160, 165), (25, 35, 45), (110, 130, 150)])
    grain = cv2.resize(rng.normal(0, 1, (max(2, h // 60), max(2, w // 8))).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    out = np.empty((h, w, 3), np.float32)
    for c in range(3):
        out[..., c] = colour[c] * (1 + 0.12 * grain) + rng.normal(0, 4, (h, w))
    return out


def lighting(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A multiplier per pixel: light falling off across the frame (0.72-1.0) and a darker corner (a hand's or a
    phone's shadow, down to 0.8), both smooth."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    along = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    along = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    light = 1.0 - rng.uniform(0.1, 0.28) * along
    cx, cy = rng.choice([0, w]), rng.choice([0, h])
    r = np.sqrt(((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2)
    light *= 1.0 - rng.uniform(0.05, 0.2) * np.clip(1.0 - r / 0.6, 0, 1) ** 2
    return light


def photographed(page: np.ndarray, rng: np.random.Generator, tilt: float, quality: int) -> tuple[bytes, np.ndarray,
                                                                                              tuple[int, int]]:
    """(JPEG bytes, the 3×3 homography from page to photo, (width, height) of the photo)."""
    if page.ndim == 2:
        page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    elif page.shape[2] == 4:
        page = cv2.cvtColor(page, cv2.COLOR_BGRA2BGR)
    h, w = page.shape[:2]
    margin = int(0.06 * max(h, w)) + 8
    H, W = h + 2 * margin, w + 2 * margin
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-tilt, tilt, (4, 2)) * np.float32([w, h])
    placed = corners + margin + jitter.astype(np.float32)
    homography = cv2.getPerspectiveTransform(corners, placed)
    warped = cv2.warpPerspective(page, homography, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), homography, (W, H), flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255)[..., None]
    photo = warped.astype(np.float32) * alpha + desk(H, W, rng) * (1 - alpha)
    cast = np.float32(rng.choice([(0.92, 0.98, 1.04), (1.04, 1.0, 0.94), (1.0, 1.0, 1.0)]))   # BGR
    photo *= lighting(H, W, rng)[..., None] * cast
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.5, 0.9))
    photo += rng.normal(0, 2.5, photo.shape).astype(np.float32)
    data = cv2.imencode(".jpg", np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    return data.tobytes(), homography, (W, H)


def mapped(node, homography: np.ndarray, size: tuple[int, int]):
    """The ground truth seen through the homography: point lists mapped, boxes turned into mapped quads, the
    page's width and height those of the photo."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in POINT_LISTS and isinstance(v, list) and v and isinstance(v[0], (list, tuple)):
                out[k] = _through(np.float32(v), homography)
            elif k in BOXES and isinstance(v, list) and len(v) == 4:
                x0, y0, x1, y1 = v
                out.setdefault("quad", _through(np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), homography))
            elif k == "width" and isinstance(v, (int, float)):
                out[k] = size[0]
            elif k == "height" and isinstance(v, (int, float)):
                out[k] = size[1]
            else:
                out[k] = mapped(v, homography, size)
        return out
    if isinstance(node, list):
        return [mapped(v, homography, size) for v in node]
    return node


def _through(points: np.ndarray, homography: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)]
            for x, y in cv2.perspectiveTransform(points.reshape(-1, 1, 2), homography).reshape(-1, 2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--tilt", type=float, default=0.04, help="largest corner shift, as a share of the page's size")
    ap.add_argument("--quality", type=int, default=80)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    made = 0
    for img in sorted(p for p in a.source.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        gt = next((g for g in (img.with_name(img.stem + s) for s in GROUND_TRUTH) if g.exists()), None)
        if gt is None:
            continue
        page = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
        data, homography, size = photographed(page, rng_for(a.seed, img.name), a.tilt, a.quality)
        (a.out / f"{img.stem}.jpg").write_bytes(data)
        if gt.suffix == ".json":
            (a.out / gt.name).write_text(
                json.dumps(mapped(json.loads(gt.read_text()), homography, size), ensure_ascii=False))
        else:                       # the page's text alone: no geometry to map
            (a.out / gt.name).write_bytes(gt.read_bytes())
        made += 1
    print(f"{made} images of {a.source} photographed (tilt {a.tilt}, JPEG quality {a.quality}, seed {a.seed}) "
          f"in {a.out}")


if __name__ == "__main__":
    main()
