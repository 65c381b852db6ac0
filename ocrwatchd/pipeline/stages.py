"""The page stages: detect → (turn upright) → recognize → drop strays → marks → order, over a PageContext.

Each stage is a thin step over the engine's pure functions (after OCRmyPDF's _pipeline.py); run.py strings them
together per page and document.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..engine.dbpost import Detection
from ..engine.decode import DecodedImage
from ..engine.detector import DetectionOutput
from ..engine.layout import reading_order
from ..engine.orientation import turn, turn_back
from ..engine.orphans import joined_with_neighbour, mark_box, orphan_candidates
from ..engine.recognize import stray_cjk
from ..engine.segment import sub_quad
from .engine import Engine
from .result import line_json


@dataclass
class PageContext:
    """One page on its way through the stages; its pixels are dropped when the page is done."""

    image: DecodedImage
    timings: dict[str, float]                          # shared with the document: pages add up
    detection: DetectionOutput | None = None
    lines: list[dict] = field(default_factory=list)   # result lines in reading order
    dropped_lines: int = 0                            # boxes that recognition read as nothing
    orientation: int = 0                              # clockwise turn that made the page upright


def detect_stage(ctx: PageContext, engine: Engine) -> None:
    ctx.detection = engine.detector.detect(ctx.image.pixels)
    ctx.lines = [line_json(d) for d in ctx.detection.lines]


def orientation_stage(ctx: PageContext, engine: Engine) -> None:
    """Turn a page lying sideways or upside down upright, and detect again on the upright pixels.

    Only the turned case pays a second detection; an upright page costs a few crops and one classifier run.
    """
    angle = engine.page_orientation.decide(ctx.image.pixels, [d.quad for d in ctx.detection.lines])
    if angle:
        ctx.orientation = angle
        ctx.image = DecodedImage(np.ascontiguousarray(turn(ctx.image.pixels, angle)), ctx.image.info)
        detect_stage(ctx, engine)


def turn_back_stage(ctx: PageContext, width: int, height: int) -> None:
    """Lines found on the turned page, back in the page as given (width × height); reading order is kept."""
    for line in ctx.lines:
        line.update(line_json(Detection(turn_back(np.array(line["polygon"]), ctx.orientation, width, height),
                                        line["score"])))


def recognize_stage(ctx: PageContext, engine: Engine) -> None:
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


def marks_stage(ctx: PageContext, engine: Engine) -> None:
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


def drop_stray_stage(ctx: PageContext) -> None:
    """Lone one- or two-character CJK readings on a page without CJK text are specks and strokes, not text."""
    stray = stray_cjk([l["text"] for l in ctx.lines])
    ctx.dropped_lines += sum(stray)
    ctx.lines = [l for l, s in zip(ctx.lines, stray) if not s]


def order_stage(ctx: PageContext) -> None:
    ctx.lines = [ctx.lines[i] for i in reading_order(np.array([l["box"] for l in ctx.lines]).reshape(-1, 4))]


def _timed(ctx: PageContext, name: str, fn, *args) -> None:
    """Run a stage and add its time (pages of one file add up)."""
    t0 = time.perf_counter()
    fn(ctx, *args)
    ctx.timings[name] = round(ctx.timings.get(name, 0.0) + time.perf_counter() - t0, 4)


def page_stages(ctx: PageContext, engine: Engine) -> None:
    """detect → orientation → recognize → strays → marks → order on one page's pixels."""
    width, height = ctx.image.width, ctx.image.height
    _timed(ctx, "detect", detect_stage, engine)
    if engine.page_orientation is not None:
        _timed(ctx, "orientation", orientation_stage, engine)
    if engine.recognizer is not None:
        _timed(ctx, "recognize", recognize_stage, engine)
        drop_stray_stage(ctx)     # first: a box that is not text must not hide a mark's ink from the search
        if engine.settings.min_mark_score < 1:
            _timed(ctx, "marks", marks_stage, engine)
    order_stage(ctx)
    if ctx.orientation:
        turn_back_stage(ctx, width, height)
