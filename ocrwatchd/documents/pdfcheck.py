"""Weighing a PDF's page content before PDFium parses it: decompression and form-repetition bombs are refused.

PDFium inflates a page's whole content stream(s) into memory when it parses the page, and parses a form XObject's
content again every time the form is drawn. Neither can be interrupted from Python. A few kilobytes of Flate data
can inflate to gigabytes (a 2 GB content stream of spaces took 3.1 GB of memory and 33 s), and forms that each
draw the next one ten times, seven deep, make ten million draws (still parsing after 2 minutes; five deep, 10^5
draws, took 3.9 s and 285 MB, so each draw costs PDFium about 2 KB and 25 µs whatever the form holds). Image streams
are no danger: PDFium stops inflating an image at the size its dictionary declares.

So every page's content is weighed first (with pikepdf, which reads streams without interpreting them): the
decoded bytes of its content streams and annotation appearances, plus, for every form XObject drawn ("/Name Do"),
DRAW_COST and that form's weight for each time it is drawn, recursively. A page heavier than the limit is refused as
too large. Flate streams are inflated in chunks and never held whole; the count stops as soon as it passes the
limit, so weighing a bomb costs milliseconds. Other filters (LZW, RunLength…) are decoded by qpdf in memory:
their expansion is bounded far lower than Flate's.
"""
from __future__ import annotations

import re
import zlib
from pathlib import Path

MAX_PAGE_CONTENT = 256 << 20      # decoded content bytes PDFium may parse for one page (~400 MB RSS, seconds)
DRAW_COST = 2048                  # what one drawing of a form costs PDFium, whatever the form holds (measured)
CHUNK = 1 << 20
_DO = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do(?![^\s/\[\]()<>{}%])")
_MAX_DEPTH = 64                   # deeper form nesting than PDFium itself follows counts as nothing more


class TooHeavy(Exception):
    """A page's content weighs more than the limit."""


def heaviest_page(path: Path, limit: int = MAX_PAGE_CONTENT) -> tuple[int, int] | None:
    """(page number, weight) of the first page whose content weighs over `limit` bytes, else None.

    None too when pikepdf cannot read the file (PDFium, which repairs more, then decides alone).
    """
    import pikepdf

    try:
        pdf = pikepdf.open(path)
    except Exception:
        return None
    with pdf:
        weigher = _Weigher(limit)
        for n, page in enumerate(pdf.pages, 1):
            try:
                weight = weigher.page(page.obj)
            except TooHeavy:
                return n, weigher.last
            except Exception:          # a damaged object: PDFium reports it (or repairs it) when it gets there
                continue
            if weight > limit:
                return n, weight
    return None


class _Weigher:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.last = 0
        self.forms: dict[tuple[int, int], int] = {}     # weight of each form XObject already weighed
        self.inflated: dict[tuple[int, int], tuple[int, dict]] = {}   # each stream is inflated once

    def page(self, page) -> int:
        resources = _inherited(page, "/Resources")
        contents = page.get("/Contents")
        streams = list(contents) if isinstance(contents, _array()) else [contents] if contents is not None else []
        weight = 0
        for s in streams:                                # the same stream may be listed many times
            weight += self.stream(s, resources, set(), 0)
            if weight > self.limit:
                self.last = weight
                raise TooHeavy
        for annot in page.get("/Annots") or []:
            try:
                normal = annot.get("/AP", {}).get("/N")
            except Exception:
                continue
            if normal is None:
                continue
            if isinstance(normal, _stream()):
                weight += self.form(normal, resources, set(), 0)
            else:                                        # appearance states (/On, /Off…): one of them is drawn
                weight += max([self.form(v, resources, set(), 0) for v in normal.values()
                               if isinstance(v, _stream())] or [0])
        self.last = weight
        return weight

    def stream(self, stream, resources, active: set, depth: int) -> int:
        """Decoded bytes of a content stream plus the forms it draws, each weighed as often as it is drawn."""
        if not isinstance(stream, _stream()):
            return 0
        key = stream.objgen
        if key not in self.inflated:
            self.inflated[key] = self._inflate(stream)
        size, names = self.inflated[key]
        weight = size
        xobjects = resources.get("/XObject") if resources is not None else None
        for name, times in names.items():
            if xobjects is None:
                break
            form = xobjects.get("/" + name.decode("latin-1"))
            if form is None or not isinstance(form, _stream()) or form.get("/Subtype") != "/Form":
                continue
            weight += times * (DRAW_COST + self.form(form, resources, active, depth + 1))
            if weight > self.limit:
                self.last = weight
                raise TooHeavy
        return weight

    def form(self, form, resources, active: set, depth: int) -> int:
        key = form.objgen
        if key in self.forms:
            return self.forms[key]
        if key in active or depth > _MAX_DEPTH:    # a form drawing itself: PDFium stops there, and so do we
            return 0
        active.add(key)
        weight = self.stream(form, form.get("/Resources") or resources, active, depth)
        active.discard(key)
        if key != (0, 0):
            self.forms[key] = weight
        return weight

    def _inflate(self, stream) -> tuple[int, dict[bytes, int]]:
        """(decoded size, {XObject name: times drawn}) of one stream, reading at most limit + 1 decoded bytes."""
        filters = stream.get("/Filter")
        filters = [str(f) for f in filters] if isinstance(filters, _array()) else [str(filters)] if filters else []
        names: dict[bytes, int] = {}
        if filters and filters[0] in ("/FlateDecode", "/Fl") and len(filters) == 1:
            chunks = _inflated(stream.read_raw_bytes(), self.limit + 1)
        else:
            chunks = iter([stream.read_bytes()])
        size, tail = 0, b""
        for chunk in chunks:
            size += len(chunk)
            text = tail + chunk
            for m in _DO.finditer(text):
                if m.end() > len(tail):                # not counted in the previous chunk already
                    names[m.group(1)] = names.get(m.group(1), 0) + 1
            tail = text[-256:]
            if size > self.limit:
                break
        return size, names


def _inflated(raw: bytes, at_most: int):
    """The inflated data of a Flate stream, chunk by chunk, stopping after `at_most` bytes (or where it breaks)."""
    d = zlib.decompressobj()
    data, total = raw, 0
    while data and total < at_most:
        try:
            chunk = d.decompress(data, CHUNK)
        except zlib.error:
            return
        total += len(chunk)
        yield chunk
        data = d.unconsumed_tail
    if total < at_most:
        try:
            rest = d.flush()
        except zlib.error:
            return
        if rest:
            yield rest


def _inherited(page, key: str):
    node, hops = page, 0
    while node is not None and hops < 64:
        value = node.get(key)
        if value is not None:
            return value
        node, hops = node.get("/Parent"), hops + 1
    return None


def _array():
    import pikepdf

    return pikepdf.Array


def _stream():
    import pikepdf

    return pikepdf.Stream
