"""ocrwatchd as OCRmyPDF's OCR engine (ocrwatchd/ocrmypdf_plugin.py), run through the real OCRmyPDF: its CLI in a
subprocess and its Python API in threads, always with a PATH on which there is no tesseract binary (OCRmyPDF's
builtin Tesseract plugin would refuse to start without one). The outputs are checked with outside tools:
pdftotext (the text layer, and where its words lie), qpdf --check.
"""
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pikepdf
import pytest

from conftest import REPO, need, need_shared, text_image

PLUGIN = "ocrwatchd.ocrmypdf_plugin"


@pytest.fixture(scope="module")
def bare_path(tmp_path_factory) -> str:
    """An empty folder as the whole PATH. OCRmyPDF with --output-type pdf needs no outside program (pypdfium2
    renders, its own renderer writes the text layer, the optional optimisers are skipped when absent); the tests
    run pdftotext and qpdf by their absolute paths."""
    folder = str(tmp_path_factory.mktemp("bin"))
    assert shutil.which("tesseract", path=folder) is None
    return folder


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    return {"pdftotext": need("pdftotext", "poppler-utils reads the PDFs' text layers"),
            "pdftoppm": need("pdftoppm", "poppler-utils renders the pages the words must lie on"),
            "qpdf": need("qpdf", "qpdf --check checks the PDFs OCRmyPDF wrote")}


def ocrmypdf_cli(args: list[str], path: str) -> subprocess.CompletedProcess:
    # `python -m` from the checkout: the plugin module is imported from this tree, not an installed copy.
    return subprocess.run([sys.executable, "-m", "ocrmypdf", "--plugin", PLUGIN, *map(str, args)], cwd=REPO,
                          env=dict(os.environ, PATH=path), capture_output=True, text=True, timeout=900)


def page_text(tools, pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run([tools["pdftotext"], *pages, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def qpdf_check(tools, pdf: Path) -> None:
    check = subprocess.run([tools["qpdf"], "--check", str(pdf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors found" in check.stdout


def words_f1(shared: Path, gt: str, text: str) -> float:
    sys.path.insert(0, str(shared / "eval"))
    try:
        return importlib.import_module("evalocr").words_f1(gt, [text])["word_f1"]
    finally:
        sys.path.remove(str(shared / "eval"))


def words_on_ink(tools, pdf: Path, tmp_path: Path) -> tuple[float, float]:
    """(share of pdftotext's words with ink under their box, how far the words' extent is from the ink's, as a
    share of the page) on page 1 rendered at 72 dpi, so PDF points are pixels. A text layer at the wrong scale
    or offset puts words on white paper and spans a different area than the print."""
    subprocess.run([tools["pdftoppm"], "-r", "72", "-gray", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(tmp_path / "page")], check=True)
    ink = cv2.imread(str(tmp_path / "page.pgm"), cv2.IMREAD_GRAYSCALE) < 128
    bbox = subprocess.run([tools["pdftotext"], "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    boxes = [[float(v) for v in m] for m in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', bbox)]
    assert boxes
    on_ink = [ink[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))].any() for x0, y0, x1, y1 in boxes]
    ys, xs = np.nonzero(ink)
    words = np.array(boxes)
    extent = [words[:, 0].min() - xs.min(), words[:, 1].min() - ys.min(),
              words[:, 2].max() - xs.max(), words[:, 3].max() - ys.max()]
    return sum(on_ink) / len(on_ink), max(abs(e) for e in extent) / max(ink.shape)


def scan_pdf(path: Path, lines: list[str], turn: int | None = None) -> Path:
    """A 150-dpi scan-like PDF of a few printed lines, optionally turned (cv2.ROTATE_*)."""
    img = text_image(1400, 160 + 110 * len(lines), [(60, 130 + 110 * i, t, 1.6) for i, t in enumerate(lines)])
    if turn is not None:
        img = cv2.rotate(img, turn)
    ok, png = cv2.imencode(".png", img)
    path.write_bytes(img2pdf.convert(png.tobytes(), layout_fun=img2pdf.get_fixed_dpi_layout_fun((150, 150))))
    return path


# ---------------------------------------------------------------- the CLI on OCRmyPDF's own test files

def test_linn_through_the_cli_without_tesseract(tools, bare_path, tmp_path):
    """linn.pdf (a 300-dpi two-column page): the text layer reads as the hand-checked transcription, its words lie
    on the print, the sidecar is ocrwatchd's page text, the plugin's flags reach the engine, qpdf finds nothing."""
    shared = need_shared()
    out, sidecar = tmp_path / "linn.pdf", tmp_path / "linn.txt"
    run = ocrmypdf_cli(["--output-type", "pdf", "--jobs", "2", "-v1", "--ocrwatchd-device", "cpu",
                        "--ocrwatchd-threads", "2", "--sidecar", sidecar, shared / "data/pdf/linn.pdf", out], bare_path)
    assert run.returncode == 0, run.stderr
    assert "ocrwatchd engine loaded (CPUExecutionProvider, 2 threads)" in run.stderr
    gt = (shared / "data/real/ocrmypdf/linn.gt.txt").read_text()
    assert words_f1(shared, gt, page_text(tools, out)) >= 0.97
    assert words_f1(shared, gt, sidecar.read_text()) >= 0.97
    on_ink, off = words_on_ink(tools, out, tmp_path)
    assert on_ink >= 0.98 and off < 0.02, (on_ink, off)
    with pikepdf.open(out) as pdf:
        assert "ocrwatchd" in str(pdf.docinfo["/Creator"])     # our engine ran, not Tesseract
    qpdf_check(tools, out)


def test_multipage_every_page_read(tools, bare_path, tmp_path):
    """multipage.pdf: six pages of 33-150 dpi (photo of a book page, charts, a big page, typeset text), two at a
    time on two engines. --redo-ocr: the page that already has a text layer is read again too, so every page's
    text comes from ocrwatchd. --max-ocr-image-mpixels 1 keeps this test short: OCRmyPDF shrinks the two pages
    above 1 MP (the 81-MP one to 1000 x 1000 at 33 dpi) and lowers their dpi, which the words must follow (the
    plugin takes the dpi from the image it is given). --fast-web-view 999999 (no linearization): Debian's qpdf
    11.3 warns about the hint tables pikepdf's newer libqpdf writes, for OCRmyPDF's Tesseract output too, and
    then checks nothing else."""
    shared = need_shared()
    out = tmp_path / "multipage.pdf"
    run = ocrmypdf_cli(["--output-type", "pdf", "--jobs", "2", "--redo-ocr", "--max-ocr-image-mpixels", "1",
                        "--fast-web-view", "999999", shared / "data/pdf/multipage.pdf", out], bare_path)
    assert run.returncode == 0, run.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 6
    words = {p: page_text(tools, out, p).split() for p in range(1, 7)}
    assert all(len(w) >= 5 for w in words.values()), {p: len(w) for p, w in words.items()}
    assert "megapixels" in words[2] and "Support" in words[3] and "throne" in words[5]
    qpdf_check(tools, out)


# ---------------------------------------------------------------- the Python API, in-process

@pytest.fixture
def api(bare_path, monkeypatch):
    """ocrmypdf.ocr with the plugin and no tesseract on PATH. ocr() leaves sys.stderr replaced by its progress
    bar's capture (OCRmyPDF 17.13); monkeypatch puts it back after the test."""
    import ocrmypdf

    monkeypatch.setenv("PATH", bare_path)
    monkeypatch.setattr(sys, "stderr", sys.stderr)

    def ocr(src: Path, out: Path, **kw):
        return ocrmypdf.ocr(src, out, plugins=[PLUGIN], output_type="pdf", progress_bar=False, **kw)
    return ocr


def test_api_two_documents_at_once(api, tools, tmp_path):
    """Two threads, one ocrmypdf.ocr() each, at the same time, each output with its own text (each engine is
    lent to one thread at a time). The second page was scanned turned 90° clockwise and is run with
    rotate_pages: ocrwatchd turns it 270° clockwise to read it, OCRmyPDF (like Tesseract's OSD) calls that
    'facing 90' and undoes it with /Rotate 270; its words must lie on its print as displayed."""
    import ocrmypdf

    docs = {"upright": scan_pdf(tmp_path / "a.pdf", ["QUOKKA WOMBAT 4711", "the second line here"]),
            "turned": scan_pdf(tmp_path / "b.pdf", ["PAGE TURNED SIDEWAYS", "read it upright", "third line"],
                               cv2.ROTATE_90_CLOCKWISE)}
    barrier, codes = threading.Barrier(2), {}

    def job(name):
        barrier.wait()
        codes[name] = api(docs[name], tmp_path / f"{name}.out.pdf", jobs=1, rotate_pages=name == "turned")

    threads = [threading.Thread(target=job, args=(name,)) for name in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == {"upright": ocrmypdf.ExitCode.ok, "turned": ocrmypdf.ExitCode.ok}
    assert page_text(tools, tmp_path / "upright.out.pdf").split() == "QUOKKA WOMBAT 4711 the second line here".split()
    turned = tmp_path / "turned.out.pdf"
    with pikepdf.open(turned) as pdf:
        assert pdf.pages[0].obj.get("/Rotate") == 270
    assert page_text(tools, turned).split() == "PAGE TURNED SIDEWAYS read it upright third line".split()
    on_ink, off = words_on_ink(tools, turned, tmp_path)
    assert on_ink == 1.0 and off < 0.02, (on_ink, off)


def test_ocr_engine_none_still_works(api, tools, tmp_path):
    """--ocr-engine none with the plugin loaded: OCRmyPDF's null engine, no text, still no tesseract needed."""
    out = tmp_path / "none.pdf"
    api(scan_pdf(tmp_path / "a.pdf", ["NOTHING READ HERE"]), out, ocr_engine="none")
    assert page_text(tools, out).strip() == ""


@pytest.mark.parametrize("kw, message", [
    ({"language": ["eng", "rus"]}, "does not read rus"),
    ({"pdf_renderer": "sandwich"}, "sandwich is not supported"),
    ({"ocr_engine": "tesseract"}, "replaces Tesseract"),
    ({"ocrwatchd_device": "tpu"}, "device"),
])
def test_refused_before_any_page_is_read(api, tmp_path, kw, message):
    from ocrmypdf.exceptions import BadArgsError

    src = scan_pdf(tmp_path / "a.pdf", ["SOME TEXT"])
    with pytest.raises(BadArgsError, match=message):
        api(src, tmp_path / "out.pdf", **kw)
    assert not (tmp_path / "out.pdf").exists()


def test_config_engine_table(api, tmp_path):
    """--ocrwatchd-config takes the [engine] table of an ocrwatchd config; its errors name the file and key, and
    missing models are reported before any page is rendered."""
    from ocrmypdf.exceptions import BadArgsError, MissingDependencyError

    from ocrwatchd.ocrmypdf_plugin import OcrwatchdOptions, engine_settings

    config = tmp_path / "ocrwatchd.toml"
    config.write_text("[engine]\ntile_size = 7\n")
    with pytest.raises(BadArgsError, match=r"ocrwatchd.toml \[engine\]: .*tile_size must be one of"):
        api(scan_pdf(tmp_path / "a.pdf", ["SOME TEXT"]), tmp_path / "out.pdf", ocrwatchd_config=config)
    config.write_text(f"[engine]\nmanifest = '{tmp_path / 'none.toml'}'\n")
    with pytest.raises(MissingDependencyError, match="none.toml not found.*ocrwatchd models install"):
        api(scan_pdf(tmp_path / "a.pdf", ["SOME TEXT"]), tmp_path / "out.pdf", ocrwatchd_config=config)
    config.write_text("[engine]\nmin_text_score = 0.7\nthreads = 3\n")

    class Options:   # what engine_settings reads of OCRmyPDF's options
        jobs = 2
        ocrwatchd = OcrwatchdOptions(config=config, device="cpu")
    settings = engine_settings(Options())
    assert (settings.min_text_score, settings.threads, settings.device) == (0.7, 3, "cpu")


# ---------------------------------------------------------------- parts

def test_languages_are_in_the_recognisers_alphabet(engine):
    """Every language -l accepts has each letter of its alphabet in the recogniser's character set; the scripts it
    lacks are not accepted."""
    from ocrwatchd.ocrmypdf_plugin import LANGUAGES

    latin = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    letters = {"eng": latin, "chi_sim": "简体中文汉字", "chi_tra": "繁體中文臺灣", "jpn": "ひらがなカタカナ日本語",
               "deu": "äöüßÄÖÜ", "fra": "éèêëàâîïôûùüÿçœæÉÈÀÇ", "spa": "ñáéíóúü¿Ñ", "ita": "àèéìòù",
               "por": "ãõçáéíóúâêô", "nld": "ëïé", "dan": "æøåÆØÅ", "nor": "æøåÆØÅ", "swe": "åäöÅÄÖ",
               "fin": "äöåÄÖ", "isl": "ðþáéíóúýæöÐÞ", "cat": "àçèéíïòóúü", "pol": "ąćęłńóśźżŁŚŻ",
               "ces": "áčďéěíňóřšťúůýžŘŠČŽ", "slk": "áäčďéíĺľňóôŕšťúýž", "slv": "čšžČŠŽ", "hrv": "čćđšžČĆĐŠŽ",
               "hun": "áéíóöőúüűŐŰ", "ron": "ăâîșțşţ", "tur": "çğıöşüİĞŞ", "est": "äöõüšž", "lav": "āčēģīķļņšūž",
               "lit": "ąčęėįšųūž"}
    charset = set(engine.recognizer.spec.charset)
    assert set(letters) == LANGUAGES
    for lang, sample in letters.items():
        assert set(sample + (latin if lang not in ("chi_sim", "chi_tra", "jpn") else "")) <= charset, lang
    for lang, sample in {"rus": "жщыэюя", "kor": "한국어", "ara": "العربية"}.items():
        assert lang not in LANGUAGES and not set(sample) <= charset


def test_engine_pool_lends_each_engine_to_one_thread(monkeypatch):
    """Two threads at once get two engines; later calls reuse them instead of loading models again; a forked
    worker starts with none of its parent's."""
    import ocrwatchd.pipeline
    from ocrwatchd.ocrmypdf_plugin import _EnginePool
    from ocrwatchd.pipeline import EngineSettings

    made = []

    class CountingEngine:        # stands in for the models: this test is about who holds which engine
        provider = "none"

        def __init__(self, settings):
            made.append(self)

    monkeypatch.setattr(ocrwatchd.pipeline, "Engine", CountingEngine)
    pool, settings, barrier, held = _EnginePool(), EngineSettings(device="cpu"), threading.Barrier(2), []

    def job():
        with pool.lend(settings) as engine:
            barrier.wait()              # both hold one now
            held.append(engine)
            barrier.wait()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 2 and held[0] is not held[1]
    for _ in range(3):
        with pool.lend(settings) as engine:
            assert engine in made
    with pool.lend(EngineSettings(device="cpu", threads=3)):
        pass                            # other settings: another engine
    assert len(made) == 3
    # A worker OCRmyPDF forks (use_threads=False) must not run its parent's ONNX sessions. Checked in a fresh
    # interpreter: forking this one, with the threads earlier tests left, can hang the child on a lock.
    code = """if True:
        import os, types, ocrwatchd.pipeline
        from ocrwatchd.ocrmypdf_plugin import POOL
        from ocrwatchd.pipeline import EngineSettings
        ocrwatchd.pipeline.Engine = lambda settings: types.SimpleNamespace(provider="none")
        with POOL.lend(EngineSettings(device="cpu")):
            pass
        assert any(POOL._idle.values())
        pid = os.fork()
        if pid == 0:
            os._exit(0 if not any(POOL._idle.values()) else 1)
        assert os.waitpid(pid, 0)[1] == 0 and any(POOL._idle.values())
    """
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)


def test_the_hocr_path_for_ocrmypdf_16(tmp_path):
    """OCRmyPDF 16 (what paperless-ngx 2.x pins) only calls generate_hocr: it gets ocrwatchd's hOCR of the page
    image, valid for hocr-spec, and the page text."""
    from conftest import text_image
    from outputs_check import hocr_spec
    from PIL import Image

    from ocrwatchd.ocrmypdf_plugin import OcrwatchdOptions, OcrwatchdEngine

    page = tmp_path / "000001_ocr.png"
    Image.fromarray(text_image(900, 300, [(40, 160, "hocr for paperless", 1.4)])).save(page, dpi=(200, 200))

    class Options:
        jobs = 1
        ocrwatchd = OcrwatchdOptions(device="cpu")
    OcrwatchdEngine.generate_hocr(page, tmp_path / "p.hocr", tmp_path / "p.txt", Options())
    assert (tmp_path / "p.txt").read_text() == "hocr for paperless\n"
    hocr = (tmp_path / "p.hocr").read_text()
    assert "ocrx_word" in hocr and ">paperless</span>" in hocr
    assert hocr_spec(tmp_path / "p.hocr")[0] == 0
