"""Tests for ocrwatchd.engine.decode, before any pixel is decoded: header sniffing, bomb and truncation guards.
The pixels that come out are tested in test_decode_pixels.py."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from imagefiles import INK, PAPER, exif, page, save
from PIL import Image

from ocrwatchd.engine import decode as dec
from ocrwatchd.engine.decode import (
    DEFAULT_MAX_PIXELS,
    DecodeError,
    ImageInfo,
    ImageTooLarge,
    TruncatedImage,
    UnsupportedImage,
    decode_image,
    sniff,
)


# ---------------------------------------------------------------- helpers

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
