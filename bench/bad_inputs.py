"""The bad inputs of the campaign's "bad" part, built by hand: each kind → (file name, how to make it, what must
become of it). Cheap to build (the bombs are headers and repeated streams, not gigabytes on disk)."""
from __future__ import annotations

import io
import os
import socket
import struct
import zlib
from pathlib import Path

import cv2

from conftest import big_scan, small_scan, text_image

NOBODY = 65534


def raw_pdf(objects: list[bytes], xref_shift: int = 0) -> bytes:
    """A PDF from object bodies (1-based numbers, object 1 the catalog); xref_shift breaks every xref offset."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for o in offsets:
        out.write(b"%010d 00000 n \n" % (o + xref_shift))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def text_pdf(text: str = "a page of text", xref_shift: int = 0) -> bytes:
    content = b"BT /F1 24 Tf 72 700 Td (" + text.encode() + b") Tj ET"
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                    b"/Resources << /Font << /F1 5 0 R >> >> >>",
                    b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
                    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"], xref_shift)


def blank_pdf(pages: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)]
                   + [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages)


def scan_pdf(seed: int) -> bytes:
    from PIL import Image
    import numpy as np

    img = Image.fromarray(cv2.imdecode(np.frombuffer(small_scan(seed), np.uint8), cv2.IMREAD_GRAYSCALE))
    buf = io.BytesIO()
    img.save(buf, "PDF", resolution=150)
    return buf.getvalue()


def encrypted_pdf(user: str) -> bytes:
    import pikepdf

    buf = io.BytesIO()
    with pikepdf.open(io.BytesIO(scan_pdf(5))) as pdf:
        pdf.save(buf, encryption=pikepdf.Encryption(owner="owner", user=user, R=6))
    return buf.getvalue()


def flate_bomb_pdf(stream_mb: int, times: int) -> bytes:
    """A page whose content is one Flate stream of `stream_mb` MB of spaces, listed `times` times."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    s = pdf.make_indirect(pikepdf.Stream(pdf, zlib.compress(b" " * (stream_mb << 20), 9)))
    s.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].obj.Contents = pikepdf.Array([s] * times) if times > 1 else s
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def form_bomb_pdf(depth: int = 7, fan: int = 10) -> bytes:
    """Forms that each draw the next `fan` times, `depth` deep: fan**depth draws of one tiny path."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    cur = pikepdf.Stream(pdf, b"0 0 m 1 1 l S")
    for d in range(depth + 1):
        cur.Type, cur.Subtype, cur.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 612, 792]
        cur = pdf.make_indirect(cur)
        if d == depth:
            break
        nxt = pikepdf.Stream(pdf, b"q /X Do Q " * fan)
        nxt.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=cur))
        cur = nxt
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=cur))
    pdf.pages[0].obj.Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"/X Do"))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def tiff_chain(pages: int, loop: bool = False) -> bytes:
    """A TIFF of `pages` 1x1 gray pages, one IFD after another (loop: the last points back at the first)."""
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for i in range(pages):
        here = len(out)
        pixel = here + 2 + 8 * 12 + 4
        nxt = pixel + 2 if i < pages - 1 else (8 if loop else 0)
        tags = [(256, 1), (257, 1), (258, 8), (259, 1), (262, 1), (273, pixel), (278, 1), (279, 1)]
        out += struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", t, 4, 1, v) for t, v in tags)
        out += struct.pack("<I", nxt) + b"\x80\0"
    return bytes(out)


def tiff_bomb(w: int = 100_000, h: int = 100_000) -> bytes:
    tags = [(256, w), (257, h), (258, 8), (259, 1), (262, 1), (273, 110), (278, h), (279, 64)]
    return (b"II*\0" + struct.pack("<IH", 8, len(tags)) + b"".join(struct.pack("<HHII", t, 4, 1, v) for t, v in tags)
            + struct.pack("<I", 0) + bytes(64))


def png_bomb(w: int = 100_000, h: int = 100_000) -> bytes:
    png = bytearray(small_scan(11))
    struct.pack_into(">II", png, 16, w, h)
    struct.pack_into(">I", png, 29, zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def jpeg(seed: int = 12) -> bytes:
    ok, buf = cv2.imencode(".jpg", text_image(640, 240, [(20, 120, f"jpeg number {seed}", 1.2)]))
    return buf.tobytes()


def jpeg_bomb() -> bytes:
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 65000, 65000)
    return bytes(data)


def tiff() -> bytes:
    ok, buf = cv2.imencode(".tiff", text_image(640, 240, [(20, 120, "tiff page", 1.2)]))
    return buf.tobytes()


def corrupt_png() -> bytes:
    png = bytearray(small_scan(13))
    mid = len(png) // 2
    png[mid:mid + 64] = bytes(64)            # zeroed IDAT bytes: the CRC no longer matches, IEND still there
    return bytes(png)


def garbage_jpeg() -> bytes:
    data = bytearray(jpeg(14))
    sos = data.index(b"\xff\xda")
    for i in range(sos + 40, len(data) - 2, 7):
        data[i] = 0x55                       # scrambled entropy-coded data (no marker bytes), EOI kept
    return bytes(data)


def nested_arrays_pdf(depth: int = 100_000) -> bytes:
    nest = b"[" * depth + b"]" * depth
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /X " + nest + b" >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Foo " + nest + b" >>"])


def page_tree_loop_pdf() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def no_pages_pdf() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


# ---------------------------------------------------------------- the kinds

def _bytes(data):
    def make(path: Path, ctx: dict) -> None:
        path.write_bytes(data() if callable(data) else data)
    return make


def _symlink(target_of):
    def make(path: Path, ctx: dict) -> None:
        os.symlink(target_of(path, ctx), path)
    return make


def _fifo(path: Path, ctx: dict) -> None:
    os.mkfifo(path)


def _socket(path: Path, ctx: dict) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))


def _unreadable(path: Path, ctx: dict) -> None:
    path.write_bytes(small_scan(21))
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)     # another user's scan; the daemon runs without CAP_DAC_OVERRIDE
        os.chmod(path, 0o600)
    else:
        os.chmod(path, 0)                  # unreadable by the daemon's (our) user


def _outside(path: Path, ctx: dict) -> str:
    target = ctx["root"] / "outside-secret.png"
    target.write_bytes(small_scan(22))
    return str(target)


def _folder(path: Path, ctx: dict) -> str:
    target = ctx["root"] / "outside-folder"
    target.mkdir(exist_ok=True)
    (target / "inner.png").write_bytes(small_scan(23))
    return str(target)


def _cut(data, at):
    return _bytes(lambda: (d := data())[: at(len(d)) if callable(at) else at])


def kinds(short: bool) -> list[tuple[str, str, object, str]]:
    """(kind, file name in the inbox, maker(path, ctx), expected "done" | "failed:REASON" | "ignored")."""
    png, pdf = (lambda: small_scan(31)), (lambda: scan_pdf(32))
    blank_pages = 3 if short else 1500
    out = [
        ("truncated JPEG: 3 bytes (inside the signature)", "cut-jpeg-3.jpg", _cut(jpeg, 3), "failed:truncated"),
        ("truncated JPEG: in the headers", "cut-jpeg-200.jpg", _cut(jpeg, 200), "failed:truncated"),
        ("truncated JPEG: half", "cut-jpeg-half.jpg", _cut(jpeg, lambda n: n // 2), "failed:truncated"),
        ("truncated JPEG: EOI missing", "cut-jpeg-eoi.jpg", _cut(jpeg, lambda n: n - 2), "failed:truncated"),
        ("truncated PNG: in IHDR", "cut-png-20.png", _cut(png, 20), "failed:truncated"),
        ("truncated PNG: half", "cut-png-half.png", _cut(png, lambda n: n // 2), "failed:truncated"),
        ("truncated PNG: IEND missing", "cut-png-iend.png", _cut(png, lambda n: n - 12), "failed:truncated"),
        ("truncated TIFF: header only", "cut-tiff-8.tif", _cut(tiff, 8), "failed:truncated"),
        ("truncated TIFF: half", "cut-tiff-half.tif", _cut(tiff, lambda n: n // 2), "failed:truncated"),
        ("truncated TIFF: last bytes", "cut-tiff-end.tif", _cut(tiff, lambda n: n - 10), "failed:truncated"),
        ("truncated PDF: 100 bytes", "cut-pdf-100.pdf", _cut(pdf, 100), "failed:truncated"),
        ("truncated PDF: half", "cut-pdf-half.pdf", _cut(pdf, lambda n: n // 2), "failed:truncated"),
        ("truncated PDF: %%EOF missing", "cut-pdf-eof.pdf", _cut(pdf, lambda n: n - 7), "failed:truncated"),
        ("zero bytes (.png)", "empty-png.png", _bytes(b""), "failed:truncated"),
        ("zero bytes (.pdf)", "empty-pdf.pdf", _bytes(b""), "failed:truncated"),
        ("PNG named .pdf", "png-named.pdf", _bytes(png), "done"),
        ("PDF named .jpg", "pdf-named.jpg", _bytes(pdf), "done"),
        ("text named .png", "notes.png", _bytes(b"just some notes, not a picture\n"), "failed:unsupported"),
        ("HTML named .pdf", "page.pdf", _bytes(b"<html><body>404</body></html>\n"), "failed:unsupported"),
        ("random bytes named .tif", "noise.tif", _bytes(os.urandom(4096)), "failed:unsupported"),
        ("PNG with zeroed IDAT bytes", "corrupt-idat.png", _bytes(corrupt_png), "failed:unsupported"),
        ("JPEG with scrambled scan data", "garbage-scan.jpg", _bytes(garbage_jpeg), "done"),
        ("PNG header 100000x100000", "bomb-png.png", _bytes(png_bomb), "failed:too-large"),
        ("JPEG header 65000x65000", "bomb-jpeg.jpg", _bytes(jpeg_bomb), "failed:too-large"),
        ("TIFF header 100000x100000", "bomb-tiff.tif", _bytes(tiff_bomb), "failed:too-large"),
        ("TIFF, 100,000 pages (IFD chain)", "pages-100000.tif", _bytes(lambda: tiff_chain(100_000)),
         "failed:too-many-pages"),
        ("TIFF, 3,000 pages (over max_pages)", "pages-3000.tif", _bytes(lambda: tiff_chain(3000)),
         "failed:too-many-pages"),
        ("TIFF whose IFD chain loops", "ifd-loop.tif", _bytes(lambda: tiff_chain(3, loop=True)), "done"),
        ("PDF, 10,000 blank pages", "blank-10000.pdf", _bytes(lambda: blank_pdf(10_000)), "failed:too-many-pages"),
        (f"PDF, {blank_pages:,} blank pages", f"blank-{blank_pages}.pdf", _bytes(lambda: blank_pdf(blank_pages)),
         "done"),
        ("PDF with a user password", "encrypted.pdf", _bytes(lambda: encrypted_pdf("user")), "failed:encrypted"),
        ("PDF with an owner password only", "owner-only.pdf", _bytes(lambda: encrypted_pdf("")), "done"),
        ("PDF whose xref offsets are all wrong", "broken-xref.pdf", _bytes(lambda: text_pdf(xref_shift=7)), "done"),
        ("PDF cut in half, %%EOF appended", "half-eof.pdf",
         _bytes(lambda: (d := text_pdf())[: len(d) // 2] + b"\n%%EOF\n"), "failed:unsupported"),
        ("PDF, content: 64 MB Flate stream x 40", "flate-bomb.pdf", _bytes(lambda: flate_bomb_pdf(64, 40)),
         "failed:too-large"),
        ("PDF, forms 10 x 7 deep (10^7 draws)", "form-bomb.pdf", _bytes(form_bomb_pdf), "failed:too-large"),
        ("PDF, arrays nested 100,000 deep", "nested.pdf", _bytes(nested_arrays_pdf), "done"),
        ("PDF whose page tree loops", "tree-loop.pdf", _bytes(page_tree_loop_pdf), "failed:unsupported"),
        ("PDF with no pages", "no-pages.pdf", _bytes(no_pages_pdf), "failed:unsupported"),
        ("symlink to a file outside", "link-outside.png", _symlink(_outside), "failed:not-a-file"),
        ("symlink to a folder (.png)", "link-folder.png", _symlink(_folder), "failed:not-a-file"),
        ("symlink to a folder (no extension)", "link-folder", _symlink(_folder), "ignored"),
        ("symlink loop", "loop-a.png", _symlink(lambda p, c: str(p.with_name("loop-b.png"))), "failed:not-a-file"),
        ("symlink loop (other end)", "loop-b.png", _symlink(lambda p, c: str(p.with_name("loop-a.png"))),
         "failed:not-a-file"),
        ("FIFO", "fifo.png", _fifo, "failed:not-a-file"),
        ("socket", "socket.png", _socket, "failed:not-a-file"),
        ("unreadable (another user's 0600 file)", "unreadable.png", _unreadable, "failed:permission"),
        ("name with a newline", "new\nline.png", _bytes(png), "done"),
        ("name with non-UTF-8 bytes", os.fsdecode(b"caf\xe9-latin1.png"), _bytes(png), "done"),
        ("name of 255 bytes", "n" * 251 + ".png", _bytes(png), "done"),
        ("name with a leading dash", "-rf.png", _bytes(png), "done"),
        ("name with two leading dashes (.pdf)", "--help.pdf", _bytes(pdf), "done"),
    ]
    if not short:
        out.append(("PDF, content: one 512 MB Flate stream", "flate-bomb-single.pdf",
                    _bytes(lambda: flate_bomb_pdf(512, 1)), "failed:too-large"))
        return out
    return [k for k in out if k[1] in SHORT]


# The short version (make test): one of each class, every kind a fix was made for; under a minute on 2 cores.
SHORT = {"cut-jpeg-half.jpg", "cut-pdf-eof.pdf", "empty-png.png", "png-named.pdf", "notes.png", "bomb-png.png",
         "pages-100000.tif", "blank-10000.pdf", "blank-3.pdf", "encrypted.pdf", "flate-bomb.pdf", "form-bomb.pdf",
         "tree-loop.pdf", "link-outside.png", "link-folder.png", "link-folder", "loop-a.png", "loop-b.png",
         "fifo.png", "socket.png", "unreadable.png", os.fsdecode(b"caf\xe9-latin1.png"), "n" * 251 + ".png"}


__all__ = ["kinds", "big_scan", "small_scan", "NOBODY"]
