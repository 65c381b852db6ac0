"""Tests for ocrwatchd.engine.decode: header sniffing, bomb/truncation guards, pixel normalisation."""

from __future__ import annotations

import io
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from conftest import need_shared, two_page_tiff
from PIL import Image, ImageDraw, ImageOps

from ocrwatchd.engine import decode as dec
from ocrwatchd.engine.decode import (
    DEFAULT_MAX_PIXELS,
    DecodeError,
    DecodedImage,
    ImageInfo,
    ImageTooLarge,
    TruncatedImage,
    UnsupportedImage,
    decode_image,
    sniff,
)


# ---------------------------------------------------------------- fixtures and helpers

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


def asymmetric() -> np.ndarray:
    """Upright test card: no flip or rotation of it equals another (distinct corners, non-square)."""
    a = np.full((40, 64), 255, np.uint8)
    a[:12, :12] = 0      # top-left black
    a[:12, -12:] = 90    # top-right dark gray
    a[-12:, :12] = 170   # bottom-left light gray
    return a


def tiff_bytes(order: str, tags: list[tuple[int, int, int]], pixels: bytes, *, next_ifd: int = 0) -> bytes:
    """Hand-made single-strip TIFF; tags are (tag, type, value) with type 3 SHORT or 4 LONG."""
    e = "<" if order == "II" else ">"
    n = len(tags) + 2
    data_off = 8 + 2 + 12 * n + 4
    tags = sorted(tags + [(273, 4, data_off), (279, 4, len(pixels))])
    entries = b""
    for tag, typ, value in tags:
        field = struct.pack(e + "H", value) + b"\0\0" if typ == 3 else struct.pack(e + "I", value)
        entries += struct.pack(e + "HHI", tag, typ, 1) + field
    header = order.encode() + struct.pack(e + "HI", 42, 8)
    return header + struct.pack(e + "H", n) + entries + struct.pack(e + "I", next_ifd) + pixels


def png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + crc


# ---------------------------------------------------------------- sniff

@pytest.mark.parametrize(
    "fmt, kw, expected",
    [
        ("PNG", {}, "png"),
        ("JPEG", {}, "jpeg"),
        ("TIFF", {}, "tiff"),
        ("TIFF", {"compression": "tiff_lzw"}, "tiff"),
        ("TIFF", {"big_tiff": True}, "tiff"),
        ("BMP", {}, "bmp"),
        ("WEBP", {"quality": 80}, "webp"),
        ("WEBP", {"lossless": True}, "webp"),
        ("WEBP", {"lossless": True, "exif": exif(3)}, "webp"),  # forces the VP8X extended header
        ("GIF", {}, "gif"),
        ("PPM", {}, "pnm"),
    ],
)
def test_sniff_reads_size_from_header(fmt, kw, expected):
    data = save(page(123, 45).convert("RGB"), fmt, **kw)
    info = sniff(data)
    assert (info.format, info.width, info.height) == (expected, 123, 45)


def test_sniff_ignores_pixel_data():
    # header + garbage: sniff must not need (or look at) the pixels
    info = sniff(png_header(640, 480) + b"\x00" * 10)
    assert info == ImageInfo("png", 640, 480)


@pytest.mark.parametrize("order", ["II", "MM"])
@pytest.mark.parametrize("typ", [3, 4])
def test_sniff_tiff_byte_orders_and_types(order, typ):
    data = tiff_bytes(order, [(256, typ, 7), (257, typ, 3), (258, 3, 8), (262, 3, 1), (274, 3, 8)], bytes(21))
    assert sniff(data) == ImageInfo("tiff", 7, 3, orientation=8)
    assert decode_image(data).pixels.shape == (7, 3)  # orientation 8 swaps axes


@pytest.mark.parametrize("header", [b"P1\n3 2\n0 1 0\n1 0 1\n", b"P2\n# comment\n3 2\n255\n0 1 2 3 4 5\n",
                                    b"P3 3 2 255 " + b"9 " * 18])
def test_sniff_ascii_pnm(header):
    info = sniff(header)
    assert (info.format, info.width, info.height) == ("pnm", 3, 2)
    assert decode_image(header).pixels.shape[:2] == (2, 3)


def test_sniff_exif_orientation_both_byte_orders():
    jpg = save(page(), "JPEG", exif=exif(6))  # Pillow writes little-endian EXIF
    assert sniff(jpg).orientation == 6
    # Rewrite the EXIF blob as big-endian by hand and splice it in place of Pillow's APP1.
    tiff = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">HHHIHH", 1, 274, 3, 1, 3, 0) + struct.pack(">I", 0)
    app1 = b"Exif\0\0" + tiff
    start = jpg.index(b"\xff\xe1")
    end = start + 2 + struct.unpack_from(">H", jpg, start + 2)[0]
    mm = jpg[:start] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpg[end:]
    assert sniff(mm).orientation == 3


def test_sniff_png_exif_and_broken_exif_is_ignored():
    assert sniff(save(page(), "PNG", exif=exif(5))).orientation == 5
    junk = b"Exif\0\0" + b"XX garbage"
    jpg = save(page(), "JPEG")
    broken = jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk + jpg[2:]
    assert sniff(broken).orientation == 1
    assert decode_image(broken).pixels.shape == (60, 90)


def test_multipage_tiff_counts_pages_and_decodes_first():
    pages = [page(), Image.new("L", (90, 60), 0), Image.new("L", (90, 60), 128)]
    data = save(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    img = decode_image(data)
    assert img.info.pages == 3
    assert img.pixels[PAPER] == 255 and img.pixels[INK] == 0  # the first page, not a later one


def test_tiff_ifd_loop_terminates():
    looped = tiff_bytes("II", [(256, 3, 4), (257, 3, 2), (258, 3, 8), (262, 3, 1)], bytes(8), next_ifd=8)
    assert sniff(looped).pages == 1


# ---------------------------------------------------------------- rejections

def test_empty_and_non_image_are_unsupported():
    with pytest.raises(UnsupportedImage, match="empty"):
        decode_image(b"")
    with pytest.raises(UnsupportedImage, match="not a supported image") as exc:
        decode_image(b"hello world")
    assert "hello" in str(exc.value)  # shows the first bytes so a human can tell what it was
    with pytest.raises(UnsupportedImage):
        decode_image(b"%PDF-1.7\n" + b"\0" * 100)


def test_error_hierarchy():
    for cls in (UnsupportedImage, TruncatedImage, ImageTooLarge):
        assert issubclass(cls, DecodeError) and issubclass(cls, ValueError)


def _forbid_decoding(monkeypatch):
    def boom(*_a, **_k):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(dec.cv2, "imdecode", boom)


def test_png_bomb_rejected_from_header(monkeypatch):
    _forbid_decoding(monkeypatch)
    data = png_header(20000, 20000) + b"\0\0\0\0IDAT" + b"\x78\x9c" + b"\0" * 64
    t0 = time.perf_counter()
    with pytest.raises(ImageTooLarge) as exc:
        decode_image(data, max_pixels=300_000_000)
    assert time.perf_counter() - t0 < 0.5
    msg = str(exc.value)
    assert "20000x20000" in msg and "400,000,000" in msg and "300,000,000" in msg
    assert DEFAULT_MAX_PIXELS == 300_000_000
    with pytest.raises(ImageTooLarge):
        decode_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "BMP", "GIF", "WEBP", "PPM"])
def test_small_image_over_tiny_limit(fmt, monkeypatch):
    data = save(page().convert("RGB"), fmt)
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge, match="90x60"):
        decode_image(data, max_pixels=100)


def test_limit_is_inclusive():
    assert decode_image(save(page(), "PNG"), max_pixels=90 * 60).pixels.shape == (60, 90)


def test_jpeg_bomb_from_sof(monkeypatch):
    jpg = bytearray(save(page(), "JPEG"))
    sof = jpg.index(b"\xff\xc0")
    struct.pack_into(">HH", jpg, sof + 5, 60000, 60000)  # height, width after length and precision
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLarge, match="60000x60000"):
        decode_image(bytes(jpg))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "GIF", "BMP", "PPM"])
def test_cut_file_is_truncated(fmt):
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 256, (120, 160), dtype=np.uint8))
    data = save(noisy.convert("RGB") if fmt == "BMP" else noisy, fmt)
    assert decode_image(data).pixels.shape[:2] == (120, 160)
    with pytest.raises(TruncatedImage):
        decode_image(data[: int(len(data) * 0.6)])


@pytest.mark.parametrize("keep", [6, 20, 100])
def test_header_cut_short_is_truncated(keep):
    for data in (save(page(), "PNG"), save(page(), "JPEG", exif=exif(6))):
        with pytest.raises(TruncatedImage):
            sniff(data[:keep]) if keep < 24 else decode_image(data[:keep])


def test_jpeg_end_marker_search():
    data = save(page(), "JPEG")
    assert decode_image(data + b"\0" * 5000 + b"trailing junk").pixels.shape == (60, 90)
    # a file being written into a preallocated (zero-filled) file has no EOI yet
    with pytest.raises(TruncatedImage):
        decode_image(data[:-2] + b"\0" * 5000)


def test_jpeg_exif_thumbnail_eoi_does_not_hide_truncation():
    # An EXIF thumbnail is a whole JPEG (with its own FFD9) inside APP1, before the main image.
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 0) + struct.pack("<I", 0)
    app1 = b"Exif\0\0" + tiff + b"\xff\xd8 fake thumbnail \xff\xd9"
    main = save(Image.fromarray(np.random.default_rng(2).integers(0, 256, (80, 80), dtype=np.uint8)), "JPEG")
    data = main[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + main[2:]
    assert decode_image(data).pixels.shape == (80, 80)
    with pytest.raises(TruncatedImage):
        decode_image(data[: int(len(data) * 0.6)])


def test_complete_but_corrupt_png_is_unsupported_not_truncated():
    data = bytearray(save(page(), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 6: idat + 20] = b"\xaa" * 14  # scramble the compressed stream; IEND still present
    with pytest.raises(UnsupportedImage, match="could not be decoded"):
        decode_image(bytes(data))


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
    import io as _io

    from PIL import Image as _Image

    from ocrwatchd.engine.decode import UnsupportedImage as _Unsupported
    from ocrwatchd.engine.decode import decode_page

    pages = [_Image.new("L", (40 + 10 * i, 30), 255 - 100 * i) for i in range(3)]
    buf = _io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    data = buf.getvalue()
    second = decode_page(data, 1)
    assert second.pixels.shape == (30, 50) and int(second.pixels[0, 0]) == 155 and second.info.pages == 3
    with pytest.raises(_Unsupported):
        decode_page(data, 5)


@pytest.mark.parametrize("w2, h2", [(20_000, 20_000), (60_000, 60_000)])   # below and above OpenCV's own cap
def test_a_bomb_on_a_later_tiff_page_is_refused_from_its_header(w2, h2):
    from ocrwatchd.engine.decode import decode_page

    data = two_page_tiff(w2, h2)
    assert decode_page(data, 0).pixels.shape == (8, 8) and sniff(data).pages == 2
    with pytest.raises(ImageTooLarge, match=f"page 2 is {w2}x{h2} = {w2 * h2:,} pixels"):
        decode_page(data, 1)                      # refused before a byte of it is decoded
