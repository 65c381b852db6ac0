"""What an image file's header says, read without decoding a pixel: format, stored size, EXIF orientation,
TIFF page count and page sizes, and whether the data visibly ends before the format's own end.

Pure compute on bytes. decode.py uses it to refuse bombs (size from the header) and half-written files (cut
short) before cv2 sees them; documents/ uses it to count and size pages.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DecodeError", "ImageInfo", "ImageTooLarge", "MAX_TIFF_PAGES", "TruncatedImage", "UnsupportedImage",
           "cut_short", "page_sizes", "sniff"]

# Bound on the IFD walk: a looping or hostile chain must not hang us. A chain that goes on past it gives
# pages = MAX_TIFF_PAGES + 1 ("more than"), which documents refuse as too many pages.
MAX_TIFF_PAGES = 10_000


class DecodeError(ValueError):
    """Bad input: the message says why, for a human; `reason` is a short fixed name for it (metrics, error JSON)."""

    reason = "unreadable"


class UnsupportedImage(DecodeError):
    """Not an image we can read (text file named .png, unknown format, empty, corrupt)."""

    reason = "unsupported"


class TruncatedImage(DecodeError):
    """Header is fine but the data ends early; the file may still be being written, so retry later."""

    reason = "truncated"


class ImageTooLarge(DecodeError):
    """width*height above the limit, found from the header before any pixel is decoded."""

    reason = "too-large"


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "png" | "jpeg" | "tiff" | "bmp" | "webp" | "gif" | "pnm"
    width: int  # as stored, before EXIF orientation
    height: int
    orientation: int = 1  # EXIF orientation 1..8
    pages: int = 1  # TIFF: number of IFDs in the main chain; others 1


# ---------------------------------------------------------------- TIFF / EXIF structure

class _Tiff:
    """Minimal reader for TIFF directories; EXIF blobs (JPEG APP1, PNG eXIf, WebP EXIF) are TIFFs too."""

    _FMT = {1: "B", 3: "H", 4: "I", 8: "h", 9: "i", 13: "I", 16: "Q", 18: "Q"}  # integer types only

    def __init__(self, buf: bytes, base: int = 0):
        order = buf[base:base + 2]
        if order not in (b"II", b"MM"):
            raise UnsupportedImage("bad TIFF byte-order mark")
        self.buf, self.base, self.e = buf, base, "<" if order == b"II" else ">"
        magic = self._u("H", 2)
        if magic not in (42, 43):
            raise UnsupportedImage(f"bad TIFF magic number {magic}")
        self.big = magic == 43  # BigTIFF: 8-byte offsets and counts
        self.o, self.osize = ("Q", 8) if self.big else ("I", 4)  # struct code and size of an offset
        self.first = self._u(self.o, 8 if self.big else 4)

    def _u(self, fmt: str, off: int) -> int:
        # struct.error (short buffer) is what callers catch as "cut short"
        return struct.unpack_from(self.e + fmt, self.buf, self.base + off)[0]

    def ifd(self, off: int) -> tuple[dict[int, tuple[int, int, int]], int]:
        """Entries {tag: (type, count, offset of the value field)} and the next IFD's offset."""
        n, size, first = self._count(off)
        if self.base + first + n * size + 4 > len(self.buf):  # checked up front: n may be absurd
            raise struct.error("TIFF directory runs past the end of the data")
        entries = {}
        for p in range(first, first + n * size, size):
            # tag, type, count, then the value field, which is the last offset-sized slot of the entry
            entries[self._u("H", p)] = (self._u("H", p + 2), self._u(self.o, p + 4), p + size - self.osize)
        return entries, self._u(self.o, first + n * size)

    def _count(self, off: int) -> tuple[int, int, int]:
        """(number of entries, entry size, offset of the first entry) of the IFD at off."""
        return (self._u("Q", off), 20, off + 8) if self.big else (self._u("H", off), 12, off + 2)

    def next_ifd(self, off: int) -> int:
        n, size, first = self._count(off)
        return self._u(self.o, first + n * size)

    def values(self, entry: tuple[int, int, int]) -> list[int]:
        typ, count, field = entry
        fmt = self._FMT.get(typ)
        if fmt is None:
            return []
        # Values that fit in the field are stored inline, otherwise the field holds an offset.
        if struct.calcsize(fmt) * count > self.osize:
            field = self._u(self.o, field)
        return list(struct.unpack_from(f"{self.e}{count}{fmt}", self.buf, self.base + field))


def _exif_orientation(buf: bytes, base: int = 0) -> int:
    """Orientation from an EXIF blob; broken EXIF must never block OCR, so any error means 1."""
    try:
        t = _Tiff(buf, base)
        entries, _ = t.ifd(t.first)
        value = t.values(entries[274])[0] if 274 in entries else 1
    except (DecodeError, struct.error, IndexError):
        return 1
    return value if 1 <= value <= 8 else 1


# ---------------------------------------------------------------- per-format header parsers

def _sniff_png(data: bytes) -> ImageInfo:
    if len(data) < 24:
        raise TruncatedImage("PNG header cut short")
    if data[12:16] != b"IHDR":
        raise UnsupportedImage("PNG without IHDR chunk")
    w, h = struct.unpack_from(">II", data, 16)
    orientation = 1
    for ctype, start, end in _png_chunks(data):
        if ctype == b"IDAT":  # eXIf belongs before the pixel data; don't walk the whole file
            break
        if ctype == b"eXIf":
            orientation = _exif_orientation(data[start:end])
    return ImageInfo("png", w, h, orientation)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) per chunk; stops silently where data ends or turns to garbage."""
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 8 + length
        if not ctype.isalpha() or end + 4 > len(data):
            return
        yield ctype, pos + 8, end
        pos = end + 4  # skip CRC


_JPEG_SOF = {m for m in range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}  # C4 DHT, C8 JPG, CC DAC aren't frames


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, body start, body end) for each header segment, ending with SOS (start of scan)."""
    pos = 2
    while True:
        if pos >= len(data):
            raise TruncatedImage("JPEG header cut short")
        if data[pos] != 0xFF:
            raise UnsupportedImage("corrupt JPEG: marker expected")
        while pos < len(data) and data[pos] == 0xFF:  # any number of 0xFF fill bytes may precede a marker
            pos += 1
        if pos + 3 > len(data):
            raise TruncatedImage("JPEG header cut short")
        marker = data[pos]
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # standalone markers carry no length
            pos += 1
            continue
        if marker == 0xD9:
            raise UnsupportedImage("JPEG ends before any image data")
        end = pos + 1 + struct.unpack_from(">H", data, pos + 1)[0]
        if end > len(data):
            raise TruncatedImage("JPEG header cut short")
        yield marker, pos + 3, end
        if marker == 0xDA:
            return
        pos = end


def _sniff_jpeg(data: bytes) -> ImageInfo:
    orientation = 1
    for marker, start, end in _jpeg_segments(data):
        if marker == 0xE1 and data[start:start + 6] == b"Exif\0\0":
            orientation = _exif_orientation(data[start + 6:end])
        elif marker in _JPEG_SOF:
            if end - start < 5:
                raise UnsupportedImage("corrupt JPEG frame header")
            h, w = struct.unpack_from(">HH", data, start + 1)  # after the 1-byte sample precision
            return ImageInfo("jpeg", w, h, orientation)
    raise UnsupportedImage("JPEG without a frame header")


def _sniff_tiff(data: bytes) -> ImageInfo:
    try:
        t = _Tiff(data)
        entries, nxt = t.ifd(t.first)
        w, h = t.values(entries[256])[0], t.values(entries[257])[0]
        orientation = (t.values(entries[274]) or [1])[0] if 274 in entries else 1
    except struct.error:
        # Writers often put the directory after the pixel data, so a cut file loses it entirely.
        raise TruncatedImage("TIFF directory lies beyond the end of the data (file cut short?)") from None
    except (KeyError, IndexError):
        raise UnsupportedImage("TIFF without image width/height") from None
    return ImageInfo("tiff", w, h, orientation if 1 <= orientation <= 8 else 1, _tiff_pages(t, t.first, nxt))


def page_sizes(data: bytes) -> list[tuple[int, int]]:
    """Stored (width, height) of every page, from the headers alone: one per TIFF directory, else one.

    A multi-page file's later pages are checked against the pixel limit from these before any is decoded. A
    directory that cannot be read gives (0, 0): that page fails alone when its turn comes.
    """
    info = sniff(data)
    if info.format != "tiff" or info.pages == 1:
        return [(info.width, info.height)]
    t = _Tiff(data)
    sizes, off = [], t.first
    for _ in range(info.pages):
        try:
            entries, nxt = t.ifd(off)
            sizes.append((t.values(entries[256])[0], t.values(entries[257])[0]))
        except (struct.error, KeyError, IndexError):
            sizes.append((0, 0))
            nxt = t.next_ifd(off) if off else 0
        off = nxt
    return sizes


def _tiff_pages(t: _Tiff, first: int, nxt: int) -> int:
    seen, pages = {first}, 1
    while nxt and nxt not in seen and pages <= MAX_TIFF_PAGES:
        seen.add(nxt)
        try:
            following = t.next_ifd(nxt)
        except struct.error:
            break  # a dangling pointer to a later page must not make page 1 unreadable
        pages, nxt = pages + 1, following
    return pages


def _sniff_bmp(data: bytes) -> ImageInfo:
    if len(data) < 26:
        raise TruncatedImage("BMP header cut short")
    if struct.unpack_from("<I", data, 14)[0] == 12:  # old OS/2 BITMAPCOREHEADER: 16-bit sizes
        w, h = struct.unpack_from("<HH", data, 18)
    else:
        w, h = struct.unpack_from("<ii", data, 18)
    return ImageInfo("bmp", abs(w), abs(h))  # negative height just means top-down rows


def _sniff_webp(data: bytes) -> ImageInfo:
    if len(data) < 30:
        raise TruncatedImage("WebP header cut short")
    kind = data[12:16]
    if kind == b"VP8 ":
        w, h = (v & 0x3FFF for v in struct.unpack_from("<HH", data, 26))  # top 2 bits are scaling
    elif kind == b"VP8L":
        bits = struct.unpack_from("<I", data, 21)[0]
        w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif kind == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
    else:
        raise UnsupportedImage(f"unknown WebP chunk {kind!r}")
    return ImageInfo("webp", w, h, _webp_orientation(data) if kind == b"VP8X" else 1)


def _webp_orientation(data: bytes) -> int:
    pos = 12
    while pos + 8 <= len(data):
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        if fourcc == b"EXIF":
            body = data[pos + 8:pos + 8 + size]
            return _exif_orientation(body, 6 if body.startswith(b"Exif\0\0") else 0)
        pos += 8 + size + (size & 1)  # chunks are padded to even length
    return 1


def _sniff_gif(data: bytes) -> ImageInfo:
    if len(data) < 10:
        raise TruncatedImage("GIF header cut short")
    w, h = struct.unpack_from("<HH", data, 6)
    return ImageInfo("gif", w, h)


def _pnm_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, maxval, offset of the raster) of a P1..P6 netpbm file."""
    kind, pos, fields = data[1] - ord("0"), 2, []
    while len(fields) < (2 if kind in (1, 4) else 3):
        while pos < len(data) and (data[pos] in b" \t\r\n" or data[pos] == ord("#")):
            if data[pos] == ord("#"):  # comment runs to end of line
                pos = data.find(b"\n", pos)
                pos = len(data) if pos < 0 else pos
            pos += 1
        start = pos
        while pos < len(data) and data[pos:pos + 1].isdigit():
            pos += 1
        if pos >= len(data):
            raise TruncatedImage("PNM header cut short")
        if pos == start:
            raise UnsupportedImage("not a supported image (bad PNM header)")
        fields.append(int(data[start:pos]))
    return fields[0], fields[1], fields[2] if len(fields) == 3 else 1, pos + 1  # one whitespace byte


def _sniff_pnm(data: bytes) -> ImageInfo:
    w, h, _, _ = _pnm_header(data)
    return ImageInfo("pnm", w, h)


_SNIFFERS = (
    (lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), _sniff_png),
    (lambda d: d.startswith(b"\xff\xd8\xff"), _sniff_jpeg),
    (lambda d: d[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"), _sniff_tiff),
    (lambda d: d.startswith(b"BM"), _sniff_bmp),
    (lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", _sniff_webp),
    (lambda d: d[:6] in (b"GIF87a", b"GIF89a"), _sniff_gif),
    (lambda d: len(d) > 2 and d[0:1] == b"P" and d[1:2] in b"123456" and d[2] in b" \t\r\n#", _sniff_pnm),
)

_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\0", b"MM\0*", b"GIF8", b"RIFF")


def sniff(data: bytes) -> ImageInfo:
    """Format, stored size and orientation from the header alone; never decodes pixels."""
    if not data:
        raise UnsupportedImage("empty file")
    for matches, parse in _SNIFFERS:
        if matches(data):
            info = parse(data)
            if info.width <= 0 or info.height <= 0:
                raise UnsupportedImage(f"{info.format} header gives an empty size {info.width}x{info.height}")
            return info
    if any(len(data) < len(m) and m.startswith(data) for m in _MAGICS):
        raise TruncatedImage("file ends inside the image signature")  # a writer has only just started
    raise UnsupportedImage(f"not a supported image (starts with {bytes(data[:12])!r})")


# ---------------------------------------------------------------- truncation

def cut_short(fmt: str, data: bytes) -> bool:
    """Whether the data visibly ends before the format's own end marker or declared size."""
    if fmt == "jpeg":
        # EOI (FFD9) can't occur inside entropy-coded data, so search only after the scan header:
        # that skips an EXIF thumbnail's EOI and allows trailing garbage after the real one.
        *_, (_, _, scan) = _jpeg_segments(data)
        return data.rfind(b"\xff\xd9", scan) < 0
    if fmt == "png":
        return not any(ctype == b"IEND" for ctype, _, _ in _png_chunks(data))
    if fmt == "webp":
        return struct.unpack_from("<I", data, 4)[0] + 8 > len(data)
    if fmt == "bmp":
        return struct.unpack_from("<I", data, 2)[0] > len(data)
    if fmt == "gif":
        return not data.rstrip(b"\0").endswith(b";")  # trailer byte; a zero-filled tail is still "writing"
    if fmt == "tiff":
        return _tiff_data_end(data) > len(data)
    if fmt == "pnm":
        w, h, maxval, start = _pnm_header(data)
        depth = 2 if maxval > 255 else 1
        row = {b"P4": (w + 7) // 8, b"P5": w * depth, b"P6": w * 3 * depth}.get(bytes(data[:2]))
        return row is not None and start + row * h > len(data)  # ASCII P1-P3 have no fixed size
    return False


def _tiff_data_end(data: bytes) -> int:
    """Largest end offset of the first page's strips or tiles (0 when unknown)."""
    try:
        t = _Tiff(data)
        entries, _ = t.ifd(t.first)
        for offsets, counts in ((273, 279), (324, 325)):
            if offsets in entries and counts in entries:
                return max(o + c for o, c in zip(t.values(entries[offsets]), t.values(entries[counts])))
    except (struct.error, ValueError):  # DecodeError is a ValueError
        return len(data) + 1  # the strip table itself is cut off
    return 0
