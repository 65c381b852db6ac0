#!/usr/bin/env python3
"""A scored set made harder, for checking that a result holds on worse scans than the ones measured.

Each image of SOURCE that has ground truth (NAME.gt.json, as ../shared/eval reads it) is scaled by --scale (area
interpolation, as a lower-resolution scan) and written as JPEG at --quality (a scanner's or a phone app's
compression); every coordinate of its ground truth (quad, box, points, width and height, words included) is scaled
alike. --fade K scales every pixel's darkness by K first (255 - (255 - v) × K: faint print, a thermal
receipt gone pale, a toner-starved copier; the paper stays white). --stamps N presses N red seals (two rings and
a star, multiplied into the page like ink, 60-90 % strong) onto each page, each centred on one of its ground-truth
lines (chosen from the image's name: the same page gets the same seals), as company seals sit on Chinese invoices
and reports. With --pdf each image is wrapped as a one-page PDF instead (img2pdf: the stream embedded as is, as a
scanner writes it; at --scale 1 the original file's own bytes, not re-encoded): a set's scanned-PDF twin, which
bench/scoreset_fast.py scores as it scores images. The sets measured in docs/quality.md: `python bench/degrade.py
../shared/data/real/funsd-train OUT --scale 0.75 --quality 60` (FUNSD's ~100 dpi forms at ~75 dpi), and
`python bench/degrade.py ../shared/data/real/sroie OUT --scale 1 --pdf` (SROIE as scanned PDFs), and `python
bench/degrade.py SOURCE OUT --scale 1 --fade 0.3 --quality 85` (print at 30 % of its darkness) and `--scale 1
--stamps 2 --quality 90`. --turn D turns each page D degrees counter-clockwise (after the rest; the canvas grows to
hold the whole page, its new corners filled with the colour of the page's edge; boxes in the ground truth become
the quads they turn into): a page fed into the scanner askew, as `--scale 1 --quality 95 --turn 4`.

Usage: python bench/degrade.py SOURCE OUT [--scale 0.75] [--quality 60] [--fade 1] [--stamps 0] [--turn 0]
                                [--pdf]
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import cv2
import img2pdf
import numpy as np
from mkphoto import mapped

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
GEOMETRY = ("quad", "box", "points", "polygon", "bbox")
SIZES = ("width", "height")


def scaled(node, s: float):
    """The ground truth with every coordinate multiplied by s."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in GEOMETRY:
                out[k] = _times(v, s)
            elif k in SIZES and isinstance(v, (int, float)):
                out[k] = round(v * s)
            else:
                out[k] = scaled(v, s)
        return out
    if isinstance(node, list):
        return [scaled(v, s) for v in node]
    return node


def _times(v, s: float):
    return [_times(x, s) for x in v] if isinstance(v, list) else v * s


def turning(w: int, h: int, degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2×3 matrix that turns a w × h page by `degrees` (counter-clockwise) onto a canvas that holds all of
    it, and that canvas's size."""
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    size = (int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s)))
    m[0, 2] += size[0] / 2 - w / 2
    m[1, 2] += size[1] / 2 - h / 2
    return m, size


def stamped(pixels: np.ndarray, lines: list[dict], count: int, name: str) -> np.ndarray:
    """The page with `count` red seals pressed on it, each centred on one of the ground-truth lines."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little"))
    page = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels[:, :, :3]
    h, w = page.shape[:2]
    seal = np.full((h, w, 3), 255, np.uint8)
    red = (40, 40, 200)                                                  # BGR
    for _ in range(count):
        if lines:
            line = lines[rng.integers(len(lines))]
            points = np.array(next(line[k] for k in ("quad", "polygon", "points", "box", "bbox") if k in line), float)
            cx, cy = points.reshape(-1, 2).mean(0)
        else:
            cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        r = min(h, w) * rng.uniform(0.07, 0.11)
        centre, stroke = (int(cx), int(cy)), max(2, int(r / 22))
        cv2.circle(seal, centre, int(r), red, stroke, cv2.LINE_AA)
        cv2.circle(seal, centre, int(0.8 * r), red, max(1, stroke // 2), cv2.LINE_AA)
        angles = np.linspace(-np.pi / 2, 3 * np.pi / 2, 11)[:-1]
        radii = np.where(np.arange(10) % 2 == 0, 0.3 * r, 0.12 * r)
        star = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
        cv2.fillPoly(seal, [star.astype(np.int32)], red, cv2.LINE_AA)
    ink = 1 - (1 - seal.astype(np.float32) / 255) * rng.uniform(0.6, 0.9)
    return np.clip(page.astype(np.float32) * ink, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--scale", type=float, default=0.75)
    ap.add_argument("--quality", type=int, default=60)
    ap.add_argument("--fade", type=float, default=1.0, help="scale each pixel's darkness by this (1: as it is)")
    ap.add_argument("--stamps", type=int, default=0, help="red seals pressed on each page, over its lines")
    ap.add_argument("--turn", type=float, default=0.0, help="turn each page by this many degrees, counter-clockwise")
    ap.add_argument("--pdf", action="store_true", help="wrap each image as a one-page PDF (img2pdf)")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    as_is = a.pdf and a.scale == 1 and a.fade == 1 and not a.stamps and not a.turn   # the original bytes, wrapped
    made = 0
    for img in sorted(p for p in a.source.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        gt = img.with_name(img.stem + ".gt.json")
        if not gt.exists():
            continue
        truth = scaled(json.loads(gt.read_text()), a.scale)
        if as_is:
            data = img.read_bytes()
        else:
            pixels = cv2.imread(str(img), cv2.IMREAD_UNCHANGED)
            h, w = pixels.shape[:2]
            small = cv2.resize(pixels, (max(1, round(w * a.scale)), max(1, round(h * a.scale))),
                               interpolation=cv2.INTER_AREA)
            if a.fade != 1:
                small = np.clip(255 - (255 - small.astype(np.float32)) * a.fade, 0, 255).astype(np.uint8)
            if a.stamps:
                lines = truth.get("lines") or [l for page in truth.get("pages", []) for l in page.get("lines", [])]
                small = stamped(small, lines, a.stamps, img.name)
            if a.turn:
                m, size = turning(small.shape[1], small.shape[0], a.turn)
                edges = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
                paper = np.median(edges, axis=0).reshape(-1).tolist()       # the page's edge, carried out
                small = cv2.warpAffine(small, m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                                       borderValue=paper)
                truth = mapped(truth, np.vstack([m, [0, 0, 1]]), size)      # a turn is a homography too
            data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, a.quality])[1].tobytes()
        if a.pdf:
            (a.out / f"{img.stem}.pdf").write_bytes(img2pdf.convert(data))
        else:
            (a.out / f"{img.stem}.jpg").write_bytes(data)
        (a.out / f"{img.stem}.gt.json").write_text(json.dumps(truth))
        made += 1
    how = "" if as_is else (f", JPEG quality {a.quality}" + (f", ink at {a.fade:g} of its darkness" if a.fade != 1 else "")
                            + (f", {a.stamps} seals a page" if a.stamps else "")
                            + (f", turned {a.turn:g}°" if a.turn else ""))
    print(f"{made} images of {a.source} at scale {a.scale}{how}{', as PDFs' if a.pdf else ''}, in {a.out}")


if __name__ == "__main__":
    main()
