"""A document through the engine: open → for each page (text layer, or pixels → page stages) → result.

Pages are produced in order and each page's pixels are dropped before the next page is asked for; with read-ahead
(documents/readahead.py) the next page is rendered while this one is read, so at most two pages' pixels exist at a time
whatever the page count. The daemon and the CLI both run exactly this.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..documents import Document, DocumentOptions, PageInfo, open_document
from ..engine.decode import DecodeError, TruncatedImage
from ..engine.layout import levelled, page_text, reading_order
from ..engine.orientation import turn
from ..engine.session import model_seconds
from .engine import Engine
from ..documents.readahead import FirstPage, LoadedPage, pages
from .result import build_result
from .stages import PageContext, page_stages
from .visualize import visualization_jpeg


@dataclass
class DocumentContext:
    """What one file accumulates on its way through the stages."""

    path: Path
    options: DocumentOptions
    document: Document | None = None
    timings: dict[str, float] = field(default_factory=dict)
    pages: list[dict] = field(default_factory=list)        # result pages, one per page
    page_stats: list[dict] = field(default_factory=list)   # tiles, batches, scale… per page the models read
    warnings: list[str] = field(default_factory=list)
    dropped_lines: int = 0
    visualization: bytes | None = None                     # page 1 with its lines drawn, when asked for
    result: dict | None = None

    @property
    def lines(self) -> list[dict]:
        """Page 1's lines."""
        return self.pages[0]["lines"] if self.pages else []


def process(path: Path, engine: Engine, *, options: DocumentOptions | None = None,
            document: Document | None = None, visualize: bool = False,
            read_ahead: bool | None = None, first: FirstPage | None = None) -> DocumentContext:
    """Run every stage on one file (or an already opened document, or one whose opening and first page were
    started before: first); ctx.result is the result JSON object.
    read_ahead: None is the engine's setting (the daemon decides per document, from its memory budget)."""
    ctx = DocumentContext(path=Path(path), options=options or engine.settings.document_options())
    t0 = time.perf_counter()
    loaded0 = None
    if first is not None:
        opened = first.result()          # raises what opening the file raised, as open_document would
        document, loaded0 = opened.document, opened.first
        ctx.timings["open"] = round(opened.open_seconds, 4)
    elif document is None:
        t = time.perf_counter()
        document = open_document(ctx.path, ctx.options)
        ctx.timings["open"] = round(time.perf_counter() - t, 4)
    ctx.document = document
    model0 = model_seconds()
    waited: list[float] = []
    ahead = engine.settings.read_ahead if read_ahead is None else read_ahead
    reader = pages(document, ahead, waited, first=loaded0)
    try:
        for loaded in reader:
            _page(ctx, engine, loaded, visualize)
    finally:
        reader.close()          # waits for the helper: it is done with the document before the document closes
        document.close()
    if ahead and document.page_count > 1:
        ctx.timings["page_wait"] = round(sum(waited), 4)   # of the pages' render/decode, what the pipeline waited
    ctx.timings["model"] = round(model_seconds() - model0, 4)
    ctx.timings["total"] = round(time.perf_counter() - t0, 4)
    ctx.result = build_result(ctx, engine)
    return ctx


def _page(ctx: DocumentContext, engine: Engine, loaded: LoadedPage, visualize: bool) -> None:
    index, info = loaded.index, loaded.info
    ctx.warnings.extend(info.warnings)
    if info.text_lines is not None:            # the PDF's own text layer: no model runs for this page
        t = time.perf_counter()
        lines = [info.text_lines[i] for i in reading_order(levelled([line["polygon"] for line in info.text_lines]))]
        seconds = loaded.seconds + time.perf_counter() - t
        ctx.timings["text_layer"] = round(ctx.timings.get("text_layer", 0.0) + seconds, 4)
        ctx.pages.append(_page_json(info, lines, "pdf-text", 0, text=True))
        return
    stage = "render" if ctx.document.format == "pdf" else "decode"
    ctx.timings[stage] = round(ctx.timings.get(stage, 0.0) + loaded.seconds, 4)
    try:
        rendered = loaded.take_pixels()
    except TruncatedImage:
        raise                                  # the file may still be arriving: retry it whole
    except DecodeError as e:
        if ctx.document.page_count == 1:
            raise
        ctx.warnings.append(f"page {index + 1} was not read: {e}")
        ctx.pages.append(_page_json(info, [], "ocr", 0, text=engine.recognizer is not None) | {"error": str(e)})
        return
    pctx = PageContext(rendered.image, ctx.timings)
    del rendered
    page_stages(pctx, engine)
    ctx.dropped_lines += pctx.dropped_lines
    det = pctx.detection
    ctx.page_stats.append({"tiles": len(det.grid.tiles) - det.blank_tiles, "blank_tiles": det.blank_tiles,
                           "batches": det.batches, "scale": det.scale,
                           "pixels": pctx.image.width * pctx.image.height, "timings": det.timings,
                           "input_width": det.grid.input_width})
    out = _page_json(info, pctx.lines, "ocr", pctx.orientation, text=engine.recognizer is not None)
    if pctx.vertical:
        out["writing"] = "vertical"
    out["scale"] = round(det.scale, 4)
    ctx.pages.append(out)
    if visualize and index == 0:
        as_given = turn(pctx.image.pixels, (360 - pctx.orientation) % 360)
        ctx.visualization = visualization_jpeg(as_given, pctx.lines)


def _page_json(info: PageInfo, lines: list[dict], source: str, orientation: int, text: bool) -> dict:
    page = {"page": info.number, "width": info.width, "height": info.height, "source": source,
            "orientation": orientation, "lines": lines}
    if info.dpi is not None:
        page["dpi"] = info.dpi
    if info.pdf is not None:
        page["pdf"] = info.pdf
    if text:
        page["text"] = page_text(levelled([line["polygon"] for line in lines]), [line["text"] for line in lines])
    return page
