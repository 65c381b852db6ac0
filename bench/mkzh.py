#!/usr/bin/env python3
"""Synthetic Chinese book and report pages with line ground truth, for scoring with ../shared/eval (scoreset.py).

Text is real Chinese prose: the Simplified Chinese manual pages Debian ships (`apt-get install manpages-zh`), lines
that are at least half CJK. Pages are A4 at 200 or 300 dpi in a Song/Ming (AR PL UMing), Kai (AR PL UKai) or
Hei (WenQuanYi Zen Hei / Micro Hei) face at 9–12 pt (`apt-get install fonts-arphic-uming fonts-arphic-ukai
fonts-wqy-zenhei fonts-wqy-microhei`): a heading, then paragraphs with a two-character indent, wrapped as CJK
text wraps (anywhere, no line starting with closing punctuation), skewed by up to 0.7°, blurred and noised like a
scan. Ground truth: one line per printed line, its quad and text (the man pages' own spacing kept).

`--vertical` sets the pages as vertical CJK books are set: columns read top to bottom, right to left, each
character centred in its em (the prose's CJK characters and full-width punctuation only: Latin words would be
turned in such a column, a different problem). Ground truth: one line per column, top to bottom.

Note: UKai draws the Latin l exactly as the digit 1, so on its pages both ocrwatchd and RapidOCR read `shell` as
`she11`; that is the face, not the reader.

Usage: python bench/mkzh.py OUTDIR [--seed N] [--count K] [--vertical]
"""
from __future__ import annotations

import glob
import gzip
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from synthpage import arguments, save, scanned, turned

FONTS = [("/usr/share/fonts/truetype/arphic/uming.ttc", 1), ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
         ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0), ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0)]
NO_LINE_START = "，。、；：？！）》”"


def corpus() -> list[str]:
    """Prose lines of the zh_CN man pages (troff requests and escapes dropped), each at least half CJK, in order."""
    out, seen = [], set()
    for path in sorted(glob.glob("/usr/share/man/zh_CN/man*/*.gz")):
        try:
            text = gzip.open(path, "rt", encoding="utf-8", errors="strict").read()
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            if line.startswith((".", "'")):
                continue
            line = re.sub(r"\\f[BIRP]|\\-|\\\(..|\\&|\\e|\\ |\\[a-z]", "", line).strip()
            cjk = sum("\u4e00" <= c <= "\u9fff" for c in line)
            if len(line) >= 12 and cjk / len(line) >= 0.5 and "\\" not in line and line not in seen:
                seen.add(line)
                out.append(line)
    if not out:
        raise SystemExit("no Chinese man pages found: apt-get install manpages-zh")
    return out


def wrap(text: str, font, width: float) -> list[str]:
    lines, cur = [], ""
    for ch in text:
        if font.getlength(cur + ch) <= width:
            cur += ch
        elif ch in NO_LINE_START:
            lines.append(cur + ch)
            cur = ""
        else:
            lines.append(cur)
            cur = ch
    return lines + [cur] if cur else lines


def sheet(rng: random.Random) -> tuple[int, Image.Image, ImageDraw.ImageDraw, str, int, int]:
    """A blank A4 sheet at 200 or 300 dpi, and the face (path, index) and size in px its text is set in."""
    dpi = rng.choice([300, 300, 200])
    img = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 255)
    path, index = rng.choice(FONTS)
    return dpi, img, ImageDraw.Draw(img), path, index, int(rng.uniform(9, 12) * dpi / 72)


def vertical_page(rng: random.Random, prose: list[str], seed: int):
    """A page set in columns, right to left, each character centred in its em, top to bottom."""
    dpi, img, draw, path, index, size = sheet(rng)
    w, h = img.size
    font = ImageFont.truetype(path, size, index=index)
    margin, lead, step = int(0.9 * dpi), rng.uniform(1.5, 1.9), size * rng.uniform(1.0, 1.1)
    per_column = int((h - 2 * margin) / step)
    keep = lambda c: "\u4e00" <= c <= "\u9fff" or c in NO_LINE_START or c in "（《“"
    lines: list[dict] = []
    i = rng.randrange(len(prose) - 400)
    x = w - margin - size
    while x > margin:
        text = "".join(c for c in "".join(prose[i:i + rng.randint(2, 5)]) if keep(c))
        i += 5
        columns = [text[k:k + per_column] for k in range(0, len(text), per_column)]
        for column in columns:
            if x <= margin:
                break
            boxes = []
            for n, ch in enumerate(column):
                cx, top = x + size / 2, margin + n * step
                x0, y0, x1, y1 = draw.textbbox((0, 0), ch, font=font)
                draw.text((cx - (x0 + x1) / 2, top), ch, font=font, fill=rng.randint(0, 50))
                boxes.append((cx - (x1 - x0) / 2, top + y0, cx + (x1 - x0) / 2, top + y1))
            bx0, by0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
            bx1, by1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
            lines.append({"quad": [[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]], "text": column})
            x -= int(size * lead)
    pixels = turned(np.asarray(img, np.float32), lines, rng.uniform(-0.7, 0.7))
    return scanned(pixels, rng, seed, (4, 12)), {"width": w, "height": h, "lines": lines}


def page(rng: random.Random, prose: list[str], seed: int):
    dpi, img, draw, path, index, size = sheet(rng)
    w, h = img.size
    font = ImageFont.truetype(path, size, index=index)
    heading = ImageFont.truetype(path, int(size * 1.5), index=index)
    margin, lead = int(0.9 * dpi), rng.uniform(1.5, 1.9)
    lines: list[dict] = []

    def put(x: int, y: int, text: str, f) -> None:
        x0, y0, x1, y1 = draw.textbbox((x, y), text, font=f)
        draw.text((x, y), text, font=f, fill=rng.randint(0, 50))
        lines.append({"quad": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "text": text})

    i = rng.randrange(len(prose) - 400)
    y = margin
    put(margin, y, prose[i][:18], heading)
    y, i = y + 3 * size, i + 1
    indent = "\u3000\u3000"
    while True:
        para = wrap(indent + "".join(prose[i:i + rng.randint(2, 5)]), font, w - 2 * margin)
        i += 5
        if y + len(para) * size * lead > h - margin:
            break
        for text in para:
            x = margin
            if text.startswith(indent):
                x, text = x + int(font.getlength(indent)), text[len(indent):]
            put(x, y, text, font)
            y += int(size * lead)
        y += int(size * 0.4)
    pixels = turned(np.asarray(img, np.float32), lines, rng.uniform(-0.7, 0.7))
    return scanned(pixels, rng, seed, (4, 12)), {"width": w, "height": h, "lines": lines}


def main() -> int:
    a = arguments(__doc__, 6, vertical=True)
    prose = corpus()
    make, name = (vertical_page, "zhv") if a.vertical else (page, "zh")
    for k in range(a.count):
        pixels, gt = make(random.Random(a.seed * 1000 + k), prose, a.seed * 1000 + k)
        save(a.out, f"{name}-{a.seed}-{k}", pixels, gt)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
