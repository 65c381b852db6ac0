"""Which way up text is: single lines (0°/180°, `--classify`) and whole pages (0/90/180/270, on by default).

A page fed into the scanner the wrong way round still detects fine (lines are lines), but every crop is
upside down and reads as nonsense. PP-OCR's mobile classifier looks at each crop squeezed to 48×192 and says
0° or 180°. Per line (LineOrientation) it turns the crops it is sure of; per page (PageOrientation) it screens
the page's longest lines before the recogniser settles the doubtful cases.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .linecrop import crop_quad, quad_size
from .preprocess import Profile


@dataclass(frozen=True)
class ClassifierSpec:
    input_name: str
    output_name: str | None
    profile: Profile
    height: int = 48
    width: int = 192
    thresh: float = 0.9      # turn only when the model is this sure
    max_batch: int = 16


def to_cls_tensor(crops: list[np.ndarray], spec: ClassifierSpec) -> np.ndarray:
    out = np.zeros((len(crops), 3, spec.height, spec.width), dtype=np.float32)
    mean = np.array(spec.profile.mean, np.float32).reshape(3, 1, 1)
    std = np.array(spec.profile.std, np.float32).reshape(3, 1, 1)
    for n, crop in enumerate(crops):
        w = min(spec.width, max(1, int(np.ceil(spec.height * crop.shape[1] / max(crop.shape[0], 1)))))
        small = cv2.resize(crop, (w, spec.height))
        planes = np.broadcast_to(small, (3, spec.height, w)) if small.ndim == 2 else small.transpose(2, 0, 1)
        out[n, :, :, :w] = (planes.astype(np.float32) - mean) / std
    return out


class LineOrientation:
    def __init__(self, session, spec: ClassifierSpec) -> None:
        self.session = session
        self.spec = spec

    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """For each crop: is it upside down (class 180° at or above the threshold)?"""
        return [p >= self.spec.thresh for p in self.p_upside_down(crops)]

    def p_upside_down(self, crops: list[np.ndarray]) -> list[float]:
        """For each crop, the classifier's probability that it is upside down."""
        out: list[float] = []
        outputs = [self.spec.output_name] if self.spec.output_name else None
        for i in range(0, len(crops), self.spec.max_batch):
            probs = self.session.run(outputs, {self.spec.input_name: to_cls_tensor(crops[i:i + self.spec.max_batch],
                                                                                     self.spec)})[0]
            out.extend(float(p[1]) for p in probs)
        return out


# ---------------------------------------------------------------- whole pages: 0 / 90 / 180 / 270

@dataclass(frozen=True)
class OrientationParams:
    sample: int = 12           # the longest lines along the page's axis carry the most evidence
    min_lines: int = 2         # with fewer lines along the axis the page is left as it is
    long_ratio: float = 2.0    # a box this many times longer than high is a line along its long side
    # On level lines, the classifier's mean 180° probability below which the page is upright without asking the
    # recogniser (upright pages must cost little: this keeps them to a crop and one small classifier run).
    upright_p180: float = 0.3
    # The recogniser reads the sampled lines both ways a few at a time and stops once the two readings' mean
    # scores stand this far apart. Read upright, a line scores 0.92-1.0 (one of 36 0.6), turned 0.0-0.79: over
    # the first four lines the means differed by 0.41-0.67 on a FUNSD form, a synthetic fax and a Chinese page,
    # each at 0, 90 and 180 degrees. So a page is settled by four lines instead of twelve (a doubted upright
    # form 0.34 s -> 0.1 s), and only one whose readings stay close is read to the end of the sample.
    read_step: int = 4
    decisive: float = 0.2


def line_axis(quads: list[np.ndarray], long_ratio: float = 2.0) -> tuple[str | None, list[int]]:
    """("h" | "v" | None, indices of the lines along it): the direction most text runs, weighted by length.

    A line is level when its box is long_ratio times wider than high, upright (a sideways page's line) when that
    much higher than wide; squarish boxes (a word of two letters, a stamp) say nothing and are not counted.
    """
    level, upright = [], []
    for n, q in enumerate(quads):
        q = np.asarray(q, dtype=np.float64)
        w = max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))
        h = max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))
        if w >= long_ratio * h:
            level.append((w, n))
        elif h >= long_ratio * w:
            upright.append((h, n))
    total_h, total_v = sum(w for w, _ in level), sum(h for h, _ in upright)
    if not level and not upright:
        return None, []
    chosen, axis = (level, "h") if total_h >= total_v else (upright, "v")
    return axis, [n for _, n in sorted(chosen, key=lambda t: -t[0])]   # longest first, ties in page order


class PageOrientation:
    """Which way up a page is: the line geometry gives the axis, the line classifier and the recogniser the sense.

    Level lines: the page is upright or upside down. The classifier looks at the longest lines; if it is
    clearly not upside down the page is upright (the cheap, common case). Otherwise — and always for a sideways
    page, whose lines stand upright — the recogniser reads the same lines both ways round and the reading it is
    surer of wins: it, not a second model, knows what text looks like. Returns the clockwise turn (0, 90, 180,
    270) that makes the page upright.
    """

    def __init__(self, classifier: LineOrientation, recognizer, params: OrientationParams = OrientationParams()):
        self.classifier, self.recognizer, self.params = classifier, recognizer, params

    def decide(self, image: np.ndarray, quads: list[np.ndarray]) -> int:
        p = self.params
        axis, along = line_axis(quads, p.long_ratio)
        if axis is None or len(along) < p.min_lines:
            return 0
        # crop_quad lays an upright box down by turning it counter-clockwise: on a page turned 90° clockwise
        # that makes the line read normally, so "as cut" means 270 there.
        crops = [crop_quad(image, quads[n], self.recognizer.spec.pad) for n in along[:p.sample]]
        if axis == "h" and float(np.mean(self.classifier.p_upside_down(crops))) < p.upright_p180:
            return 0
        as_cut, turned = self._read_both_ways(crops)
        if axis == "h":
            return 180 if turned > as_cut else 0
        return 90 if turned > as_cut else 270

    def _read_both_ways(self, crops: list[np.ndarray]) -> tuple[float, float]:
        """Mean scores of the crops read as cut and turned 180°, over as many of them as it took to tell."""
        step, as_cut, turned = max(1, self.params.read_step), [], []
        for i in range(0, len(crops), step):
            chunk = crops[i:i + step]
            readings = self.recognizer.read_crops(chunk + [cv2.rotate(c, cv2.ROTATE_180) for c in chunk])
            as_cut += _scores(readings[:len(chunk)])
            turned += _scores(readings[len(chunk):])
            if abs(np.mean(as_cut) - np.mean(turned)) >= self.params.decisive:
                break
        return float(np.mean(as_cut)), float(np.mean(turned))


# A page read turned a quarter is either one fed in sideways (its glyphs upright once turned) or CJK set vertically
# in columns (its glyphs lying on their side in the turned page's lines, where the int8 recogniser reads them sure
# and wrong more often). Cut each CJK character's em out of a few lines and stand it up again: vertical type then
# reads better than as cut, a sideways page far worse. The mean score of the cells stood up minus that of the cells
# as cut, a page (VERTICAL_SAMPLE lines, VERTICAL_CELLS characters each): vertical pages (bench/mkzh.py --vertical,
# seeds 3 and 9, 10 pages) +0.001 to +0.080; pages fed in sideways (turned 90°: Chinese pages seeds 3 and 41, 12;
# Chinese receipts seed 3, 11 with CJK among their longest lines; Chinese tables seed 3, 8) -0.47 to -0.94.
VERTICAL_SAMPLE = 3     # lines …
VERTICAL_CELLS = 8      # … and characters from the middle of each
VERTICAL_MARGIN = 0.2


def set_vertically(recognizer, image: np.ndarray, quads: list[np.ndarray], readings: list, angle: int) -> bool:
    """Whether the lines of a page turned by `angle` (90 or 270, clockwise) are CJK type set in columns: their
    glyphs, each cut out in an em as wide as the line is high and turned back a quarter, read at least about as
    surely (VERTICAL_MARGIN) as the same cells as cut. quads and readings: the turned page's lines as read."""
    from .segment import is_cjk
    from .textclean import has_cjk

    lines = sorted((n for n, r in enumerate(readings) if r.chars and has_cjk(r.text)),
                   key=lambda n: -len(readings[n].chars))[:VERTICAL_SAMPLE]
    as_cut, stood_up = [], []
    for n in lines:
        crop = crop_quad(image, quads[n], recognizer.spec.pad)
        h = crop.shape[0]
        pad_px = recognizer.spec.pad * min(quad_size(quads[n]))
        cells = []
        chars = [c for c in readings[n].chars if is_cjk(c[1])]       # a Latin letter is not an em wide
        middle = max(0, (len(chars) - VERTICAL_CELLS) // 2)
        for t, _, _ in chars[middle:middle + VERTICAL_CELLS]:
            x = int(pad_px + t * (crop.shape[1] - 2 * pad_px)) - h // 2
            cell = crop[:, max(0, x):max(0, x) + h]
            cells.append(cv2.copyMakeBorder(cell, 0, 0, 0, h - cell.shape[1], cv2.BORDER_REPLICATE)
                         if cell.shape[1] < h else cell)
        if cells:
            as_cut.append(np.concatenate(cells, axis=1))
            stood_up.append(np.concatenate([turn(c, 360 - angle) for c in cells], axis=1))
    if not as_cut:
        return False
    scores = _scores(recognizer.read_crops(as_cut + stood_up))
    return float(np.mean(scores[len(as_cut):])) >= float(np.mean(scores[:len(as_cut)])) - VERTICAL_MARGIN


def _scores(readings: list[tuple[str, float]]) -> list[float]:
    return [score if text.strip() else 0.0 for text, score in readings]


def turn(image: np.ndarray, degrees: int) -> np.ndarray:
    """The image turned clockwise by 0, 90, 180 or 270 degrees."""
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return image if degrees == 0 else cv2.rotate(image, codes[degrees])


def turn_back(points: np.ndarray, degrees: int, width: int, height: int) -> np.ndarray:
    """Points of an image turned clockwise by `degrees` (see turn), mapped back to the page as given (width ×
    height, the page before turning). The order of the points is kept, so a line's outline still starts at the
    corner where its text starts."""
    pts = np.asarray(points, dtype=np.float64)
    u, v = pts[:, 0], pts[:, 1]
    if degrees == 90:        # page (x, y) → turned (height - y, x)
        return np.stack([v, height - u], axis=1)
    if degrees == 180:
        return np.stack([width - u, height - v], axis=1)
    if degrees == 270:       # page (x, y) → turned (y, width - x)
        return np.stack([width - v, u], axis=1)
    return pts
