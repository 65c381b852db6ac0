"""One scan through the engine, as small named stages over a context (after OCRmyPDF's _pipeline.py).

read → decode → detect → result. I/O happens only at the edges (read_source here, writing in the caller); the
stages in between are the engine's pure functions. The daemon and the CLI both run exactly this.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .engine.decode import DEFAULT_MAX_PIXELS, DecodedImage, decode_image, decode_page
from .engine.dbpost import Detection
from .engine.detector import DetectionOutput, TextDetector, TilingParams
from .engine.layout import page_text, reading_order
from .engine.orientation import LineOrientation
from .engine.recognize import TextRecognizer, stray_cjk
from .engine.orphans import joined_with_neighbour, mark_box, orphan_candidates
from .engine.segment import sub_quad
from .engine.session import SessionConfig, create_session
from .engine.tiling import TILE_PRESETS
from .modelstore import ModelError, load_manifest

SCHEMA = "ocrwatchd/1"


class EngineSettings(BaseModel):
    """Engine knobs, shared by `ocrwatchd detect` flags and the daemon's [engine] table."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None                 # manifest entry; None: the manifest's default detector
    manifest: Path | None = None             # None: $OCRWATCHD_MODELS_DIR or the checkout's models/
    device: Literal["auto", "cpu", "cuda"] = "auto"
    require_gpu: bool = False
    gpu_device_id: int = 0
    gpu_mem_limit_mb: int | None = None
    threads: int = Field(0, ge=0)            # intra-op threads; 0 = one per available core
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
    min_text_score: float = Field(0.5, ge=0, le=1)   # a box read as nothing this sure is not a text line
    min_mark_score: float = Field(0.7, ge=0, le=1)   # lone marks beside lines (engine/orphans.py) read this surely are kept; 1: never look
    ascii_quotes: bool = True                # typographic quotes “ ” ‘ ’ → " ' in Latin lines
    space_gap: float = Field(1.2, ge=0)      # a blank this many pitches wide between letters read unspaced is a space; 0: never
    field_gap: float = Field(2.1, ge=0)      # split a read line where it has a blank this many character pitches wide; 0: never
    classify: bool = False                   # 0°/180° line classifier before reading (upside-down scans)

    def model_post_init(self, _ctx) -> None:
        if self.tile_size not in TILE_PRESETS:
            raise ValueError(f"tile_size must be one of {TILE_PRESETS}, got {self.tile_size}")


class Engine:
    """Loaded, verified models and their session; one per worker (sessions are not shared across threads)."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        manifest = load_manifest(settings.manifest)
        entry, path, digest = manifest.verified_path(settings.model)
        if entry.task != "detect":
            raise ValueError(f"model {entry.name!r} is a {entry.task} model, not a detector")
        session_cfg = SessionConfig(
            device=settings.device, require_gpu=settings.require_gpu, gpu_device_id=settings.gpu_device_id,
            gpu_mem_limit_mb=settings.gpu_mem_limit_mb, intra_op_threads=settings.threads,
        )
        session, provider = create_session(path, session_cfg)
        spec = entry.detector_spec(
            recognizing=settings.recognize, thresh=settings.thresh, box_thresh=settings.box_thresh, unclip_ratio=settings.unclip_ratio,
            polygons=settings.polygons,
        )
        self.tiling = TilingParams(
            tile_size=settings.tile_size, overlap=settings.overlap, batch_size=settings.batch_size,
            min_side=settings.min_side, max_scale=settings.max_scale,
            target_text_height=settings.target_text_height,
        )
        self.detector = TextDetector(session, spec, self.tiling)
        self.model_info = {"name": entry.name, "file": entry.file, "sha256": digest, "provider": provider}
        self.recognizer: TextRecognizer | None = None
        if settings.recognize:
            name = settings.recognizer or manifest.default_recognizer
            if not name:
                raise ModelError(f"{manifest.path} names no recognizer: set one, or recognize = false")
            rec_entry, rec_path, rec_digest = manifest.verified_path(name)
            if rec_entry.task != "recognize":
                raise ValueError(f"model {rec_entry.name!r} is a {rec_entry.task} model, not a recognizer")
            rec_session, rec_provider = create_session(rec_path, session_cfg)
            rec_spec = rec_entry.recognizer_spec(rec_session.get_modelmeta().custom_metadata_map,
                                                 max_batch=settings.rec_batch_size, field_gap=settings.field_gap,
                                                 space_gap=settings.space_gap, ascii_quotes=settings.ascii_quotes)
            orientation = None
            if settings.classify:
                if not manifest.default_classifier:
                    raise ModelError(f"{manifest.path} names no classifier: set one, or classify = false")
                cls_entry, cls_path, cls_digest = manifest.verified_path(manifest.default_classifier)
                cls_session, _ = create_session(cls_path, session_cfg)
                orientation = LineOrientation(cls_session, cls_entry.classifier_spec())
                self.model_info["classifier"] = {"name": cls_entry.name, "sha256": cls_digest}
            self.recognizer = TextRecognizer(rec_session, rec_spec, orientation)
            self.model_info["recognizer"] = {"name": rec_entry.name, "file": rec_entry.file, "sha256": rec_digest,
                                             "provider": rec_provider}

    @property
    def provider(self) -> str:
        return self.model_info["provider"]


@dataclass
class ScanContext:
    """Everything one scan accumulates on its way through the stages."""

    path: Path
    data: bytes = b""
    size: int = 0
    sha256: str = ""
    image: DecodedImage | None = None
    detection: DetectionOutput | None = None
    lines: list[dict] = field(default_factory=list)   # result lines in reading order
    dropped_lines: int = 0                            # boxes that recognition read as nothing
    timings: dict[str, float] = field(default_factory=dict)
    pages: list[dict] = field(default_factory=list)        # result pages, one per page read
    page_stats: list[dict] = field(default_factory=list)   # tiles, batches, scale… per page
    result: dict | None = None


def read_source(ctx: ScanContext) -> None:
    """Read the file once; every later stage works from these bytes."""
    ctx.data = ctx.path.read_bytes()
    ctx.size = len(ctx.data)
    ctx.sha256 = hashlib.sha256(ctx.data).hexdigest()


def decode_stage(ctx: ScanContext, engine: Engine) -> None:
    ctx.image = decode_image(ctx.data, max_pixels=engine.settings.max_pixels)


def decode_page_stage(ctx: ScanContext, engine: Engine, data: bytes, index: int) -> None:
    ctx.image = decode_page(data, index, max_pixels=engine.settings.max_pixels)


def detect_stage(ctx: ScanContext, engine: Engine) -> None:
    ctx.detection = engine.detector.detect(ctx.image.pixels)
    ctx.lines = [line_json(d) for d in ctx.detection.lines]


def recognize_stage(ctx: ScanContext, engine: Engine) -> None:
    """Read every line; boxes read as nothing (empty, or below min_text_score) were not text and are dropped.

    A line read with a wide gap becomes one line per field (see engine/segment.py), each with its part of the box.
    """
    dets: list[Detection] = ctx.detection.lines
    readings = engine.recognizer.read_lines(ctx.image.pixels, [d.quad for d in dets])
    kept, dropped = [], 0
    for det, line, reading in zip(dets, ctx.lines, readings):
        t0, t1, v0, v1 = reading.bounds
        if reading.fields:
            parts = [(line_json(Detection(sub_quad(det.quad, f.t0, f.t1, v0, v1), det.score)), f.text, f.score)
                     for f in reading.fields]
        elif reading.bounds != (0.0, 1.0, 0.0, 1.0):
            parts = [(line_json(Detection(sub_quad(det.quad, t0, t1, v0, v1), det.score)), reading.text, reading.score)]
        else:
            parts = [(line, reading.text, reading.score)]
        for part, text, score in parts:
            if text.strip() and score >= engine.settings.min_text_score:
                part["text"], part["text_score"] = text, round(score, 4)
                kept.append(part)
            else:
                dropped += 1
    ctx.dropped_lines = dropped
    ctx.lines = kept


def marks_stage(ctx: ScanContext, engine: Engine) -> None:
    """Read the lone marks the detector skipped on the rows of the lines found (engine/orphans.py).

    Each mark is read together with its nearest line on the row and kept only where the recogniser is sure of
    it (min_mark_score). Where the field split parts it from that line it becomes a line of its own, boxed to its
    ink (a colon column); where it does not, it is part of that line's text (`DISCOUNT :`, `: CS0001`), and the
    line takes it in: its text and its box grow by the mark. The line's own reading is kept as it was.
    """
    if not ctx.lines:
        return
    boxes = np.array([l["box"] for l in ctx.lines])
    jobs = [(ink, near) for ink in orphan_candidates(ctx.image.pixels, boxes)
            if (near := joined_with_neighbour(boxes, ink)) is not None]
    # nearest first, so two marks on one side of a line are taken in in their order
    jobs.sort(key=lambda job: job[1].gap)
    readings = engine.recognizer.read_lines(ctx.image.pixels, [near.quad for _, near in jobs]) if jobs else []
    for (ink, near), reading in zip(jobs, readings):
        inside = [n for n, (t, c, _) in enumerate(reading.chars) if near.lo <= t <= near.hi and c != " "]
        if not inside or min(reading.chars[n][2] for n in inside) < engine.settings.min_mark_score:
            continue
        text = "".join(reading.chars[n][1] for n in inside)
        score = float(np.mean([reading.chars[n][2] for n in inside]))
        line_height = boxes[near.index, 3] - boxes[near.index, 1]
        mid = (near.lo + near.hi) / 2
        field = next((f for f in reading.fields or [] if f.t0 <= mid <= f.t1), None)
        if field is not None and all(near.lo <= t <= near.hi for t, c, _ in reading.chars
                                     if c != " " and field.t0 <= t <= field.t1):
            line = line_json(Detection(mark_box(ink, line_height), score))
            line["text"], line["text_score"] = text, round(score, 4)   # no detector score: the reading's
            ctx.lines.append(line)
        else:
            on_right = ink[0] >= boxes[near.index, 0]
            beside = inside[0] - 1 if on_right else inside[-1] + 1
            space = " " if 0 <= beside < len(reading.chars) and reading.chars[beside][1] == " " else ""
            line = ctx.lines[near.index]
            line["text"] = line["text"] + space + text if on_right else text + space + line["text"]
            line.update(line_json(Detection(_stretched(np.array(line["polygon"]), mark_box(ink, line_height)),
                                            line["score"])))


def _stretched(quad: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The quad lengthened along its own width (its height and slant kept) to reach over the given points."""
    if len(quad) != 4:      # a polygon: its bounding box stands for it
        x0, y0, x1, y1 = quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max()
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    along = quad[1] - quad[0]
    t = (corners - quad[0]) @ along / max(float(along @ along), 1e-9)
    return sub_quad(quad, min(0.0, float(t.min())), max(1.0, float(t.max())))


def drop_stray_stage(ctx: ScanContext) -> None:
    """Lone one- or two-character CJK readings on a page without CJK text are specks and strokes, not text."""
    stray = stray_cjk([l["text"] for l in ctx.lines])
    ctx.dropped_lines += sum(stray)
    ctx.lines = [l for l, s in zip(ctx.lines, stray) if not s]


def order_stage(ctx: ScanContext) -> None:
    ctx.lines = [ctx.lines[i] for i in reading_order(np.array([l["box"] for l in ctx.lines]).reshape(-1, 4))]


def _timed(ctx: ScanContext, name: str, fn, *args) -> None:
    """Run a stage and add its time (pages of one file add up)."""
    t0 = time.perf_counter()
    fn(ctx, *args)
    ctx.timings[name] = round(ctx.timings.get(name, 0.0) + time.perf_counter() - t0, 4)


def page_stages(ctx: ScanContext, engine: Engine, number: int) -> None:
    """detect → recognize → order on ctx.image, then record the page."""
    _timed(ctx, "detect", detect_stage, engine)
    if engine.recognizer is not None:
        _timed(ctx, "recognize", recognize_stage, engine)
        drop_stray_stage(ctx)     # first: a box that is not text must not hide a mark's ink from the search
        if engine.settings.min_mark_score < 1:
            _timed(ctx, "marks", marks_stage, engine)
    order_stage(ctx)
    det = ctx.detection
    page = {"page": number, "width": ctx.image.width, "height": ctx.image.height, "lines": ctx.lines}
    if engine.recognizer is not None:
        page["text"] = page_text([l["box"] for l in ctx.lines], [l["text"] for l in ctx.lines])
    ctx.pages.append(page)
    ctx.page_stats.append({"tiles": len(det.grid.tiles), "batches": det.batches, "scale": det.scale,
                           "pixels": ctx.image.width * ctx.image.height, "dropped": ctx.dropped_lines,
                           "timings": det.timings, "input_width": det.grid.input_width})


def process(path: Path, engine: Engine) -> ScanContext:
    """Run every stage on one file; ctx.result is the result JSON object, ctx.image/ctx.lines are page 1's.

    Pages of a multi-page file are decoded and processed one at a time, so one page's pixels exist at a time.
    """
    ctx = ScanContext(path=Path(path))
    t0 = time.perf_counter()
    _timed(ctx, "read", read_source)
    _timed(ctx, "decode", decode_stage, engine)
    n_pages = ctx.image.info.pages
    if n_pages == 1:
        ctx.data = b""  # the encoded bytes are not needed past decoding; free them before the big stage
    page_stages(ctx, engine, 1)
    for index in range(1, n_pages):
        page = ScanContext(path=ctx.path, timings=ctx.timings, pages=ctx.pages, page_stats=ctx.page_stats)
        _timed(page, "decode", decode_page_stage, engine, ctx.data, index)
        page_stages(page, engine, index + 1)
        ctx.dropped_lines += page.dropped_lines
        del page
    ctx.data = b""
    ctx.timings["total"] = round(time.perf_counter() - t0, 4)
    ctx.result = build_result(ctx, engine)
    return ctx


def _pt(v: float) -> float:
    return round(float(v), 1)


def line_json(det) -> dict:
    pts = det.polygon if det.polygon is not None else det.quad
    xs, ys = pts[:, 0], pts[:, 1]
    return {
        "polygon": [[_pt(x), _pt(y)] for x, y in pts],
        "box": [_pt(xs.min()), _pt(ys.min()), _pt(xs.max()), _pt(ys.max())],
        "score": round(float(det.score), 4),
    }


def build_result(ctx: ScanContext, engine: Engine) -> dict:
    img = ctx.image
    s = engine.settings
    db = engine.detector.spec.db
    timings = dict(ctx.timings)
    for st in ctx.page_stats:
        for k, v in st["timings"].items():
            timings[f"detect_{k}"] = round(timings.get(f"detect_{k}", 0.0) + v, 4)
    recognized = engine.recognizer is not None
    first = ctx.page_stats[0]
    all_lines = [l for p in ctx.pages for l in p["lines"]]
    if len(ctx.pages) > 1:
        for page, st in zip(ctx.pages, ctx.page_stats):
            page["scale"] = round(st["scale"], 4)
    return {
        "schema": SCHEMA,
        "ocrwatchd_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "path": str(ctx.path), "size": ctx.size,
            "sha256": ctx.sha256, "format": img.info.format, "width": img.width, "height": img.height,
            "pages": img.info.pages,
        },
        "model": dict(engine.model_info),
        "params": {
            "tile_size": first["input_width"] if engine.detector.spec.static_input else s.tile_size,
            "overlap": s.overlap, "batch_size": s.batch_size, "min_side": s.min_side, "max_scale": s.max_scale,
            "target_text_height": s.target_text_height, "scale": round(first["scale"], 4), "thresh": db.thresh, "box_thresh": db.box_thresh,
            "unclip_ratio": db.unclip_ratio, "max_pixels": s.max_pixels, "recognize": recognized,
            "min_text_score": s.min_text_score if recognized else None,
            "field_gap": s.field_gap if recognized else None,
            "space_gap": s.space_gap if recognized else None,
            "min_mark_score": s.min_mark_score if recognized else None,
        },
        "stats": {"tiles": sum(st["tiles"] for st in ctx.page_stats),
                  "batches": sum(st["batches"] for st in ctx.page_stats),
                  "pixels": sum(st["pixels"] for st in ctx.page_stats),
                  "lines": len(all_lines), "dropped_lines": ctx.dropped_lines},
        "timings": timings,
        "pages": ctx.pages,
        "compat": compat_block(all_lines, recognized, timings["total"]),
        # Said, never silent: what this result does not cover.
        "warnings": ([f"only {len(ctx.pages)} of {img.info.pages} pages were read"]
                     if len(ctx.pages) < img.info.pages else []),
    }


def compat_block(lines: list[dict], recognized: bool, seconds: float) -> dict:
    """The cv_resnet18_ocr-detection WebUI's result fields, so its users' scripts keep working.

    boxes are 8 integers per line (x1, y1, …, x4, y4), clockwise from the top-left corner; texts are empty
    strings when recognition is off.
    """
    return {
        "success": True,
        "texts": [l.get("text", "") for l in lines] if recognized else ["" for _ in lines],
        "boxes": [[int(round(v)) for pt in _quad_of(l) for v in pt] for l in lines],
        "scores": [l["score"] for l in lines],
        "inference_time": seconds,
    }


def _quad_of(line: dict) -> list[list[float]]:
    poly = line["polygon"]
    if len(poly) == 4:
        return poly
    x0, y0, x1, y1 = line["box"]
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def visualization_jpeg(ctx: ScanContext, quality: int = 85) -> bytes:
    """Page 1 with its detected lines drawn, as JPEG bytes (what --visualize and `visualize = true` write)."""
    import cv2

    ok, jpg = cv2.imencode(".jpg", draw_lines(ctx.image.pixels, ctx.lines), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the visualization")
    return jpg.tobytes()


def draw_lines(pixels: np.ndarray, lines: list[dict]) -> np.ndarray:
    """The picture the original WebUI shows: the image with each detected line outlined."""
    import cv2

    canvas = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR) if pixels.ndim == 2 else pixels.copy()
    thickness = max(2, round(max(canvas.shape[:2]) / 1500))
    for line in lines:
        pts = np.round(np.array(line["polygon"])).astype(np.int32)
        cv2.polylines(canvas, [pts], True, (0, 0, 255), thickness)
    return canvas
