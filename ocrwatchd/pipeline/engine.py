"""The engine's settings and its loaded models. On the CPU one Engine serves every daemon worker (ONNX Runtime's
session.run may be called from several threads at once, and the stages keep no state between calls)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..documents import DocumentOptions
from ..engine.decode import DEFAULT_MAX_PIXELS
from ..engine.detector import TextDetector, TilingParams
from ..engine.orientation import LineOrientation, PageOrientation
from ..engine.recognize import TextRecognizer
from ..engine.session import CPU, PARALLEL_RUNS, LazySession, SessionConfig, available_cores, create_session
from ..engine.tiling import TILE_PRESETS
from ..modelstore import ModelError, load_manifest


class EngineSettings(BaseModel):
    """Engine knobs, shared by `ocrwatchd detect` flags and the daemon's [engine] table."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None                 # manifest entry; None: the manifest's default detector
    manifest: Path | None = None             # None: $OCRWATCHD_MODELS_DIR or the checkout's models/
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # auto: the int8 models (quantize.py) where the models run on the CPU, fp32 on CUDA; int8 or fp32 forces one.
    precision: Literal["auto", "int8", "fp32"] = "auto"
    require_gpu: bool = False
    gpu_device_id: int = 0
    gpu_mem_limit_mb: int | None = None
    threads: int = Field(0, ge=0)            # intra-op threads; 0 = one per available core
    parallel_runs: int = Field(0, ge=0)      # model runs in flight at once per page; 0: 2 where a CPU engine has 2+ threads
    tile_size: int = 1024
    overlap: int = Field(160, ge=0)
    batch_size: int = Field(1, ge=1)
    min_side: int = Field(736, ge=0)
    max_scale: float = Field(1.0, gt=0, le=1.0)
    target_text_height: float | None = Field(32.0, gt=0)   # None: always native resolution (see TilingParams)
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0)
    thresh: float | None = None              # None: the model's manifest default
    box_thresh: float | None = None
    unclip_ratio: float | None = None
    polygons: bool = False
    recognize: bool = True                   # False: detection only (`--no-recognize`)
    recognizer: str | None = None            # manifest entry; None: the manifest's default recognizer
    rec_batch_size: int = Field(8, ge=1)     # line crops per recognition run
    recheck_score: float = Field(0.8, ge=0, le=1)    # lines the int8 recogniser reads below this are read again by its fp32 model; 0: never
    min_text_score: float = Field(0.5, ge=0, le=1)   # a box read as nothing this sure is not a text line
    min_line_score: float = Field(0.3, ge=0, le=1)   # … unless it is line-shaped (recognize.py doubted_line_is_text) and read at least this surely
    min_mark_score: float = Field(0.7, ge=0, le=1)   # lone marks beside lines (engine/orphans.py) read this surely are kept; 1: never look
    ascii_quotes: bool = True                # typographic quotes “ ” ‘ ’ → " ' in Latin lines
    space_gap: float = Field(1.2, ge=0)      # a blank this many pitches wide between letters read unspaced is a space; 0: never
    field_gap: float = Field(2.1, ge=0)      # split a read line where it has a blank this many character pitches wide; 0: never
    classify: bool = False                   # 0°/180° line classifier before reading each line
    orientation: bool = True                 # turn pages lying sideways or upside down (0/90/180/270) before reading
    # Documents (documents/): how PDF pages are rendered and how much of a file is read.
    pdf_dpi: float = Field(300.0, gt=0)      # pages that are not one scan
    pdf_max_dpi: float = Field(600.0, gt=0)  # scans are rendered at their own resolution up to this
    pdf_max_pixels: int = Field(100_000_000, gt=0)   # a rendered page is never larger (lower dpi, with a warning)
    pdf_text: Literal["use", "ocr"] = "use"  # pages with a text layer: take it, or render and read them anyway
    max_pages: int = Field(2000, ge=1)       # documents with more pages are refused
    read_ahead: bool = True                  # render/decode a document's next page while this one is read (readahead.py)

    def model_post_init(self, _ctx) -> None:
        if self.tile_size not in TILE_PRESETS:
            raise ValueError(f"tile_size must be one of {TILE_PRESETS}, got {self.tile_size}")

    def document_options(self, memory_limit: int | None = None, pdf_text: str | None = None) -> DocumentOptions:
        return DocumentOptions(max_pixels=self.max_pixels, pdf_dpi=self.pdf_dpi, pdf_max_dpi=self.pdf_max_dpi,
                               pdf_max_pixels=self.pdf_max_pixels, pdf_text=pdf_text or self.pdf_text,
                               max_pages=self.max_pages, memory_limit=memory_limit)


def open_model(manifest, name: str, cfg: SessionConfig) -> tuple:
    """A model verified and opened: (entry, session, provider, sha256)."""
    entry, path, digest = manifest.verified_path(name)
    session, provider = create_session(path, cfg)
    return entry, session, provider, digest


# Companions verified when the engine starts and opened at their first run (session.LazySession): the fp32
# recheck reads only the lines the int8 recogniser doubts, and 3 of bench/speed.py's 5 quick pages have none
# (SROIE 100 and UNLV 8071 send it 3 and 4 lines). Opening it costs 0.06 s of a core (graph optimisation) and
# its memory; `ocrwatchd detect` on the sample scan, 5 interleaved pairs with the recheck off: 1.25-1.33 ->
# 1.17-1.30 s.
OPENED_ON_USE = ("recheck",)


def _companion(key: str, manifest, name: str, cfg: SessionConfig) -> tuple:
    """A companion model at the engine's start: opened, (entry, session, provider, sha256); or, one opened on
    use, its file checked now so that a damaged one fails the start, (entry, path, sha256)."""
    return manifest.verified_path(name) if key in OPENED_ON_USE else open_model(manifest, name, cfg)


def _session_of(manifest, name: str, cfg: SessionConfig):
    """The model opened for a LazySession: verified again, as what runs must be what was checked."""
    return open_model(manifest, name, cfg)[1]


class Engine:
    """Loaded, verified models and their sessions, shared by the threads that read pages with them."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        manifest = load_manifest(settings.manifest)
        entry = manifest.entry(settings.model)
        if entry.task != "detect":
            raise ValueError(f"model {entry.name!r} is a {entry.task} model, not a detector")
        session_cfg = SessionConfig(
            device=settings.device, require_gpu=settings.require_gpu, gpu_device_id=settings.gpu_device_id,
            gpu_mem_limit_mb=settings.gpu_mem_limit_mb, intra_op_threads=settings.threads,
        )
        # A fresh process's start is mostly model loads, and loading and optimising a graph releases the GIL, so
        # the recogniser and the classifier are opened (the recheck's file checked: OPENED_ON_USE) in threads
        # while this one opens the detector.
        # Which of them, and where, is known only once the detector is open (CUDA or not, hence int8 or not):
        # they are opened for the CPU, the outcome wherever CUDA is not insisted on, and kept when that is what the
        # detector found; on a GPU host they are dropped and opened again after it, one by one. Engine() on this
        # 2-core host, 5 fresh processes: 1.02-1.12 s one after another, 0.56-0.74 s this way.
        cpu_cfg = replace(session_cfg, device="cpu")
        guess = self._companions(manifest, self._precision_on_cpu(manifest, entry))
        speculate = bool(guess) and settings.device != "cuda" and not settings.require_gpu
        with ThreadPoolExecutor(max_workers=max(1, len(guess)), thread_name_prefix="model-load") as pool:
            early = {key: pool.submit(_companion, key, manifest, name, cpu_cfg)
                     for key, name in guess.items()} if speculate else {}
            entry, session, provider, digest = self._open(manifest, entry, session_cfg)
            self.precision = entry.precision
            if provider == CPU:   # the other models need not try CUDA again (each attempt costs a model load)
                session_cfg = cpu_cfg
            wanted = self._companions(manifest, self.precision)
            if early and provider == CPU and wanted == guess:
                opened = {key: future.result() for key, future in early.items()}
            else:
                opened = {key: _companion(key, manifest, name, session_cfg) for key, name in wanted.items()}
        spec = entry.detector_spec(
            recognizing=settings.recognize, thresh=settings.thresh, box_thresh=settings.box_thresh,
            unclip_ratio=settings.unclip_ratio, polygons=settings.polygons,
        )
        self.tiling = TilingParams(
            tile_size=settings.tile_size, overlap=settings.overlap, batch_size=settings.batch_size,
            min_side=settings.min_side, max_scale=settings.max_scale,
            target_text_height=settings.target_text_height,
        )
        # On the CPU, a model given two or more cores runs two batches at a time (session.PARALLEL_RUNS); a
        # worker of one thread (the daemon's layout on 2 cores) runs them one after another.
        cores = settings.threads or available_cores()
        self.parallel_runs = settings.parallel_runs or (PARALLEL_RUNS if provider == CPU and cores >= 2 else 1)
        self.detector = TextDetector(session, spec, self.tiling, self.parallel_runs)
        self.model_info = {"name": entry.name, "file": entry.file, "sha256": digest, "provider": provider,
                           "precision": self.precision}
        self.recognizer: TextRecognizer | None = None
        self.page_orientation: PageOrientation | None = None
        if not settings.recognize:
            return
        rec_entry, rec_session, rec_provider, rec_digest = opened["rec"]
        rec_spec = rec_entry.recognizer_spec(rec_session.get_modelmeta().custom_metadata_map,
                                             max_batch=settings.rec_batch_size, field_gap=settings.field_gap,
                                             space_gap=settings.space_gap, ascii_quotes=settings.ascii_quotes,
                                             recheck_score=settings.recheck_score)
        recheck = None
        if "recheck" in opened:
            parent, _, parent_digest = opened["recheck"]
            recheck = LazySession(partial(_session_of, manifest, parent.name, session_cfg))
        classifier = None
        if "cls" in opened:
            cls_entry, cls_session, _, cls_digest = opened["cls"]
            classifier = LineOrientation(cls_session, cls_entry.classifier_spec())
            self.model_info["classifier"] = {"name": cls_entry.name, "sha256": cls_digest}
        self.recognizer = TextRecognizer(rec_session, rec_spec, classifier if settings.classify else None, recheck,
                                         self.parallel_runs)
        if settings.orientation:
            self.page_orientation = PageOrientation(classifier, self.recognizer)
        self.model_info["recognizer"] = {"name": rec_entry.name, "file": rec_entry.file, "sha256": rec_digest,
                                         "provider": rec_provider,
                                         "precision": rec_entry.precision}
        if recheck is not None:
            self.model_info["recognizer"]["recheck"] = {"name": parent.name, "sha256": parent_digest,
                                                        "below_score": settings.recheck_score}

    def _companions(self, manifest, precision: str) -> dict[str, str]:
        """The models read with a detector of this precision: "rec" (int8 beside an int8 detector, where the
        manifest has one), "recheck" (an int8 recogniser's fp32 parent) and "cls" (the line classifier, for page
        orientation); none when recognition is off."""
        settings = self.settings
        if not settings.recognize:
            return {}
        name = settings.recognizer or manifest.default_recognizer
        if not name:
            raise ModelError(f"{manifest.path} names no recognizer: set one, or recognize = false")
        rec_entry = manifest.entry(name)
        if rec_entry.task != "recognize":
            raise ValueError(f"model {rec_entry.name!r} is a {rec_entry.task} model, not a recognizer")
        if precision == "int8" and (rec_int8 := manifest.int8_of(rec_entry.name)) is not None:
            rec_entry = rec_int8
        wanted = {"rec": rec_entry.name}
        if rec_entry.derived_from and settings.recheck_score > 0:   # the int8 recogniser's doubts go to its fp32 model
            wanted["recheck"] = rec_entry.derived_from
        if settings.classify or settings.orientation:
            if not manifest.default_classifier:
                raise ModelError(f"{manifest.path} names no classifier: set one, or classify = orientation = false")
            wanted["cls"] = manifest.default_classifier
        return wanted

    def _precision_on_cpu(self, manifest, entry) -> str:
        """The precision _open gives the detector when its session lands on the CPU."""
        int8 = manifest.int8_of(entry.name)
        return entry.precision if int8 is None or self.settings.precision == "fp32" else int8.precision

    def _open(self, manifest, entry, cfg: SessionConfig):
        """The detector opened at the precision asked for: (the entry opened, session, provider, sha256).

        auto is int8 where the models run on the CPU (quantize.py: about 2.3× faster per tile with VNNI) and fp32
        on CUDA, where the fp32 models are what the GPU runs best. Which one runs is known only once a session is
        open, so the int8 model is opened first: on a CPU host (the common case, onnxruntime-gpu without CUDA
        libraries) that is the only load; a GPU host then opens the fp32 model as well (0.3 s more, once per worker).
        """
        want = self.settings.precision
        int8 = manifest.int8_of(entry.name)      # None for an int8 entry itself (--model …-int8)
        if int8 is None or want == "fp32":
            return open_model(manifest, entry.name, cfg)
        first = open_model(manifest, int8.name, cfg)
        if want == "int8" or first[2] == CPU:
            return first
        del first                                # CUDA works: it runs the fp32 model
        return open_model(manifest, entry.name, cfg)

    @property
    def provider(self) -> str:
        return self.model_info["provider"]
