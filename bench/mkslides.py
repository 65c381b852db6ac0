#!/usr/bin/env python3
"""Synthetic presentation slides with line ground truth, for scoring with ../shared/eval (scoreset.py).

Each slide is 1280 × 720 or 1920 × 1080: a title (48-80 px at 1280 wide, bold; on half of them white on a
coloured band across the slide) and 3-6 bullets (26-40 px), Chinese on even slides (prose from Debian's Chinese
man pages, as bench/mkzh.py; Song, Hei and Kai faces) and English on odd ones (the GPL-3 text Debian ships;
DejaVu faces), on a vertical gradient, light or — on 40 % of them — dark with light text. Then a slight blur and
JPEG. Ground truth: one line per drawn string, its ink box and text. Lines that would run off the slide are cut
at its edge, as a title on a real slide runs off it.

The set measured in docs/quality.md is `python bench/mkslides.py OUT --seed 5 --count 10`.

Usage: python bench/mkslides.py OUTDIR [--seed N] [--count K]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mkzh  # noqa: E402  (the Chinese prose and faces)

DEJAVU = "/usr/share/fonts/truetype/dejavu/"
LATIN = [DEJAVU + "DejaVuSans.ttf", DEJAVU + "DejaVuSerif.ttf"]
LATIN_BOLD = DEJAVU + "DejaVuSans-Bold.ttf"


def english() -> list[str]:
    return [w for w in open("/usr/share/common-licenses/GPL-3").read().split() if w.isalpha()]


def slide(rng: random.Random, chinese: bool, prose: list[str], words: list[str]):
    """One slide's pixels and its ground-truth lines."""
    w, h = rng.choice([(1280, 720), (1920, 1080)])
    dark = rng.random() < 0.4
    top = np.array([rng.randint(0, 70)] * 3 if dark else [rng.randint(200, 255)] * 3, np.float32)
    top += np.array([rng.randint(0, 60), rng.randint(0, 40), rng.randint(0, 80)], np.float32)
    bottom = np.clip(top + rng.randint(-40, 40), 0, 255)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = Image.fromarray(np.clip(top * (1 - t) + bottom * t, 0, 255).astype(np.uint8).repeat(w, axis=1))
    draw = ImageDraw.Draw(img)
    ink = (rng.randint(230, 255),) * 3 if dark else (rng.randint(0, 40),) * 3

    def face(size: int, bold: bool = False):
        if chinese:
            path, index = rng.choice(mkzh.FONTS)
            return ImageFont.truetype(path, size, index=index)
        return ImageFont.truetype(LATIN_BOLD if bold else rng.choice(LATIN), size)

    def text(chars: int) -> str:
        if chinese:
            return rng.choice(prose).replace(" ", "")[:chars]
        return " ".join(rng.choice(words) for _ in range(max(2, chars // 6)))

    lines = []

    def put(x: int, y: int, s: str, f, colour) -> tuple[int, int, int, int]:
        while s and draw.textbbox((x, y), s, font=f)[2] > w:      # cut at the slide's edge
            s = s[:-1]
        draw.text((x, y), s, font=f, fill=colour)
        box = draw.textbbox((x, y), s, font=f)
        lines.append({"quad": [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]], "text": s})
        return box

    size, x, y = rng.randint(48, 80) * w // 1280, int(w * 0.07), int(h * 0.08)
    title = face(size, bold=True)
    colour = ink
    if rng.random() < 0.5:                                       # a coloured band behind a white title
        band = np.array([200, 90, 30] if dark else [30, 60, 140]) + np.array(ink) * 0.2
        draw.rectangle([0, y - 10, w, y + size + 20], fill=tuple(int(v) for v in np.clip(band, 0, 255)))
        colour = (255, 255, 255)
    box = put(x, y, text(rng.randint(8, 14) if chinese else 30), title, colour)
    y = box[3] + int(h * 0.08)
    size = rng.randint(26, 40) * w // 1280
    for _ in range(rng.randint(3, 6)):
        box = put(x, y, text(rng.randint(10, 24) if chinese else 60), face(size), ink)
        y = box[3] + int(size * rng.uniform(0.8, 1.4))
        if y > h - 2 * size:
            break
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8)))
    return img, {"width": w, "height": h, "lines": lines}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--count", type=int, default=10)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    prose, words = mkzh.corpus(), english()
    for n in range(a.count):
        img, gt = slide(rng, n % 2 == 0, prose, words)
        img.save(a.out / f"slide{n:02d}.jpg", quality=rng.randint(70, 92))
        (a.out / f"slide{n:02d}.gt.json").write_text(json.dumps(gt, ensure_ascii=False))
    print(f"{a.count} slides in {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
