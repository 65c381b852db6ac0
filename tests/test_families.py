"""What each family of document needs, end to end on the bundled models: a receipt keeps its prices and colons,
a form keeps its labels, values and the small print of its notice (doubted lines with their low text_score,
specks not), a book page reads as prose, a Chinese page reads as Chinese, a slide's title on a coloured band
reads as a line. Rendered here (DejaVu and WenQuanYi fonts),
so they run without ../shared; each takes a few seconds on two CPU cores."""
import random
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from conftest import skip_unless_ci
from ocrwatchd.engine.dbpost import Detection
from ocrwatchd.engine.decode import DecodedImage
from ocrwatchd.engine.recognize import LineReading, doubted_line_is_text
from ocrwatchd.pipeline.engine import EngineSettings
from ocrwatchd.pipeline.run import process
from ocrwatchd.pipeline.stages import PageContext, recognize_stage

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def font(path: Path, size: int):
    from PIL import ImageFont

    if not path.exists():
        skip_unless_ci(f"font {path} not installed", "fonts-dejavu-core and fonts-wqy-microhei are test deps")
    return ImageFont.truetype(str(path), size)


def render(w: int, h: int, rows: list[tuple[int, int, str, object]]) -> tuple[np.ndarray, list[tuple]]:
    """A white page with each (x, y, text, font) drawn, and each row's ink box."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    boxes = []
    for x, y, text, f in rows:
        draw.text((x, y), text, font=f, fill=0)
        boxes.append(draw.textbbox((x, y), text, font=f))
    return np.asarray(img).copy(), boxes


def fax(page: np.ndarray, seed: int) -> np.ndarray:
    """A fax's damage: blur, noise, a hard threshold, and specks of dust."""
    rng = np.random.default_rng(seed)
    out = cv2.GaussianBlur(page.astype(np.float32), (0, 0), 0.6) + rng.normal(0, 15, page.shape)
    out = np.where(out < 170, 0, 255).astype(np.uint8)
    for y, x in zip(rng.integers(0, page.shape[0] - 2, 150), rng.integers(0, page.shape[1] - 2, 150)):
        out[y:y + 2, x:x + 2] = 0
    return out


def read(engine, tmp_path: Path, img: np.ndarray) -> list[dict]:
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), img)
    return process(path, engine).result["pages"][0]["lines"]


def words(lines: list[dict]) -> list[str]:
    return " ".join(l["text"] for l in lines).lower().split()


def bare(tokens: list[str]) -> list[str]:
    """The tokens without the punctuation around them (a speck beside a word is read as a '.')."""
    return [t.strip(".,;:'\"") for t in tokens]


def test_receipt_keeps_its_prices_and_colons(engine, tmp_path):
    mono = font(DEJAVU / "DejaVuSansMono.ttf", 15)
    rows = ["KEDAI RUNCIT MAJU", "TEL : 03-7845 1120", "INVOICE NO : CS0041", "2 X MILO 1KG      31.80",
            "1 X GARDENIA       3.90", "SUBTOTAL :        35.70", "ROUNDING :        -0.00", "TOTAL :           35.70",
            "CASH :            50.00", "CHANGE :          14.30"]
    img, _ = render(420, 60 + 28 * len(rows), [(20, 30 + 28 * n, t, mono) for n, t in enumerate(rows)])
    got = words(read(engine, tmp_path, img))
    for token in ("31.80", "3.90", "35.70", "50.00", "14.30", "03-7845", "cs0041", "total", "change"):
        assert token in got
    assert got.count(":") + sum(w.endswith(":") for w in got) >= 6    # the colon column is read, not lost


def test_typed_memo_keeps_its_sentences_whole_and_its_fields_apart(engine, tmp_path):
    """A typist's two spaces after a full stop are a sentence space (one line, as FUNSD's memos are transcribed);
    the same two spaces after a label, or before a figure, still part two fields."""
    mono = font(DEJAVU / "DejaVuSansMono.ttf", 15)
    rows = ["Discontinue the analyses on samples.  Special requests", "are welcome.  Our tests were made in May.  They",
            "Order No.  C-51", "TOTAL  SR 3.00"]
    img, _ = render(640, 60 + 28 * len(rows), [(20, 30 + 28 * n, t, mono) for n, t in enumerate(rows)])
    texts = [l["text"] for l in read(engine, tmp_path, img)]
    assert texts == ["Discontinue the analyses on samples. Special requests",
                     "are welcome. Our tests were made in May. They", "Order No.", "C-51", "TOTAL", "SR 3.00"]


def test_form_keeps_labels_values_and_its_doubted_small_print(engine, tmp_path):
    """A ~100 dpi faxed form: labels and values read, and the small-print notice comes back line for line
    (however garbled, with its own text_score); what comes back doubted is shaped like a line, not a speck."""
    label, value = font(DEJAVU / "DejaVuSerif.ttf", 13), font(DEJAVU / "DejaVuSans.ttf", 14)
    small = font(DEJAVU / "DejaVuSans.ttf", 8)
    rng = random.Random(5)
    vocab = ("THIS FACSIMILE TRANSMISSION IS INTENDED ONLY FOR THE ADDRESSEE SHOWN BELOW IT MAY CONTAIN "
             "INFORMATION THAT IS PRIVILEGED CONFIDENTIAL OR OTHERWISE PROTECTED FROM DISCLOSURE").split()
    notice = [" ".join(rng.choice(vocab) for _ in range(16)) for _ in range(4)]
    rows = [(60, 60, "Date:", label), (160, 60, "January 15, 1997", value), (60, 100, "To:", label),
            (160, 100, "Mark Berlind", value), (60, 140, "From:", label), (160, 140, "David H. Remes", value)]
    rows += [(60, 200 + 11 * n, t, small) for n, t in enumerate(notice)]
    page, boxes = render(762, 330, rows)
    lines = read(engine, tmp_path, fax(page, 3))
    got = bare(words(lines))
    assert {"date", "to", "from", "january", "15", "1997", "mark", "berlind", "david"} <= set(got)
    notice_rows = [b for b in boxes[6:]]
    in_notice = [l for l in lines if any(b[1] - 2 <= (l["box"][1] + l["box"][3]) / 2 <= b[3] + 2 for b in notice_rows)]
    rows_found = {min(range(4), key=lambda n: abs((notice_rows[n][1] + notice_rows[n][3]) / 2
                                                 - (l["box"][1] + l["box"][3]) / 2)) for l in in_notice}
    assert rows_found == {0, 1, 2, 3}
    assert all(0 < l["text_score"] <= 1 for l in in_notice)
    # whatever the recogniser doubted and still came back is a line, not one of the 150 specks
    doubted = [l for l in lines if l["text_score"] < 0.5]
    assert all(l["box"][2] - l["box"][0] >= 3 * (l["box"][3] - l["box"][1]) for l in doubted)


def test_a_doubted_reading_is_kept_only_when_shaped_like_a_line():
    assert doubted_line_is_text("TRANIMIMION IN ERRORL", 400, 9, at_edge=False)
    assert not doubted_line_is_text("TRANIMIMION IN ERRORL", 400, 9, at_edge=True)   # cut by the scan's edge
    assert not doubted_line_is_text("Hly o", 166, 74, at_edge=False)                 # a scribble: 2 heights long
    assert not doubted_line_is_text("1 |", 60, 9, at_edge=False)                     # a stroke read as marks
    assert not doubted_line_is_text("---- --", 300, 9, at_edge=False)                # a rule: no letters


class _Reads:
    """A recogniser that reads every box as the text and score given for it."""

    def __init__(self, readings):
        self.readings = readings
        self.spec = SimpleNamespace(pad=0.1)       # the crop's margin, as the real recogniser's spec has it

    def read_lines(self, image, quads, timings=None):
        return [LineReading(t, s) for t, s in self.readings[:len(quads)]]


def test_the_recognize_stage_keeps_doubted_lines_and_drops_doubted_specks():
    def box(x0, y0, x1, y1):
        return Detection(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64), 0.6)

    dets = [box(60, 200, 560, 209), box(300, 300, 309, 309), box(0, 0, 300, 12), box(60, 400, 500, 409),
            box(60, 500, 500, 509)]
    readings = [("THAT THE MAY PRIVILEGEC-IS CONHIDENTIAL", 0.42),   # faxed small print: kept, doubted
                ("1", 0.45),                                        # a speck: dropped
                ("19 rrwbne", 0.44),                                # print cut by the image's top edge: dropped
                ("OTTEO CWEO ONFRMIO", 0.2),                        # below min_line_score: dropped
                ("Date: January 15, 1997", 0.99)]
    engine = SimpleNamespace(recognizer=_Reads(readings), settings=EngineSettings())
    ctx = PageContext(DecodedImage(np.full((600, 762), 255, np.uint8), None), {})
    ctx.detection = SimpleNamespace(lines=dets)
    recognize_stage(ctx, engine)
    assert [(l["text"], l["text_score"]) for l in ctx.lines] == [(readings[0][0], 0.42), (readings[4][0], 0.99)]
    assert ctx.dropped_lines == 3


def _receipt_rule_and_print(seed: int) -> tuple[np.ndarray, list[tuple]]:
    """A thermal receipt's rows: a rule of 24 asterisks, one of 6, a price, a line of small print; faded and
    blurred as a scan of one, and each row's ink box."""
    mono = font(DEJAVU / "DejaVuSansMono.ttf", 18)
    img, boxes = render(560, 260, [(30, 20, "*" * 24, mono), (30, 70, "*" * 6, mono), (30, 120, "86.06", mono),
                                   (30, 170, "GOODS SOLD ARE NOT RETURNABLE", mono)])
    rng = np.random.default_rng(seed)
    faded = 255 - (255 - img.astype(np.float32)) * 0.55
    out = cv2.GaussianBlur(faded, (0, 0), 0.9) + rng.normal(0, 6, img.shape)
    return np.clip(out, 0, 255).astype(np.uint8), boxes


def test_a_rule_of_one_glyph_is_told_from_text_by_its_pixels():
    from ocrwatchd.engine.recognize import crop_quad
    from ocrwatchd.engine.segment import one_glyph_repeated

    for seed in range(3):
        img, boxes = _receipt_rule_and_print(seed)
        quads = [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) for x0, y0, x1, y1 in boxes]
        got = [one_glyph_repeated(crop_quad(img, q, 0.1)) for q in quads]
        assert got == [True, True, False, False]
        assert not one_glyph_repeated(crop_quad(img, quads[0][[0, 0, 3, 3]] + [[0, 0], [40, 0], [40, 0], [0, 0]],
                                                0.1))             # 3 asterisks: too few to call a row


def test_the_recognize_stage_drops_a_rule_misread_as_text_and_keeps_doubted_print():
    """A faded rule of asterisks comes back as a row of unrelated CJK characters read at ~0.38 (synthetic Chinese
    receipts), or as a few `*`: kept before, as doubted text shaped like a line. Its pixels are one glyph over and
    over; the doubted small print's are not, and a sure reading with letters or digits is not asked."""
    img, boxes = _receipt_rule_and_print(0)
    dets = [Detection(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64), 0.6) for x0, y0, x1, y1 in boxes]
    readings = [("本本车家东本水审本家水末", 0.38), ("*****", 0.55), ("86.06", 0.99),
                ("GOODS SOLD ARE NOT RETURNABLE", 0.42)]
    engine = SimpleNamespace(recognizer=_Reads(readings), settings=EngineSettings())
    ctx = PageContext(DecodedImage(img, None), {})
    ctx.detection = SimpleNamespace(lines=dets)
    recognize_stage(ctx, engine)
    assert [(l["text"], l["text_score"]) for l in ctx.lines] == [readings[2], readings[3]]
    assert ctx.dropped_lines == 2


def test_book_page_reads_as_prose(engine, tmp_path):
    serif = font(DEJAVU / "DejaVuSerif.ttf", 22)
    text = ("It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
            "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
            "it was the season of Darkness, it was the spring of hope, it was the winter of despair.").split()
    rows, line = [], ""
    for w in text:
        if serif.getlength(line + " " + w) > 900:
            rows.append(line)
            line = w
        else:
            line = (line + " " + w).strip()
    rows.append(line)
    img, _ = render(1000, 80 + 40 * len(rows), [(50, 40 + 40 * n, t, serif) for n, t in enumerate(rows)])
    got = words(read(engine, tmp_path, img))
    want = " ".join(text).lower().split()
    hits = sum(min(got.count(w), want.count(w)) for w in set(want))
    assert hits / len(want) >= 0.95 and len(got) <= len(want) + 2


def test_chinese_page_reads_as_chinese(engine, tmp_path):
    cjk = font(WQY, 26)
    rows = ["第一章 总则", "为了规范数据处理活动，保障数据安全，", "促进数据开发利用，保护个人、组织的合法权益，",
            "维护国家主权、安全和发展利益，制定本法。", "本法所称数据，是指任何以电子或者其他方式对信息的记录。"]
    img, _ = render(900, 60 + 46 * len(rows), [(40, 30 + 46 * n, t, cjk) for n, t in enumerate(rows)])
    got = "".join(l["text"] for l in read(engine, tmp_path, img)).replace(" ", "")
    want = "".join(rows).replace(" ", "")
    # the characters read, compared order-free (full-width and ASCII commas are one character)
    norm = str.maketrans("，、。", ",,.")
    g, w = list(got.translate(norm)), list(want.translate(norm))
    hits = sum(min(g.count(c), w.count(c)) for c in set(w))
    assert hits / len(w) >= 0.95 and len(g) <= len(w) + 3


def test_a_slides_title_on_a_coloured_band_reads_as_one_line(engine):
    # White letters on an orange band across a dark slide, read in the box the detector gave such a title (a
    # little tilted, so the dark page shows at the crop's corners): Otsu split page from band, and the title came
    # back spaced letter by letter, cut into 14 fields (`c o` | `d` | `e` …) in boxes 2 px high.
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1280, 400), (60, 40, 70))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 47, 1280, 150], fill=(248, 138, 77))
    draw.text((89, 57), "code or way semiconductor the", font=font(DEJAVU / "DejaVuSans-Bold.ttf", 73), fill="white")
    quad = np.array([[81, 47], [1280, 63], [1279, 159], [80, 144]], float)
    (reading,) = engine.recognizer.read_lines(np.asarray(img)[:, :, ::-1].copy(), [quad])
    assert reading.text.startswith("code or way semiconductor") and not reading.fields
    t0, t1, v0, v1 = reading.bounds
    assert (v1 - v0) * 97 >= 50            # the letters' height in the 97 px box, not a strip's


def test_a_wall_runs_on_straight_past_the_line_and_a_seals_ring_does_not():
    """walls.confirmed: a table's wall continues above and below the line's box, in one column; a seal's ring,
    which crosses the line as straight as a wall does, curves away outside it; a wall that stops under the line's
    box (a table's last row) still continues on one side."""
    from ocrwatchd.engine import walls
    from ocrwatchd.engine.recognize import rectified
    from ocrwatchd.engine.segment import minority_ink

    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # a wall through the whole table
    cv2.line(page, (320, 20), (320, 125), 0, 2)                       # a wall that ends under the last row
    cv2.circle(page, (110, 110), 60, 0, 4)                            # a seal's ring, sides at x 50 and 170
    quad = np.array([[30, 100], [390, 100], [390, 120], [30, 120]], np.float64)
    pad = 2.0                                                         # 0.1 of the 20-px line height
    candidates = np.zeros(int(360 + 2 * pad), bool)
    for x in (50, 170, 200, 320):
        candidates[int(x - 30 + pad) - 1:int(x - 30 + pad) + 2] = True
    tall = minority_ink(rectified(page, walls.tall_quad(quad)))
    found = walls.confirmed(tall, candidates, pad, False)
    assert [x for x in (50, 170, 200, 320) if found[int(x - 30 + pad)]] == [200, 320]
    # a crop read turned by 180° has its columns the other way round: the same walls are found
    assert (walls.confirmed(tall, candidates[::-1], pad, True)[::-1] == found).all()


def test_a_wall_is_found_where_a_tables_rules_meet_it_a_row_apart():
    """A scanned table's rules meet a wall from either side, not always on the same row (`121have` read as one
    line across its wall): the rule's row runs out of the wall's window on one side, and the stroke is at its
    other end, not in its middle."""
    from ocrwatchd.engine import walls
    from ocrwatchd.engine.recognize import rectified
    from ocrwatchd.engine.segment import minority_ink

    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # the wall
    cv2.line(page, (30, 92), (200, 92), 0, 2)                         # the row's top rule, from the left …
    cv2.line(page, (200, 94), (390, 94), 0, 2)                        # … and from the right, two rows lower
    cv2.line(page, (30, 126), (200, 126), 0, 2)                       # its bottom rule likewise
    cv2.line(page, (200, 128), (390, 128), 0, 2)
    quad = np.array([[30, 100], [390, 100], [390, 120], [30, 120]], np.float64)
    pad = 2.0
    candidates = np.zeros(int(360 + 2 * pad), bool)
    candidates[int(200 - 30 + pad) - 1:int(200 - 30 + pad) + 2] = True
    tall = minority_ink(rectified(page, walls.tall_quad(quad)))
    assert walls.confirmed(tall, candidates, pad, False)[int(200 - 30 + pad)]


def test_a_wall_is_found_where_the_soft_edge_of_a_crossing_rule_joins_it():
    """A scanned rule crossing a wall has a soft edge: on the row beside it a short stub of grey joins the wall on
    one side, the run's centre moves by the stub's length, and the wall read as bent (`925.91数学位应该是`, a
    Chinese table's two cells as one line). The rows beside a crossing rule are not held to the wall's column;
    a stroke that bends anywhere else is still not a wall."""
    from ocrwatchd.engine import walls
    from ocrwatchd.engine.recognize import rectified
    from ocrwatchd.engine.segment import minority_ink

    page = np.full((240, 420), 255, np.uint8)
    cv2.line(page, (200, 10), (200, 230), 0, 2)                       # the wall, columns 199-201
    for y in (90, 140):                                              # rules crossing it above and below the row …
        cv2.line(page, (30, y), (390, y), 0, 2)
    page[88, 199:208] = 0                                             # … each with a stub of its soft edge
    page[143, 199:208] = 0                                            # joining the wall on one side
    quad = np.array([[30, 100], [390, 100], [390, 130], [30, 130]], np.float64)
    pad = 3.0                                                         # 0.1 of the 30-px line height
    candidates = np.zeros(int(360 + 2 * pad), bool)
    candidates[int(200 - 30 + pad) - 1:int(200 - 30 + pad) + 2] = True

    def wall():
        tall = minority_ink(rectified(page, walls.tall_quad(quad)))
        return walls.confirmed(tall, candidates, pad, False)[int(200 - 30 + pad)]

    assert wall()
    page[110:113, 199:208] = 0                                        # a bend away from the rules is not a wall's
    assert not wall()


def test_only_a_rule_runs_across_the_whole_box_never_a_letter():
    """walls.crossing_rows: the rows of a crop inked unbroken from one side of the box to the other. Rendered
    words boxed as the detector boxes them (a margin round the ink) and padded as the recogniser crops them have
    none, a bold T's bar and a CJK page's horizontal strokes included; a cell's rule across the box is found."""
    from PIL import Image, ImageDraw

    from ocrwatchd.engine import walls
    from ocrwatchd.engine.segment import ink_mask

    for text, face, size in [("TOTAL", DEJAVU / "DejaVuSans-Bold.ttf", 20), ("49", DEJAVU / "DejaVuSans.ttf", 13),
                             ("T", DEJAVU / "DejaVuSans-Bold.ttf", 20), ("三三王", WQY, 22),
                             ("Stem Meal", DEJAVU / "DejaVuSans.ttf", 13)]:
        f = font(face, size)
        img = Image.new("L", (300, 80), 255)
        d = ImageDraw.Draw(img)
        d.text((40, 20), text, font=f, fill=0)
        x0, y0, x1, y1 = d.textbbox((40, 20), text, font=f)
        margin = round(0.3 * (y1 - y0))                     # DB's unclipped box reaches past the ink
        pad = round(0.1 * (y1 - y0 + 2 * margin))           # … and the crop adds the recogniser's pad
        crop = np.asarray(img)[y0 - margin - pad:y1 + margin + pad, x0 - margin - pad:x1 + margin + pad]
        assert not walls.crossing_rows(ink_mask(crop), pad).any(), text
        ruled = crop.copy()
        ruled[1:3] = 0                                      # a cell's rule inside the box, through its top
        assert np.flatnonzero(walls.crossing_rows(ink_mask(ruled), pad)).tolist() == [1, 2], text


def digits_on_a_page(text: str, y: int):
    """A 200 × 100 white page with `text` in 13 px DejaVu Sans at (60, y): the page, a drawing on it, the text's
    ink box."""
    from PIL import Image, ImageDraw

    f = font(DEJAVU / "DejaVuSans.ttf", 13)
    img = Image.new("L", (200, 100), 255)
    d = ImageDraw.Draw(img)
    d.text((60, y), text, font=f, fill=0)
    return img, d, d.textbbox((60, y), text, font=f)


def fitted_rows(reading, quad: np.ndarray) -> tuple[float, float]:
    """The top and bottom of a reading's fitted box, in page rows (an upright quad)."""
    _, _, v0, v1 = reading.bounds
    height = quad[2, 1] - quad[0, 1]
    return quad[0, 1] + v0 * height, quad[0, 1] + v1 * height


def test_a_short_cells_box_fits_its_digits_not_the_rule_its_box_took_in(engine):
    """A cell holding one short number between a table's thick rules: the detector's box reached the rule above
    it. The rule is narrower than a rule must be to be taken out by its length (segment.RULE_HEIGHTS line
    heights), but it runs across the whole box, as no letter does, so its ink is not the text's and the box is
    fitted to the digits (a synthetic table's `49`: 22 px tall for 13 px of digits, matched to no ground truth)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("49", 40)
    d.line([(20, y0 - 6), (180, y0 - 6)], fill=0, width=3)        # the cell's top rule, inside the box
    d.line([(20, y1 + 8), (180, y1 + 8)], fill=0, width=3)        # its bottom rule, below the box
    d.line([(x1 + 4, 20), (x1 + 4, 80)], fill=0, width=3)          # the wall on its right
    quad = np.array([[x0 - 4, y0 - 8], [x1 + 7, y0 - 8], [x1 + 7, y1 + 4], [x0 - 4, y1 + 4]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "49"
    top, bottom = fitted_rows(reading, quad)
    t1 = reading.bounds[1]
    assert y0 - 3 <= top <= y0 and y1 <= bottom <= y1 + 3          # the digits' rows and a margin, no rule
    assert quad[0, 0] + t1 * (quad[1, 0] - quad[0, 0]) < x1 + 3     # nor the wall


def test_a_narrow_cells_box_leaves_out_the_ragged_edge_of_the_thick_rule_under_it(engine):
    """A cell's `28` over a rule two rows thick whose top row is ragged (a piece of it only, as a scan's
    anti-aliasing leaves it): the rows crossing the box are taken out as the cell's rule, and the piece left beside
    them is the rule's too. The crop is narrower than a rule must be long to be taken out by its length, which once
    made the rows crossing the box vanish from the record of rows a rule was taken out of, and the box reached down
    to the piece (a synthetic table's digits, 9 px of them in a 23 px box, matched no ground truth)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("28", 30)
    d.line([(20, y1 + 9), (180, y1 + 9)], fill=0, width=2)           # the rule, across the box's bottom
    d.line([(x0 - 2, y1 + 8), (x0 + 6, y1 + 8)], fill=0, width=1)    # its ragged top row
    quad = np.array([[x0 - 4, y0 - 4], [x1 + 4, y0 - 4], [x1 + 4, y1 + 9], [x0 - 4, y1 + 9]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "28"
    top, bottom = fitted_rows(reading, quad)
    assert y0 - 3 <= top <= y0 and y1 <= bottom <= y1 + 3            # the digits' rows and a margin only


def test_ink_beyond_a_cells_rule_is_not_its_text_however_close_the_rule(engine):
    """The box of a cell's `2023-07-12` reached over the cell's top rule (3 rows thick) to the broken row of ink
    just beyond it (the rule's soft edge, or the cell above's descenders); between the rule and the digits only 2
    blank rows. The rule's rows are taken out, and the ink beyond them is set apart from the digits by the rule
    and the blank together, not by the blank alone (a synthetic table's cells: 13 px of digits in 25 px boxes)."""
    img, d, (x0, y0, x1, y1) = digits_on_a_page("2023-07-12", 40)
    d.line([(10, y0 - 4), (190, y0 - 4)], fill=0, width=3)           # the cell's top rule: rows y0-5..y0-3
    for x in range(x0, x1, 9):                                       # broken ink on the row beyond it
        d.line([(x, y0 - 6), (x + 5, y0 - 6)], fill=0, width=1)
    quad = np.array([[x0 - 3, y0 - 8], [x1 + 3, y0 - 8], [x1 + 3, y1 + 3], [x0 - 3, y1 + 3]], np.float64)
    reading = engine.recognizer.read_lines(np.asarray(img), [quad])[0]
    assert reading.text == "2023-07-12"
    top, bottom = fitted_rows(reading, quad)
    assert y0 - 3 <= top <= y0 and y1 <= bottom <= y1 + 3            # the digits' rows and a margin only


def test_a_tables_cells_read_apart_however_close_they_come_to_their_walls(engine, tmp_path):
    """Cells 2 px from their walls at 13 px: the detector boxes two neighbours as one, and with the wall read
    as no ink the gap between them is one pitch: `Freedom specifyAB-20417`, `XX-80873212`. A wall between two
    read letters parts them."""
    from PIL import Image, ImageDraw

    f = font(DEJAVU / "DejaVuSans.ttf", 13)
    cells = [["Item", "Code", "Qty", "Amount"], ["Freedom specify", "AB-20417", "93", "921.90"],
             ["family rights", "BS-66395", "4", "160.63"], ["course solely", "XX-80873", "212", "5.18"]]
    img = Image.new("L", (700, 200), 255)
    d = ImageDraw.Draw(img)
    pad, row = 2, 23
    xs = np.cumsum([40] + [int(max(d.textlength(r[c], font=f) for r in cells)) + 2 * pad for c in range(4)])
    for r, texts in enumerate(cells):
        for c, t in enumerate(texts):
            x = xs[c + 1] - pad - d.textlength(t, font=f) if r and c >= 2 else xs[c] + pad
            d.text((x, 45 + r * row), t, font=f, fill=0)
    for r in range(len(cells) + 1):
        d.line([(xs[0], 40 + r * row), (xs[-1], 40 + r * row)], fill=0, width=2)
    for x in xs:
        d.line([(x, 40), (x, 40 + len(cells) * row)], fill=0, width=2)
    page = cv2.GaussianBlur(np.asarray(img).astype(np.float32), (0, 0), 0.6).astype(np.uint8)
    assert [l["text"] for l in read(engine, tmp_path, page)] == [t for texts in cells for t in texts]
