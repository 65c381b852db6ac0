#!/usr/bin/env python3
"""How well a set's results keep the reading order of their ground truth: the kit's scores match lines one by one
and do not see it.

Usage: .venv/bin/python bench/reading_order.py SETDIR DUMPDIR [--rows] [--shared ../shared]

SETDIR holds NAME.png|jpg… with NAME.gt.json (line boxes, listed in reading order); DUMPDIR the results, NAME.json
(`bench/scoreset_fast.py SETDIR --dump DUMPDIR`, or `ocrwatchd detect`'s JSON). Each result line is matched to the
ground-truth line its box lies in most (at least 40 % of its area; a line split in parts matches one line several
times), and a page's order score is the longest run of its matched lines, in the result's order, whose
ground-truth positions never go back, over the lines matched: 1.0 in order; about 0.5 for two columns read
across, row by row, as one. Ground truth only means reading order where its generator wrote it so: mkbook.py's
report pages and mkzh.py's pages do, FUNSD's entities and mkscan's drawing labels do not (those score low
whatever the order).
"""
from __future__ import annotations

import argparse
import bisect
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def longest_in_order(seq: list[int]) -> int:
    """Length of the longest non-decreasing subsequence (patience sorting)."""
    tails: list[int] = []
    for x in seq:
        k = bisect.bisect_right(tails, x)
        tails[k:k + 1] = [x]
    return len(tails)


def page_order_score(result_boxes: np.ndarray, truth_boxes: np.ndarray) -> float | None:
    """The order score of one page: boxes are N×4 [x0, y0, x1, y1], each list in its own order."""
    matched = []
    for x0, y0, x1, y1 in result_boxes:
        w = np.clip(np.minimum(x1, truth_boxes[:, 2]) - np.maximum(x0, truth_boxes[:, 0]), 0, None)
        h = np.clip(np.minimum(y1, truth_boxes[:, 3]) - np.maximum(y0, truth_boxes[:, 1]), 0, None)
        k = int(np.argmax(w * h))
        if w[k] * h[k] >= 0.4 * max((x1 - x0) * (y1 - y0), 1.0):
            matched.append(k)
    return longest_in_order(matched) / len(matched) if matched else None


def boxes_of(lines: list[dict], poly) -> np.ndarray:
    return np.array([poly(line).bounds for line in lines], dtype=np.float64).reshape(-1, 4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("setdir", type=Path)
    ap.add_argument("dumpdir", type=Path)
    ap.add_argument("--rows", action="store_true", help="a line per page")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "eval"))
    from evalocr import lines_of, poly

    scores = {}
    for truth_file in sorted(a.setdir.glob("*.gt.json")):
        name = truth_file.name[:-len(".gt.json")]
        result_file = a.dumpdir / f"{name}.json"
        if not result_file.exists():
            continue
        truth = lines_of(json.loads(truth_file.read_text()))
        pages = json.loads(result_file.read_text()).get("pages") or []
        if len(truth) < 2 or not pages:
            continue
        score = page_order_score(boxes_of(pages[0]["lines"], poly), boxes_of(truth, poly))
        if score is not None:
            scores[name] = score
            if a.rows:
                print(f"{name}\t{score:.3f}")
    mean = float(np.mean(list(scores.values()))) if scores else None
    print(json.dumps({"set": str(a.setdir), "pages": len(scores), "order": None if mean is None else round(mean, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
