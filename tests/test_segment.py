"""Splitting read lines into fields at wide gaps (engine/segment.py), on hand-made CTC paths and ink, then on
rendered lines through the real models."""
import numpy as np
import pytest
from conftest import text_image
from handmade import HEIGHT, PAD, PITCH, layout, ruled

from ocrwatchd.engine.ink import (blank_runs, ink_columns, ink_in_middle, ink_mask, longest_blanks, minority_ink,
                                 without_rules)
from ocrwatchd.engine.segment import split_fields, sub_quad


def fields_of(text: str, **kw) -> list[tuple[str, float, float]] | None:
    spans, ink = layout(text, read=kw.pop("read", None))
    pieces = split_fields(spans, 5.0, ink, PAD, HEIGHT, kw.pop("min_gap", 2.1))
    return None if pieces is None else [(p.text, round(p.t0, 3), round(p.t1, 3)) for p in pieces]


def test_single_spaces_never_split():
    assert fields_of("TOTAL DUE 12.50") is None
    assert fields_of("A B C D") is None


def test_a_double_space_splits_into_fields_covering_the_line():
    pieces = fields_of("3.00  SR")
    assert [p[0] for p in pieces] == ["3.00", "SR"]
    (_, a0, a1), (_, b0, b1) = pieces
    assert a0 == 0.0 and b1 == 1.0
    # each field ends inside the gap (cells 4 and 5 are blank), keeping a margin towards its text
    gap_lo, gap_hi = (4 * PITCH - 3) / 80, 6 * PITCH / 80
    assert gap_lo < a1 < b0 < gap_hi


def test_several_gaps_make_several_fields_and_inner_spaces_stay():
    pieces = fields_of("Order No.   1000070   07:13 PM")
    assert [p[0] for p in pieces] == ["Order No.", "1000070", "07:13 PM"]
    assert all(p[1] < p[2] for p in pieces) and pieces[0][2] < pieces[1][1] < pieces[1][2] < pieces[2][1]


def test_a_wide_gap_splits_even_where_the_recogniser_read_no_space():
    pieces = fields_of("TEL:0321   FAX:0322", read="TEL:0321FAX:0322")
    assert [p[0] for p in pieces] == ["TEL:0321", "FAX:0322"]


def test_min_gap_is_in_character_pitches():
    assert fields_of("3.00  SR", min_gap=3.5) is None
    assert [p[0] for p in fields_of("3.00   SR", min_gap=3.5)] == ["3.00", "SR"]


def test_a_justified_lines_spaces_stretched_alike_are_not_field_gaps():
    """Justified type stretches every space of a short line alike (three blank cells each here): no field gap. A
    row whose wide gaps stand out from its spaces, or with fewer than JUSTIFIED_GAPS gaps to compare, splits."""
    assert fields_of("Mark   a   source   file   as") is None
    assert fields_of("Mark a source   file") is not None
    assert [p[0] for p in fields_of("Coke   1   3.50")] == ["Coke", "1", "3.50"]
    assert [p[0] for p in fields_of("62.4   1.07   .41   61.7")] == ["62.4", "1.07", ".41", "61.7"]   # figures


def test_a_typists_sentence_space_is_not_a_field_gap():
    """Two spaces after a full stop, before a capitalised word, are how a typist ends a sentence; the same gap
    stays a split before a figure, an all-capital field or after anything but a sentence's end, and a wider gap
    than a sentence space splits even there."""
    assert fields_of("product samples.  Special requests") is None
    assert fields_of('as "agreed."  The sample') is None            # a closing quote after the full stop
    assert fields_of("Is it done?  Yes it is") is None
    assert [p[0] for p in fields_of("samples.   Special requests")] == ["samples.", "Special requests"]
    assert [p[0] for p in fields_of("Order No.  C-51")] == ["Order No.", "C-51"]
    assert [p[0] for p in fields_of("TOTAL.  SR 3.00")] == ["TOTAL.", "SR 3.00"]
    assert [p[0] for p in fields_of("Cash paid  Change due")] == ["Cash paid", "Change due"]


def test_a_fill_in_rule_does_not_hide_the_gap_between_a_label_and_its_value():
    """`DATE:` and its value three cells on, typed on a rule that starts less than a cell after the colon: with
    the rule the only blank is that cell (no split); without it the gap is the three cells it is."""
    spans, mask = ruled("DATE:   12-4-87", 5.8, 15.5)
    assert split_fields(spans, 5.0, ink_columns(mask, PAD), PAD, HEIGHT, 2.1) is None
    pieces = split_fields(spans, 5.0, ink_columns(without_rules(mask, HEIGHT), PAD), PAD, HEIGHT, 2.1)
    assert [p.text for p in pieces] == ["DATE:", "12-4-87"]


def test_removing_rules_keeps_every_letter_and_a_short_stroke():
    _, plain = ruled("TOTAL DUE", 0, 0)
    dashed = plain.copy()
    dashed[PAD + 8, PAD + 2:PAD + 2 + HEIGHT] = True         # a stroke one line height long (a dash, a T's bar)
    assert (without_rules(dashed, HEIGHT) == dashed).all()
    _, underlined = ruled("TOTAL DUE", 0, 9)                 # the whole line underlined
    kept = without_rules(underlined, HEIGHT)
    assert not kept[PAD + HEIGHT - 1].any()                  # the underline goes …
    assert (kept == plain).all()                             # … and every letter stays


def test_sub_quad_follows_a_rotated_line():
    angle = np.deg2rad(30)
    u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    p0 = np.array([100.0, 50.0])
    quad = np.array([p0, p0 + 200 * u, p0 + 200 * u + 20 * v, p0 + 20 * v])
    left, right = sub_quad(quad, 0.0, 0.4), sub_quad(quad, 0.6, 1.0)
    np.testing.assert_allclose(left[0], quad[0])
    np.testing.assert_allclose(left[1], p0 + 80 * u)
    np.testing.assert_allclose(right[2], quad[2])
    np.testing.assert_allclose(right[3], p0 + 120 * u + 20 * v)


@pytest.mark.parametrize("gap", [1, 8])
def test_pipeline_splits_a_receipt_row_at_its_gap(engine, tmp_path, gap):
    """A rendered 'price   tax-code' row: fields when the gap is wide, one line when it is one space."""
    import cv2

    from ocrwatchd.pipeline import process

    img = text_image(1400, 300, [(80, 160, "TOTAL 12.50" + " " * gap + "SR", 1.6)])
    path = tmp_path / "row.png"
    cv2.imwrite(str(path), img)
    lines = process(path, engine).lines
    texts = [l["text"] for l in lines]
    if gap == 1:
        assert texts == ["TOTAL 12.50 SR"]
    else:
        assert texts == ["TOTAL 12.50", "SR"]
        left, right = lines[0]["box"], lines[1]["box"]
        assert left[2] < right[0]                      # side by side, not overlapping
        ink = np.flatnonzero((img < 128).any(axis=0))
        sr = ink[ink > left[2]]                        # the ink right of the first field is SR's
        assert right[0] <= sr[0] and sr[-1] <= right[2]
        assert left[0] <= ink[0] and ink[ink < right[0]][-1] <= left[2]


def test_typographic_quotes_fold_to_ascii_in_latin_lines_only():
    from ocrwatchd.engine.textclean import halfwidth_if_latin

    assert halfwidth_if_latin("An important “surrogate” way, it’s", True) == "An important \"surrogate\" way, it's"
    assert halfwidth_if_latin("“surrogate”", False) == "“surrogate”"
    assert halfwidth_if_latin("他说“你好”", True) == "他说“你好”"


def test_stray_cjk_readings_go_only_on_pages_without_cjk_text():
    from ocrwatchd.engine.textclean import stray_cjk

    assert stray_cjk(["TOTAL 12.00", "一", "三木", "A一", "中 "]) == [False, True, True, False, True]
    assert stray_cjk(["物出门，超不退还或更换", "一", "TOTAL"]) == [False, False, False]


def test_rules_of_repeated_glyphs_are_not_text_and_do_not_make_a_latin_page_cjk():
    from ocrwatchd.engine.decode import DecodedImage
    from ocrwatchd.engine.textclean import glyph_rule
    from ocrwatchd.pipeline.stages import PageContext, drop_stray_stage

    rules = ["========================", "- - - - - - - - - -", "冰水水冰水水冰水水水冰", "...........", "*** *** ***",
             "本本本*冰冰****冰*本*水水*****", "*承水水水水水水水水水水水水*水水水水水水水水承水水中水水水净水水水水水水水水"]
    text = ["TOTAL 12.00", "=====", "00000000", "1111 1111 1111", "MISSISSIPPI", "**** **** **** 1234",
            "物出门，超不退还或更换", "第一一一一一一一章", "81.1111111136", "1,000,000.00",
            "IMPOSE THE A REMAINS DISTRIBUTION ANY OF COPIES FOR TO IS REINSTATED THE"]
    assert [glyph_rule(t) for t in rules] == [True] * len(rules)
    assert [glyph_rule(t) for t in text] == [False] * len(text)

    # a faded `=` rule read as CJK is dropped first, so the page stays Latin and the stray `一` goes as well
    ctx = PageContext(DecodedImage(np.full((60, 60), 255, np.uint8), None), {})
    ctx.lines = [{"text": t, "text_score": 0.9} for t in ("SUBTOTAL 12.00", "冰水水冰水水冰水水水冰冰水", "一", "THANK YOU")]
    drop_stray_stage(ctx)
    assert [l["text"] for l in ctx.lines] == ["SUBTOTAL 12.00", "THANK YOU"]
    assert ctx.dropped_lines == 2


def test_a_doubted_repeating_pattern_of_few_cjk_characters_is_a_misread_rule_not_chinese_text():
    from ocrwatchd.engine.decode import DecodedImage
    from ocrwatchd.engine.textclean import glyph_rule, repeated_cjk
    from ocrwatchd.pipeline.stages import PageContext, drop_stray_stage

    # rules on synthetic receipts read with more kinds of glyph than glyph_rule allows, and how sure the reading was
    misread = [("本水水水水南承水水本水冰水", 0.41), ("家冰家冰家家家冰>", 0.58), ("水**本本**本冰冰水*冰", 0.48),
               ("本木本末末末木本本冰冰", 0.32), ("本本本冰本*本本本本本水本本冰本末末冰水冰本水本末）***", 0.53)]
    assert not any(glyph_rule(t) for t, _ in misread)
    assert all(repeated_cjk(t, score) for t, score in misread)
    # Chinese text: many kinds; or few, but read surely (a table header); or too short to tell; Latin
    chinese = [("物出门，超不退还或更换", 0.82), ("如有了便，的请序谅。谢谢！", 0.83),
               ("相等，不等，小于，小于或等于，大于，大于或等于关系。", 0.6), ("别名1|别名2|别名3|别名4", 0.95),
               ("冰水冰水冰水", 0.4), ("MISSISSIPPI MISSISSIPPI", 0.5)]
    assert not any(repeated_cjk(t, score) for t, score in chinese)

    # on a page: the pattern goes first, so the page is a Latin one and the lone `一` goes too; real Chinese stays
    ctx = PageContext(DecodedImage(np.full((60, 60), 255, np.uint8), None), {})
    ctx.lines = [{"text": t, "text_score": s} for t, s in (("TOTAL 12.00", 0.99), misread[0], ("一", 0.7))]
    drop_stray_stage(ctx)
    assert [l["text"] for l in ctx.lines] == ["TOTAL 12.00"] and ctx.dropped_lines == 2
    ctx.lines = [{"text": t, "text_score": s} for t, s in (("TOTAL 12.00", 0.99), chinese[0], ("一", 0.7))]
    drop_stray_stage(ctx)
    assert [l["text"] for l in ctx.lines] == ["TOTAL 12.00", "物出门，超不退还或更换", "一"]


def test_longest_blanks_answers_every_window_as_a_scan_of_its_columns_would():
    def scan(ink, lo, hi):        # the longest run of ink-free columns in ink[lo:hi], the first where tied
        best, start = (lo, lo), None
        for x in range(lo, max(lo, hi) + 1):
            if x < hi and not ink[x]:
                start = x if start is None else start
            elif start is not None:
                best = (start, x) if x - start > best[1] - best[0] else best
                start = None
        return best

    rng = np.random.default_rng(0)
    for _ in range(500):
        width = int(rng.integers(1, 60))
        ink = rng.random(width) < rng.random()
        lo = rng.integers(0, width + 2, 8)
        windows = np.stack([lo, np.clip(lo + rng.integers(-2, 25, 8), 0, width)], axis=1)
        got = longest_blanks(blank_runs(ink), windows)
        assert [tuple(g) for g in got.tolist()] == [scan(ink, int(a), int(b)) for a, b in windows]


def banner_crop(band: int = 165, letters: int = 250, page: int = 60) -> np.ndarray:
    """A line crop of white letters on a coloured band, the band's edge and the page around it showing as
    strips at the top and bottom (a slide's title, its box a little taller than the band)."""
    crop = np.full((60, 300), band, np.uint8)
    crop[:5], crop[-6:] = page, page
    for x in range(20, 280, 30):
        crop[18:44, x:x + 14] = letters        # a letter's body: the crop's middle rows
    return crop


def test_letters_on_a_band_are_the_ink_not_the_strips_of_page_around_it():
    crop = banner_crop()
    letters = crop == 250
    assert not (minority_ink(crop) & letters).any()          # Otsu alone splits page from band: the strips
    assert (ink_mask(crop) == letters).all()
    for ordinary in (np.where(letters, 0, 255).astype(np.uint8), np.where(letters, 255, 40).astype(np.uint8)):
        assert (ink_mask(ordinary) == letters).all()         # dark on light, light on dark: unchanged


def test_small_print_between_two_rules_is_the_ink_not_the_paper_around_it():
    """A form's label in small capitals between the form's rules (or a table cell's text between its borders):
    the rules fill the crop's outer quarters more than the letters fill its middle, as a banner's page strips do,
    but here the letters are the dark side. In FUNSD's forms 54 of 1234 line crops, and 139 of 604 in the
    synthetic ruled tables, came back with the paper as their ink: no gap between fields, boxes never fitted."""
    crop = np.full((30, 150), 250, np.uint8)
    crop[1:3], crop[27:30] = 20, 20                          # the rules, at the crop's top and bottom
    letters = np.zeros(crop.shape, bool)
    for x in range(10, 140, 12):
        letters[16:22, x:x + 7] = True                       # 6 rows of small capitals, low in the box
    crop[letters] = 30
    mask = ink_mask(crop)
    assert (mask & letters).sum() == letters.sum()
    assert mask[3:27].sum() == letters.sum()                 # between the rules: the letters and nothing else


def test_a_crop_with_no_letters_in_its_middle_has_no_ink_there():
    flat_band = banner_crop(letters=165)                     # the band's empty end, read as 一 before
    assert not ink_in_middle(ink_mask(flat_band))
    assert ink_in_middle(ink_mask(banner_crop()))
    faint = banner_crop(letters=185)                         # letters 20 levels off the band: no split made
    assert (ink_mask(faint) == minority_ink(faint)).all()
