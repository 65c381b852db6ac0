import copy
import json
from pathlib import Path

import jsonschema
import pytest

from ocrwatchd.pipeline import process

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "ocrwatchd/schema/result.schema.json").read_text())


@pytest.fixture(scope="module")
def result(engine, tmp_path_factory):
    import cv2
    from conftest import text_image

    path = tmp_path_factory.mktemp("s") / "a.png"
    cv2.imwrite(str(path), text_image(900, 700, [(50, 300, "schema check", 1.8)]))
    return process(path, engine).result


def test_result_is_valid(result):
    jsonschema.validate(result, SCHEMA)
    assert result["pages"][0]["lines"], "the test image has a line"


@pytest.mark.parametrize("breakage", [
    lambda r: r.update(schema="ocrwatchd/2"),
    lambda r: r["pages"][0]["lines"][0].pop("polygon"),
    lambda r: r["pages"][0]["lines"][0].update(box=[1, 2, 3]),
    lambda r: r["source"].update(sha256="xyz"),
    lambda r: r.pop("model"),
    lambda r: r["compat"]["boxes"][0].pop(),
    lambda r: r["pages"][0]["lines"][0].update(text_score=1.5),
])
def test_schema_rejects_broken_results(result, breakage):
    broken = copy.deepcopy(result)
    breakage(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_coordinates_are_in_original_pixels_after_upscaling(result):
    # the 900×700 image is upscaled for detection (short side < 736); boxes must still fit the original
    assert result["params"]["scale"] > 1
    for line in result["pages"][0]["lines"]:
        x0, y0, x1, y1 = line["box"]
        assert 0 <= x0 < x1 <= 900 and 0 <= y0 < y1 <= 700
        assert 250 < (y0 + y1) / 2 < 300


def test_every_page_of_a_multi_page_tiff_is_read(engine, tmp_path):
    import io

    import jsonschema
    from conftest import text_image
    from PIL import Image

    pages = [Image.fromarray(text_image(900, 600, [(60, 300, f"page number {n}", 1.6)])) for n in (1, 2, 3)]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    path = tmp_path / "fax.tif"
    path.write_bytes(buf.getvalue())
    result = process(path, engine).result
    jsonschema.validate(result, SCHEMA)
    assert result["source"]["pages"] == 3 and result["warnings"] == []
    assert [p["page"] for p in result["pages"]] == [1, 2, 3]
    assert [p["text"] for p in result["pages"]] == ["page number 1", "page number 2", "page number 3"]
    assert result["stats"]["lines"] == 3 and result["compat"]["texts"] == [p["text"] for p in result["pages"]]


def test_pdf_results_are_valid(engine):
    from conftest import need_shared

    root = need_shared()
    for name in ("graph_ocred.pdf", "palette.pdf"):
        result = process(root / "data" / "pdf" / name, engine).result
        jsonschema.validate(result, SCHEMA)
        page = result["pages"][0]
        assert page["pdf"]["rotate"] == 0 and page["dpi"] == 96 and page["lines"]
        assert page["source"] == ("pdf-text" if name == "graph_ocred.pdf" else "ocr")


def test_words_spell_their_line_and_lie_inside_it(engine):
    from conftest import need_shared

    result = process(need_shared() / "data/real/sroie/100.jpg", engine).result
    jsonschema.validate(result, SCHEMA)
    lines = result["pages"][0]["lines"]
    assert len(lines) > 30
    for line in lines:
        assert " ".join(w["text"] for w in line["words"]) == " ".join(line["text"].split())
        x0, y0, x1, y1 = line["box"]
        for w in line["words"]:
            wx0, wy0, wx1, wy1 = w["box"]
            assert x0 - 1 <= wx0 <= wx1 <= x1 + 1 and y0 - 1 <= wy0 <= wy1 <= y1 + 1
        starts = [w["box"][0] for w in line["words"]]
        assert starts == sorted(starts)             # in reading order along the line
