"""Bytes -> pixels: sniff the header, refuse bombs and half-written files, decode once, normalise.

Pure compute, no file I/O. Reading the header (format, size, orientation, pages, cut short) is imageheader.py;
its errors and ImageInfo are re-exported here, where callers meet them. The output is what the OCR stages want: uint8, C-contiguous, either HxW
gray or HxWx3 BGR, upright (EXIF orientation applied), transparency flattened onto white paper.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

import cv2
import numpy as np

from .imageheader import (MAX_TIFF_PAGES, DecodeError, ImageInfo, ImageTooLarge, TruncatedImage, UnsupportedImage,
                          cut_short, page_sizes, sniff)

__all__ = ["DEFAULT_MAX_PIXELS", "DecodeError", "DecodedImage", "ImageInfo", "ImageTooLarge",
           "MAX_TIFF_PAGES", "TruncatedImage", "UnsupportedImage", "decode_image", "decode_page", "normalise_pixels",
           "page_sizes", "sniff"]

DEFAULT_MAX_PIXELS = 300_000_000


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == has no single truth value
class DecodedImage:
    pixels: np.ndarray  # uint8, C-contiguous, HxW or HxWx3 BGR, orientation applied
    info: ImageInfo

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


# ---------------------------------------------------------------- decoding and normalisation

def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    info = sniff(data)
    if info.width * info.height > max_pixels:
        raise ImageTooLarge(f"image is {info.width}x{info.height} = {info.width * info.height:,} pixels, "
                            f"above the limit of {max_pixels:,}")
    if info.format in ("jpeg", "png") and cut_short(info.format, data):
        # checked before decoding because some libjpeg builds return a gray-filled partial image
        raise TruncatedImage(f"{info.format} data has no end marker; file may still be being written")
    try:
        raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        raw = None
    if raw is None:
        if cut_short(info.format, data):
            raise TruncatedImage(f"{info.format} data ends early; file may still be being written")
        raise UnsupportedImage(f"{info.format} data could not be decoded (corrupt or an unsupported variant)")
    pixels = normalise_pixels(raw)
    if not (info.format == "tiff" and _tiff_decoder_orients()):
        pixels = _orient(pixels, info.orientation)
    return DecodedImage(np.ascontiguousarray(pixels), info)


def decode_page(data: bytes, index: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Page `index` (0-based) of a multi-page image, decoded alone so only one page's pixels exist at a time.

    Page 0 is decode_image. A later page is checked against max_pixels from its own directory before it is
    decoded (page_sizes), and again after decoding in case the directory understated it.
    """
    if index == 0:
        return decode_image(data, max_pixels=max_pixels)
    info = sniff(data)
    sizes = page_sizes(data)
    if index < len(sizes) and sizes[index][0] * sizes[index][1] > max_pixels:
        w, h = sizes[index]
        raise ImageTooLarge(f"page {index + 1} is {w}x{h} = {w * h:,} pixels, above the limit of {max_pixels:,}")
    try:
        ok, mats = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED, None, (index, index + 1))
    except cv2.error:
        ok, mats = False, []
    if not ok or not mats:
        raise UnsupportedImage(f"page {index + 1} of {info.pages} could not be decoded")
    raw = mats[0]
    if raw.shape[0] * raw.shape[1] > max_pixels:
        raise ImageTooLarge(f"page {index + 1} is {raw.shape[1]}x{raw.shape[0]} pixels, above the limit of "
                            f"{max_pixels:,}")
    pixels = normalise_pixels(raw)
    return DecodedImage(np.ascontiguousarray(pixels), ImageInfo(info.format, raw.shape[1], raw.shape[0], 1, info.pages))


def normalise_pixels(raw: np.ndarray) -> np.ndarray:
    """Any decoded or rendered raster → what the OCR stages want: uint8, gray if it is gray, alpha flattened."""
    return _reduce_gray(_over_white(_to_uint8(raw)))


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return cv2.convertScaleAbs(a, alpha=1 / 257)  # rounds and saturates, no big temporary
    if a.dtype.kind == "f":  # float TIFFs are 0..1 by convention
        return (np.clip(a, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    raise UnsupportedImage(f"unsupported pixel type {a.dtype}")


def _over_white(a: np.ndarray) -> np.ndarray:
    """Drop alpha by compositing onto white: a transparent background is paper, not black ink."""
    if a.ndim == 2:
        return a
    channels = a.shape[2]
    if channels in (1, 3):
        return a[..., 0] if channels == 1 else a
    if channels not in (2, 4):
        raise UnsupportedImage(f"unsupported channel count {channels}")
    color, alpha = a[..., :-1], a[..., -1:]
    if alpha.min() < 255:
        # out = c*a + 255*(1-a), in integers: 255 - (255-c)*a/255, rounded
        ink = (255 - color.astype(np.uint16)) * alpha
        color = (255 - (ink + 127) // 255).astype(np.uint8)
    return color[..., 0] if channels == 2 else color


def _reduce_gray(a: np.ndarray) -> np.ndarray:
    """Palette PNGs of grays come back as 3 equal channels; keep one (a third of the memory)."""
    if a.ndim == 2:
        return a
    b, g, r = a[..., 0], a[..., 1], a[..., 2]
    s = (slice(None, None, 7), slice(None, None, 7))  # cheap sample rejects colour images fast
    if not (np.array_equal(b[s], g[s]) and np.array_equal(g[s], r[s])):
        return a
    return b if np.array_equal(b, g) and np.array_equal(g, r) else a


_ORIENT = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.flip(cv2.transpose(a), -1),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def _orient(a: np.ndarray, orientation: int) -> np.ndarray:
    fix = _ORIENT.get(orientation)
    return a if fix is None else fix(a)


@functools.cache
def _tiff_decoder_orients() -> bool:
    """Whether this OpenCV's TIFF reader applies tag 274 itself even with IMREAD_UNCHANGED (5.0 does).

    Probed once with a 2x1 TIFF tagged orientation 6 so we never rotate twice, whatever the version.
    """
    tags = [(256, 3, 2), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 134),
            (274, 3, 6), (277, 3, 1), (278, 3, 1), (279, 4, 2)]
    entries = b"".join(struct.pack("<HHII", tag, typ, 1, value) for tag, typ, value in tags)
    probe = b"II*\0" + struct.pack("<IH", 8, len(tags)) + entries + bytes(4) + b"\x00\xff"  # pixels at 134
    out = cv2.imdecode(np.frombuffer(probe, np.uint8), cv2.IMREAD_UNCHANGED)
    return out is not None and out.shape[:2] == (2, 1)
