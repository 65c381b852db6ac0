"""The text formats (txt, hOCR, ALTO) over result dicts: exact structure on hand-made results, and real results
(a SROIE receipt, a synthetic scan, a 3-page PDF with a blank page, a blank image) through the outside checkers:
hocr-spec, OCRmyPDF's hOCR → PDF with pdftotext reading the words back, and the ALTO 4.4 XSD."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import REPO, need, need_shared, text_image
from outputs_check import XHTML, alto_errors, hocr_readbacks, hocr_spec, result_words
from ocrwatchd.outputs import FORMATS
from ocrwatchd.outputs.alto import write_alto
from ocrwatchd.outputs.hocr import write_hocr
from ocrwatchd.outputs.text import write_txt

A = "{http://www.loc.gov/standards/alto/ns-v4#}"


def quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def word(text, x0, y0, x1, y1, score=0.95):
    return {"text": text, "polygon": quad(x0, y0, x1, y1), "box": [x0, y0, x1, y1], "score": score}


def line(words, polygon=None):
    xs = [w["box"][0] for w in words] + [w["box"][2] for w in words]
    ys = [w["box"][1] for w in words] + [w["box"][3] for w in words]
    box = [min(xs), min(ys), max(xs), max(ys)]
    return {"polygon": polygon or quad(*box), "box": box, "score": 0.9, "text": " ".join(w["text"] for w in words),
            "text_score": 0.93, "words": words}


def result(*pages, name="scan.png"):
    return {"schema": "ocrwatchd/1", "ocrwatchd_version": "0.1.0", "created": "2026-11-28T10:00:00+00:00",
            "source": {"path": f"/in/{name}", "format": "png", "pages": len(pages)},
            "model": {"name": "det", "recognizer": {"name": "rec"}},
            "pages": [{"page": i + 1, "orientation": 0, **p} for i, p in enumerate(pages)]}


def page(lines, w=1000, h=800, **extra):
    return {"width": w, "height": h, "lines": lines, "text": "\n".join(ln["text"] for ln in lines), **extra}


def titles(doc: ET.Element, cls: str) -> list[str]:
    return [e.get("title") for e in doc.iter() if e.get("class") == cls]


# ------------------------------------------------------------------ hand-made results: exact structure

def test_txt_is_the_page_texts_by_form_feeds():
    r = result(page([], text="a\nb\tc"), {"width": 9, "height": 9, "lines": []}, page([], text="z"))
    assert write_txt(r, Path("x")) == b"a\nb\tc\f\fz\n"          # the page without text is an empty page
    assert write_txt(result(page([], text="Grüße 中文"))).decode("utf-8") == "Grüße 中文\n"


def test_hocr_structure_metas_and_whole_pixel_boxes(tmp_path):
    first = line([word("Hello", 100.4, 50.2, 180.6, 80.9, 0.987), word("hOCR", 200, 50, 260.2, 80)])
    below = line([word("next", 100, 90, 150, 120, 0.5)])
    far = line([word("footer", 100, 700, 200, 730, 1.0)])
    r = result(page([first, below, far], dpi=299.8, pdf={"width_pt": 240, "height_pt": 192, "rotate": 0}),
               page([], w=500, h=400), name="in.pdf")
    data = write_hocr(r, Path("/x/scan 1.pdf"))
    doc = ET.fromstring(data)
    metas = {m.get("name"): m.get("content") for m in doc.iter(f"{XHTML}meta") if m.get("name")}
    assert metas == {"ocr-system": "ocrwatchd 0.1.0", "ocr-number-of-pages": "2", "ocr-langs": "unknown",
                     "ocr-scripts": "Latn",
                     "ocr-capabilities": "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"}
    used = {e.get("class") for e in doc.iter() if e.get("class")}
    assert used <= set(metas["ocr-capabilities"].split())
    assert titles(doc, "ocr_page") == ['image "scan 1.pdf"; bbox 0 0 1000 800; ppageno 0; scan_res 300 300',
                                       'image "scan 1.pdf"; bbox 0 0 500 400; ppageno 1']
    # first and below are one block (adjacent, overlapping), the footer another
    assert titles(doc, "ocr_carea") == ["bbox 100 50 261 120", "bbox 100 700 200 730"]
    assert titles(doc, "ocr_line")[0] == "bbox 100 50 261 81"           # enclosing whole pixels
    assert titles(doc, "ocrx_word")[:3] == ["bbox 100 50 181 81; x_wconf 99", "bbox 200 50 261 80; x_wconf 95",
                                           "bbox 100 90 150 120; x_wconf 50"]
    assert [e.text for e in doc.iter() if e.get("class") == "ocrx_word"] == ["Hello", "hOCR", "next", "footer"]
    ids = [e.get("id") for e in doc.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    # the blank page keeps an open and a close tag (an HTML reader takes <div/> for an opening <div>)
    assert b'ppageno 1"> </div>' in data
    path = tmp_path / "a.hocr"
    path.write_bytes(data)
    assert hocr_spec(path)[0] == 0


def test_touching_word_boxes_are_written_apart():
    """Boxes of consecutive words that touch or overlap would read back as one word; they are pulled apart
    around the middle of the overlap, by 5 % of the line height (at least a pixel), other edges kept."""
    r = result(page([line([word("DAYA)", 268.2, 93.6, 334.9, 113.1), word("SDN", 333.0, 93.6, 372.4, 113.1)])]))
    doc = ET.fromstring(write_hocr(r))
    assert titles(doc, "ocrx_word") == ["bbox 268 93 333 114; x_wconf 95", "bbox 335 93 373 114; x_wconf 95"]


def test_rotated_and_skewed_lines_keep_page_coordinates(tmp_path):
    """A page turned 90° (text running bottom to top: quads start at the bottom-left) keeps its coordinates;
    hOCR says textangle 90 and ALTO ROTATION 90. A skewed quad is written as the box that encloses it."""
    up = line([word("rotated", 40, 400, 70, 520), word("text", 40, 330, 70, 390)],
              polygon=[[40, 520], [40, 330], [70, 330], [70, 520]])
    skew = line([word("skewed", 300, 100, 420, 140)], polygon=[[300, 110], [420, 100], [422, 130], [302, 140]])
    r = result(page([up], w=600, h=800, orientation=90), page([skew], w=600, h=800))
    doc = ET.fromstring(write_hocr(r))
    assert titles(doc, "ocr_page")[0].startswith('image "scan.png"; bbox 0 0 600 800')
    assert titles(doc, "ocr_line") == ["bbox 40 330 70 520; textangle 90", "bbox 300 100 420 140"]
    # along the text the words are apart (rotated ends at 400, text starts at 390): untouched
    assert titles(doc, "ocrx_word")[:2] == ["bbox 40 400 70 520; x_wconf 95", "bbox 40 330 70 390; x_wconf 95"]
    alto = write_alto(r)
    assert alto_errors(alto, need_shared()) == []
    blocks = list(ET.fromstring(alto).iter(f"{A}TextBlock"))
    assert [b.get("ROTATION") for b in blocks] == ["90", None]
    sp = next(ET.fromstring(alto).iter(f"{A}SP"))         # the blank between the words runs along y
    assert (sp.get("HPOS"), sp.get("VPOS"), sp.get("WIDTH"), sp.get("HEIGHT")) == ("40", "390", "30", "10")


def test_alto_structure(tmp_path):
    r = result(page([line([word("Hello", 100, 50, 180, 80, 0.987), word("world", 200, 50, 260, 80)])]),
               page([], w=500, h=400))
    data = write_alto(r, Path("/in/scan.png"))
    assert alto_errors(data, need_shared()) == []
    doc = ET.fromstring(data)
    assert doc.find(f"{A}Description/{A}MeasurementUnit").text == "pixel"
    assert doc.find(f"{A}Description/{A}sourceImageInformation/{A}fileName").text == "scan.png"
    sw = doc.find(f"{A}Description/{A}OCRProcessing/{A}ocrProcessingStep/{A}processingSoftware")
    assert (sw.find(f"{A}softwareName").text, sw.find(f"{A}softwareVersion").text) == ("ocrwatchd", "0.1.0")
    pages = doc.findall(f"{A}Layout/{A}Page")
    assert [(p.get("ID"), p.get("PHYSICAL_IMG_NR"), p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == \
        [("page_1", "1", "1000", "800"), ("page_2", "2", "500", "400")]
    text_line = pages[0].find(f"{A}PrintSpace/{A}TextBlock/{A}TextLine")
    assert [(e.tag[len(A):], dict(e.attrib)) for e in text_line] == [
        ("String", {"ID": "string_1_1", "CONTENT": "Hello", "HPOS": "100", "VPOS": "50", "WIDTH": "80",
                    "HEIGHT": "30", "WC": "0.987"}),
        ("SP", {"HPOS": "180", "VPOS": "50", "WIDTH": "20", "HEIGHT": "30"}),
        ("String", {"ID": "string_1_2", "CONTENT": "world", "HPOS": "200", "VPOS": "50", "WIDTH": "60",
                    "HEIGHT": "30", "WC": "0.95"})]
    assert list(pages[1].find(f"{A}PrintSpace")) == []                  # a blank page is a valid empty page


def test_file_names_the_title_syntax_cannot_carry(tmp_path):
    """hOCR splits title properties at ';' and delimits strings with '"': such names become relative URLs."""
    doc = ET.fromstring(write_hocr(result(page([])), Path('/in/a;b "c".png')))
    assert titles(doc, "ocr_page")[0].startswith('image "a%3Bb%20%22c%22.png"; bbox')
    path = tmp_path / "n.hocr"
    path.write_bytes(write_hocr(result(page([])), Path('/in/a;b "c".png')))
    assert hocr_spec(path)[0] == 0
    # a name that is not UTF-8 (Linux allows any bytes) loses the bytes XML cannot carry, not the document
    odd = Path(b"/in/sc\xffan.png".decode("utf-8", "surrogateescape"))
    assert titles(ET.fromstring(write_hocr(result(page([])), odd)), "ocr_page")[0].startswith('image "scan.png"')
    assert ET.fromstring(write_alto(result(page([])), odd)).find(f".//{A}fileName").text == "scan.png"


def test_characters_xml_cannot_carry_are_left_out():
    """A PDF's text layer can hold control characters; the XML formats drop them (and a word of nothing else)."""
    r = result(page([line([word("ab\x02c", 10, 10, 60, 30), word("\x07", 70, 10, 80, 30), word("d", 90, 10, 99, 30)])]))
    hocr = ET.fromstring(write_hocr(r))
    assert [e.text for e in hocr.iter() if e.get("class") == "ocrx_word"] == ["abc", "d"]
    assert [s.get("CONTENT") for s in ET.fromstring(write_alto(r)).iter(f"{A}String")] == ["abc", "d"]
    assert alto_errors(write_alto(r), need_shared()) == []


def test_writers_need_only_the_result(tmp_path):
    """No model, no engine: the writers run in a process where importing the ONNX runtime, OpenCV or the
    pipeline fails, on a result read from JSON."""
    r = result(page([line([word("alone", 10, 10, 90, 40)])], text="alone"))
    (tmp_path / "r.json").write_text(json.dumps(r))
    code = f"""
import json, sys
for blocked in ("onnxruntime", "cv2", "ocrwatchd.pipeline", "ocrwatchd.engine", "ocrwatchd.modelstore"):
    sys.modules[blocked] = None
from ocrwatchd.outputs import FORMATS
r = json.load(open({str(tmp_path / 'r.json')!r}))
print(*(len(FORMATS[f].write(r, None)) for f in ("txt", "hocr", "alto", "json")))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert all(int(n) > 0 for n in p.stdout.split())


# ------------------------------------------------------------------ real results through the outside checkers

@pytest.fixture(scope="module")
def real(engine, tmp_path_factory):
    """name → (result, source) for the real inputs, each read once."""
    from ocrwatchd.pipeline import process

    work = tmp_path_factory.mktemp("real")
    syn = work / "synthetic.png"
    cv2.imwrite(str(syn), text_image(1000, 260, [(30, 80, "Invoice number 4471 paid", 1.2),
                                                 (30, 170, "Thank you for your order", 1.2)]))
    blank = work / "blank.png"
    cv2.imwrite(str(blank), np.full((400, 300), 255, np.uint8))
    three = work / "three.pdf"
    pages = [Image.fromarray(text_image(900, 200, [(30, 110, text, 1.2)])) if text else Image.new("L", (900, 200), 255)
             for text in ("First page of three", None, "Third page ends here")]
    pages[0].save(three, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    receipt = need_shared() / "data" / "real" / "sroie" / "000.jpg"
    return {p.stem: (process(p, engine).result, p) for p in (receipt, syn, three, blank)}


NAMES = ["000", "synthetic", "three", "blank"]


@pytest.fixture(scope="module")
def read_back(real, tmp_path_factory):
    """name → the words pdftotext reads from OCRmyPDF's PDF of the hOCR (one converter process for all)."""
    need("pdftotext", "poppler-utils is in the CI image")
    return hocr_readbacks({name: write_hocr(*real[name]) for name in NAMES}, tmp_path_factory.mktemp("hocr"))


@pytest.mark.parametrize("name", NAMES)
def test_hocr_passes_hocr_spec_and_reads_back_in_ocrmypdf(real, read_back, name, tmp_path):
    r, src = real[name]
    data = write_hocr(r, src)
    (tmp_path / "out.hocr").write_bytes(data)
    rc, verdict = hocr_spec(tmp_path / "out.hocr")
    assert rc == 0 and "[OK]" in verdict, verdict
    assert read_back[name] == result_words(r)
    if name == "three":
        assert [len(p["lines"]) for p in r["pages"]] == [1, 0, 1]
        assert all("scan_res 150 150" in t for t in titles(ET.fromstring(data), "ocr_page"))
    if name != "blank":
        assert result_words(r)


@pytest.mark.parametrize("name", NAMES)
def test_alto_is_valid_and_carries_every_word(real, name):
    r, src = real[name]
    data = write_alto(r, src)
    assert alto_errors(data, need_shared()) == []
    doc = ET.fromstring(data)
    assert [s.get("CONTENT") for s in doc.iter(f"{A}String")] == \
        [w["text"] for p in r["pages"] for ln in p["lines"] if ln.get("text") for w in ln["words"]]
    assert len(doc.findall(f"{A}Layout/{A}Page")) == len(r["pages"])


@pytest.mark.parametrize("name", NAMES)
def test_txt_has_a_part_per_page(real, name):
    r, src = real[name]
    data = FORMATS["txt"].write(r, src).decode("utf-8")
    assert data.endswith("\n") and data[:-1].split("\f") == [p.get("text", "") for p in r["pages"]]
    if name == "three":
        assert data == "First page of three\f\fThird page ends here\n"
