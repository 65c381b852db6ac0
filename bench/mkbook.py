#!/usr/bin/env python3
"""Synthetic English book and report pages with line ground truth, for scoring with ../shared/eval (scoreset.py).

mkscan.py's pages are set in DejaVu, ragged, one phrase a line; printed books and reports are set in other faces
and justified. Text here is real English prose, the paragraphs of the manual pages Debian ships (troff requests and
escapes dropped). A page is A4 at 200 or 300 dpi in one of the faces that books and reports are set in (Times,
Palatino, Bookman, Century Schoolbook as TeX Gyre and URW clones, Liberation Serif, Linux Libertine, and for
reports Helvetica and Arial clones; `apt-get install fonts-texgyre fonts-urw-base35 fonts-liberation
fonts-linuxlibertine`) at 9–12 pt:
- a book page: one justified column with first-line indents, an italic running head and the page number on the
  outer side, sometimes footnotes in smaller type under a short rule;
- a report page: two justified columns, a bold numbered section heading across them, the page number centred at
  the foot.
Then it is scanned: skewed by up to 0.7°, a shadow along the gutter for a book, blurred, noised. Ground truth: one
line per printed line (per column), its quad and text; rules are not text.

Usage: python bench/mkbook.py OUTDIR [--seed N] [--count K]
"""
from __future__ import annotations

import glob
import gzip
import random
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from synthpage import arguments, save, scanned, turned

GYRE = "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyre{}-{}.otf"
URW = "/usr/share/fonts/opentype/urw-base35/{}-{}.otf"
LIB = "/usr/share/fonts/truetype/liberation/Liberation{}-{}.ttf"
LINUX = "/usr/share/fonts/opentype/linux-libertine/{}_{}.otf"
# (regular, italic, bold) of each face
SERIF = [tuple(GYRE.format(n, s) for s in ("regular", "italic", "bold")) for n in ("termes", "pagella", "bonum",
                                                                                    "schola")]
SERIF += [tuple(URW.format("NimbusRoman", s) for s in ("Regular", "Italic", "Bold")),
          tuple(LIB.format("Serif", s) for s in ("Regular", "Italic", "Bold")),
          tuple(LINUX.format("LinLibertine", s) for s in ("R", "RI", "RB"))]
SANS = [tuple(GYRE.format("heros", s) for s in ("regular", "italic", "bold")),
        tuple(LIB.format("Sans", s) for s in ("Regular", "Italic", "Bold")),
        tuple(URW.format("NimbusSans", s) for s in ("Regular", "Italic", "Bold"))]


def corpus() -> list[str]:
    """Paragraphs of the English manual pages (sections 1, 5, 7, 8), as plain prose of 200 characters or more."""
    out = []
    for path in sorted(glob.glob("/usr/share/man/man[1578]/*.gz")):
        try:
            text = gzip.open(path, "rt", encoding="utf-8", errors="strict").read()
        except (OSError, UnicodeDecodeError, EOFError):
            continue
        para: list[str] = []
        for line in text.splitlines() + [".PP"]:
            if line.startswith((".", "'")) or not line.strip():
                if para:
                    p = " ".join(para)
                    if len(p) >= 200 and sum(c.isalpha() or c == " " for c in p) / len(p) > 0.9:
                        out.append(p)
                para = []
                continue
            line = re.sub(r"\\f[BIRP1-4]|\\f\(..|\\s[-+]?\d|\\\(..|\\&|\\e|\\c|\\%|\\\||\\\^", "", line)
            line = line.replace("\\-", "-").replace("\\ ", " ").replace("\\(em", "-")
            if "\\" in line or not line.isascii():
                para = []
                continue
            para.append(line.strip())
    if not out:
        raise SystemExit("no English manual pages found (man-db and manpages)")
    return out


def wrap(words: list[str], font, width: float) -> list[list[str]]:
    """Words into lines no wider than width (single spaces)."""
    lines, cur = [], []
    for word in words:
        if cur and font.getlength(" ".join(cur + [word])) > width:
            lines.append(cur)
            cur = []
        cur.append(word)
    return lines + [cur] if cur else lines


class Page:
    """A white page being set, and the ground truth of each line printed on it."""

    def __init__(self, rng: random.Random, w: int, h: int) -> None:
        self.img = Image.new("L", (w, h), 255)
        self.draw, self.lines = ImageDraw.Draw(self.img), []
        self.ink = rng.randint(0, 40)

    def put(self, x: float, y: float, words: list[str], font, width: float | None = None) -> None:
        """One printed line: its words justified to width where given (the gaps stretched), else single-spaced."""
        space = font.getlength(" ")
        if width is not None and len(words) > 1:
            space = (width - sum(font.getlength(w) for w in words)) / (len(words) - 1)
        boxes = []
        for word in words:
            boxes.append(self.draw.textbbox((x, y), word, font=font))
            self.draw.text((x, y), word, font=font, fill=self.ink)
            x += font.getlength(word) + space
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        self.lines.append({"quad": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "text": " ".join(words)})

    def column(self, x: float, y: float, bottom: float, width: float, font, lead: float, paras) -> float:
        """Justified paragraphs with a first-line indent into [x, x + width] from y down to bottom."""
        size = font.size
        while True:
            words = next(paras).split()
            indent = 1.5 * size
            lines = wrap(words, font, width - indent)
            lines = lines[:1] + wrap([w for line in lines[1:] for w in line], font, width)
            for n, line in enumerate(lines):
                if y + size * lead > bottom:
                    return y
                dx = indent if n == 0 else 0
                last = n == len(lines) - 1
                self.put(x + dx, y, line, font, None if last else width - dx)
                y += size * lead
            y += size * 0.3


def page(rng: random.Random, prose: list[str], seed: int, kind: str):
    dpi = rng.choice([300, 300, 200])
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    regular, italic, bold = rng.choice(SERIF if kind == "book" or rng.random() < 0.5 else SANS)
    size = int(rng.uniform(9, 12) * dpi / 72)
    font = ImageFont.truetype(regular, size)
    lead = rng.uniform(1.25, 1.5)
    start = rng.randrange(len(prose) - 200)
    paras = iter(prose[start:])
    p = Page(rng, w, h)
    margin = int(rng.uniform(0.8, 1.1) * dpi)
    number = str(rng.randint(3, 480))
    if kind == "book":
        small = ImageFont.truetype(italic, int(size * 0.9))
        head = " ".join(next(paras).split()[:rng.randint(3, 7)]).rstrip(".,;:")
        odd = int(number) % 2 == 1          # the page number on the outer side: right on odd pages
        if not odd:
            p.put(margin, margin, [number], small)
        p.put((w - small.getlength(head)) / 2, margin, head.split(), small)
        if odd:
            p.put(w - margin - small.getlength(number), margin, [number], small)
        bottom = h - margin
        notes = []
        if rng.random() < 0.5:   # footnotes in smaller type under a short rule
            note_font = ImageFont.truetype(regular, int(size * 0.8))
            for k in range(rng.randint(1, 2)):
                words = [str(k + 1)] + next(paras).split()[:rng.randint(12, 40)]
                notes += wrap(words, note_font, w - 2 * margin)
            bottom -= len(notes) * note_font.size * 1.3 + size
            y = bottom + size * 0.5
            p.draw.line([(margin, y), (margin + w * 0.2, y)], fill=p.ink, width=max(1, dpi // 150))
            y += size * 0.5
            for line in notes:
                p.put(margin, y, line, note_font)
                y += note_font.size * 1.3
        p.column(margin, margin + 2.5 * size, bottom, w - 2 * margin, font, lead, paras)
    else:
        heading = ImageFont.truetype(bold, int(size * 1.4))
        title = f"{rng.randint(1, 9)}.{rng.randint(1, 9)} " + " ".join(next(paras).split()[:rng.randint(2, 6)])
        p.put(margin, margin, title.rstrip(".,;:").split(), heading)
        gutter = 0.3 * dpi
        col = (w - 2 * margin - gutter) / 2
        top, bottom = margin + 2.5 * size, h - margin - 2 * size
        for x in (margin, margin + col + gutter):
            p.column(x, top, bottom, col, font, lead, paras)
        foot = ImageFont.truetype(regular, int(size * 0.9))
        p.put((w - foot.getlength(number)) / 2, h - margin, [number], foot)

    pixels = turned(np.asarray(p.img, np.float32), p.lines, rng.uniform(-0.7, 0.7))
    paper = rng.uniform(215, 250)
    pixels = pixels * (paper / 255.0)
    if kind == "book":   # the gutter's shadow: the page curves away from the glass along its bound edge
        reach = rng.uniform(0.3, 0.6) * dpi
        ramp = np.clip(np.arange(w, dtype=np.float32) / reach, 0, 1) ** 0.5
        shade = 0.55 + 0.45 * (ramp if rng.random() < 0.5 else ramp[::-1])
        pixels *= shade[None, :]
    return scanned(pixels, rng, seed, (3, 10)), {"width": w, "height": h, "lines": p.lines}


def main() -> int:
    a = arguments(__doc__, 8)
    prose = corpus()
    for k in range(a.count):
        kind = "book" if k % 2 == 0 else "report"
        pixels, gt = page(random.Random(a.seed * 1000 + k), prose, a.seed * 1000 + k, kind)
        save(a.out, f"{kind}-{a.seed}-{k}", pixels, gt)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
