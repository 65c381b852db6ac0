"""The searchable PDF (outputs/pdf.py) on real scans, judged by outside tools: pdftotext, pdfimages, qpdf --check,
pdftoppm renders compared pixel by pixel with the input.

Pipeline results are computed once per module: a SROIE receipt (JPEG), and a PDF built here from another receipt
(an upright page, the same page stored sideways with /Rotate 90, the page sideways without /Rotate so the
pipeline reads it as orientation 90, and graph_ocred.pdf's page, which keeps its own text layer).
"""
from __future__ import annotations

import io
import sys
import threading
import time

import img2pdf
import pikepdf
import pytest
from PIL import Image, TiffImagePlugin

import pdf_checks as pc
from conftest import need, need_shared
from ocrwatchd.outputs import FORMATS
from ocrwatchd.outputs.pdf import image_pdf, write_pdf


@pytest.fixture(scope="module")
def shared():
    root = need_shared()
    for tool in ("pdftotext", "pdftoppm", "pdfimages", "pdfinfo"):
        need(tool, "poppler-utils must be installed (.ci/run)")
    need("qpdf", "qpdf must be installed (.ci/run)")
    return root


@pytest.fixture(scope="module")
def receipt(shared, engine, tmp_path_factory):
    """A colour JPEG receipt scan (992 x 1403, 243 kB): its result and searchable PDF."""
    from ocrwatchd.pipeline import process

    source = shared / "data" / "real" / "sroie" / "008.jpg"
    result = process(source, engine).result
    out = tmp_path_factory.mktemp("receipt") / "008.ocr.pdf"
    out.write_bytes(write_pdf(result, source))
    return source, result, out


def _image_page(image: Image.Image) -> pikepdf.Pdf:
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(150, 150))
    return pikepdf.open(io.BytesIO(img2pdf.convert(buf.getvalue())))


@pytest.fixture(scope="module")
def scanned_pdf(shared, engine, tmp_path_factory):
    """A four-page PDF: upright, /Rotate 90 (stored sideways, shown upright), sideways (orientation 90), and
    a page with its own text layer. Its result and searchable PDF."""
    from ocrwatchd.pipeline import process

    tmp = tmp_path_factory.mktemp("scanned")
    page = Image.open(shared / "data" / "real" / "sroie" / "005.jpg").convert("L").crop((0, 0, 463, 330))
    sideways = page.transpose(Image.Transpose.ROTATE_90)      # turned 90° counter-clockwise
    parts = [_image_page(page), _image_page(sideways), _image_page(sideways),
             pikepdf.open(shared / "data" / "pdf" / "graph_ocred.pdf")]
    with pikepdf.new() as pdf:
        for part in parts:
            pdf.pages.append(part.pages[0])
        pdf.pages[1].Rotate = 90     # a viewer turns it clockwise: upright again
        pdf.save(tmp / "scanned.pdf")
    for part in parts:
        part.close()
    source = tmp / "scanned.pdf"
    result = process(source, engine).result
    out = tmp / "scanned.ocr.pdf"
    out.write_bytes(write_pdf(result, source))
    return source, result, out


def test_registered_as_the_pdf_format():
    assert FORMATS["pdf"].suffix == ".ocr.pdf"


# ---------------------------------------------------------------- an image input

def test_a_jpeg_scan_is_embedded_as_its_own_bytes_and_barely_grows(receipt, tmp_path):
    source, result, out = receipt
    assert pc.run("pdfimages", "-j", out, tmp_path / "img").returncode == 0
    images = sorted(tmp_path.glob("img-*"))
    assert [p.suffix for p in images] == [".jpg"]
    assert images[0].read_bytes() == source.read_bytes()        # passthrough: not re-encoded
    assert out.stat().st_size <= 1.05 * source.stat().st_size


def test_image_pdf_reads_back_as_the_result_and_looks_like_the_scan(shared, receipt):
    source, result, out = receipt
    reference = " ".join(pc.json_texts(result))
    got, own = pc.text_f1(shared, reference, out, result)
    assert own == 1.0 and got >= own - 0.01
    inside, total, bad, _ = pc.words_in_lines(out, result)
    assert total > 100 and inside >= 0.95 * total, bad[:10]
    assert pc.lines_intact(out, result)[0] >= 0.95 * pc.lines_intact(out, result)[1]
    ok, message = pc.qpdf_check(out)
    assert ok, message
    assert pc.text_render_modes(out) == {3}                      # invisible text only
    looks = pc.looks_like_input(out, source, result)
    assert pc.looks_same(looks), looks


def test_the_looks_check_fails_a_page_with_one_visible_line(receipt, tmp_path):
    source, result, out = receipt
    marked = tmp_path / "visible.pdf"
    marked.write_bytes(pc.with_visible_line(out.read_bytes(), result, pc.reference_page(source, result, 0)))
    looks = pc.looks_like_input(marked, source, result)
    assert not pc.looks_same(looks), looks


def test_an_exif_turned_jpeg_is_shown_upright_with_the_text_on_it(receipt, tmp_path):
    """EXIF orientation 6: the pixels are stored turned; the result's coordinates are upright."""
    source, result, _ = receipt
    exif = Image.Exif()
    exif[274] = 6
    turned = tmp_path / "turned.jpg"
    Image.open(source).transpose(Image.Transpose.ROTATE_90).save(turned, quality=90, exif=exif)
    out = tmp_path / "turned.ocr.pdf"
    out.write_bytes(write_pdf(result, turned))
    assert pc.rotation(out, 1) == 90
    looks = pc.looks_like_input(out, turned, result)
    assert pc.looks_same(looks), looks
    inside, total, bad, _ = pc.words_in_lines(out, result)
    assert inside >= 0.95 * total, bad[:10]
    assert pc.run("pdfimages", "-j", out, tmp_path / "img").returncode == 0
    assert (tmp_path / "img-000.jpg").read_bytes() == turned.read_bytes()


# ---------------------------------------------------------------- a PDF input

def test_pdf_pages_keep_their_content_and_get_the_text_on_top(scanned_pdf):
    source, result, out = scanned_pdf
    with pikepdf.open(source) as before, pikepdf.open(out) as after:
        for index in (0, 1, 2):
            old, new = before.pages[index], after.pages[index]
            # the old drawing, byte for byte, inside q/Q; then the text layer
            assert new.obj.Contents.read_bytes().startswith(b"q\n" + old.obj.Contents.read_bytes())
            for name, xobject in old.obj.Resources.XObject.items():
                assert new.obj.Resources.XObject[name].read_raw_bytes() == xobject.read_raw_bytes()
            assert len(new.obj.Resources.XObject) == len(old.obj.Resources.XObject) + 1


def test_a_page_with_its_own_text_layer_is_left_as_it_was(scanned_pdf):
    source, result, out = scanned_pdf
    assert [page["source"] for page in result["pages"]] == ["ocr", "ocr", "ocr", "pdf-text"]
    with pikepdf.open(source) as before, pikepdf.open(out) as after:
        old, new = before.pages[3].obj, after.pages[3].obj
        assert old.Contents.read_raw_bytes() == new.Contents.read_raw_bytes()
        assert sorted(old.Resources.keys()) == sorted(new.Resources.keys())
        assert sorted(old.Resources.XObject.keys()) == sorted(new.Resources.XObject.keys())
    assert pc.pdftotext(out, "-f", "4", "-l", "4") == pc.pdftotext(source, "-f", "4", "-l", "4")


def test_pdf_reads_back_as_the_result_and_looks_like_the_input(shared, scanned_pdf):
    source, result, out = scanned_pdf
    ocr_pages = {**result, "pages": [page for page in result["pages"] if page["source"] == "ocr"]}
    reference = " ".join(pc.json_texts(ocr_pages))
    text = " ".join(pc.pdftotext(out, "-f", str(n), "-l", str(n)) for n in (1, 2, 3))
    own = pc.evalocr(shared).words_f1(reference, pc.json_texts(ocr_pages))["word_f1"]
    got = pc.evalocr(shared).words_f1(reference, [text])["word_f1"]
    assert own == 1.0 and got >= own - 0.01
    inside, total, bad, _ = pc.words_in_lines(out, result)
    assert total > 30 and inside >= 0.95 * total, bad[:10]
    found, lines, missing = pc.lines_intact(out, result)
    assert found >= 0.95 * lines, missing
    ok, message = pc.qpdf_check(out)
    assert ok, message
    looks = pc.looks_like_input(out, source, result)
    assert len(looks) == 4 and pc.looks_same(looks), looks


def test_a_rotated_pdf_page_gets_its_text_where_it_is_shown(scanned_pdf):
    """/Rotate 90: the result's pixels are the page as displayed; the words land on the same spots as on the
    upright page 1, which carries the same scan."""
    source, result, out = scanned_pdf
    upright, rotated = result["pages"][0], result["pages"][1]
    assert (rotated["pdf"]["rotate"], rotated["orientation"]) == (90, 0)
    assert (rotated["width"], rotated["height"]) == (upright["width"], upright["height"])
    pages = pc.bbox_pages(out)
    first = {text: box for *box, text in pages[0][2]}
    second = {text: box for *box, text in pages[1][2]}
    common = set(first) & set(second)
    assert len(common) >= 10
    for text in common:
        assert first[text] == pytest.approx(second[text], abs=1.0)


def test_a_cropped_page_gets_its_text_in_the_shown_area(scanned_pdf, tmp_path):
    """A crop box inset from the media box: the result's pixels start at the crop box's corner."""
    source, result, _ = scanned_pdf
    page = result["pages"][0]
    k = page["dpi"] / 72
    with pikepdf.open(source) as pdf:
        del pdf.pages[1:]
        (x0, y0, x1, y1) = (float(v) for v in pdf.pages[0].mediabox)
        pdf.pages[0].CropBox = [x0 + 20, y0 + 30, x1 - 10, y1 - 15]     # 20 pt off the left, 15 pt off the top
        pdf.save(tmp_path / "cropped.pdf")

    def moved(points):
        return [[x - 20 * k, y - 15 * k] for x, y in points]
    lines = [{**line, "polygon": moved(line["polygon"]),
              "box": [line["box"][0] - 20 * k, line["box"][1] - 15 * k, line["box"][2] - 20 * k,
                      line["box"][3] - 15 * k],
              "words": [{**w, "polygon": moved(w["polygon"]),
                         "box": [w["box"][0] - 20 * k, w["box"][1] - 15 * k, w["box"][2] - 20 * k,
                                 w["box"][3] - 15 * k]} for w in line["words"]]}
             for line in page["lines"] if line["box"][0] > 20 * k and line["box"][1] > 15 * k
             and line["box"][2] < (x1 - x0 - 10) * k and line["box"][3] < (y1 - y0 - 30) * k]
    shown = {**page, "width": round((x1 - x0 - 30) * k), "height": round((y1 - y0 - 45) * k), "lines": lines,
             "pdf": {"width_pt": x1 - x0 - 30, "height_pt": y1 - y0 - 45, "rotate": 0}}
    cropped = {**result, "pages": [shown]}
    out = tmp_path / "cropped.ocr.pdf"
    out.write_bytes(write_pdf(cropped, tmp_path / "cropped.pdf"))
    inside, total, bad, _ = pc.words_in_lines(out, cropped)
    assert total >= 10 and inside == total, bad


def test_a_sideways_page_gets_text_running_its_way(scanned_pdf):
    """Orientation 90: the words' boxes are on the page as given and the text runs up the page; extraction
    must give the lines in reading order, word by word, as on the upright page."""
    source, result, out = scanned_pdf
    upright, sideways = result["pages"][0], result["pages"][2]
    assert sideways["orientation"] == 90
    text = " ".join(pc.pdftotext(out, "-f", "3", "-l", "3").split())
    lines = [line["text"] for line in upright["lines"] if len(line["text"].split()) > 1]
    assert sum(" ".join(line.split()) in text for line in lines) >= 0.9 * len(lines)


# ---------------------------------------------------------------- CJK and threads

def test_chinese_words_extract_exactly(shared, tmp_path):
    """A result built by hand over a real receipt: Chinese words come back from pdftotext as they are."""
    source = shared / "data" / "real" / "sroie" / "005.jpg"
    words = [("收据号码", 40, 90), ("合计金额", 200, 330), ("谢谢光临", 340, 420)]

    def quad(x0, y0, x1, y1):
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    line = {"text": " ".join(w for w, _, _ in words), "polygon": quad(40, 560, 420, 590),
            "box": [40, 560, 420, 590], "score": 1.0, "text_score": 1.0,
            "words": [{"text": w, "polygon": quad(x0, 560, x1, 590), "box": [x0, 560, x1, 590], "score": 1.0}
                      for w, x0, x1 in words]}
    result = {"source": {"format": "jpeg"},
              "pages": [{"page": 1, "width": 463, "height": 605, "source": "ocr", "orientation": 0,
                         "lines": [line]}]}
    out = tmp_path / "cjk.pdf"
    out.write_bytes(write_pdf(result, source))
    text = pc.pdftotext(out)
    for word, _, _ in words:
        assert word in text
    inside, total, bad, _ = pc.words_in_lines(out, result)    # neighbours may come out as one (no spaces)
    assert total >= 2 and inside == total, bad


def test_two_threads_write_pdfs_at_the_same_time(receipt, scanned_pdf, tmp_path):
    jobs = [receipt[:2], scanned_pdf[:2]]
    serial = [write_pdf(result, source) for source, result in jobs]
    start = threading.Barrier(2)
    spans, outputs, errors = [None, None], [None, None], []

    def work(i):
        try:
            start.wait()
            t0 = time.perf_counter()
            outputs[i] = write_pdf(jobs[i][1], jobs[i][0])
            spans[i] = (t0, time.perf_counter())
        except Exception as e:   # reported below: an exception in a thread would otherwise vanish
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert max(s for s, _ in spans) < min(e for _, e in spans)      # the two writes overlapped
    for i, (got, want) in enumerate(zip(outputs, serial)):
        (tmp_path / f"got{i}.pdf").write_bytes(got)
        (tmp_path / f"want{i}.pdf").write_bytes(want)
        assert pc.bbox_pages(tmp_path / f"got{i}.pdf") == pc.bbox_pages(tmp_path / f"want{i}.pdf")


def test_monochrome_images_convert_safely_from_two_threads(shared):
    """img2pdf turns raw 1-bit images into CCITT G4 by patching Pillow's TIFF strip size for the length of a
    save; from two threads at once (switching often) the patches interleave and one thread's value stays
    behind unless the writer serialises them."""
    real = shared / "data" / "real" / "tesseract-test"
    before, interval = TiffImagePlugin.STRIP_SIZE, sys.getswitchinterval()
    errors = []

    def work(source):
        for _ in range(30):
            try:
                assert b"/CCITTFaxDecode" in image_pdf(source)
            except Exception as e:    # noqa: BLE001 - collected for the assertion below
                errors.append(e)
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(real / name,)) for name in ("phototest.tif", "eurotext.tif")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    assert TiffImagePlugin.STRIP_SIZE == before
