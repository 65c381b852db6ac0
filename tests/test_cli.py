"""`ocrwatchd detect` as a user runs it: a real process, the bundled model, real files."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import jsonschema
import pytest
from conftest import text_image

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "ocrwatchd/schema/result.schema.json").read_text())


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "ocrwatchd", *args], capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    d = tmp_path_factory.mktemp("scans")
    img = text_image(1400, 900, [(60, 150, "Invoice number 4711", 2.0), (60, 400, "Total due 123.45 EUR", 2.0),
                                 (60, 700, "Thank you for your order", 2.0)])
    path = d / "scan one.png"        # a space in the name, as users' files have
    cv2.imwrite(str(path), img)
    return path


def test_detect_prints_one_schema_valid_result(scan):
    p = run("detect", "--device", "cpu", str(scan))
    assert p.returncode == 0, p.stderr
    (line,) = p.stdout.splitlines()
    result = json.loads(line)
    jsonschema.validate(result, SCHEMA)
    assert result["source"]["path"] == str(scan) and result["source"]["width"] == 1400
    assert result["model"]["provider"] == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in p.stderr     # the provider in use is said, not assumed
    lines = result["pages"][0]["lines"]
    assert len(lines) == 3
    ys = [l["box"][1] for l in lines]
    assert ys == sorted(ys) and 80 < ys[0] < 150 and 330 < ys[1] < 400 and 630 < ys[2] < 700
    assert [l["text"] for l in lines] == ["Invoice number 4711", "Total due 123.45 EUR", "Thank you for your order"]
    assert result["pages"][0]["text"].splitlines() == [l["text"] for l in lines]
    compat = result["compat"]
    assert compat["success"] is True and compat["texts"] == [l["text"] for l in lines]
    assert all(len(b) == 8 and all(isinstance(v, int) for v in b) for b in compat["boxes"])
    assert compat["scores"] == [l["score"] for l in lines]


def test_reading_an_image_leaves_the_pdf_and_daemon_libraries_unimported(scan):
    """A fresh process pays for every import before its first page (~0.3 s of the ~1 s a receipt takes): reading
    an image does not import pypdfium2 (PDFs only) or pydantic-settings (the daemon's config file)."""
    code = ("import sys\nfrom ocrwatchd.cli import main\nrc = main(sys.argv[1:])\n"
            "print(sorted(m for m in ('pypdfium2', 'pydantic_settings') if m in sys.modules))\nsys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, "detect", "--device", "cpu", str(scan)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    result, imported = p.stdout.splitlines()
    assert json.loads(result)["pages"][0]["lines"] and imported == "[]"


def test_the_first_page_is_decoded_while_the_pipeline_is_still_being_imported(scan):
    """`ocrwatchd detect` starts opening its first file before it imports the pipeline and its settings library
    (0.07 s that an 8.7-MP PNG's decode now runs beside), with the options the flags give."""
    code = ("import sys\nimport ocrwatchd.documents.readahead as r\nseen = []\nbase = r.FirstPage.__init__\n"
            "def spy(self, path, options):\n"
            "    seen.append(('ocrwatchd.pipeline' in sys.modules, 'pydantic' in sys.modules, options.max_pixels))\n"
            "    base(self, path, options)\n"
            "r.FirstPage.__init__ = spy\nfrom ocrwatchd.cli import main\nrc = main(sys.argv[1:])\n"
            "print(seen)\nsys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, "detect", "--device", "cpu", "--max-pixels", "50000000",
                        str(scan)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    result, seen = p.stdout.splitlines()
    assert json.loads(result)["pages"][0]["lines"]
    assert seen == "[(False, False, 50000000)]"


def test_no_recognize_keeps_detection_only(scan):
    p = run("detect", "--device", "cpu", "--no-recognize", str(scan))
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    lines = result["pages"][0]["lines"]
    assert len(lines) == 3 and all("text" not in l for l in lines) and "text" not in result["pages"][0]
    assert "recognizer" not in result["model"] and result["compat"]["texts"] == ["", "", ""]


def test_several_images_give_one_json_object_per_line(scan, tmp_path):
    other = tmp_path / "other.jpg"
    cv2.imwrite(str(other), text_image(800, 600, [(40, 300, "hello world", 1.5)]))
    p = run("detect", "--device", "cpu", "--no-recognize", str(scan), str(other))
    assert p.returncode == 0, p.stderr
    out = [json.loads(l) for l in p.stdout.splitlines()]
    assert [o["source"]["path"] for o in out] == [str(scan), str(other)]
    assert len(out[1]["pages"][0]["lines"]) == 1


def test_output_and_visualize_files_and_no_overwrite(scan, tmp_path):
    out, vis = tmp_path / "r.json", tmp_path / "boxes.jpg"
    p = run("detect", "--device", "cpu", str(scan), "-o", str(out), "--visualize", str(vis))
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["schema"] == "ocrwatchd/1"
    drawn = cv2.imread(str(vis))
    assert drawn.shape[:2] == (900, 1400)
    red = (drawn[:, :, 2] > 180) & (drawn[:, :, 1] < 90) & (drawn[:, :, 0] < 90)
    assert red.sum() > 1000                       # the boxes are drawn
    before = out.read_bytes()
    p = run("detect", "--device", "cpu", str(scan), "-o", str(out))
    assert p.returncode == 2 and "refusing to overwrite" in p.stderr
    assert out.read_bytes() == before
    p = run("detect", "--device", "cpu", "--no-recognize", str(scan), "-o", str(out), "--overwrite")
    assert p.returncode == 0, p.stderr
    assert "text" not in json.loads(out.read_text())["pages"][0]          # the new result replaced the old one
    assert sorted(f.name for f in tmp_path.iterdir()) == ["boxes.jpg", "r.json"]   # no temp file left


def test_bad_input_is_a_clear_error_and_others_still_run(scan, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    p = run("detect", "--device", "cpu", str(bad), str(scan))
    assert p.returncode == 1
    assert "notes.png" in p.stderr and "not a supported image" in p.stderr
    assert len(p.stdout.splitlines()) == 1


def test_bomb_limit(scan):
    p = run("detect", "--device", "cpu", "--max-pixels", "1000000", str(scan))
    assert p.returncode == 1 and "1260000" in p.stderr.replace(",", "").replace("_", "")


def test_require_gpu_fails_without_cuda(scan):
    from ocrwatchd.engine.session import create_session
    from ocrwatchd.modelstore import load_manifest

    _, active = create_session(load_manifest().verified_path()[1])
    if active == "CUDAExecutionProvider":
        pytest.skip("this host really has CUDA")
    p = run("detect", "--require-gpu", str(scan))
    assert p.returncode == 2 and "require_gpu" in p.stderr


def test_damaged_model_is_refused_with_path_and_fix(tmp_path, scan):
    from ocrwatchd.modelstore import load_manifest

    m = load_manifest()
    entry = m.int8_of(m.default_detector) or m.entry()     # the file a CPU run opens first
    (tmp_path / entry.file).write_bytes(b"not the model")
    (tmp_path / "manifest.toml").write_text(m.path.read_text())
    p = run("detect", "--manifest", str(tmp_path / "manifest.toml"), str(scan))
    assert p.returncode == 2
    assert str(tmp_path / entry.file) in p.stderr and "make models" in p.stderr
