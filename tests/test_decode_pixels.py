"""Tests for ocrwatchd.engine.decode's pixels: what the OCR stages get (uint8, gray kept gray, alpha over white,
16-bit and float scaled), EXIF orientation applied, and real scans decoded."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from conftest import need_shared, two_page_tiff
from imagefiles import INK, PAPER, exif, page, save
from PIL import Image, ImageDraw, ImageOps

from ocrwatchd.engine.decode import (DecodedImage, ImageTooLarge, UnsupportedImage, decode_image, decode_page,
                                     sniff)


def asymmetric() -> np.ndarray:
    """Upright test card: no flip or rotation of it equals another (distinct corners, non-square)."""
    a = np.full((40, 64), 255, np.uint8)
    a[:12, :12] = 0      # top-left black
    a[:12, -12:] = 90    # top-right dark gray
    a[-12:, :12] = 170   # bottom-left light gray
    return a


# ---------------------------------------------------------------- pixel normalisation

def test_output_contract():
    img = decode_image(save(page(), "PNG"))
    assert isinstance(img, DecodedImage)
    assert img.pixels.dtype == np.uint8 and img.pixels.flags.c_contiguous
    assert (img.width, img.height) == (90, 60)


def test_gray_png_and_grayscale_jpeg_stay_2d():
    for data in (save(page(), "PNG"), save(page(), "JPEG", quality=95)):
        px = decode_image(data).pixels
        assert px.shape == (60, 90)
        assert px[PAPER] > 245 and px[INK] < 10


def test_colour_stays_bgr():
    im = Image.new("RGB", (40, 30), (255, 0, 0))  # pure red
    px = decode_image(save(im, "PNG")).pixels
    assert px.shape == (30, 40, 3)
    assert tuple(px[5, 5]) == (0, 0, 255)


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_png(transparent):
    pal = Image.new("P", (90, 60), 1)
    pal.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)  # index 0 black, index 1 white
    ImageDraw.Draw(pal).rectangle([10, 10, 30, 30], fill=0)
    kw = {}
    if transparent:
        # transparent index is *black* and fills the background: must come out as white paper
        pal = Image.new("P", (90, 60), 2)
        pal.putpalette([0, 0, 0, 255, 255, 255, 0, 0, 0] + [0] * 759)
        ImageDraw.Draw(pal).rectangle([10, 10, 30, 30], fill=0)
        kw["transparency"] = 2
    px = decode_image(save(pal, "PNG", **kw)).pixels
    assert px.shape == (60, 90)  # gray palette reduced to one channel
    assert px[PAPER] == 255 and px[INK] == 0


def test_palette_png_with_colours_stays_bgr():
    pal = page().convert("RGB")
    ImageDraw.Draw(pal).rectangle([50, 40, 60, 50], fill=(0, 0, 255))
    px = decode_image(save(pal.convert("P"), "PNG")).pixels
    assert px.shape == (60, 90, 3)
    assert tuple(px[45, 55]) == (255, 0, 0)


@pytest.mark.parametrize("kw", [{}, {"compression": "group4"}, {"compression": "packbits"},
                                {"tiffinfo": {262: 0}}, {"compression": "group4", "tiffinfo": {262: 0}}])
def test_one_bit_tiff(kw):
    data = save(page().convert("1"), "TIFF", **kw)
    if "tiffinfo" in kw:
        assert Image.open(io.BytesIO(data)).tag_v2[262] == 0  # really min-is-white on disk
    px = decode_image(data).pixels
    assert px.shape == (60, 90)
    assert px[PAPER] == 255 and px[INK] == 0  # black stays black


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_sixteen_bit_gray(fmt):
    a = np.full((60, 90), 65535, np.uint16)
    a[10:30, 10:30] = 0
    a[40:50, 40:50] = 100 * 257
    a[40:50, 60:70] = 128  # 0.498 of a level: rounds down to 0
    a[40:50, 75:85] = 200  # 0.778 of a level: rounds up to 1 (a plain >> 8 would give 0)
    im = Image.fromarray(a)
    assert im.mode == "I;16"
    px = decode_image(save(im, fmt)).pixels
    assert px.dtype == np.uint8 and px.shape == (60, 90)
    assert (px[PAPER], px[INK], px[45, 45], px[45, 65], px[45, 80]) == (255, 0, 100, 0, 1)


def test_sixteen_bit_rgb_png():
    a = np.zeros((20, 30, 3), np.uint16)
    a[..., 0] = 65535  # red
    a[..., 2] = 200 * 257
    buf = cv2.imencode(".png", a[..., ::-1].copy())[1].tobytes()  # Pillow can't write 16-bit RGB
    px = decode_image(buf).pixels
    assert px.dtype == np.uint8 and tuple(px[5, 5]) == (200, 0, 255)


def test_float_tiff_is_scaled():
    a = np.ones((60, 90), np.float32)
    a[10:30, 10:30] = 0.0
    a[40:50, 40:50] = 0.5
    px = decode_image(save(Image.fromarray(a), "TIFF")).pixels
    assert (px[PAPER], px[INK], px[45, 45]) == (255, 0, 128)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_over_white(mode):
    im = Image.new("RGBA", (90, 60), (0, 0, 0, 0))  # fully transparent *black* background
    d = ImageDraw.Draw(im)
    d.rectangle([10, 10, 30, 30], fill=(0, 0, 0, 255))
    d.rectangle([40, 40, 50, 50], fill=(0, 0, 0, 128))  # half-transparent ink -> mid gray
    px = decode_image(save(im.convert(mode), "PNG")).pixels
    assert px.shape == (60, 90)
    assert px[PAPER] == 255 and px[INK] == 0
    assert abs(int(px[45, 45]) - 127) <= 1


def test_rgba_colour_composite():
    im = Image.new("RGBA", (20, 20), (255, 0, 0, 128))  # half-transparent red over white = pink
    px = decode_image(save(im, "PNG")).pixels
    b, g, r = (int(v) for v in px[5, 5])
    assert r == 255 and abs(g - 127) <= 1 and abs(b - 127) <= 1


def test_cmyk_jpeg():
    cmyk = Image.new("CMYK", (90, 60), (0, 0, 0, 0))  # no ink = white paper
    d = ImageDraw.Draw(cmyk)
    d.rectangle([10, 10, 30, 30], fill=(0, 0, 0, 255))  # K only = black
    d.rectangle([40, 40, 60, 55], fill=(255, 0, 0, 0))  # pure cyan
    data = save(cmyk, "JPEG", quality=95)
    assert b"Adobe" in data  # Pillow writes the Adobe marker with inverted CMYK
    px = decode_image(data).pixels
    assert px.ndim == 3 and px.shape[2] == 3
    assert px[PAPER].min() > 240 and px[INK].max() < 20
    b, g, r = (int(v) for v in px[48, 50])
    assert r < 30 and g > 220 and b > 220


# ---------------------------------------------------------------- orientation

def _oriented(fmt: str, upright: np.ndarray, o: int, **kw) -> bytes:
    """Store `upright` so that a viewer honouring orientation `o` shows it upright (Pillow as oracle)."""
    inverse = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
               6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
    im = Image.fromarray(upright)
    stored = im.transpose(inverse[o]) if o in inverse else im
    data = save(stored, fmt, **kw, **({"tiffinfo": {274: o}} if fmt == "TIFF" else {"exif": exif(o)}))
    check = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))  # the fixture itself is right
    assert check.size == im.size
    return data


@pytest.mark.parametrize("o", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "WEBP"])
def test_orientation_lossless(fmt, o):
    upright = asymmetric()
    data = _oriented(fmt, upright, o, **({"lossless": True} if fmt == "WEBP" else {}))
    img = decode_image(data)
    assert img.info.orientation == o
    assert (img.info.width, img.info.height) == ((64, 40) if o <= 4 else (40, 64))  # as stored
    assert (img.width, img.height) == (64, 40)
    np.testing.assert_array_equal(img.pixels, upright)


@pytest.mark.parametrize("o", range(1, 9))
def test_orientation_jpeg(o):
    upright = asymmetric()
    img = decode_image(_oriented("JPEG", upright, o, quality=95))
    assert img.info.orientation == o and img.pixels.shape == upright.shape
    assert np.abs(img.pixels.astype(int) - upright).mean() < 3
    assert img.pixels[5, 5] < 20 and 70 < img.pixels[5, -5] < 110 and 150 < img.pixels[-5, 5] < 190


# ---------------------------------------------------------------- real scans

REAL = [
    ("ocrmypdf/linn.png", "png", 2550, 3300, 0.30),
    ("ocrmypdf/typewriter.png", "png", 4000, 2864, 0.30),
    # magazine page with a photo and a black scanner border: ~31% dark, mean ~176
    ("tesseract-test/8071_093.3B.tif", "tiff", 3312, 2550, 0.40),
]


@pytest.mark.parametrize("rel, fmt, w, h, max_dark", REAL)
def test_real_scans(rel, fmt, w, h, max_dark):
    path = need_shared() / "data" / "real" / rel
    assert path.is_file(), f"{path} is missing from the shared test data"
    img = decode_image(path.read_bytes())
    assert img.info.format == fmt
    assert (img.width, img.height) == (w, h)
    px = img.pixels
    assert px.ndim == 2  # palette-of-grays PNGs and 1-bit TIFF come back single-channel
    dark = float((px < 100).mean())
    assert 0.005 < dark < max_dark
    if fmt == "png":
        assert px.mean() > 200
    else:
        # Not inverted: the right-hand text column (no photo, no border) is mostly white paper.
        assert px[200:1800, 2600:3200].mean() > 200


def test_decode_page_reads_later_pages_alone_and_refuses_missing_ones():
    pages = [Image.new("L", (40 + 10 * i, 30), 255 - 100 * i) for i in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    data = buf.getvalue()
    second = decode_page(data, 1)
    assert second.pixels.shape == (30, 50) and int(second.pixels[0, 0]) == 155 and second.info.pages == 3
    with pytest.raises(UnsupportedImage):
        decode_page(data, 5)


@pytest.mark.parametrize("w2, h2", [(20_000, 20_000), (60_000, 60_000)])   # below and above OpenCV's own cap
def test_a_bomb_on_a_later_tiff_page_is_refused_from_its_header(w2, h2):
    data = two_page_tiff(w2, h2)
    assert decode_page(data, 0).pixels.shape == (8, 8) and sniff(data).pages == 2
    with pytest.raises(ImageTooLarge, match=f"page 2 is {w2}x{h2} = {w2 * h2:,} pixels"):
        decode_page(data, 1)                      # refused before a byte of it is decoded
