#!/usr/bin/env python3
"""Synthetic faxed forms with line ground truth, for scoring with ../shared/eval (scoreset.py).

Each page is 762 × 1000 px (~100 dpi, as FUNSD's forms): a title, 5–9 `label: value` rows (11–16 px DejaVu faces)
with a fill-in rule under each value, a small-print notice of 3–6 lines in 8–10 px type with tight leading (the
fax-cover confidentiality notice issue 15 describes), and a box of 2–4 lines. Then a fax's damage: blur, noise,
a hard threshold (on 60 % of pages) and specks of dust. Text is English prose from the GPL-3 text Debian ships.
Ground truth: one line per drawn string, its box and text.

The set measured in the README is `python bench/mkfax.py OUT --seed 3 --count 12`.

Usage: python bench/mkfax.py OUTDIR [--seed N] [--count K]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

F = "/usr/share/fonts/truetype/dejavu/"
FONTS = [F + "DejaVuSans.ttf", F + "DejaVuSerif.ttf", F + "DejaVuSansMono.ttf", F + "DejaVuSans-Bold.ttf",
         F + "DejaVuSerifCondensed.ttf", F + "DejaVuSansCondensed.ttf"]
WORDS = [w for w in re.split(r"\s+", open("/usr/share/common-licenses/GPL-3").read()) if w and w.isprintable()]
W, H = 762, 1000


def phrase(rng: random.Random, n: int) -> str:
    i = rng.randrange(len(WORDS) - n)
    return " ".join(WORDS[i:i + n])


def form(rng: random.Random, seed: int, k: int):
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    lines: list[dict] = []

    def put(x, y, text, font):
        x0, y0, x1, y1 = d.textbbox((x, y), text, font=font)
        d.text((x, y), text, font=font, fill=rng.randint(0, 60))
        lines.append({"box": [x0, y0, x1, y1], "text": text})
        return x1, y1

    y = 40
    big = ImageFont.truetype(rng.choice(FONTS), rng.randint(18, 24))
    _, y1 = put(rng.randint(150, 300), y, phrase(rng, rng.randint(2, 4)).upper(), big)
    y = y1 + 30
    for _ in range(rng.randint(5, 9)):                       # label: value rows, ~10-13 px
        lf = ImageFont.truetype(rng.choice(FONTS), rng.randint(11, 15))
        x1, _ = put(rng.randint(40, 90), y, phrase(rng, rng.randint(1, 3)).rstrip(".,;") + ":", lf)
        vf = ImageFont.truetype(rng.choice(FONTS), rng.randint(11, 16))
        put(x1 + rng.randint(40, 120), y, phrase(rng, rng.randint(1, 5)), vf)
        d.line([(x1 + 30, y + 18), (W - 60, y + 18)], fill=0, width=1)
        y += rng.randint(28, 40)
    y += 20
    # small-print notice: 3-6 lines, 8-10 px font, tight leading
    sf = ImageFont.truetype(rng.choice(FONTS), rng.randint(8, 10))
    upper = rng.random() < 0.5
    x0 = rng.randint(40, 110)
    for _ in range(rng.randint(3, 6)):
        t = ""
        while True:
            w = phrase(rng, 1)
            if sf.getlength((t + " " + w).upper() if upper else t + " " + w) > W - 2 * x0:
                break
            t = (t + " " + w).strip()
        put(x0, y, t.upper() if upper else t, sf)
        y += rng.randint(10, 13)
    y += 30
    d.rectangle([40, y, W - 40, min(H - 40, y + 150)], outline=0, width=2)
    for _ in range(rng.randint(2, 4)):
        if y + 40 > min(H - 60, y + 150):
            break
        put(60, y + 12, phrase(rng, rng.randint(3, 8)), ImageFont.truetype(rng.choice(FONTS), rng.randint(10, 14)))
        y += 30
    # a fax's damage: blur, noise, thresholding, specks
    arr = np.asarray(img, np.float32)
    blurred = Image.fromarray(arr.astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
    arr = np.asarray(blurred, np.float32)
    arr += np.random.default_rng(k + seed).normal(0, rng.uniform(8, 25), arr.shape)
    if rng.random() < 0.6:
        arr = np.where(arr < rng.uniform(150, 190), 0, 255).astype(np.float32)
    specks = np.random.default_rng(k + 7 * seed)
    for _ in range(rng.randint(50, 300)):
        yy, xx = specks.integers(0, H - 2), specks.integers(0, W - 2)
        arr[yy:yy + specks.integers(1, 3), xx:xx + specks.integers(1, 3)] = 0
    return np.clip(arr, 0, 255).astype(np.uint8), {"pages": [{"lines": lines}]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=10)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for k in range(a.count):
        pixels, gt = form(random.Random(a.seed * 1000 + k), a.seed, k)
        name = "fax%02d" % k
        Image.fromarray(pixels).save(os.path.join(a.out, name + ".png"))
        with open(os.path.join(a.out, name + ".gt.json"), "w") as f:
            json.dump(gt, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
