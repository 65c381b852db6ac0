"""A document's pages in order, each one's pixels made (rendered or decoded) before it is asked for.

While the models read page n, a helper thread renders page n + 1 — one page ahead, never more, so at most two
pages' pixels exist at a time (the worker's memory reservation counts the second: daemon/budget.py). Rendering
(PDFium, under its lock) and decoding (OpenCV) release the GIL, so where the models leave a core idle — on CUDA,
or a CPU layout with fewer model threads than cores — that time leaves the critical path.

A page's error (a page PDFium cannot render, a TIFF directory that will not decode) is raised when that page is
asked for, exactly as without read-ahead; the helper is done with the document before the caller closes it.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .base import Document, PageImage, PageInfo


@dataclass
class LoadedPage:
    """One page as the helper left it: its info, and its pixels or the error making them raised, and how long
    that took (seconds of work, wherever it ran)."""

    index: int
    info: PageInfo
    image: PageImage | None = None
    error: BaseException | None = None
    seconds: float = 0.0

    def take_pixels(self) -> PageImage:
        """The page's pixels, handed over: this object keeps no reference, so they die with the caller's."""
        if self.error is not None:
            raise self.error
        image, self.image = self.image, None
        assert image is not None, "a page's pixels are taken once"
        return image


def load(document: Document, index: int) -> LoadedPage:
    """Page `index`'s info and, unless its text layer stands in for pixels, its pixels (or the error)."""
    t = time.perf_counter()
    page = document.page(index)
    loaded = LoadedPage(index, page.info)
    if page.info.text_lines is None:
        try:
            loaded.image = page.pixels()
        except Exception as e:          # raised to the caller when it takes this page, not on the helper
            loaded.error = e
    loaded.seconds = time.perf_counter() - t
    return loaded


def pages(document: Document, ahead: bool, waited: list[float] | None = None,
          first: LoadedPage | None = None) -> Iterator[LoadedPage]:
    """Every page of the document in order. ahead: the next page is loaded on a helper thread while the caller
    holds this one. waited, where given, gets the seconds the caller spent waiting for pages appended. first: page
    0, already loaded (FirstPage).

    The caller must drop each page's pixels before asking for the next one (the pipeline does): then the page
    being read and the one being loaded are the only two alive.
    """
    count = document.page_count
    if not ahead or count < 2:
        for index in range(count):
            t = time.perf_counter()
            page = first if first is not None else load(document, index)
            first = None                # it stood for page 0 only
            if waited is not None:
                waited.append(time.perf_counter() - t)
            yield page
        return
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocrwatchd-readahead")
    try:
        if first is None:
            pending: Future[LoadedPage] = helper.submit(load, document, 0)
        else:
            pending = Future()
            pending.set_result(first)
            first = None
        for index in range(count):
            t = time.perf_counter()
            page = pending.result()     # re-raises what document.page() itself raised
            if waited is not None:
                waited.append(time.perf_counter() - t)
            if index + 1 < count:
                pending = helper.submit(load, document, index + 1)
            yield page
            del page
    finally:
        # A caller that stops early (an error, a closed generator) still finds the helper done before it closes
        # the document: PDFium objects must not be touched after close.
        helper.shutdown(wait=True, cancel_futures=True)


@dataclass
class Opened:
    """A file opened, its page 0 loaded, and how long the opening took."""

    document: Document
    open_seconds: float
    first: LoadedPage | None


class FirstPage:
    """A file opened and its first page loaded on a helper thread, started before the models are loaded.

    A fresh `ocrwatchd detect` spends ~0.6 s opening its models and then decodes the file (a 35 MP PNG: ~1.1 s);
    both release the GIL, so they run side by side. result() hands the document over (the caller closes it) and
    raises what opening it raised; discard() closes it when nobody will read it.
    """

    def __init__(self, path, options) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocrwatchd-first-page")
        self._future: Future[Opened] = self._pool.submit(self._open, path, options)
        self._pool.shutdown(wait=False)

    @staticmethod
    def _open(path, options) -> Opened:
        from . import open_document

        t = time.perf_counter()
        document = open_document(path, options)
        seconds = time.perf_counter() - t
        try:
            return Opened(document, seconds, load(document, 0) if document.page_count else None)
        except BaseException:
            document.close()
            raise

    def result(self) -> Opened:
        return self._future.result()

    def discard(self) -> None:
        try:
            self.result().document.close()
        except Exception:       # the file did not open: nothing to close, and nobody asked about it
            pass
