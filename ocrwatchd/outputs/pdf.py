"""The searchable PDF (scan.ocr.pdf): the input's own pages, untouched, with an invisible text layer on each.

- Images become pages with img2pdf, which embeds them without re-encoding where PDF allows it: a JPEG is its own
  bytes (DCTDecode), a PNG's compressed data is reused (palette and 16-bit included), a CCITT G4 TIFF stays G4;
  anything else is stored losslessly. A multi-page TIFF is one page per TIFF page, and EXIF orientation becomes
  the page's /Rotate, so the page shows the image upright, as the result's coordinates are.
- PDF pages keep their content; the text layer is placed over it (pikepdf's Page.add_overlay, which wraps the
  old content in q/Q so nothing it leaves set can move the text). Pages that kept their own text layer (result
  source "pdf-text") are not touched at all.
- Each page's text layer is drawn by OCRmyPDF 17's renderer (fpdf2; fonts with ToUnicode maps, a glyphless
  fallback for scripts no installed font covers, so CJK extracts correctly) from the page's OcrElement tree
  (ocr_tree.page_tree): each line's words at their own places along the line, in the text's direction (pages
  with orientation 90/180/270 get sideways or upside-down text); a skewed line is drawn level through its middle,
  because extractors (poppler) break sloped lines into pieces.

Pixels → points: a PDF page's result pixels are points × dpi / 72 of the page as displayed (its crop box, after
/Rotate); an image's are the image's own pixels on the page img2pdf made for it (its dpi, or img2pdf's 96 when
it has none). The text layer is drawn for the page as displayed and placed with the page's /Rotate undone.

Thread-safe: everything is per call (pikepdf documents, the renderer, a temporary folder) or per thread (the font
manager and its caches); the one process-global thing, img2pdf's monochrome transcoder temporarily patching
Pillow's TIFF strip size, runs under a lock. Memory: pages are never rendered to pixels here, and text layers
are drawn _BATCH pages at a time, so a long document needs no more than one batch's text at once.
"""
from __future__ import annotations

import io
import tempfile
import threading
from pathlib import Path

import img2pdf
import pikepdf
from ocrmypdf.font import MultiFontManager
from ocrmypdf.fpdf_renderer import Fpdf2MultiPageRenderer
from ocrmypdf.models.ocr_element import OcrElement
from PIL import Image, ImageOps

from .ocr_tree import page_tree

# img2pdf.transcode_monochrome (1-bit images that are not already CCITT) sets TiffImagePlugin.STRIP_SIZE for the
# duration of a save and restores it after: two threads interleaving would leave each other's value behind.
_IMG2PDF = threading.Lock()
# Text layers are drawn this many pages at a time: the pages of a batch share one font subset (parsing and
# subsetting the font takes longer than drawing a page, and each subset adds 4-5 kB), and memory stays bounded
# by a batch's text, whatever the page count.
_BATCH = 32
_THREAD = threading.local()


class PdfOutputError(ValueError):
    """The result does not describe this source (page count or page size differ)."""


def write_pdf(result: dict, source: Path) -> bytes:
    source = Path(source)
    pages = result["pages"]
    is_pdf = result["source"]["format"] == "pdf"
    pdf = pikepdf.open(source) if is_pdf else pikepdf.open(io.BytesIO(image_pdf(source, result)))
    with pdf, tempfile.TemporaryDirectory(prefix="ocrwatchd-pdf-") as tmp:
        if len(pdf.pages) != len(pages):
            raise PdfOutputError(f"{source.name} has {len(pdf.pages)} pages, the result {len(pages)}")
        # its own text layer, or nothing to add: the page stays exactly as it was
        todo = [index for index, page in enumerate(pages)
                if page.get("source") != "pdf-text" and any(line.get("text") for line in page["lines"])]
        fonts = _font_manager()
        layer = Path(tmp, "text.pdf")
        for start in range(0, len(todo), _BATCH):
            batch = todo[start:start + _BATCH]
            Fpdf2MultiPageRenderer([(index, *_text_tree(pages[index], pdf.pages[index], is_pdf))
                                    for index in batch], fonts, invisible_text=True).render(layer)
            with pikepdf.open(layer) as text:
                for index, text_page in zip(batch, text.pages):
                    # copied in (the batch's fonts once), so the layer file can go before the next batch
                    form = pdf.copy_foreign(text_page.as_form_xobject())
                    pdf.pages[index].add_overlay(form, _shown_box(pdf.pages[index]))
            layer.unlink()
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def _font_manager() -> MultiFontManager:
    """This thread's font manager: it caches fonts and glyph coverage between documents (and warns once per
    thread, not per document, about scripts that no installed font covers)."""
    if not hasattr(_THREAD, "fonts"):
        _THREAD.fonts = MultiFontManager()
    return _THREAD.fonts


def image_pdf(source: Path, result: dict | None = None) -> bytes:
    """The image file as a PDF, one page per image page, without re-encoding where the format allows."""
    data = Path(source).read_bytes()
    # GIF/WebP animations and MPO thumbnails: the pipeline reads one page of everything but a TIFF
    first_only = result is not None and result["source"]["format"] != "tiff"
    with _IMG2PDF:
        try:
            return img2pdf.convert(data, rotation=img2pdf.Rotation.auto, first_frame_only=first_only)
        except (img2pdf.ExifOrientationError, img2pdf.AlphaChannelError):
            # a mirrored EXIF orientation (2, 4, 5, 7) has no /Rotate equivalent, and img2pdf takes transparency
            # only from PNGs: store the upright pixels as PNG (lossless; img2pdf keeps a PNG's alpha)
            return img2pdf.convert(*_upright_pngs(data, first_only), rotation=img2pdf.Rotation.none)


def _upright_pngs(data: bytes, first_only: bool) -> list[bytes]:
    """Each page as a lossless PNG with its EXIF orientation applied (and its resolution kept)."""
    out = []
    with Image.open(io.BytesIO(data)) as image:
        for index in range(1 if first_only else getattr(image, "n_frames", 1)):
            image.seek(index)
            frame = ImageOps.exif_transpose(image)
            buf = io.BytesIO()
            frame.save(buf, "PNG", **({"dpi": image.info["dpi"]} if "dpi" in image.info else {}))
            out.append(buf.getvalue())
    return out


def _shown_box(pdf_page: pikepdf.Page) -> pikepdf.Rectangle:
    """The part of the page a viewer shows (and the pipeline rendered): the crop box within the media box."""
    media, crop = pikepdf.Rectangle(pdf_page.mediabox), pikepdf.Rectangle(pdf_page.cropbox)
    return pikepdf.Rectangle(max(media.llx, crop.llx), max(media.lly, crop.lly),
                             min(media.urx, crop.urx), min(media.ury, crop.ury))


def _rotation(pdf_page: pikepdf.Page) -> int:
    """/Rotate, which may be inherited from the page tree."""
    node = pdf_page.obj
    while node is not None:
        if "/Rotate" in node:
            return int(node.Rotate) % 360
        node = node.get("/Parent")
    return 0


def _text_tree(page: dict, pdf_page: pikepdf.Page, is_pdf: bool) -> tuple[OcrElement, float]:
    """(OcrElement tree, dpi) of a result page, for a text layer the size of the PDF page as displayed."""
    box = _shown_box(pdf_page)
    width_pt, height_pt = box.width, box.height
    if _rotation(pdf_page) in (90, 270):
        width_pt, height_pt = height_pt, width_pt
    if is_pdf:
        dpi = float(page["dpi"])
        if "pdf" in page and (abs(page["pdf"]["width_pt"] - width_pt) > 1 or
                              abs(page["pdf"]["height_pt"] - height_pt) > 1):
            raise PdfOutputError(f"page {page['page']} is {width_pt:.1f}x{height_pt:.1f} pt, the result's "
                                 f"{page['pdf']['width_pt']}x{page['pdf']['height_pt']}")
    else:
        # the image's pixels span the page img2pdf made: its dpi, per axis (fax TIFFs have 204 x 98)
        dpi = page["width"] * 72 / width_pt
        stretch = height_pt * dpi / 72 / page["height"]
        if abs(stretch - 1) > 1e-4:
            page = _stretched(page, stretch)
    return page_tree(page, dpi, size=(width_pt * dpi / 72, height_pt * dpi / 72), level_skewed=True), dpi


def _stretched(page: dict, fy: float) -> dict:
    """The page with every y scaled by fy: an image with unequal x and y resolution, in square pixels."""
    def poly(points):
        return [[x, y * fy] for x, y in points]

    def box(b):
        return [b[0], b[1] * fy, b[2], b[3] * fy]

    lines = [line | {"polygon": poly(line["polygon"]), "box": box(line["box"]),
                     "words": [word | {"polygon": poly(word["polygon"]), "box": box(word["box"])}
                               for word in line.get("words", [])]}
             for line in page["lines"]]
    return page | {"height": page["height"] * fy, "lines": lines}
