"""PDFs through the real daemon: good, encrypted, broken and still-being-written PDFs dropped with images each end
exactly once in output or failed, with their reason."""
import json
import time

import numpy as np

import pikepdf
from PIL import Image, ImageDraw, ImageFont

from conftest import Daemon, small_scan, sources, wait_for


def text_page(text: str) -> Image.Image:
    im = Image.new("L", (1200, 500), 255)
    ImageDraw.Draw(im).text((60, 200), text, fill=0, font=ImageFont.load_default(size=56))
    return im


def scanned_pdf(path, texts: list[str]) -> bytes:
    pages = [text_page(t) for t in texts]
    pages[0].save(path, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    return path.read_bytes()


def test_pdfs_and_images_end_exactly_once_with_reasons(tmp_path):
    d = Daemon(tmp_path, truncated_retry_seconds=60)
    work = tmp_path / "made"
    work.mkdir()
    good = scanned_pdf(work / "good.pdf", ["first page 101", "second page 202", "third page 303"])
    src = pikepdf.open(work / "good.pdf")
    src.save(work / "locked.pdf", encryption=pikepdf.Encryption(user="secret", owner="o"))
    src.save(work / "owner.pdf", encryption=pikepdf.Encryption(user="", owner="o"))
    (d.inbox / "locked.pdf").write_bytes((work / "locked.pdf").read_bytes())
    (d.inbox / "owner.pdf").write_bytes((work / "owner.pdf").read_bytes())
    (d.inbox / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf at all\n%%EOF\n")
    (d.inbox / "scan.png").write_bytes(small_scan(7))
    (d.inbox / "named-png.png").write_bytes(good)            # a PDF by its bytes, whatever its name
    growing = open(d.inbox / "growing.pdf", "wb")           # a writer that stalls half-way (a slow SMB copy)
    growing.write(good[: len(good) // 2])
    growing.flush()
    d.start()
    (d.inbox / "good.pdf").write_bytes(good)
    wait_for(lambda: "growing.pdf: PDF has no %%EOF" in d.log.read_text(), 120, "the half-written PDF to wait")
    growing.write(good[len(good) // 2:])                      # the claim moved the file; the writer's handle
    growing.close()                                           # still reaches it, and the retry reads it whole
    wait_for(lambda: len(d.results()) + len(d.failures()) >= 5, 180, "the first five files")
    wait_for(lambda: len(d.results()) + len(d.failures()) >= 7, 180, "all seven files")
    time.sleep(2)
    assert d.stop()[0] == 0
    names = ["locked.pdf", "owner.pdf", "broken.pdf", "scan.png", "named-png.png", "growing.pdf", "good.pdf"]
    assert sources(d.results() + d.failures()) == sorted(str(d.inbox / n) for n in names)
    errors = {p.name: json.loads(p.read_text())["error"] for p in d.failures()}
    assert set(errors) == {"locked.error.json", "broken.error.json"}
    assert errors["locked.error.json"]["reason"] == "encrypted"
    assert json.loads((d.failed / "locked.error.json").read_text())["attempts"] == 1   # no retries: no password
    assert errors["broken.error.json"]["reason"] == "unsupported"
    for name in ("good", "owner", "named-png", "growing"):
        result = json.loads((d.out / f"{name}.json").read_text())
        assert result["source"]["format"] == "pdf" and result["source"]["pages"] == 3
        assert [p["text"] for p in result["pages"]] == ["first page 101", "second page 202", "third page 303"]
        assert all(p["dpi"] == 150 and p["source"] == "ocr" for p in result["pages"])
    assert "render" in json.loads((d.out / "good.json").read_text())["timings"]
    assert d.left_in_inbox() == []


def test_an_inbox_with_every_format_publishes_complete_sets_once(tmp_path):
    import re
    import subprocess

    import cv2
    from conftest import need

    d = Daemon(tmp_path, inbox={"formats": ["json", "pdf", "txt", "hocr", "alto"]})
    work = tmp_path / "made"
    work.mkdir()
    texts = [f"mixed file {i}" for i in range(10)]
    for i, text in enumerate(texts):
        if i in (2, 5):
            (d.inbox / f"f{i}.pdf").write_bytes(scanned_pdf(work / f"f{i}.pdf", [text]))
        elif i == 7:
            (d.inbox / f"f{i}.pdf").write_bytes(scanned_pdf(work / f"f{i}.pdf", [text, text + " again"]))
        elif i == 8:
            ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(np.asarray(text_page(text)), cv2.COLOR_GRAY2BGR))
            (d.inbox / f"f{i}.jpg").write_bytes(jpg.tobytes())
        else:
            text_page(text).save(d.inbox / f"f{i}.png")
    d.start()
    wait_for(lambda: len(d.results()) >= 10, 240, "ten sets")
    assert d.stop()[0] == 0
    pdftotext = need("pdftotext", "apt-get install poppler-utils")
    for i, text in enumerate(texts):
        original = next(p for p in d.inbox.parent.joinpath("out").glob(f"f{i}.*") if p.suffix in (".png", ".pdf", ".jpg")
                        and not p.name.endswith(".ocr.pdf"))
        base = d.out / f"f{i}"
        names = {p.name for p in d.out.glob(f"f{i}.*")}
        assert names == {original.name, f"f{i}.json", f"f{i}.ocr.pdf", f"f{i}.txt", f"f{i}.hocr", f"f{i}.alto.xml"}
        result = json.loads(base.with_suffix(".json").read_text())
        assert base.with_name(f"f{i}.txt").read_text() == "\f".join(p["text"] for p in result["pages"]) + "\n"
        layer = subprocess.run([pdftotext, str(base.with_name(f"f{i}.ocr.pdf")), "-"], capture_output=True, text=True)
        assert text in layer.stdout
        assert f">{text.split()[-1]}</span>" in base.with_name(f"f{i}.hocr").read_text()
        assert f'CONTENT="{text.split()[0]}"' in base.with_name(f"f{i}.alto.xml").read_text()
    assert sources(d.results()) == sorted(str(p) for p in [d.inbox / f"f{i}.{ext}" for i, ext in enumerate(
        ["png", "png", "pdf", "png", "png", "pdf", "png", "pdf", "jpg", "png"])])
    assert d.left_in_inbox() == [] and not list((d.out / ".ocrwatchd").rglob("*.*"))
    # both workers made searchable PDFs; when their intervals overlap, they did so at the same time (no lock)
    spans = [(float(a), float(b)) for a, b in re.findall(r"formats .*\.ocr\.pdf.* written from (\S+) to (\S+)",
                                                         d.log.read_text())]
    assert len(spans) == 10
