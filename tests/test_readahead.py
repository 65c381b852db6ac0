"""Read-ahead (ocrwatchd/documents/readahead.py): the next page is made while this one is read — in order, one page
ahead and never more, each page's error raised at that page, and the helper done before the document closes."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from ocrwatchd.documents import Document, Page, PageImage, PageInfo
from ocrwatchd.engine.decode import DecodedImage, ImageInfo, TruncatedImage, UnsupportedImage
from ocrwatchd.documents.readahead import load, pages


class SlowDocument(Document):
    """Pages whose pixels take `delay` s to make; records which pages were made, when, and misuse after close."""

    format = "pdf"

    def __init__(self, count: int, delay: float = 0.05, bad: dict[int, Exception] | None = None,
                 bad_plan: dict[int, Exception] | None = None) -> None:
        super().__init__(None, 0, "")
        self.count, self.delay = count, delay
        self.bad, self.bad_plan = bad or {}, bad_plan or {}
        self.made: list[int] = []
        self.closed = False
        self.used_after_close = False
        self.lock = threading.Lock()

    @property
    def page_count(self) -> int:
        return self.count

    def max_page_pixels(self) -> int:
        return 100

    def page(self, index: int) -> Page:
        if index in self.bad_plan:
            raise self.bad_plan[index]
        return Page(PageInfo(number=index + 1, width=10, height=10), lambda info: self._make(index))

    def _make(self, index: int) -> PageImage:
        time.sleep(self.delay)
        with self.lock:
            self.used_after_close |= self.closed
            self.made.append(index)
        if index in self.bad:
            raise self.bad[index]
        pixels = np.full((10, 10), index, np.uint8)
        return PageImage(DecodedImage(pixels, ImageInfo("pdf", 10, 10)))

    def close(self) -> None:
        with self.lock:
            self.closed = True


@pytest.mark.parametrize("ahead", [False, True])
def test_pages_come_in_order_with_their_own_pixels(ahead):
    doc = SlowDocument(5, delay=0.01)
    got = [(p.index, int(p.take_pixels().image.pixels[0, 0])) for p in pages(doc, ahead)]
    assert got == [(i, i) for i in range(5)] and doc.made == list(range(5))


def test_the_next_page_is_made_while_this_one_is_read_and_never_two_ahead():
    doc = SlowDocument(5, delay=0.05)
    waited: list[float] = []
    ahead_of_reader = []
    for page in pages(doc, True, waited):
        page.take_pixels()
        time.sleep(0.4)                        # "reading" the page: time enough to make several more, if it would
        with doc.lock:
            ahead_of_reader.append(max(doc.made) - page.index)
    assert ahead_of_reader == [1, 1, 1, 1, 0]
    # only the first page is waited for in full; the others were made while the one before was read
    assert waited[0] >= 0.04 and sum(waited[1:]) < 0.05, waited


def test_a_page_error_is_raised_at_that_page_and_the_others_are_read():
    doc = SlowDocument(3, delay=0.01, bad={1: UnsupportedImage("page 2 could not be rendered")})
    outcomes = []
    for page in pages(doc, True):
        try:
            page.take_pixels()
            outcomes.append("ok")
        except UnsupportedImage as e:
            outcomes.append(str(e))
    assert outcomes == ["ok", "page 2 could not be rendered", "ok"]


def test_an_error_planning_a_page_stops_the_document_there():
    doc = SlowDocument(4, delay=0.01, bad_plan={2: TruncatedImage("still being written")})
    seen = []
    with pytest.raises(TruncatedImage):
        for page in pages(doc, True):
            seen.append(page.index)
    assert seen == [0, 1]


def test_stopping_early_waits_for_the_helper_before_the_document_closes():
    """The reader gives up after page 1 while page 2 is being made: closing the reader waits for it, so the document
    is never used after close (PDFium objects must not be)."""
    doc = SlowDocument(4, delay=0.3)
    reader = pages(doc, True)
    next(reader).take_pixels()
    time.sleep(0.05)                           # the helper is now inside page 2 (index 1)
    reader.close()
    doc.close()
    time.sleep(0.4)
    assert doc.made == [0, 1] and not doc.used_after_close


def test_pixels_are_handed_over_once():
    page = next(pages(SlowDocument(1, delay=0), True))
    page.take_pixels()
    with pytest.raises(AssertionError):
        page.take_pixels()


@pytest.mark.parametrize("ahead", [False, True])
def test_a_first_page_loaded_before_is_read_first_and_not_made_again(ahead):
    doc = SlowDocument(3, delay=0.01)
    first = load(doc, 0)
    got = [(p.index, int(p.take_pixels().image.pixels[0, 0])) for p in pages(doc, ahead, first=first)]
    assert got == [(0, 0), (1, 1), (2, 2)] and doc.made == [0, 1, 2]


def test_detect_opens_the_first_file_while_the_models_load_and_closes_it_when_they_fail(monkeypatch, tmp_path):
    """`ocrwatchd detect` decodes its first file on a helper thread while Engine() opens the models (~0.6 s each
    way on 2 cores); when the models cannot be opened, the document is closed and the error is the models'."""
    import ocrwatchd.documents as documents
    import ocrwatchd.pipeline as pipeline
    from ocrwatchd import cli
    from ocrwatchd.modelstore import ModelError

    opened, docs, seen = threading.Event(), [], {}

    def open_document(path, options):
        docs.append(SlowDocument(1, delay=0.01))
        opened.set()
        return docs[-1]

    class Engine:
        def __init__(self, settings):
            seen["open while the models load"] = opened.wait(10)
            time.sleep(0.1)                   # page 0 is made meanwhile
            raise ModelError("models/x.onnx: sha256 differs (run make models)")

    monkeypatch.setattr(documents, "open_document", open_document)
    monkeypatch.setattr(pipeline, "Engine", Engine)
    assert cli.main(["detect", "--device", "cpu", str(tmp_path / "scan.png")]) == 2
    assert seen == {"open while the models load": True}
    assert docs[0].made == [0] and docs[0].closed
