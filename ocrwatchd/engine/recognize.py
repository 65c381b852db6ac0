"""The recognition stage: text-line quads → rectified crops → batched CTC model → text and confidence.

PP-OCR's recogniser reads a 48-px-high line of any width and emits, per 8-px column, a distribution over
blank + its character list + space. Crops are batched by similar width (sorted by aspect ratio) so padding
wastes little work, and results are returned in the caller's order.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from .checkbox import find_checkboxes, trimmed, with_checkboxes
from .crowding import shown_rows, without_others
from .linecrop import crop_quad, is_turned, line_aspect, pad_quad, quad_size, rectified
from .preprocess import Profile
from .session import covered_seconds, in_parallel
from . import walls
from .textbox import field_rows, text_bounds
from .ink import ink_columns, ink_in_middle, ink_mask, minority_ink, without_rules
from .rulestub import without_rule_stubs
from .segment import CharSpan, Piece, split_fields, sub_quad, word_pieces
from .spaces import add_missed_spaces, halfwidth_marks
from .textclean import fullwidth_in_column, halfwidth_if_latin, has_cjk, latin_char_table, unsure_letters_in_numbers

BLANK = ""


@dataclass(frozen=True)
class RecognizerSpec:
    input_name: str
    output_name: str | None
    profile: Profile
    charset: tuple[str, ...]       # class index → symbol; index 0 is the CTC blank
    height: int = 48
    max_batch: int = 8             # crops per session.run …
    # … and at most this much padded width (model px) per run: the recogniser's attention grows with width², so
    # short crops (receipt items, labels) batch while long lines run alone. Measured on 2 CPU cores: batching
    # full-width page lines cost +40 % memory and was slower; batching short crops saved ~5 %.
    max_batch_width: int = 1600
    # Detection boxes hug the glyphs; the recogniser was trained on looser crops and reads edge punctuation
    # (the dot of "7.42", a closing ':') better with some background around it. Fraction of the line height.
    pad: float = 0.1
    # The recogniser's charset has full-width twins of ASCII punctuation (：，（）) from its Chinese training
    # text and sometimes picks them in Latin lines. In a line with no CJK character they are mapped to ASCII.
    latin_halfwidth: bool = True
    ascii_quotes: bool = True      # … and typographic quotes (“ ” ‘ ’) become " and ' in those lines
    upscale: int = cv2.INTER_LINEAR   # interpolation when a crop is enlarged to the model height
    max_width: int = 3200          # px at model height; a longer line is squeezed (~200 characters fit)
    # A blank gap this many character pitches wide where a space was read splits the line into fields (segment.py);
    # 0 keeps every detected line whole.
    field_gap: float = 2.1
    # Shrink a box to the text read in it where the detector's box overshoots (a stroke touching a label), and
    # split fields; False leaves every detected box as it is.
    refit: bool = True
    # A blank this many character pitches wide between two letters read with no space between is a space.
    space_gap: float = 1.2
    # Where the recogniser has a recheck session (the fp32 model behind an int8 one), a line read below this score
    # is read again by it and that reading is kept: int8 reads sure lines as fp32 does, but its coarser features
    # tip the doubtful ones (faxed small print).
    recheck_score: float = 0.8


def charset_from_metadata(meta: dict[str, str]) -> tuple[str, ...]:
    """PaddleOCR's class list: blank, the model's `character` metadata (one symbol per line), then space."""
    try:
        symbols = meta["character"].splitlines()
    except KeyError:
        raise ValueError("recognition model has no 'character' metadata (not a PaddleOCR CTC export?)") from None
    return (BLANK, *symbols, " ")


def ctc_best_paths(probs: np.ndarray, charset: tuple[str, ...]) -> list[list[CharSpan]]:
    """Best path decoding of N×T×C class probabilities: argmax per step, merge repeats, drop blanks.

    Each kept character comes with the frames its label held and their mean probability, so callers can place it.
    """
    if probs.ndim != 3 or probs.shape[2] != len(charset):
        raise ValueError(f"expected N×T×{len(charset)} probabilities, got {probs.shape}")
    best = probs.argmax(axis=2)
    # the winners' probabilities picked, not a second pass over all 18710 classes (probs.max: 0.2 s on UNLV 8071)
    conf = np.take_along_axis(probs, best[..., None], axis=2)[..., 0]
    out = []
    for idx, p in zip(best, conf):
        # runs of one label; a repeat is one character unless a blank separates it
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        ends = np.r_[starts[1:], len(idx)]
        out.append([CharSpan(charset[idx[a]], int(a), int(b), float(p[a])) for a, b in zip(starts, ends)
                    if idx[a] != 0])
    return out


def path_score(spans: list[CharSpan]) -> float:
    """A line's score: the mean probability of its characters' first frames (0 for an empty line), as PaddleOCR
    reports it."""
    return float(np.mean([s.prob for s in spans])) if spans else 0.0


def ctc_greedy_decode(probs: np.ndarray, charset: tuple[str, ...]) -> list[tuple[str, float]]:
    """Text and score (path_score) per line."""
    return [("".join(s.char for s in spans), path_score(spans)) for spans in ctc_best_paths(probs, charset)]


# A reading the recogniser doubts (below min_text_score) is still a line of text when the box is shaped like one:
# several characters read along a box many line heights long, clear of the image's edge. Specks, strokes,
# handwritten ticks and logos read as one to three characters in a short box; a line cut by the scan's edge is
# a sliver no one can read. Measured with min_text_score 0 (readings below 0.5): on faxed small print (a 4-6 line
# notice, 8-10 px, ~100 dpi) the doubted lines score 0.37-0.5 and are 40-75 line heights long; on FUNSD's 25
# forms every doubted reading is 1-3 characters or under 2.3 line heights (handwriting, checkbox ticks); on
# SROIE the two long doubted ones are print cut by the receipt photo's top edge.
MIN_DOUBTED_CHARS = 4        # letters or digits read
MIN_DOUBTED_LENGTH = 3.0     # box length in line heights


def doubted_line_is_text(text: str, length: float, height: float, at_edge: bool) -> bool:
    """Is a reading below min_text_score still a text line: MIN_DOUBTED_CHARS letters or digits along a box at
    least MIN_DOUBTED_LENGTH line heights long (length × height, the box as read), not touching the image edge?"""
    if at_edge or height <= 0 or length < MIN_DOUBTED_LENGTH * height:
        return False
    return sum(ch.isalnum() for ch in text) >= MIN_DOUBTED_CHARS


def spread_words(text: str, t0: float, t1: float, score: float) -> tuple[Piece, ...]:
    """Words placed by their share of the characters over [t0, t1], where no character positions are known
    (turned crops, or a cleaned text whose words no longer match the read ones)."""
    tokens = text.split()
    total = sum(len(t) for t in tokens) + len(tokens) - 1
    out, pos = [], 0
    for token in tokens:
        a, b = pos / total, (pos + len(token)) / total
        out.append(Piece(t0 + a * (t1 - t0), t0 + b * (t1 - t0), token, score))
        pos += len(token) + 1
    return tuple(out)


def _past(image: np.ndarray, quad: np.ndarray, px: float, right: bool, turned: bool) -> np.ndarray:
    """The page's gray for px pixels past a quad's right (or left) end, its rows, turned 180° where the crop is."""
    f = px / quad_size(quad)[0]
    part = rectified(image, sub_quad(quad, 1.0, 1.0 + f) if right else sub_quad(quad, -f, 0.0))
    gray = part if part.ndim == 2 else cv2.cvtColor(part, cv2.COLOR_BGR2GRAY)
    return cv2.rotate(gray, cv2.ROTATE_180) if turned else gray


def batches_by_width(aspects: list[float], max_batch: int, max_width: float = float("inf")) -> list[list[int]]:
    """Indices grouped by similar aspect ratio (narrow first), so a batch pads little.

    A batch is padded to its widest (last) crop; it closes when it holds max_batch crops or one more would make
    count × widest exceed max_width (aspect units × model height). A crop wider than that runs alone.
    """
    batches: list[list[int]] = []
    for i in sorted(range(len(aspects)), key=lambda i: aspects[i]):
        cur = batches[-1] if batches else None
        if cur is not None and len(cur) < max_batch and (len(cur) + 1) * aspects[i] <= max_width:
            cur.append(i)
        else:
            batches.append([i])
    return batches


def model_widths(crops: list[np.ndarray], spec: RecognizerSpec) -> list[int]:
    """Each crop's width once resized to the model height (aspect kept, at most max_width)."""
    return [min(spec.max_width, max(8, int(np.ceil(spec.height * c.shape[1] / max(c.shape[0], 1))))) for c in crops]


def to_line_tensor(crops: list[np.ndarray], spec: RecognizerSpec) -> np.ndarray:
    """Resize each crop to the model height keeping aspect, pad right to the batch's widest, normalise.

    Each plane is normalised in place in the batch, and a gray crop's plane is normalised once and copied to the
    planes whose mean and std are the same: 0.5 against 3.2 ms for 8 gray crops (a float copy of each crop per
    channel before).
    """
    hgt = spec.height
    widths = model_widths(crops, spec)
    batch_w = int(np.ceil(max(widths) / 8) * 8)
    out = np.zeros((len(crops), 3, hgt, batch_w), dtype=np.float32)   # 0 after normalisation = mid grey
    mean = np.asarray(spec.profile.mean, np.float32)
    std = np.asarray(spec.profile.std, np.float32)
    rgb = spec.profile.channel_order == "rgb"
    for n, (crop, w) in enumerate(zip(crops, widths)):
        line = cv2.resize(crop, (w, hgt), interpolation=cv2.INTER_AREA if crop.shape[0] > hgt else spec.upscale)
        for c in range(3):
            plane = out[n, c, :, :w]
            if line.ndim == 2 and c > 0 and mean[c] == mean[0] and std[c] == std[0]:
                plane[...] = out[n, 0, :, :w]
                continue
            src = line if line.ndim == 2 else line[:, :, 2 - c if rgb else c]
            np.subtract(src, mean[c], out=plane, casting="unsafe")
            np.divide(plane, std[c], out=plane)
    return out


@dataclass(frozen=True)
class LineReading:
    text: str
    score: float
    fields: list[Piece] | None = None   # the line split at wide gaps, or None when it is one field
    # where the text lies in the quad: fractions t0, t1 of its width and v0, v1 of its height (see text_bounds)
    bounds: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
    # each character read (spaces too), in reading order: its centre as a fraction of the quad's width, the
    # character and its probability; empty for turned crops and when refit is off
    chars: tuple[tuple[float, str, float], ...] = ()
    # each word of text (its whitespace-separated tokens, in order) and where it lies, [t0, t1] of the quad's width
    words: tuple[Piece, ...] = ()


class TextRecognizer:
    def __init__(self, session, spec: RecognizerSpec, orientation=None, recheck=None, parallel_runs: int = 1) -> None:
        self.session = session
        self.spec = spec
        self.orientation = orientation   # optional LineOrientation: turns upside-down crops first
        self.recheck = recheck           # optional session of the same model at full precision (spec.recheck_score)
        self.parallel_runs = parallel_runs   # line batches read at once (session.in_parallel)

    def recognize(self, image: np.ndarray, quads: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence for each quad (in image pixels), in the order given."""
        return [(r.text, r.score) for r in self.read_lines(image, quads)]

    def read_lines(self, image: np.ndarray, quads: list[np.ndarray],
                   timings: dict[str, float] | None = None, precise: bool = False,
                   vertical: bool = False, page_lines: bool = False) -> list[LineReading]:
        """A LineReading for each quad (in image pixels), in the order given.

        timings, where given, gets the seconds spent in the recogniser's session.run added under "inference" (as
        the detector reports its own; the recheck's runs are in it, the line classifier's are not).

        precise: read every line with the recheck session (the fp32 model behind an int8 one) where there is one,
        not only the doubted ones: for print the int8 model reads sure and wrong (CJK glyphs lying on their side,
        orientation.set_vertically).

        vertical: the lines are columns of CJK set vertically, read turned: their marks are vertical forms, whose
        cells along the column say nothing of their width (halfwidth_marks is not asked).

        page_lines: the quads are the page's lines; each is read from its own rows, without the letters of the
        lines above and below it (engine/crowding.py)."""
        spec = self.spec
        results: list[LineReading] = [LineReading("", 0.0)] * len(quads)
        rows = shown_rows(image, quads) if page_lines else None   # each quad's rows shown the model
        # Crops are cut per batch, so at most parallel_runs batches of line images exist at a time.
        aspects = [line_aspect(q) for q in quads]
        groups = batches_by_width(aspects, spec.max_batch, spec.max_batch_width / spec.height)
        spans: list = []
        session = self.recheck if precise and self.recheck is not None else self.session
        done = in_parallel(lambda idx: self._read_batch(image, quads, idx, session, vertical, rows), groups,
                           self.parallel_runs, spans)
        for idx, (readings, _) in zip(groups, done):
            for i, reading in zip(idx, readings):
                results[i] = reading
        if timings is not None:
            inference = (covered_seconds(spans, (self.session, self.recheck)) if spans
                         else sum(seconds for _, seconds in done))
            timings["inference"] = timings.get("inference", 0.0) + inference
        return results

    def _read_batch(self, image: np.ndarray, quads: list[np.ndarray], idx: list[int],
                    session, vertical: bool = False, rows: list[tuple[float, float]] | None = None
                    ) -> tuple[list[LineReading], float]:
        """The readings of quads[i] for i in idx, read as one batch by `session` (where it is the recogniser's
        own, its doubts then go to the recheck), and the seconds the sessions ran for them. rows[i], where given,
        are the rows of quads[i] the model is shown (its own line's: crowding.own_rows), grown by the pad the
        whole quad has, so the crop shown is as wide as the one everything after the model is measured in."""
        spec = self.spec
        outputs = [spec.output_name] if spec.output_name else None
        crops = [crop_quad(image, quads[i], spec.pad) for i in idx]
        shown = [crops[n] if not rows or rows[i] == (0.0, 1.0) else
                 rectified(image, pad_quad(sub_quad(quads[i], 0.0, 1.0, *rows[i]), 0.0,
                                           spec.pad * min(quad_size(quads[i]))))
                 for n, i in enumerate(idx)]
        flipped = self.orientation.upside_down(shown) if self.orientation is not None else [False] * len(crops)
        crops = [cv2.rotate(c, cv2.ROTATE_180) if f else c for c, f in zip(crops, flipped)]
        shown = [cv2.rotate(c, cv2.ROTATE_180) if f else c for c, f in zip(shown, flipped)]
        tensor = to_line_tensor(shown, spec)
        t0 = time.perf_counter()
        probs = session.run(outputs, {spec.input_name: tensor})[0]
        t1 = time.perf_counter()
        paths = ctc_best_paths(probs, spec.charset)
        doubted = ([n for n, spans in enumerate(paths) if path_score(spans) < spec.recheck_score]
                   if self.recheck is not None and session is self.session else [])
        if doubted:
            t2 = time.perf_counter()
            again = self.recheck.run(outputs, {spec.input_name: tensor[doubted]})[0]
            t1 += time.perf_counter() - t2
            for n, spans in zip(doubted, ctc_best_paths(again, spec.charset)):
                paths[n] = spans
        frame_px = tensor.shape[3] / probs.shape[1]      # model px per output frame
        readings = [self._reading(quads[i], crop, spans, frame_px * seen.shape[1] / width, flip, image, vertical,
                                  rows[i] if rows else (0.0, 1.0))
                    for i, crop, seen, flip, width, spans in zip(idx, crops, shown, flipped, model_widths(shown, spec),
                                                                  paths)]
        return readings, t1 - t0

    def read_crops(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Raw text and score of line images already cut and lying flat, as the model reads them (no cleaning,
        refitting or splitting): what comparing two readings of the same line needs."""
        spec = self.spec
        outputs = [spec.output_name] if spec.output_name else None
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        aspects = [c.shape[1] / max(c.shape[0], 1) for c in crops]
        for idx in batches_by_width(aspects, spec.max_batch, spec.max_batch_width / spec.height):
            probs = self.session.run(outputs, {spec.input_name: to_line_tensor([crops[i] for i in idx], spec)})[0]
            for i, reading in zip(idx, ctc_greedy_decode(probs, spec.charset)):
                results[i] = reading
        return results

    def _reading(self, quad: np.ndarray, crop: np.ndarray, spans: list[CharSpan], px_per_frame: float,
                 flipped: bool, image: np.ndarray, vertical: bool = False,
                 own: tuple[float, float] = (0.0, 1.0)) -> LineReading:
        spec = self.spec
        clean = (lambda t: halfwidth_if_latin(t, spec.ascii_quotes)) if spec.latin_halfwidth else (lambda t: t)
        score = path_score(spans)
        cjk = has_cjk("".join(s.char for s in spans))
        if spec.latin_halfwidth and not cjk:
            spans = unsure_letters_in_numbers(spans)
        w, h = quad_size(quad)
        if not spec.refit or is_turned(w, h) or len(spans) < 1:   # turned crops keep their box whole
            text = clean("".join(s.char for s in spans))
            return LineReading(text, score, words=spread_words(text, 0.0, 1.0, score))
        pad_px = spec.pad * min(w, h)
        mask = ink_mask(crop)
        crossing = walls.crossing_rows(mask, pad_px)  # ink across the whole box: a cell's top or bottom rule
        borders = walls.borders(mask, crossing)      # … and through the whole crop (or cell): no letter's
        walled = mask & ~borders
        # an underline or fill-in rule is not text, nor ink in a gap; a new array, never written in place:
        # without_rules hands back its input when the crop is too short to hold a rule, and `walled` must keep
        # the crossing rows for `ruled` below (a short table cell's remnant of a thick rule is found by them)
        mask = without_rules(walled, h) & ~crossing[:, None]
        ruled = (walled & ~mask).any(axis=1)         # rows a rule was taken out of
        if borders.any():                            # … a table's walls among them part its cells
            tall = minority_ink(rectified(image, walls.tall_quad(quad)))
            borders = walls.confirmed(tall, borders, pad_px, flipped)
        if not ink_in_middle(mask):                  # a band's edge or a shade read as a glyph: no letters here
            return LineReading("", score)
        spans = without_rule_stubs(spans, px_per_frame, walled, crop, pad_px, h,
                                   lambda at_end, px: _past(image, pad_quad(quad, spec.pad), px, at_end != flipped,
                                                            flipped),
                                   lambda painted: self.read_crops([painted])[0][0])
        spans = trimmed(with_checkboxes(spans, find_checkboxes(mask, h), px_per_frame))
        if not spans:
            return LineReading("", score)
        ink = ink_columns(mask, pad_px)
        fitted = without_others(mask, own, pad_px, flipped)   # the box is fitted to its own line's ink
        t0, t1, v0, v1 = text_bounds(spans, px_per_frame, fitted, ink, pad_px, h, ruled, borders)
        if spec.space_gap > 0:
            spans = add_missed_spaces(spans, px_per_frame, ink, h, spec.space_gap, cjk, vertical)
        if cjk:
            spans = fullwidth_in_column(spans) if vertical else halfwidth_marks(spans, px_per_frame, ink, h)
        text = clean("".join(s.char for s in spans))
        fields = None
        if spec.field_gap > 0 and len(spans) > 2:
            fields = split_fields(spans, px_per_frame, ink, pad_px, h, spec.field_gap, borders)
        if fields:
            last = len(fields) - 1
            fields = [Piece(a, b, clean(f.text), f.score,
                            field_rows(a, b, v0, v1, spans, px_per_frame, fitted, ink, pad_px, h, ruled, borders))
                      for k, f in enumerate(fields)
                      for a, b in [(max(f.t0, t0) if k == 0 else f.t0, min(f.t1, t1) if k == last else f.t1)]]
        quad_px = crop.shape[1] - 2 * pad_px
        # each character as the line's text was cleaned
        table = latin_char_table(spec.ascii_quotes) if spec.latin_halfwidth and not has_cjk(text) else {}
        chars = tuple((((s.start + s.end) / 2 * px_per_frame - pad_px) / quad_px, s.char.translate(table), s.prob)
                      for s in spans)
        found = word_pieces(spans, px_per_frame, ink, pad_px, h)
        tokens = text.split()
        words = (tuple(Piece(p.t0, p.t1, token, p.score) for p, token in zip(found, tokens))
                 if len(found) == len(tokens) else spread_words(text, t0, t1, score))
        if flipped:   # a crop read turned by 180° runs against the quad's directions
            t0, t1, v0, v1 = 1 - t1, 1 - t0, 1 - v1, 1 - v0
            fields = [Piece(1 - f.t1, 1 - f.t0, f.text, f.score, f.rows and (1 - f.rows[1], 1 - f.rows[0]))
                      for f in fields] if fields else None
            chars = tuple((1 - t, c, p) for t, c, p in chars)
            words = tuple(Piece(1 - p.t1, 1 - p.t0, p.text, p.score) for p in words)
        return LineReading(text, score, fields, (t0, t1, v0, v1), chars, words)
