"""Image files as documents: one page, or one per directory of a multi-page TIFF, decoded one at a time."""
from __future__ import annotations

from pathlib import Path

from ..engine.decode import MAX_TIFF_PAGES, ImageInfo, ImageTooLarge, decode_page, page_sizes
from .base import Document, DocumentOptions, Page, PageImage, PageInfo, TooManyPages


class ImageSource(Document):
    def __init__(self, path: Path, data: bytes, info: ImageInfo, options: DocumentOptions, sha256: str) -> None:
        super().__init__(path, len(data), sha256)
        self.format = info.format
        self.options = options
        self.data = data
        # A multi-page TIFF is held to max_pages like a PDF; a directory chain longer than the walk's bound is
        # refused whatever max_pages says (reading only its first 10,000 pages would drop the rest unseen).
        if info.pages > MAX_TIFF_PAGES:
            raise TooManyPages(f"the TIFF has more than {MAX_TIFF_PAGES:,} pages (directories), more than are "
                               "ever read")
        if info.pages > options.max_pages:
            raise TooManyPages(f"the TIFF has {info.pages:,} pages, above max_pages ({options.max_pages:,})")
        sizes = page_sizes(data)
        if info.orientation >= 5:   # EXIF orientations 5-8 turn the page: width and height swap
            sizes[0] = sizes[0][::-1]
        # Every page's size is in the headers: a bomb on any page refuses the file before anything is decoded.
        for n, (w, h) in enumerate(sizes):
            if w * h > options.max_pixels:
                where = "image" if len(sizes) == 1 else f"page {n + 1} of {len(sizes)}"
                raise ImageTooLarge(f"{where} is {w}x{h} = {w * h:,} pixels, above the limit of "
                                    f"{options.max_pixels:,}")
        self.sizes = sizes

    @property
    def page_count(self) -> int:
        return len(self.sizes)

    def max_page_pixels(self) -> int:
        return max(w * h for w, h in self.sizes)

    def page(self, index: int) -> Page:
        w, h = self.sizes[index]
        return Page(PageInfo(number=index + 1, width=max(w, 1), height=max(h, 1)),
                    lambda info: self._decode(index, info))

    def _decode(self, index: int, info: PageInfo) -> PageImage:
        image = decode_page(self.data, index, max_pixels=self.options.max_pixels)
        info.width, info.height = image.width, image.height
        if index == self.page_count - 1:
            self.data = b""   # the encoded bytes are not needed past the last page: free them before its stages
        return PageImage(image)

    def close(self) -> None:
        self.data = b""
