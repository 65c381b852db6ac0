"""The page stages: detect → (turn upright) → recognize → drop strays → marks → order, over a PageContext.

Each stage is a thin step over the engine's pure functions (after OCRmyPDF's _pipeline.py); run.py strings them
together per page and document.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..engine.checkbox import EMPTY, TICKED
from ..engine.dbpost import Detection, min_area_quad
from ..engine.decode import DecodedImage
from ..engine.detector import DetectionOutput
from ..engine.justified import justified_rows
from ..engine.layout import levelled, page_slant, reading_order
from ..engine.orientation import VERTICAL_CELLS, VERTICAL_SAMPLE, set_vertically, turn, turn_back
from ..engine.orphans import LEVEL_SLANT, LevelFrame, already_read, joined_with_neighbour, mark_box, orphan_candidates
from ..engine.linecrop import crop_quad, quad_size
from ..engine.recognize import doubted_line_is_text, spread_words
from ..engine.ink import one_glyph_repeated
from ..engine.segment import Piece, mostly_words, sub_quad
from ..engine.textclean import glyph_rule, repeated_cjk, stray_cjk
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
    vertical: bool = False                            # … CJK set in columns, not a page fed in sideways


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
    def back(pts: list) -> np.ndarray:
        return turn_back(np.array(pts), ctx.orientation, width, height)

    for line in ctx.lines:
        line.update(line_json(Detection(back(line["polygon"]), line["score"])))
        line["words"] = [word_json(back(w["polygon"]), w["text"], w["score"]) for w in line.get("words", [])]


def recognize_stage(ctx: PageContext, engine: Engine) -> None:
    """Read every line; boxes read as nothing (empty, below min_line_score, or below min_text_score and not shaped
    like a text line) were not text and are dropped. A doubted line that is kept keeps its low text_score.

    A line read with a wide gap becomes one line per field (see engine/segment.py), each with its part of the box.
    """
    dets: list[Detection] = ctx.detection.lines
    rec: dict[str, float] = {}
    ctx.vertical = _set_vertically(ctx, engine)
    readings = engine.recognizer.read_lines(ctx.image.pixels, [d.quad for d in dets], rec, precise=ctx.vertical,
                                            vertical=ctx.vertical, page_lines=True)
    # the recogniser's session.run seconds inside "recognize" (pages add up), beside the detector's detect_inference
    spent = ctx.timings.get("recognize_inference", 0.0) + rec.get("inference", 0.0)
    ctx.timings["recognize_inference"] = round(spent, 4)
    settings = engine.settings
    height, width = ctx.image.pixels.shape[:2]
    kept, dropped = [], 0
    for det, reading in zip(dets, readings):
        t0, t1, v0, v1 = reading.bounds
        pieces = reading.fields or [Piece(t0, t1, reading.text, reading.score)]
        for piece in pieces:
            r0, r1 = piece.rows or (v0, v1)
            quad = sub_quad(det.quad, piece.t0, piece.t1, r0, r1)
            doubted = piece.score < settings.min_text_score
            if not piece.text.strip() or doubted and (piece.score < settings.min_line_score
                                                      or not _doubted_text(piece.text, quad, width, height)):
                dropped += 1
                continue
            if (doubted or not any(ch.isalnum() for ch in piece.text)) and one_glyph_repeated(
                    crop_quad(ctx.image.pixels, quad, engine.recognizer.spec.pad)):
                dropped += 1              # a rule of one glyph printed over and over, whatever it was read as
                continue
            fitted = (piece.t0, piece.t1, r0, r1) != (0.0, 1.0, 0.0, 1.0)
            part = line_json(Detection(quad, det.score) if fitted else det)
            part["text"], part["text_score"] = piece.text, round(piece.score, 4)
            part["words"] = _words(det.quad, reading.words, piece, r0, r1)
            kept.append(part)
    ctx.dropped_lines = dropped
    ctx.lines = kept


def _set_vertically(ctx: PageContext, engine: Engine) -> bool:
    """A page read turned a quarter: is it CJK set in columns (engine/orientation.set_vertically)? Then its lines
    are read in fp32 (its glyphs lie on their side in them). Asked of the middles of the longest lines, read first
    for it: on Chinese pages turned 90° the question costs 0.035 s a page, asked of six whole lines it cost 0.16."""
    recognizer = engine.recognizer
    if ctx.orientation not in (90, 270) or recognizer.recheck is None:
        return False

    def middle(quad: np.ndarray) -> np.ndarray:
        width, height = quad_size(quad)
        half = min(0.5, (VERTICAL_CELLS + 2) * height / (2 * max(width, 1)))
        return sub_quad(quad, 0.5 - half, 0.5 + half)

    longest = sorted((d.quad for d in ctx.detection.lines), key=lambda q: -quad_size(q)[0])[:VERTICAL_SAMPLE]
    quads = [middle(q) for q in longest]
    return set_vertically(recognizer, ctx.image.pixels, quads, recognizer.read_lines(ctx.image.pixels, quads),
                          ctx.orientation)


def _doubted_text(text: str, quad: np.ndarray, width: int, height: int) -> bool:
    """A reading below min_text_score that is still a text line (engine/recognize.py doubted_line_is_text)."""
    width_px, height_px = quad_size(quad)          # a vertical line is as long as it is tall
    length, line_height = max(width_px, height_px), min(width_px, height_px)
    at_edge = bool((quad.min(axis=0) <= 1).any() or quad[:, 0].max() >= width - 1 or quad[:, 1].max() >= height - 1)
    return doubted_line_is_text(text, length, line_height, at_edge)


def _words(quad: np.ndarray, read: tuple[Piece, ...], part: Piece, v0: float, v1: float) -> list[dict]:
    """The words of one result line (a whole read line or a field of it), each boxed in the line's quad.

    They are the reading's words lying in the part; should their tokens not match the part's text (cleaning
    changed its spacing), the part's words are spread over it by their share of its characters instead.
    """
    tokens = part.text.split()
    inside = [w for w in read if part.t0 <= (w.t0 + w.t1) / 2 <= part.t1]
    if [w.text for w in inside] != tokens:
        inside = spread_words(part.text, part.t0, part.t1, part.score)
    return [word_json(sub_quad(quad, max(w.t0, part.t0), min(w.t1, part.t1), v0, v1), w.text, w.score)
            for w in inside]


def word_json(quad: np.ndarray, text: str, score: float) -> dict:
    out = line_json(Detection(quad, score))
    return {"text": text, "polygon": out["polygon"], "box": out["box"], "score": out["score"]}


def marks_stage(ctx: PageContext, engine: Engine) -> None:
    """Read the lone marks the detector skipped on the rows of the lines found (engine/orphans.py).

    Each mark is read together with its nearest line on the row (that line's words next to it: orphans.CONTEXT)
    and kept only where the recogniser is sure of it (min_mark_score); letters of the joint reading that are the
    line's own end are the line's (orphans.already_read). Where the field split parts it from that line it
    becomes a line of its own, boxed to its ink (a colon column); where it does not, it is part of that line's
    text (`DISCOUNT :`, `: CS0001`), and the line takes it in: its text and its box grow by the mark. The line's
    own reading is kept as it was.
    """
    if not ctx.lines:
        return
    pixels = ctx.image.pixels
    slant = page_slant([l["polygon"] for l in ctx.lines])
    if abs(slant) < LEVEL_SLANT:
        frame, level, boxes = None, pixels, np.array([l["box"] for l in ctx.lines])
    else:   # searched on the page turned level, read where it lies
        frame = LevelFrame.of(slant, pixels.shape[1], pixels.shape[0])
        level = frame.image(pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY))
        boxes = frame.boxes([l["polygon"] for l in ctx.lines])
    def words(k: int) -> np.ndarray:      # line k's words' [x0, x1] along its row, where its row is searched
        found = ctx.lines[k].get("words", [])
        spans = frame.boxes([w["polygon"] for w in found]) if frame is not None else np.array([w["box"] for w in found])
        return spans.reshape(-1, 4)[:, [0, 2]]
    jobs = [(ink, near) for ink in orphan_candidates(level, boxes)
            if (near := joined_with_neighbour(boxes, ink, words=words)) is not None]
    del level
    # nearest first, so two marks on one side of a line are taken in in their order
    jobs.sort(key=lambda job: job[1].gap)
    on_page = (lambda quad: quad) if frame is None else frame.page
    readings = engine.recognizer.read_lines(pixels, [on_page(near.quad) for _, near in jobs]) if jobs else []
    for (ink, near), reading in zip(jobs, readings):
        inside = [n for n, (t, c, _) in enumerate(reading.chars) if near.lo <= t <= near.hi and c != " "]
        on_right = ink[0] >= boxes[near.index, 0]
        if inside:      # the line's last letter, read within the mark's margin, is the line's
            between = reading.chars[:inside[0]] if on_right else reading.chars[inside[-1] + 1:]
            owned = already_read(ctx.lines[near.index]["text"], "".join(c for _, c, _ in between if c != " "),
                                 "".join(reading.chars[n][1] for n in inside), on_right)
            inside = inside[owned:] if on_right else inside[:len(inside) - owned]
        if not inside or min(reading.chars[n][2] for n in inside) < engine.settings.min_mark_score:
            continue
        text = "".join(reading.chars[n][1] for n in inside)
        score = float(np.mean([reading.chars[n][2] for n in inside]))
        line_height = boxes[near.index, 3] - boxes[near.index, 1]
        mid = (near.lo + near.hi) / 2
        field = next((f for f in reading.fields or [] if f.t0 <= mid <= f.t1), None)
        mark = on_page(mark_box(ink, line_height))
        if field is not None and all(near.lo <= t <= near.hi for t, c, _ in reading.chars
                                     if c != " " and field.t0 <= t <= field.t1):
            line = line_json(Detection(mark, score))
            line["text"], line["text_score"] = text, round(score, 4)   # no detector score: the reading's
            line["words"] = [word_json(mark, text, score)]
            ctx.lines.append(line)
        else:
            beside = inside[0] - 1 if on_right else inside[-1] + 1
            space = " " if 0 <= beside < len(reading.chars) and reading.chars[beside][1] == " " else ""
            line = ctx.lines[near.index]
            line["text"] = line["text"] + space + text if on_right else text + space + line["text"]
            grown = _stretched(np.array(line["polygon"]), mark)
            line.update(line_json(Detection(grown, line["score"])))
            words = line["words"]
            if space:    # a word of its own, before or after the line's words: the line's box over the mark
                words.insert(len(words) if on_right else 0, word_json(sub_quad(grown, *_along(grown, mark)), text,
                                                                      score))
            else:        # glued to the word beside it, which grows over it
                k = -1 if on_right else 0
                glued = words[k]["text"] + text if on_right else text + words[k]["text"]
                words[k] = word_json(_stretched(np.array(words[k]["polygon"]), mark), glued, words[k]["score"])


def _stretched(quad: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The quad lengthened along its own width (its height and slant kept) to reach over the given points."""
    if len(quad) != 4:      # a polygon: its bounding box stands for it
        x0, y0, x1, y1 = quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max()
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    t0, t1 = _along(quad, corners)
    return sub_quad(quad, min(0.0, t0), max(1.0, t1))


def _along(quad: np.ndarray, points: np.ndarray) -> tuple[float, float]:
    """Where the points reach along the quad's width: the least and greatest, as fractions of it."""
    along = quad[1] - quad[0]
    t = (np.asarray(points) - quad[0]) @ along / max(float(along @ along), 1e-9)
    return float(t.min()), float(t.max())


def drop_stray_stage(ctx: PageContext) -> None:
    """Rules of repeated glyphs (`=====`), and doubted lines repeating a few CJK characters (a faded rule misread),
    are drawn, not text; then lone one- or two-character CJK readings on a page without CJK text are specks and
    strokes. Rules go first: a rule misread as CJK must not make the page look like a CJK one."""
    drop_rules_stage(ctx)
    _drop(ctx, stray_cjk([l["text"] for l in ctx.lines]))


def drop_rules_stage(ctx: PageContext) -> None:
    """Rules of repeated glyphs and doubted lines repeating a few CJK characters (drop_stray_stage). Asked again
    of the lines as the page's last stage left them: a rule read in parts too short to call a rule (seven and
    two glyphs, RULE_MIN_GLYPHS 8) is one when the marks search and the justified lines' join have made it one
    line (fresh seed 1409 of bench/mkreceipt.py photographed: `水冰水冰水水水 水水`, an asterisk rule)."""
    _drop(ctx, [glyph_rule(l["text"]) or repeated_cjk(l["text"], l["text_score"]) for l in ctx.lines])


def _drop(ctx: PageContext, flagged: list[bool]) -> None:
    """Drop the flagged lines, counted in dropped_lines."""
    ctx.dropped_lines += sum(flagged)
    ctx.lines = [line for line, drop in zip(ctx.lines, flagged) if not drop]


def join_justified_stage(ctx: PageContext) -> None:
    """A justified line that its stretched spaces parted (engine/justified.py justified_rows) made one line again:
    its text the parts' joined by a space, its box the smallest rectangle over theirs, its words theirs. Rows
    are judged in the page turned level (a skewed page's stretched line stands higher at one end than at the
    other), with each line's first word's width (a word that did not fit at the end of the line above)."""
    first_words = [l["words"][0]["box"][2] - l["words"][0]["box"][0] if l.get("words") else 0.0 for l in ctx.lines]
    runs = justified_rows(levelled([l["polygon"] for l in ctx.lines]),
                          np.array(first_words)) if len(ctx.lines) > 2 else []
    gone: set[int] = set()
    for run in runs:
        parts = [ctx.lines[i] for i in run]
        if not mostly_words([p["text"] for p in parts]):
            continue              # figures in a row are a table's, however their rows line up
        # a field led by a checkbox (found in its pixels) is a form's option, not a word stretched apart
        # (FUNSD-train photographed: `☐ Permissive  ☑ Mandatory`, 5 px apart in a column of options flush at both
        # ends, was joined once lines 0.29 shorter than it counted as flush, justified.AS_TALL)
        if any(p["text"].startswith((EMPTY, TICKED)) for p in parts[1:]):
            continue
        corners = np.array([p for part in parts for p in part["polygon"]], np.float64)
        joined = line_json(Detection(min_area_quad(corners)[0], float(np.mean([p["score"] for p in parts]))))
        joined["text"] = " ".join(p["text"] for p in parts)
        joined["text_score"] = round(float(np.average([p["text_score"] for p in parts],
                                                      weights=[len(p["text"]) for p in parts])), 4)
        joined["words"] = [w for p in parts for w in p["words"]]
        ctx.lines[run[0]] = joined
        gone.update(run[1:])
    if gone:
        ctx.lines = [line for i, line in enumerate(ctx.lines) if i not in gone]


def order_stage(ctx: PageContext) -> None:
    ctx.lines = [ctx.lines[i] for i in reading_order(levelled([line["polygon"] for line in ctx.lines]))]


def _timed(ctx: PageContext, name: str, fn, *args) -> None:
    """Run a stage and add its time (pages of one file add up)."""
    t0 = time.perf_counter()
    fn(ctx, *args)
    ctx.timings[name] = round(ctx.timings.get(name, 0.0) + time.perf_counter() - t0, 4)


def page_stages(ctx: PageContext, engine: Engine) -> None:
    """detect → orientation → recognize → strays → justified lines → marks → justified lines → rules → order on
    one page's pixels."""
    width, height = ctx.image.width, ctx.image.height
    _timed(ctx, "detect", detect_stage, engine)
    if engine.page_orientation is not None:
        _timed(ctx, "orientation", orientation_stage, engine)
    if engine.recognizer is not None:
        _timed(ctx, "recognize", recognize_stage, engine)
        drop_stray_stage(ctx)     # first: a box that is not text must not hide a mark's ink from the search
        join_justified_stage(ctx)
        if engine.settings.min_mark_score < 1:
            _timed(ctx, "marks", marks_stage, engine)
            join_justified_stage(ctx)     # again: a mark the search found may end a stretched line (`resource  -`)
        drop_rules_stage(ctx)
    order_stage(ctx)
    if ctx.orientation:
        turn_back_stage(ctx, width, height)
