"""Files → pages: the one way in for every kind of document (images, multi-page TIFFs, PDFs).

A file is recognised by its bytes, not its name. Opening checks what can be checked before any pixel exists
(headers, page count, encryption, a file still being written); pages are then produced one at a time, each
page's pixels only when the pipeline reads it. Rendering and file I/O live here; engine/ only sees pixels.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..engine.decode import sniff
from .base import (Document, DocumentOptions, EncryptedDocument, Page, PageImage, PageInfo, PdfTextPolicy,
                   TooManyPages)
from .images import ImageSource

__all__ = ["Document", "DocumentOptions", "EncryptedDocument", "Page", "PageImage", "PageInfo", "PdfTextPolicy",
           "TooManyPages", "looks_like_pdf", "open_document"]

HEAD_BYTES = 1024


def looks_like_pdf(head: bytes) -> bool:
    """A PDF by its bytes: the %PDF- header within the first KiB (the spec tolerates junk before it)."""
    return b"%PDF-" in head[:HEAD_BYTES]


def open_document(path: Path, options: DocumentOptions = DocumentOptions()) -> Document:
    """Open a file as a document; DecodeError subclasses say why it cannot be (their `reason` names it)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    if looks_like_pdf(head):
        from .pdf import PdfSource    # pypdfium2 is imported by the first PDF, not by every process that reads images
        return PdfSource(path, options)
    data = path.read_bytes()   # images are decoded from memory: read once, hashed here, decoded page by page
    info = sniff(data)
    return ImageSource(path, data, info, options, hashlib.sha256(data).hexdigest())
