"""OCRmyPDF engine plugin: OCRmyPDF runs ocrwatchd's engine (tiled native-resolution detection, recognition,
page orientation) instead of Tesseract.

    ocrmypdf --plugin ocrwatchd.ocrmypdf_plugin --output-type pdf in.pdf out.pdf
    ocrmypdf.ocr("in.pdf", "out.pdf", plugins=["ocrwatchd.ocrmypdf_plugin"], output_type="pdf")

Written against OCRmyPDF 17.13 (pyproject pins ocrmypdf~=17.13, i.e. >=17.13,<18): the generate_ocr()/OcrElement
API is new in 17 (OCRmyPDF 16 only calls generate_hocr, which this plugin does not implement yet), and the
Tesseract workaround below imports a private class. Deliberately not registered as a setuptools entry point
(group "ocrmypdf"): that would replace Tesseract in every OCRmyPDF run of the environment; it is used only
where asked for by name.
"""
from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections.abc import Iterator, Set
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from PIL import Image
from pydantic import BaseModel, Field, ValidationError

from ocrmypdf import hookimpl
from ocrmypdf.exceptions import BadArgsError, MissingDependencyError
from ocrmypdf.helpers import available_cpu_count
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence

from . import __version__

log = logging.getLogger(__name__)

TESSERACT_PLUGIN = "ocrmypdf.builtin_plugins.tesseract_ocr"

# What ocrwatchd's recogniser reads, as Tesseract language codes (what `-l` takes). The one recogniser reads all
# of them at once: `-l` picks no model, it only names the document's language (OCRmyPDF writes it into the PDF's
# metadata). Its character set is mostly CJK (15,908 of 18,708 symbols: Chinese, kana) plus Latin with diacritics;
# a language is listed when every letter of its alphabet is in it (tests/test_ocrmypdf_plugin.py checks that
# against the model). Reading quality is measured here for English only (linn.pdf). Not in the character set at
# all: Cyrillic, Hangul, Arabic, Hebrew, Indic scripts, Vietnamese's stacked diacritics; check_options refuses them.
LANGUAGES = frozenset({
    "eng", "chi_sim", "chi_tra", "jpn",
    "deu", "fra", "spa", "ita", "por", "nld", "dan", "nor", "swe", "fin", "isl", "cat", "pol", "ces", "slk",
    "slv", "hrv", "hun", "ron", "tur", "est", "lav", "lit",
})

# ocrwatchd decides a page's orientation with its own rule (line geometry, then the line classifier and the
# recogniser reading the lines both ways round) and grades nothing; OCRmyPDF compares get_orientation's
# confidence with --rotate-pages-threshold (0-1000, Tesseract's units). A decision is reported at the top of that
# range, so --rotate-pages turns every page ocrwatchd found turned; a page with too few lines to tell is 0.
DECIDED = 1000.0


class OcrwatchdOptions(BaseModel):
    """options.ocrwatchd.<field>, from --ocrwatchd-<field> on the command line or ocrwatchd_<field>= in the API."""

    config: Path | None = None                  # an ocrwatchd TOML file: its [engine] table is used
    device: Literal["auto", "cpu", "cuda"] | None = None   # None: the config's, else EngineSettings' (auto)
    threads: int | None = Field(None, ge=0)     # None/0: the cores shared out over OCRmyPDF's --jobs


def engine_settings(options):
    """EngineSettings for one OCRmyPDF run: the config's [engine] table, then the plugin's own flags."""
    from .pipeline import EngineSettings

    try:
        opts: OcrwatchdOptions = options.ocrwatchd     # built from the flat ocrwatchd_* values on first use
    except ValidationError as e:
        err = e.errors()[0]
        raise BadArgsError(f"ocrwatchd_{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    table: dict = {}
    if opts.config is not None:
        try:
            table = dict(tomllib.loads(Path(opts.config).read_text(encoding="utf-8")).get("engine", {}))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise BadArgsError(f"--ocrwatchd-config {opts.config}: {e}") from None
    if opts.device is not None:
        table["device"] = opts.device
    if opts.threads:
        table["threads"] = opts.threads
    elif not table.get("threads"):
        # OCRmyPDF runs --jobs pages at once, each on its own engine: one ONNX thread per core each would
        # oversubscribe the cores --jobs times over.
        cores = available_cpu_count()
        table["threads"] = max(1, cores // max(1, options.jobs or cores))
    try:
        return EngineSettings(**table)
    except ValidationError as e:
        err = e.errors()[0]
        where = f"--ocrwatchd-config {opts.config} [engine]" if opts.config else "ocrwatchd"
        raise BadArgsError(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


class _EnginePool:
    """Engines kept for reuse, lent to one thread at a time: an Engine's ONNX sessions are not thread-safe, and
    loading one takes about a second. OCRmyPDF runs pages on --jobs threads (or forked worker processes), so at
    most that many engines are made per settings; they outlive one ocrmypdf.ocr() call, so a long-lived process
    (paperless-ngx's worker) loads them once."""

    def __init__(self) -> None:
        self._reset()
        # A forked worker must not use (or wait on) what the parent held: its own lock, its own engines.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list] = {}

    @contextmanager
    def lend(self, settings) -> Iterator:
        from .pipeline import Engine

        key = settings.model_dump_json()
        with self._lock:
            idle = self._idle.setdefault(key, [])
            engine = idle.pop() if idle else None
        if engine is None:
            engine = Engine(settings)
            log.debug("ocrwatchd engine loaded (%s, %d threads)", engine.provider, settings.threads)
        try:
            yield engine
        finally:
            with self._lock:
                self._idle.setdefault(key, []).append(engine)


POOL = _EnginePool()


def _image_dpi(input_file: Path) -> tuple[int, int, float | None]:
    with Image.open(input_file) as im:
        dpi = im.info.get("dpi")
        return im.width, im.height, float(dpi[0]) if dpi else None


class OcrwatchdEngine(OcrEngine):
    @staticmethod
    def version() -> str:
        return __version__

    @staticmethod
    def creator_tag(options) -> str:
        return f"ocrwatchd {__version__}"

    def __str__(self) -> str:
        return f"ocrwatchd {__version__}"

    @staticmethod
    def languages(options) -> Set[str]:
        return LANGUAGES

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        """Only called with --rotate-pages, on a preview of the page (gray JPEG, at most 300 dpi).

        Detection and ocrwatchd's orientation decision only (no reading of the page): OCRmyPDF then renders the
        page turned upright, and generate_ocr reads that.
        """
        from .documents import open_document
        from .engine.orientation import line_axis
        from .pipeline.stages import PageContext, detect_stage

        settings = engine_settings(options)
        if not settings.orientation or not settings.recognize:
            log.info("ocrwatchd: orientation is off in its settings; page left as it is")
            return OrientationConfidence(angle=0, confidence=0.0)
        document = open_document(Path(input_file), settings.document_options())
        try:
            image = document.page(0).pixels().image
        finally:
            document.close()
        with POOL.lend(settings) as engine:
            ctx = PageContext(image, {})
            detect_stage(ctx, engine)
            quads = [d.quad for d in ctx.detection.lines]
            axis, along = line_axis(quads, engine.page_orientation.params.long_ratio)
            if axis is None or len(along) < engine.page_orientation.params.min_lines:
                log.info("ocrwatchd: too few text lines to tell which way up the page is")
                return OrientationConfidence(angle=0, confidence=0.0)
            turn = engine.page_orientation.decide(ctx.image.pixels, quads)
        # ocrwatchd: the clockwise turn that makes the page upright. OCRmyPDF: the clockwise turn the page's
        # content has been given, undone by turning it counter-clockwise as much (_pipeline.py
        # get_orientation_correction, and pypdfium's rasterizer turns by -angle); the same as Tesseract's OSD
        # "Orientation in degrees". So a page ocrwatchd turns 90° clockwise is one OCRmyPDF sees at 270.
        return OrientationConfidence(angle=(360 - turn) % 360, confidence=DECIDED)

    @staticmethod
    def generate_ocr(input_file: Path, options, page_number: int = 0):
        """The page image OCRmyPDF made (a PNG, its resolution in the pHYs chunk) through ocrwatchd's pipeline:
        (ocr_page tree in that image's pixels, the page text for the sidecar)."""
        from .outputs.ocr_tree import page_tree

        result, dpi = _read(Path(input_file), options, page_number)
        page = result["pages"][0]
        # No pHYs: None lets OCRmyPDF's grafter take the page's own resolution (_graft.py).
        tree = page_tree(page, dpi, level_skewed=True)    # poppler extracts skewed lines whole (ocr_tree.py)
        tree.page_number = page_number
        text = page.get("text", "")
        return tree, text + "\n" if text else ""

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_hocr(input_file, output_hocr, output_text, options) -> None:
        """The hOCR path: what OCRmyPDF 16 (paperless-ngx 2.x pins it) calls, and OCRmyPDF 17's experimental
        ocrmypdf.api._pdf_to_hocr(); the same pipeline, written by ocrwatchd's own hOCR writer."""
        from .outputs import FORMATS

        result, _ = _read(Path(input_file), options, 0)
        Path(output_hocr).write_bytes(FORMATS["hocr"].write(result, Path(input_file)))
        text = result["pages"][0].get("text", "")
        Path(output_text).write_text(text + "\n" if text else "", encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file, output_pdf, output_text, options) -> None:
        # --pdf-renderer sandwich; refused in check_options before any page is read.
        raise NotImplementedError("ocrwatchd's OCRmyPDF plugin does not make sandwich PDFs")


def _read(input_file: Path, options, page_number: int) -> tuple[dict, float | None]:
    """One page image through the pipeline, on an engine lent to this thread: (result, the image's dpi)."""
    from .pipeline import process

    width, height, dpi = _image_dpi(input_file)
    settings = engine_settings(options)
    with POOL.lend(settings) as engine:
        ctx = process(input_file, engine)
    page = ctx.result["pages"][0]
    if (page["width"], page["height"]) != (width, height):
        # The tree must be in the pixels of exactly this image; a decoder that turned or scaled it would put
        # every word in the wrong place.
        raise RuntimeError(f"ocrwatchd read {input_file} as {page['width']}x{page['height']}, not {width}x{height}")
    for warning in ctx.warnings:
        log.warning("ocrwatchd, page %d: %s", page_number + 1, warning)
    return ctx.result, dpi


@hookimpl
def initialize(plugin_manager) -> None:
    # The builtin Tesseract plugin's check_options requires the tesseract binary unconditionally (even with
    # --ocr-engine none), so with it registered this plugin would not run where Tesseract is not installed.
    plugin_manager.set_blocked(TESSERACT_PLUGIN)


@hookimpl
def register_options():
    # OCRmyPDF's own validation reads options.tesseract.* (_validation_coordinator.py), a namespace the blocked
    # plugin registered: register its model here (a private class: hence the version pin).
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOptions

    return {"tesseract": TesseractOptions, "ocrwatchd": OcrwatchdOptions}


@hookimpl
def add_options(parser) -> None:
    g = parser.add_argument_group("ocrwatchd", "ocrwatchd's engine, in place of Tesseract")
    g.add_argument("--ocrwatchd-config", metavar="FILE", type=Path,
                   help="an ocrwatchd TOML config whose [engine] table sets the engine (models, tiling, ...)")
    g.add_argument("--ocrwatchd-device", choices=["auto", "cpu", "cuda"],
                   help="where the models run (default auto: CUDA when it works, else the CPU)")
    g.add_argument("--ocrwatchd-threads", metavar="N", type=int,
                   help="CPU threads per page being read (default: the cores shared out over --jobs)")


@hookimpl
def check_options(options) -> None:
    if options.ocr_engine == "none":
        return
    if options.ocr_engine == "tesseract":
        raise BadArgsError("--ocr-engine tesseract: the ocrwatchd plugin replaces Tesseract; drop one of them")
    if options.pdf_renderer == "sandwich":
        raise BadArgsError("--pdf-renderer sandwich is not supported by the ocrwatchd plugin (use auto/fpdf2)")
    missing = sorted(set(options.languages) - LANGUAGES)
    if missing:
        raise BadArgsError(f"ocrwatchd's recogniser does not read {', '.join(missing)} "
                           f"(-l takes: {', '.join(sorted(LANGUAGES))})")
    settings = engine_settings(options)
    from .modelstore import ModelError, load_manifest

    try:
        load_manifest(settings.manifest)     # cheap: fail before any page is rendered, not in every worker
    except ModelError as e:
        raise MissingDependencyError(f"ocrwatchd: {e}; install the models with `ocrwatchd models install`") \
            from None


@hookimpl
def get_ocr_engine(options):
    if options is not None and options.ocr_engine == "none":
        return None                          # OCRmyPDF's null engine
    return OcrwatchdEngine()
