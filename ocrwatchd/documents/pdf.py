"""PDF pages through PDFium (pypdfium2): opened once, each page planned, then rendered only when it is read.

Resolution: a page that is a scan (images covering it) is rendered at its images' own resolution, so no pixel
is resampled, up to pdf_max_dpi; any other page at pdf_dpi. Pages that carry text (born-digital, OCRed before)
give their own text layer as lines under pdf_text = "use" and are never rendered.

PDFium is not thread-safe, not even across documents (pypdfium2's docs): every call into it holds PDFIUM_LOCK,
and every PDFium object is closed explicitly inside the lock, never left to a finalizer on another thread.
"""
from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..engine.decode import DecodedImage, ImageInfo, ImageTooLarge, TruncatedImage, UnsupportedImage, normalise_pixels
from .base import Document, DocumentOptions, EncryptedDocument, Page, PageImage, PageInfo, TooManyPages, file_identity
from .pdfcheck import MAX_PAGE_CONTENT, heaviest_page
from .pdftext import text_lines

PDFIUM_LOCK = threading.RLock()
TAIL_BYTES = 2048                 # %%EOF must be this close to the end (writers may pad a little after it)
SCAN_COVER = 0.85                 # images covering this share of the page make it a scan
BYTES_PER_PIXEL_BUDGET = 4        # what a page's pixels cost the memory budget (daemon/budget.page_bytes)
FLOAT_NOISE = 1e-6                # a size within this share above a whole pixel is float32 noise (_scale)
_GRAY_SPACES = {pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY}


class PdfSource(Document):
    format = "pdf"

    def __init__(self, path: Path, options: DocumentOptions) -> None:
        size, sha256 = file_identity(path)
        super().__init__(path, size, sha256)
        self.options = options
        _check_complete(path, size)
        with PDFIUM_LOCK:
            try:
                self.pdf = pdfium.PdfDocument(path)
            except pdfium.PdfiumError as e:
                raise _open_error(e) from None
            try:
                count = len(self.pdf)
                if count > options.max_pages:
                    raise TooManyPages(f"the PDF has {count:,} pages, above max_pages ({options.max_pages:,})")
                if count == 0:
                    raise UnsupportedImage("the PDF has no pages")
                try:
                    self.sizes_pt = [self.pdf.get_page_size(i) for i in range(count)]
                except pdfium.PdfiumError as e:    # a page tree that loops or points at nothing
                    raise UnsupportedImage(f"not a readable PDF (its page tree is broken): {e}") from None
                self.pdf.init_forms()   # filled-in form fields are drawn with the page
            except BaseException:
                self.pdf.close()
                raise
        # Weighed before any page is parsed: PDFium would inflate a content bomb whole (see pdfcheck.py).
        heavy = heaviest_page(path)
        if heavy is not None:
            self.close()
            raise ImageTooLarge(f"page {heavy[0]}'s content inflates to more than {heavy[1]:,} bytes (forms counted "
                                f"each time they are drawn), above the limit of {MAX_PAGE_CONTENT:,}: a "
                                "decompression bomb")

    @property
    def page_count(self) -> int:
        return len(self.sizes_pt)

    def max_page_pixels(self) -> int:
        """Every page rendered at pdf_max_dpi, capped as render planning caps it: an upper bound."""
        return max(_fit(w * h * (self.options.pdf_max_dpi / 72) ** 2, self._pixel_cap()) for w, h in self.sizes_pt)

    def _pixel_cap(self) -> float:
        cap = float(self.options.pdf_max_pixels)
        if self.options.memory_limit:
            cap = min(cap, self.options.memory_limit / BYTES_PER_PIXEL_BUDGET)
        return max(cap, 1.0)

    def page(self, index: int) -> Page:
        opts = self.options
        with PDFIUM_LOCK:
            page = self.pdf[index]
            try:
                w_pt, h_pt = page.get_size()
                rotate = page.get_rotation()
                scan_dpi, gray = _scan_resolution(page, w_pt * h_pt)
                dpi = min(scan_dpi, opts.pdf_max_dpi) if scan_dpi else opts.pdf_dpi
                info = PageInfo(number=index + 1, width=1, height=1,
                                pdf={"width_pt": round(w_pt, 2), "height_pt": round(h_pt, 2), "rotate": rotate})
                cap = self._pixel_cap()
                pixels = _px(w_pt, dpi) * _px(h_pt, dpi)
                if pixels > cap:
                    fitted = math.floor(dpi * math.sqrt(cap / pixels) * 100) / 100
                    while _px(w_pt, fitted) * _px(h_pt, fitted) > cap and fitted > 0.02:   # whole pixels
                        fitted = round(fitted - 0.01, 2)
                    info.warnings.append(f"page {index + 1}: rendered at {fitted:.0f} dpi instead of {dpi:.0f} "
                                         f"({pixels / 1e6:.0f} MP would exceed the limit of {cap / 1e6:.0f} MP)")
                    dpi = fitted
                info.dpi = round(dpi, 2)
                info.width, info.height = _px(w_pt, dpi), _px(h_pt, dpi)
                if opts.pdf_text == "use":
                    info.text_lines = text_lines(page, info.width, info.height, info.warnings) or None
            finally:
                page.close()
        return Page(info, lambda info, gray=gray: self._render(index, info, gray))

    def _render(self, index: int, info: PageInfo, gray: bool) -> PageImage:
        with PDFIUM_LOCK:
            page = self.pdf[index]
            try:
                bitmap = page.render(scale=_scale(info.dpi), grayscale=gray, draw_annots=True)
                try:
                    raw = bitmap.to_numpy()   # a view of a Python-owned buffer: it survives bitmap.close()
                finally:
                    bitmap.close()
            except pdfium.PdfiumError as e:
                raise UnsupportedImage(f"page {index + 1} could not be rendered: {e}") from None
            finally:
                page.close()
        pixels = normalise_pixels(raw)
        del raw
        info.width, info.height = int(pixels.shape[1]), int(pixels.shape[0])
        image = DecodedImage(np.ascontiguousarray(pixels), ImageInfo("pdf", info.width, info.height, 1,
                                                                      self.page_count))
        return PageImage(image, info.dpi)

    def close(self) -> None:
        with PDFIUM_LOCK:
            self.pdf.close()


def _check_complete(path: Path, size: int) -> None:
    """A PDF ends with %%EOF; without it the file is still being written (or was cut off)."""
    if size == 0:
        raise TruncatedImage("empty file (nothing written yet?)")
    with open(path, "rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        if b"%%EOF" not in f.read():
            raise TruncatedImage("PDF has no %%EOF at its end: still being written, or cut short")


def _open_error(e: pdfium.PdfiumError) -> Exception:
    if e.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return EncryptedDocument("the PDF is encrypted: opening it needs a password "
                                 f"({'unsupported security handler' if e.err_code == pdfium_c.FPDF_ERR_SECURITY else 'user password set'})")
    return UnsupportedImage(f"not a readable PDF (damaged, or not a PDF): {e}")


def _scan_resolution(page: pdfium.PdfPage, page_area: float) -> tuple[float | None, bool]:
    """(dpi, gray) when the page is a scan — images are all it draws, or they cover it (a scan with an OCR text
    layer on top) — else (None, False).

    dpi is the finest resolution among the images that matter (each a tenth of the page or more, else all): a
    scanner may write a page as strips, a poster may place a small scan on a big page. It is the larger of an
    image's horizontal and vertical dpi, so no direction loses detail. gray: every such image is 1-bit or gray,
    so the page renders to one channel (a third of the memory).
    """
    top = [obj for obj in page.get_objects(max_depth=1) if obj.level == 0]
    images = [(_area(obj.get_bounds()), obj) for obj in top if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]
    images_only = len(images) == len(top)
    if not images or page_area <= 0 or (not images_only and sum(a for a, _ in images) < SCAN_COVER * page_area):
        return None, False
    matter = [obj for area, obj in images if area >= 0.1 * page_area] or [obj for _, obj in images]
    dpis, gray = [], True
    for obj in matter:
        meta = obj.get_metadata()
        dpis.append(max(meta.horizontal_dpi, meta.vertical_dpi))
        gray &= meta.bits_per_pixel == 1 or meta.colorspace in _GRAY_SPACES
    return (float(max(dpis)), gray) if max(dpis) > 0 else (None, False)


def _area(bounds: tuple[float, float, float, float]) -> float:
    left, bottom, right, top = bounds
    return max(0.0, right - left) * max(0.0, top - bottom)


def _fit(pixels: float, cap: float) -> int:
    return int(min(pixels, cap))


def _scale(dpi: float) -> float:
    """Pixels per point at dpi, a hair under: PDF sizes are float32 points, so a scan of 463 px at 150 dpi is a
    page 222.24000549 pt wide, 463.00001 px at 150 dpi, and rounding that up (as pypdfium2 sizes its bitmap)
    drew the scan stretched onto 464 columns. A size that passes a whole pixel by less than FLOAT_NOISE of itself
    is that pixel."""
    return dpi / 72 * (1 - FLOAT_NOISE)


def _px(points: float, dpi: float) -> int:
    return max(1, math.ceil(points * _scale(dpi)))
