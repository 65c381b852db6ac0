"""Files → pages (ocrwatchd.documents): PDFs from OCRmyPDF's test suite with their traps, made-up PDFs, TIFFs.

Opening and planning pages is checked without the models; only the rendering tests decode pixels.
"""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from conftest import need_shared
from ocrwatchd.documents import DocumentOptions, EncryptedDocument, TooManyPages, open_document
from ocrwatchd.engine.decode import ImageTooLarge, TruncatedImage, UnsupportedImage


def pdf_data(name: str) -> Path:
    return need_shared() / "data" / "pdf" / name


def plan(name: str, **opts):
    with open_document(pdf_data(name), DocumentOptions(**opts)) as doc:
        return doc, [doc.page(i).info for i in range(doc.page_count)]


def image_pdf(path: Path, pages: list[Image.Image], dpi: float = 150) -> Path:
    """A PDF of scanned-looking pages (each an image filling the page), written with Pillow."""
    pages[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return path


def three_word_pdf(tmp_path: Path) -> Path:
    """A three-page scanned-looking PDF whose pages say FIRST PAGE, SECOND PAGE, THIRD PAGE."""
    from PIL import ImageDraw

    pages = []
    for word in ("FIRST PAGE", "SECOND PAGE", "THIRD PAGE"):
        im = Image.new("L", (1200, 400), 255)
        ImageDraw.Draw(im).text((60, 150), word, fill=0, font_size=80)
        pages.append(im)
    return image_pdf(tmp_path / "three.pdf", pages, dpi=150)


def test_scans_render_at_their_own_resolution():
    _, [linn] = plan("linn.pdf")          # 2550×3300 JBIG2 on a Letter page: 300 dpi
    assert linn.dpi == 300 and (linn.width, linn.height) == (2550, 3300)   # not 3301: float32 points (below)
    _, [poster] = plan("poster.pdf")      # the same scan placed on a poster-sized page: 102 dpi, not pdf_dpi
    assert abs(poster.dpi - 102) < 1 and abs(poster.width - 2550) <= 1
    _, [aspect] = plan("aspect.pdf")      # 200 × 100 dpi: the finer of the two, so neither axis loses detail
    assert aspect.dpi == 200
    _, [skew] = plan("skew.pdf")          # skewed through the page matrix: still the image's resolution
    assert 285 < skew.dpi < 295


@pytest.mark.parametrize("width, height, dpi", [(463, 1013, 150), (463, 605, 150), (937, 1449, 96), (1275, 1651, 150)])
def test_a_scan_wrapped_as_a_pdf_renders_onto_its_own_pixel_grid(tmp_path, width, height, dpi):
    # PDF sizes are float32 points: 463 px at 150 dpi is a page 222.24000549 pt wide, 463.00001 px back at 150 dpi,
    # and rounding that up drew the scan stretched onto 464 columns (two SROIE receipts wrapped by img2pdf).
    import img2pdf

    buf = io.BytesIO()
    Image.new("L", (width, height), 255).save(buf, "JPEG", dpi=(dpi, dpi))
    path = tmp_path / "scan.pdf"
    path.write_bytes(img2pdf.convert(buf.getvalue()))
    with open_document(path) as doc:
        page = doc.page(0)
        assert (page.info.width, page.info.height) == (width, height)
        assert page.pixels().image.pixels.shape[:2] == (height, width)


def test_scan_resolution_is_capped_and_vector_pages_use_pdf_dpi():
    _, [typed] = plan("2400dpi.pdf")
    assert typed.dpi == 600 and abs(typed.width - 1000) <= 1
    _, [typed] = plan("2400dpi.pdf", pdf_max_dpi=1200)
    assert typed.dpi == 1200
    _, [vector] = plan("vector.pdf", pdf_dpi=200)   # text drawn as curves: no image to take a resolution from
    assert vector.dpi == 200 and vector.text_lines is None
    assert vector.pdf == {"width_pt": 595.28, "height_pt": 841.89, "rotate": 0}   # A4


def test_pages_too_large_are_rendered_smaller_with_a_warning():
    doc, [huge] = plan("hugemono.pdf")    # 35000 × 35000 at 300 dpi: 1.2 gigapixels
    assert huge.width * huge.height <= 100_000_000 and huge.dpi < 300
    assert "rendered at" in huge.warnings[0] and "instead of 300" in huge.warnings[0]
    assert doc.max_page_pixels() <= 100_000_000
    _, [fits] = plan("enormous.pdf", memory_limit=40_000_000 * 4)   # the memory budget caps it too
    assert fits.width * fits.height <= 40_000_000 and fits.warnings


def test_text_layer_is_used_or_ignored_by_policy():
    _, [page] = plan("graph_ocred.pdf")
    assert page.text_lines and all(line["text"] and line["score"] == 1.0 for line in page.text_lines)
    assert any("note" in line["text"] for line in page.text_lines)
    for line in page.text_lines:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height
    _, [page] = plan("graph_ocred.pdf", pdf_text="ocr")
    assert page.text_lines is None


def test_text_layer_boxes_follow_the_page_rotation(tmp_path):
    pdf = pikepdf.open(pdf_data("graph_ocred.pdf"))
    pdf.pages[0].Rotate = 90
    pdf.save(tmp_path / "turned.pdf")
    _, [flat] = plan("graph_ocred.pdf")
    with open_document(tmp_path / "turned.pdf") as doc:
        turned = doc.page(0).info
    assert (turned.width, turned.height) == (flat.height, flat.width) and turned.pdf["rotate"] == 90
    assert [line["text"] for line in turned.text_lines] != []
    by_text = {line["text"]: line["box"] for line in turned.text_lines}
    for line in flat.text_lines:      # displayed turned 90° clockwise: (x, y) → (height - y, x)
        if line["text"] in by_text:
            x0, y0, x1, y1 = line["box"]
            assert np.allclose(by_text[line["text"]], [flat.height - y1, x0, flat.height - y0, x1], atol=2)


def test_bad_pdfs_say_why(tmp_path):
    with pytest.raises(UnsupportedImage, match="not a readable PDF"):
        open_document(pdf_data("invalid.pdf"))
    data = pdf_data("linn.pdf").read_bytes()
    (tmp_path / "half.pdf").write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedImage, match="%%EOF"):
        open_document(tmp_path / "half.pdf")
    (tmp_path / "empty.pdf").write_bytes(b"")
    with pytest.raises(UnsupportedImage):
        open_document(tmp_path / "empty.pdf")


def test_encryption_user_password_refused_owner_password_read(tmp_path):
    src = pikepdf.open(pdf_data("linn.pdf"))
    src.save(tmp_path / "user.pdf", encryption=pikepdf.Encryption(user="u", owner="o"))
    src.save(tmp_path / "owner.pdf", encryption=pikepdf.Encryption(user="", owner="o"))
    with pytest.raises(EncryptedDocument) as err:
        open_document(tmp_path / "user.pdf")
    assert err.value.reason == "encrypted" and "password" in str(err.value)
    with open_document(tmp_path / "owner.pdf") as doc:
        image = doc.page(0).pixels().image
    assert image.pixels.shape[:2] in ((3300, 2550), (3301, 2550)) and image.pixels.min() < 50


def test_too_many_pages_refused_before_reading(tmp_path):
    pages = [Image.new("L", (300, 200), 255) for _ in range(5)]
    path = image_pdf(tmp_path / "five.pdf", pages)
    with pytest.raises(TooManyPages, match="5 pages"):
        open_document(path, DocumentOptions(max_pages=4))
    with open_document(path, DocumentOptions(max_pages=5)) as doc:
        assert doc.page_count == 5


def test_a_file_is_known_by_its_bytes_not_its_name(tmp_path):
    path = image_pdf(tmp_path / "scan.png", [Image.new("L", (300, 200), 255)])   # a PDF named .png
    with open_document(path) as doc:
        assert doc.format == "pdf"
    buf = io.BytesIO()
    Image.new("L", (30, 20), 255).save(buf, "PNG")
    (tmp_path / "scan.pdf").write_bytes(buf.getvalue())                         # a PNG named .pdf
    with open_document(tmp_path / "scan.pdf") as doc:
        assert doc.format == "png" and doc.page(0).pixels().image.pixels.shape == (20, 30)


def test_rendered_pages_are_gray_for_bilevel_scans_and_colour_for_colour(tmp_path):
    with open_document(pdf_data("ccitt.pdf")) as doc:
        assert doc.page(0).pixels().image.pixels.ndim == 2
    colour = Image.new("RGB", (200, 100), (255, 255, 255))
    colour.paste((200, 30, 30), (20, 20, 120, 60))
    with open_document(image_pdf(tmp_path / "c.pdf", [colour], dpi=100)) as doc:
        pixels = doc.page(0).pixels().image.pixels
    assert pixels.shape == (100, 200, 3) and np.allclose(pixels[40, 60], (30, 30, 200), atol=6)   # BGR (JPEG)


def test_tiff_bomb_on_a_later_page_is_refused_from_its_header(tmp_path):
    small = Image.new("L", (40, 30), 255)
    buf = io.BytesIO()
    small.save(buf, "TIFF", save_all=True, append_images=[Image.new("L", (400, 300), 255)])
    data = bytearray(buf.getvalue())
    from ocrwatchd.engine.decode import page_sizes
    assert page_sizes(bytes(data)) == [(40, 30), (400, 300)]
    path = tmp_path / "bomb.tif"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageTooLarge, match="page 2 of 2 is 400x300"):
        open_document(path, DocumentOptions(max_pixels=100_000))
    with open_document(path) as doc:     # and the budget sees the largest page, not the first
        assert doc.max_page_pixels() == 400 * 300


def test_pdf_text_policy_json_and_no_model_run(engine):
    from ocrwatchd.pipeline import process

    ctx = process(pdf_data("graph_ocred.pdf"), engine)
    page = ctx.result["pages"][0]
    assert page["source"] == "pdf-text" and page["lines"] and "note" in page["text"]
    assert ctx.result["stats"]["tiles"] == 0 and "detect" not in ctx.result["timings"]
    assert page["dpi"] == 96 and page["pdf"]["rotate"] == 0


def test_blank_and_empty_pages_give_pages_without_lines(engine):
    from ocrwatchd.pipeline import process

    for name in ("trivial.pdf", "no_contents.pdf"):
        result = process(pdf_data(name), engine, options=DocumentOptions(pdf_dpi=72)).result
        assert [len(p["lines"]) for p in result["pages"]] == [0] and result["warnings"] == []
        assert result["source"]["format"] == "pdf" and result["source"]["pages"] == 1


@pytest.mark.parametrize("ahead", [False, True])
def test_pages_are_read_one_at_a_time(tmp_path, engine, monkeypatch, ahead):
    """When a page is read, no earlier page's pixels are still alive, and with read-ahead only the next page's are
    besides its own: peak memory is one page, or two."""
    import gc
    import time
    import weakref

    from ocrwatchd.documents.pdf import PdfSource
    from ocrwatchd.pipeline import run

    path = image_pdf(tmp_path / "four.pdf", [Image.new("L", (900, 300), 255) for _ in range(4)], dpi=100)
    rendered: list[weakref.ref] = []
    real_render = PdfSource._render

    def render(self, index, info, gray):
        page = real_render(self, index, info, gray)
        rendered.append(weakref.ref(page.image.pixels))
        return page

    earlier_alive, others_alive = [], []
    real = run.page_stages

    def spy(pctx, eng):
        current = next(n for n, r in enumerate(rendered) if r() is pctx.image.pixels)
        deadline = time.monotonic() + 10    # with read-ahead, the next page is being made: let it finish
        while ahead and len(rendered) < min(current + 2, 4) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)                     # and time for a helper to run further ahead, if it would
        gc.collect()
        alive = [r() is not None for r in rendered]
        earlier_alive.append(sum(alive[:current]))
        others_alive.append(sum(alive) - 1)
        real(pctx, eng)

    monkeypatch.setattr(PdfSource, "_render", render)
    monkeypatch.setattr(run, "page_stages", spy)
    result = run.process(path, engine, read_ahead=ahead).result
    assert len(result["pages"]) == 4 and earlier_alive == [0, 0, 0, 0]
    assert others_alive == ([1, 1, 1, 0] if ahead else [0, 0, 0, 0])
    assert math.isclose(result["pages"][1]["dpi"], 100, rel_tol=0.01)
    assert ("page_wait" in result["timings"]) == ahead


def test_a_page_that_fails_to_render_is_a_warning_and_the_others_are_read(tmp_path, engine, monkeypatch):
    """PDFium refusing one page of three (a damaged content stream) costs that page only: it comes back empty with
    its error, the result carries a warning naming it, and the pages around it are read."""
    from ocrwatchd.documents.pdf import PdfSource
    from ocrwatchd.pipeline import run

    path = three_word_pdf(tmp_path)
    real = PdfSource._render

    def damaged(self, index, info, gray):
        if index == 1:
            raise UnsupportedImage("page 2 could not be rendered: Failed to load page")
        return real(self, index, info, gray)

    monkeypatch.setattr(PdfSource, "_render", damaged)
    result = run.process(path, engine).result
    assert [p.get("error") is not None for p in result["pages"]] == [False, True, False]
    assert result["pages"][1]["lines"] == [] and "page 2" in result["pages"][1]["error"]
    assert any("page 2 was not read" in w for w in result["warnings"])
    texts = [" ".join(line["text"] for line in p["lines"]) for p in result["pages"]]
    assert "FIRST" in texts[0] and "THIRD" in texts[2]


def test_read_ahead_reads_a_document_exactly_as_page_by_page(tmp_path, engine):
    """The same three-page PDF read with and without read-ahead: the same pages, lines, boxes and texts."""
    from ocrwatchd.pipeline import run

    path = three_word_pdf(tmp_path)
    ahead, alone = (run.process(path, engine, read_ahead=on).result["pages"] for on in (True, False))
    assert ahead == alone
    assert [" ".join(line["text"] for line in p["lines"]) for p in ahead] == ["FIRST PAGE", "SECOND PAGE",
                                                                              "THIRD PAGE"]
