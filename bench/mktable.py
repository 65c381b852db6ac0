#!/usr/bin/env python3
"""Synthetic scanned tables with ruled cells, with line ground truth, for scoring with ../shared/eval (scoreset.py).

Invoices, price lists and report appendices print their figures in tables ruled on every side, and a cell's text
often sits a few pixels from its borders: the family checks that a border is not read as a letter (`|`, `l`, `1`,
`[`) and that neighbouring cells are not read as one line across the rule between them. Nothing in the shared sets
has such grids.

Each page (A4 at 150 or 200 dpi, white) holds one or two tables of 3-7 columns and 5-14 rows: a header row (bold,
sometimes shaded grey), then cells of words, codes (`AB-20417`), dates, quantities and amounts (right-aligned),
in DejaVu Sans / Serif / Mono at 13-20 px, or with --lang zh Chinese words from Debian's Chinese man pages in a Hei,
Song or Kai face (as bench/mkzh.py; `apt-get install manpages-zh` and its fonts) beside the same numbers. Rules
are 1-3 px, the text 3-10 px inside its cell. Then a scan's damage: a tilt of up to 0.8°, blur, noise, JPEG.
Ground truth: one line per cell (its text box, turned as the page was), empty cells left out.

Usage: python bench/mktable.py OUTDIR [--seed N] [--count K] [--lang en|zh]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from mkreceipt import turned

F = "/usr/share/fonts/truetype/dejavu/"
LATIN = [F + "DejaVuSans.ttf", F + "DejaVuSerif.ttf", F + "DejaVuSansMono.ttf", F + "DejaVuSansCondensed.ttf"]
LATIN_BOLD = {F + "DejaVuSans.ttf": F + "DejaVuSans-Bold.ttf", F + "DejaVuSerif.ttf": F + "DejaVuSerif-Bold.ttf",
              F + "DejaVuSansMono.ttf": F + "DejaVuSansMono-Bold.ttf",
              F + "DejaVuSansCondensed.ttf": F + "DejaVuSansCondensed-Bold.ttf"}
WORDS = sorted({w.strip(".,;:()\"'") for w in re.split(r"\s+", open("/usr/share/common-licenses/GPL-3").read())
                if w.strip(".,;:()\"'").isalpha() and 3 <= len(w.strip(".,;:()\"'")) <= 10})
HEADERS_EN = ["Item", "Description", "Code", "Date", "Qty", "Unit", "Price", "Amount", "Total", "Ref", "Status"]
HEADERS_ZH = ["项目", "名称", "编号", "日期", "数量", "单位", "单价", "金额", "合计", "备注", "状态"]


def cell_text(rng: random.Random, kind: str, zh_runs: list[str]) -> str:
    if kind == "word":
        if zh_runs:
            run = rng.choice(zh_runs)
            n = rng.randint(2, min(8, len(run)))
            start = rng.randint(0, len(run) - n)
            return run[start:start + n]
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    if kind == "code":
        return f"{rng.choice('ABCDEFGHKMNPRSTX')}{rng.choice('ABCDEFGHKMNPRSTX')}-{rng.randint(1000, 99999)}"
    if kind == "date":
        return f"{rng.randint(2015, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if kind == "qty":
        return str(rng.randint(1, 250))
    return f"{rng.randint(1, 99999) / 100:,.2f}"                     # amount


def table(d: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, max_w: int, fonts: tuple,
          zh_runs: list[str]) -> tuple[int, list[dict]]:
    """Draws one ruled table at (x, y); returns its bottom and a line per non-empty cell."""
    font, bold = fonts
    cols = rng.randint(3, 7)
    kinds = [rng.choice(["word", "word", "code", "date", "qty", "amount"]) for _ in range(cols)]
    kinds[0] = "word"
    rows = rng.randint(5, 14)
    pad_x, pad_y, rule = rng.randint(3, 10), rng.randint(3, 8), rng.randint(1, 3)
    headers = rng.sample(HEADERS_ZH if zh_runs else HEADERS_EN, cols)
    body = [[cell_text(rng, k, zh_runs) if rng.random() > 0.06 else "" for k in kinds] for _ in range(rows)]
    widths = [max(d.textlength(t, font=bold if r == 0 else font) for r, t in enumerate([h] + [row[c] for row in body]))
              + 2 * pad_x for c, h in enumerate(headers)]
    while sum(widths) > max_w and len(widths) > 2:      # too wide for the page: fewer columns
        widths, headers, kinds = widths[:-1], headers[:-1], kinds[:-1]
        body = [row[:-1] for row in body]
    if sum(widths) > max_w:
        return y, []
    height = int(font.getbbox("Ag国")[3] + 2 * pad_y)
    shade = rng.random() < 0.4
    lines: list[dict] = []
    xs = np.cumsum([x] + [int(w) for w in widths])
    for r, row in enumerate([headers] + body):
        top = y + r * height
        if r == 0 and shade:
            d.rectangle([xs[0], top, xs[-1], top + height], fill=215)
        for c, text in enumerate(row):
            if not text:
                continue
            f = bold if r == 0 else font
            right = r > 0 and kinds[c] in ("qty", "amount")
            tx = xs[c + 1] - pad_x - d.textlength(text, font=f) if right else xs[c] + pad_x
            d.text((tx, top + pad_y), text, font=f, fill=0)
            lines.append({"box": list(d.textbbox((tx, top + pad_y), text, font=f)), "text": text})
    bottom = y + (rows + 1) * height
    for r in range(rows + 2):
        d.rectangle([xs[0], y + r * height - rule // 2, xs[-1], y + r * height - rule // 2 + rule - 1], fill=0)
    for cx in xs:
        d.rectangle([cx - rule // 2, y, cx - rule // 2 + rule - 1, bottom], fill=0)
    return bottom, lines


def page(rng: random.Random, np_rng: np.random.Generator, zh_runs: list[str]):
    dpi = rng.choice([150, 200])
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    size = rng.randint(13, 20)
    if zh_runs:
        from mkzh import FONTS as ZH_FONTS
        path, index = rng.choice(ZH_FONTS)
        font = ImageFont.truetype(path, size, index=index)
        bold = font
    else:
        path = rng.choice(LATIN)
        font, bold = ImageFont.truetype(path, size), ImageFont.truetype(LATIN_BOLD[path], size)
    y, lines = int(0.08 * h), []
    for _ in range(rng.randint(1, 2)):
        bottom, cells = table(d, rng, int(0.08 * w), y, int(0.84 * w), (font, bold), zh_runs)
        lines += cells
        y = bottom + rng.randint(40, 120)
        if y > 0.6 * h:
            break
    angle = rng.uniform(-0.8, 0.8)
    tilted = img.rotate(angle, resample=Image.BICUBIC, fillcolor=255, center=(w / 2, h / 2))
    tilted = tilted.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    arr = np.asarray(tilted, np.float32) + np_rng.normal(0, rng.uniform(2, 8), (h, w))
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=rng.randint(70, 90))
    return buf.getvalue(), {"pages": [{"lines": turned(lines, angle, (w / 2, h / 2))}]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--lang", choices=("en", "zh"), default="en")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    zh_runs = []
    if a.lang == "zh":
        from mkreceipt import cjk_runs
        zh_runs = cjk_runs()
    for k in range(a.count):
        jpeg, gt = page(random.Random(a.seed * 1000 + k), np.random.default_rng(a.seed * 1000 + k), zh_runs)
        name = f"table-{a.lang}-{a.seed}-{k}"
        with open(os.path.join(a.out, name + ".jpg"), "wb") as f:
            f.write(jpeg)
        with open(os.path.join(a.out, name + ".gt.json"), "w") as f:
            json.dump(gt, f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
