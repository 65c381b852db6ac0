"""Image files made in memory for the decode tests: a page of paper with a block of ink, saved in any format."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def page(w: int = 90, h: int = 60) -> Image.Image:
    """White 'paper' with a black block of 'ink' in the top-left quadrant (mode L)."""
    im = Image.new("L", (w, h), 255)
    ImageDraw.Draw(im).rectangle([10, 10, 30, 30], fill=0)
    return im


INK, PAPER = (20, 20), (45, 70)  # (row, col) inside the block / in the white area


def exif(orientation: int) -> Image.Exif:
    e = Image.Exif()
    e[274] = orientation
    return e
