"""What every document is to the pipeline: a file opened once, then pages produced one at a time.

A Document knows, before any page is rendered, how many pages it has and how large each page's pixels can get
(`max_page_pixels`, for the daemon's memory budget). A Page renders or decodes its pixels only when asked, and the
caller drops them before asking for the next page, so one page's pixels exist at a time whatever the page count.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..engine.decode import DEFAULT_MAX_PIXELS, DecodedImage, DecodeError

PdfTextPolicy = Literal["use", "ocr"]


class EncryptedDocument(DecodeError):
    """Opening needs a password we do not have; no amount of waiting supplies one."""

    reason = "encrypted"


class TooManyPages(DecodeError):
    """More pages than max_pages: refused before any is read."""

    reason = "too-many-pages"


@dataclass(frozen=True)
class DocumentOptions:
    """How files become pages; shared by `ocrwatchd detect` flags and the daemon (EngineSettings, inbox tables)."""

    max_pixels: int = DEFAULT_MAX_PIXELS   # image files (any page) larger than this are refused: a bomb
    pdf_dpi: float = 300.0                 # PDF pages that are not one scanned image are rendered at this
    pdf_max_dpi: float = 600.0             # a scanned page is rendered at its image's own resolution, up to this
    # A PDF page's render is never larger than this (nor than memory_limit allows): past it, the page is rendered
    # at the largest resolution that fits, with a warning. A page is a resolution we choose, not a file we must
    # decode whole, so it never needs refusing (hugemono.pdf: a 35000-px square page at 300 dpi).
    pdf_max_pixels: int = 100_000_000
    pdf_text: PdfTextPolicy = "use"        # pages that carry text: take it ("use") or render and read them ("ocr")
    max_pages: int = 2000
    memory_limit: int | None = None        # bytes a page's pixels may take (the daemon's memory budget)


@dataclass
class PageImage:
    """One page's pixels and what a consumer needs to map them back to the document."""

    image: DecodedImage
    dpi: float | None = None               # pixels per inch where the document says (PDF pages, TIFF resolution)
    warnings: list[str] = field(default_factory=list)


@dataclass
class PageInfo:
    """Everything about a page except its pixels: the page's JSON fields and, for PDF text pages, its lines."""

    number: int                            # 1-based
    width: int                             # pixels, as the page is displayed (after /Rotate, EXIF orientation)
    height: int
    dpi: float | None = None
    pdf: dict | None = None                # {"width_pt", "height_pt", "rotate"} for PDF pages
    text_lines: list[dict] | None = None   # lines taken from the PDF's own text layer (pdf_text = "use")
    warnings: list[str] = field(default_factory=list)


class Page:
    """A page whose pixels are produced on demand (render for PDF, decode for images)."""

    def __init__(self, info: PageInfo, render) -> None:
        self.info = info
        self._render = render

    def pixels(self) -> PageImage:
        return self._render(self.info)


class Document:
    """Base for the formats: the file's identity and a page count; subclasses produce pages."""

    format: str = ""

    def __init__(self, path: Path, size: int, sha256: str) -> None:
        self.path, self.size, self.sha256 = path, size, sha256

    @property
    def page_count(self) -> int:
        raise NotImplementedError

    def max_page_pixels(self) -> int:
        """An upper bound on any one page's pixel count, known without rendering (for the memory budget)."""
        raise NotImplementedError

    def page(self, index: int) -> Page:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def file_identity(path: Path) -> tuple[int, str]:
    """Size and sha256 of the file, read in chunks (a PDF is never held whole just to hash it)."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256")
        size = f.tell()
    return size, digest.hexdigest()
