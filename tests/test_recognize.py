import cv2
import numpy as np
import pytest
from conftest import text_image

from ocrwatchd.engine.preprocess import get_profile
from ocrwatchd.engine.linecrop import crop_quad
from ocrwatchd.engine.recognize import (RecognizerSpec, TextRecognizer, batches_by_width, charset_from_metadata,
                                        ctc_greedy_decode, to_line_tensor)

CHARSET = ("", "a", "b", "c", " ")


def probs_for(path: list[int], conf: float = 0.9) -> np.ndarray:
    p = np.full((1, len(path), len(CHARSET)), (1 - conf) / (len(CHARSET) - 1), np.float32)
    for t, k in enumerate(path):
        p[0, t, k] = conf
    return p


def test_ctc_merges_repeats_and_drops_blanks():
    assert ctc_greedy_decode(probs_for([1, 1, 0, 1, 2, 2, 2, 0, 0, 3]), CHARSET)[0][0] == "aabc"


def test_ctc_blank_separates_a_doubled_letter():
    assert ctc_greedy_decode(probs_for([2, 0, 2, 4, 3]), CHARSET)[0][0] == "bb c"


def test_ctc_score_is_mean_confidence_of_kept_characters():
    p = probs_for([1, 0, 2])
    p[0, 2] = [0.05, 0.05, 0.6, 0.2, 0.1]
    text, score = ctc_greedy_decode(p, CHARSET)[0]
    assert text == "ab" and score == pytest.approx((0.9 + 0.6) / 2)


def test_ctc_all_blank_is_empty_with_zero_score():
    assert ctc_greedy_decode(probs_for([0, 0, 0]), CHARSET) == [("", 0.0)]


def test_ctc_checks_the_class_count():
    with pytest.raises(ValueError):
        ctc_greedy_decode(np.zeros((1, 3, 7), np.float32), CHARSET)


def test_charset_is_blank_then_metadata_then_space():
    cs = charset_from_metadata({"character": "a\nb\n€\n"})
    assert cs == ("", "a", "b", "€", " ")
    with pytest.raises(ValueError, match="character"):
        charset_from_metadata({})


def test_bundled_model_charset_matches_its_output(engine):
    rec = engine.recognizer
    assert rec is not None
    meta = rec.session.get_modelmeta().custom_metadata_map
    assert len(rec.spec.charset) == len(meta["character"].splitlines()) + 2 == 18710
    assert rec.session.get_outputs()[0].shape[2] == 18710


def test_crop_rectifies_a_rotated_quad():
    img = np.full((400, 400), 255, np.uint8)
    rect = ((200, 200), (200, 40), 25.0)
    quad = cv2.boxPoints(rect)
    cv2.fillPoly(img, [quad.astype(np.int32)], 0)
    # the black bar, clockwise from its top-left corner
    from ocrwatchd.engine.dbpost import order_quad
    crop = crop_quad(img, order_quad(quad))
    assert abs(crop.shape[1] - 200) <= 2 and abs(crop.shape[0] - 40) <= 2
    inner = crop[4:-4, 4:-4]
    assert inner.mean() < 10          # all of the rectified crop is the bar: it is straight, not skewed


def test_tall_crop_is_turned_to_lie_flat():
    img = np.full((300, 100), 255, np.uint8)
    crop = crop_quad(img, np.array([[40, 20], [70, 20], [70, 280], [40, 280]], float))
    assert crop.shape[1] > crop.shape[0]


def test_line_tensor_keeps_aspect_and_pads_with_zero():
    spec = RecognizerSpec("x", None, get_profile("paddle-bgr"), CHARSET)
    short, long = np.full((24, 48), 255, np.uint8), np.full((48, 480), 0, np.uint8)
    t = to_line_tensor([short, long], spec)
    assert t.shape == (2, 3, 48, 480)
    assert np.allclose(t[0, :, :, :96], 1.0) and np.allclose(t[0, :, :, 96:], 0.0)
    assert np.allclose(t[1], -1.0)


def _normalised(pixels: np.ndarray, profile) -> np.ndarray:
    """The definition: plane c = (source channel - mean[c]) / std[c], BGR source, planes in the model's order."""
    bgr = np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels
    src = bgr if profile.channel_order == "bgr" else bgr[..., ::-1]
    return np.stack([(src[..., c].astype(np.float64) - profile.mean[c]) / profile.std[c] for c in range(3)])


def test_tiles_and_lines_are_normalised_per_channel_in_the_models_order():
    # Gray pixels share one plane only where the means and stds agree, and an RGB model gets its planes reversed.
    from ocrwatchd.engine.preprocess import Profile, to_tensor

    rng = np.random.default_rng(5)
    gray = rng.integers(0, 256, (48, 64), dtype=np.uint8)
    color = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    rgb = Profile("rgb-test", "rgb", (120.0, 110.0, 100.0), (60.0, 50.0, 40.0))
    for profile in (get_profile("paddle-bgr"), get_profile("modelscope-bgr"), rgb):
        spec = RecognizerSpec("x", None, profile, CHARSET)     # 48 px high: the crops keep their size
        for pixels in (gray, color):
            want = _normalised(pixels, profile)
            assert np.allclose(to_tensor([pixels], profile)[0], want, atol=1e-5)
            assert np.allclose(to_line_tensor([pixels], spec)[0], want, atol=1e-5)


def test_batches_group_similar_widths():
    batches = batches_by_width([10.0, 1.0, 9.0, 2.0, 5.0], max_batch=2)
    assert batches == [[1, 3], [4, 2], [0]]


def test_batches_are_bounded_by_total_width():
    # padded width = count × widest: short crops share a run, long lines run alone
    batches = batches_by_width([1.0, 1.5, 2.0, 2.0, 30.0, 40.0], max_batch=8, max_width=33)
    assert batches == [[0, 1, 2, 3], [4], [5]]


class EchoSession:
    """Recognises a crop as the letter whose index is its width bucket, to check results keep their order."""

    def __init__(self):
        self.batches = []

    def run(self, outputs, feed):
        x = next(iter(feed.values()))
        self.batches.append(x.shape)
        n, _, _, w = x.shape
        probs = np.zeros((n, 4, len(CHARSET)), np.float32)
        for i in range(n):
            filled = int((np.abs(x[i, 0, 24]) > 0).sum())       # the crop's own width before padding
            probs[i, 0, 1 + min(filled // 200, 2)] = 1
            probs[i, 1:, 0] = 1
        return [probs]


def _inked_page() -> np.ndarray:
    """Gray paper with short upright strokes along rows 18-30, where every 48-high test crop has its middle: a line
    crop without ink there holds no letters and is read as nothing."""
    img = np.full((100, 2000), 128, np.uint8)
    img[18:30, ::6] = 0
    return img


def test_results_come_back_in_the_callers_order_across_batches():
    img = _inked_page()
    widths = [500, 100, 300, 50, 450, 120]      # 48-high crops → 'c', 'a', 'b', 'a', 'c', 'a'
    quads = [np.array([[0, 0], [w, 0], [w, 48], [0, 48]], float) for w in widths]
    sess = EchoSession()
    rec = TextRecognizer(sess, RecognizerSpec("x", None, get_profile("paddle-bgr"), CHARSET, max_batch=2, pad=0.0))
    texts = [t for t, _ in rec.recognize(img, quads)]
    assert texts == ["c", "a", "b", "a", "c", "a"]
    assert len(sess.batches) == 3


class WidthSession:
    """Reads every crop as one letter, surely or not by the crop's own width (before padding); counts the crops."""

    def __init__(self, letter, prob_of_width):
        self.letter, self.prob_of_width, self.crops = letter, prob_of_width, []

    def run(self, outputs, feed):
        x = next(iter(feed.values()))
        probs = np.zeros((x.shape[0], 4, len(CHARSET)), np.float32)
        probs[:, :, 0] = 1
        for i in range(x.shape[0]):
            filled = int((np.abs(x[i, 0, 24]) > 0).sum())
            self.crops.append(filled)
            p = self.prob_of_width(filled)
            probs[i, 0, CHARSET.index(self.letter)], probs[i, 0, 0] = p, 1 - p
        return [probs]


def test_lines_the_fast_model_doubts_are_read_again_by_the_exact_one_and_only_those():
    img = _inked_page()
    widths = [500, 100, 300, 50, 450, 120]
    quads = [np.array([[0, 0], [w, 0], [w, 48], [0, 48]], float) for w in widths]
    spec = RecognizerSpec("x", None, get_profile("paddle-bgr"), CHARSET, max_batch=2, pad=0.0, recheck_score=0.8)
    fast = WidthSession("a", lambda w: 0.6 if w >= 300 else 0.95)     # doubts the three long lines
    exact = WidthSession("b", lambda w: 0.9)
    readings = TextRecognizer(fast, spec, recheck=exact).recognize(img, quads)
    assert [t for t, _ in readings] == ["b", "a", "b", "a", "b", "a"]
    assert [round(s, 2) for _, s in readings] == [0.9, 0.95, 0.9, 0.95, 0.9, 0.95]
    assert sorted(exact.crops) == [300, 450, 500]                     # each doubted crop once, nothing else
    assert len(fast.crops) == 6
    alone = WidthSession("a", lambda w: 0.6 if w >= 300 else 0.95)
    assert [t for t, _ in TextRecognizer(alone, spec).recognize(img, quads)] == ["a"] * 6   # no recheck: as read


def test_a_precise_read_goes_to_the_exact_model_alone():
    """precise=True (a page set vertically): every line is read by the recheck session once, none by the fast one;
    without a recheck session the fast one reads them as usual."""
    img = _inked_page()
    quads = [np.array([[0, 0], [w, 0], [w, 48], [0, 48]], float) for w in (500, 100, 300)]
    spec = RecognizerSpec("x", None, get_profile("paddle-bgr"), CHARSET, max_batch=2, pad=0.0, recheck_score=0.8)
    fast, exact = WidthSession("a", lambda w: 0.6), WidthSession("b", lambda w: 0.9)
    readings = TextRecognizer(fast, spec, recheck=exact).read_lines(img, quads, precise=True)
    assert [r.text for r in readings] == ["b", "b", "b"] and fast.crops == [] and sorted(exact.crops) == [100, 300, 500]
    alone = WidthSession("a", lambda w: 0.6)
    assert [r.text for r in TextRecognizer(alone, spec).read_lines(img, quads, precise=True)] == ["a"] * 3


def test_real_model_reads_rendered_text(engine):
    img = text_image(1500, 500, [(60, 200, "Invoice 4711 total 123.45", 2.0)])
    ctx_lines = engine.detector.detect(img).lines
    (text, score), = engine.recognizer.recognize(img, [d.quad for d in ctx_lines])
    assert text == "Invoice 4711 total 123.45" and score > 0.9


def test_pad_grows_a_rotated_quad_outward_on_every_side():
    from ocrwatchd.engine.linecrop import pad_quad

    quad = cv2.boxPoints(((100, 100), (120, 20), 30.0))
    from ocrwatchd.engine.dbpost import order_quad
    q = order_quad(quad)
    grown = pad_quad(q, 0.5)                       # 10 px on each side (half of the 20 px height)
    w, h = np.linalg.norm(grown[1] - grown[0]), np.linalg.norm(grown[3] - grown[0])
    assert sorted([w, h]) == pytest.approx([40, 140], abs=0.5)
    assert np.allclose(grown.mean(axis=0), q.mean(axis=0))


def test_classifier_turns_an_upside_down_scan_the_right_way(engine):
    from ocrwatchd.pipeline import Engine, EngineSettings

    img = cv2.rotate(text_image(1500, 500, [(60, 200, "Invoice 4711 total 123.45", 2.0)]), cv2.ROTATE_180)
    quads = [d.quad for d in engine.detector.detect(img).lines]
    (plain, _), = engine.recognizer.recognize(img, quads)
    assert plain != "Invoice 4711 total 123.45"          # read upside down, it is nonsense
    turning = Engine(EngineSettings(device="cpu", classify=True))
    (text, score), = turning.recognizer.recognize(img, quads)
    assert text == "Invoice 4711 total 123.45" and score > 0.9
    # and an upright line is left alone
    upright = text_image(1500, 500, [(60, 200, "Invoice 4711 total 123.45", 2.0)])
    (text, _), = turning.recognizer.recognize(upright, [d.quad for d in engine.detector.detect(upright).lines])
    assert text == "Invoice 4711 total 123.45"


def test_fullwidth_punctuation_becomes_ascii_only_in_latin_lines():
    from ocrwatchd.engine.textclean import halfwidth_if_latin

    assert halfwidth_if_latin("GST REG NO：000154042368（RM）") == "GST REG NO:000154042368(RM)"
    assert halfwidth_if_latin("合计：12.00") == "合计：12.00"           # Chinese keeps its own punctuation
    assert halfwidth_if_latin("plain text, 7.42") == "plain text, 7.42"


def test_a_latin_lines_characters_fold_one_by_one_as_the_line_does():
    """A read character's fold (the `chars` of a LineReading) is one translate table: for every character of
    the recogniser's alphabet that is not CJK, exactly what cleaning it alone as a line would give."""
    from ocrwatchd.engine.textclean import halfwidth_if_latin, has_cjk, latin_char_table

    alphabet = {chr(c) for c in range(0x20, 0x3100)} | {chr(c) for c in range(0xFF00, 0xFF70)} | set("“”„‟″〝〞‘’‚‛′")
    for quotes in (False, True):
        table = latin_char_table(quotes)
        assert all(halfwidth_if_latin(c, quotes) == c.translate(table) for c in alphabet if not has_cjk(c))
    assert "：（”".translate(latin_char_table(True)) == ':("' and "”".translate(latin_char_table(False)) == "”"


def test_zeros_read_as_o_in_numbers_become_zeros():
    from ocrwatchd.engine.textclean import halfwidth_if_latin, zeros_in_numbers

    assert zeros_in_numbers("NO. 53, 456OO BATANG") == "NO. 53, 45600 BATANG"
    assert zeros_in_numbers("TOTAL 1O.OO at 12:3O") == "TOTAL 10.00 at 12:30"
    # words, codes with letters, and tokens with too little number in them are left alone
    for text in ("GOOD FOOD", "NO.53", "CS0OO1", "O2 tank", "visa O-1", "OO7", "1O", "Oct. 10"):
        assert zeros_in_numbers(text) == text
    assert halfwidth_if_latin("合计 1O.OO") == "合计 1O.OO"            # only in Latin lines, like the rest
    assert halfwidth_if_latin("Total： 1O.OO") == "Total: 10.00"


def spans_of(text: str, unsure: str = "") -> list:
    """A best path for text, one frame a character; characters at the positions marked '?' in unsure read at 0.6."""
    from ocrwatchd.engine.segment import CharSpan

    return [CharSpan(ch, k, k + 1, 0.6 if k < len(unsure) and unsure[k] == "?" else 0.99) for k, ch in enumerate(text)]


def test_a_doubted_lookalike_letter_alone_in_a_number_is_a_digit():
    from ocrwatchd.engine.textclean import unsure_letters_in_numbers

    def fixed(text, unsure=""):
        return "".join(s.char for s in unsure_letters_in_numbers(spans_of(text, unsure)))

    assert fixed("15.0C", "    ?") == "15.00"                        # a zero cut in half by the paper's edge
    assert fixed("TOTAL 106.1C SR", "           ?") == "TOTAL 106.10 SR"
    assert fixed("12:3l", "    ?") == "12:31"
    assert fixed("21.5C") == "21.5C"                                 # read surely: a unit, not a zero
    assert fixed("12kg", "  ??") == "12kg"                           # two letters: a word part, not a misread
    assert fixed("CS0001", "?") == "CS0001"
    assert fixed("10a", "  ?") == "10a"                              # 'a' looks like no digit
    assert fixed("C5", "?") == "C5"                                  # too little number around it
    assert fixed("NOTE C", "     ?") == "NOTE C"


class FixedPathSession:
    """A recogniser that reads every crop as the same best path (one character a frame, blanks between)."""

    def __init__(self, charset, path, probs):
        self.charset, self.path, self.probs = charset, path, probs

    def run(self, outputs, feed):
        n = next(iter(feed.values())).shape[0]
        frames = np.zeros((n, 2 * len(self.path), len(self.charset)), np.float32)
        frames[:, :, 0] = 1
        for k, (ch, p) in enumerate(zip(self.path, self.probs)):
            frames[:, 2 * k, self.charset.index(ch)], frames[:, 2 * k, 0] = p, 1 - p
        return [frames]


def test_the_recognizer_turns_doubted_letters_into_digits_only_in_latin_lines():
    charset = ("", "1", "5", ".", "0", "C", "合", " ")
    img = np.full((60, 400), 255, np.uint8)
    quad = np.array([[10, 10], [390, 10], [390, 50], [10, 50]], float)
    spec = RecognizerSpec("x", None, get_profile("paddle-bgr"), charset, pad=0.0, refit=False)
    latin = TextRecognizer(FixedPathSession(charset, "15.0C", [0.99, 0.99, 0.99, 0.99, 0.6]), spec)
    assert latin.recognize(img, [quad])[0][0] == "15.00"
    chinese = TextRecognizer(FixedPathSession(charset, "合15.0C", [0.99] * 5 + [0.6]), spec)
    assert chinese.recognize(img, [quad])[0][0] == "合15.0C"


def test_a_box_whose_only_ink_is_outside_its_middle_rows_reads_as_nothing():
    # A band's edge or a shade at a box's top, read as a glyph (一 off a slide's title band), holds no letters.
    spec = RecognizerSpec("x", None, get_profile("paddle-bgr"), CHARSET, pad=0.0)
    rec = TextRecognizer(WidthSession("a", lambda w: 0.95), spec)
    quad = np.array([[0, 0], [400, 0], [400, 48], [0, 48]], float)
    edge = np.full((60, 400), 200, np.uint8)
    edge[:9] = 40                                        # a dark band's lower edge along the box's top
    letters = edge.copy()
    letters[16:32, 10:390:12] = 40                       # upright strokes in the middle rows
    assert [r.text for r in rec.read_lines(edge, [quad])] == [""]
    assert [r.text for r in rec.read_lines(letters, [quad])] == ["a"]
