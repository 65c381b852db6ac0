"""The result JSON (schema ocrwatchd/1, ocrwatchd/schema/result.schema.json): built once, every format reads it."""
from __future__ import annotations

from datetime import datetime, timezone

from .. import __version__

SCHEMA = "ocrwatchd/1"


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


def build_result(ctx, engine) -> dict:
    """The result object for a finished document context (run.DocumentContext)."""
    s = engine.settings
    db = engine.detector.spec.db
    timings = dict(ctx.timings)
    for st in ctx.page_stats:
        for k, v in st["timings"].items():
            timings[f"detect_{k}"] = round(timings.get(f"detect_{k}", 0.0) + v, 4)
    recognized = engine.recognizer is not None
    first = ctx.page_stats[0] if ctx.page_stats else None
    all_lines = [line for p in ctx.pages for line in p["lines"]]
    doc = ctx.document
    tile_size = first["input_width"] if first and engine.detector.spec.static_input else s.tile_size
    return {
        "schema": SCHEMA,
        "ocrwatchd_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "path": str(ctx.path), "size": doc.size, "sha256": doc.sha256, "format": doc.format,
            "width": ctx.pages[0]["width"], "height": ctx.pages[0]["height"], "pages": doc.page_count,
        },
        "model": dict(engine.model_info),
        "params": {
            "tile_size": tile_size, "overlap": s.overlap, "batch_size": s.batch_size, "min_side": s.min_side,
            "max_scale": s.max_scale, "target_text_height": s.target_text_height,
            "scale": round(first["scale"], 4) if first else 1.0, "thresh": db.thresh, "box_thresh": db.box_thresh,
            "unclip_ratio": db.unclip_ratio, "max_pixels": s.max_pixels, "recognize": recognized,
            "min_text_score": s.min_text_score if recognized else None,
            "min_line_score": s.min_line_score if recognized else None,
            "field_gap": s.field_gap if recognized else None,
            "space_gap": s.space_gap if recognized else None,
            "min_mark_score": s.min_mark_score if recognized else None,
            "orientation": engine.page_orientation is not None,
            "pdf_text": ctx.options.pdf_text if doc.format == "pdf" else None,
        },
        "stats": {"tiles": sum(st["tiles"] for st in ctx.page_stats),
                  "blank_tiles": sum(st["blank_tiles"] for st in ctx.page_stats),
                  "batches": sum(st["batches"] for st in ctx.page_stats),
                  "pixels": sum(st["pixels"] for st in ctx.page_stats),
                  "lines": len(all_lines), "dropped_lines": ctx.dropped_lines},
        "timings": timings,
        "pages": ctx.pages,
        "compat": compat_block(all_lines, timings["total"]),
        # Said, never silent: what this result does not cover.
        "warnings": ctx.warnings,
    }


def compat_block(lines: list[dict], seconds: float) -> dict:
    """The cv_resnet18_ocr-detection WebUI's result fields, so its users' scripts keep working.

    boxes are 8 integers per line (x1, y1, …, x4, y4), clockwise from the top-left corner; texts are empty
    strings for lines that were not read (recognition off).
    """
    return {
        "success": True,
        "texts": [line.get("text", "") for line in lines],
        "boxes": [[int(round(v)) for pt in _quad_of(line) for v in pt] for line in lines],
        "scores": [line["score"] for line in lines],
        "inference_time": seconds,
    }


def _quad_of(line: dict) -> list[list[float]]:
    poly = line["polygon"]
    if len(poly) == 4:
        return poly
    x0, y0, x1, y1 = line["box"]
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
