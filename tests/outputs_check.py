"""The outside checkers of the text formats, shared by tests/test_outputs_text.py and bench/outputs_text_check.py:
the hocr-spec validator, OCRmyPDF's hOCR → PDF converter read back with pdftotext, and the ALTO 4.4 XSD."""
from __future__ import annotations

import collections
import json
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

XHTML = "{http://www.w3.org/1999/xhtml}"

# `python -m ocrmypdf.hocrtransform` run once per page, all pages in one interpreter (its import is the slow part).
_HOCRTRANSFORM_EACH = """import json, runpy, sys
for args in json.loads(sys.argv[1]):
    sys.argv = ["hocrtransform", *args]
    runpy.run_module("ocrmypdf.hocrtransform", run_name="__main__", alter_sys=True)
"""


def hocr_spec(path: Path) -> tuple[int, str]:
    """(exit status, the verdict line) of the hocr-spec checker with every check on."""
    exe = Path(sys.executable).with_name("hocr-spec")
    p = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=120)
    lines = (p.stdout + p.stderr).strip().splitlines()
    return p.returncode, next((line for line in lines if "[OK]" in line or "[ERROR]" in line), lines[-1] if lines
                              else "")


def result_words(result: dict) -> collections.Counter:
    """The result's words; NFKC as OCRmyPDF's hOCR parser normalises them (ligatures, full-width forms)."""
    return collections.Counter(unicodedata.normalize("NFKC", w["text"]) for page in result["pages"]
                               for line in page["lines"] for w in line.get("words", []))


def hocr_readback(hocr: bytes, work: Path) -> collections.Counter:
    return hocr_readbacks({"doc": hocr}, work)["doc"]


def hocr_readbacks(docs: dict[str, bytes], work: Path) -> dict[str, collections.Counter]:
    """The words of the text layer OCRmyPDF makes of each hOCR document, as pdftotext reads them.

    OCRmyPDF's parser reads the first ocr_page of a file (OCRmyPDF itself writes one hOCR file per page), so
    each page goes through in a file of its own. `-i` puts an image over invisible text, as OCRmyPDF's own
    pipeline does; without it the CLI draws visible text sized with kerning it does not emit, so words run
    past their boxes into the next one.
    """
    from PIL import Image

    work.mkdir(parents=True, exist_ok=True)
    white = work / "white.png"
    Image.new("L", (8, 8), 255).save(white)
    jobs: dict[str, list[list[str]]] = {}
    for name, hocr in docs.items():
        root = ET.fromstring(hocr)
        body = root.find(f"{XHTML}body")
        for i, page in enumerate(list(body)):
            for other in list(body):
                body.remove(other)
            body.append(page)
            path = work / f"{name}.page{i + 1}.hocr"
            path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
            jobs.setdefault(name, []).append(["-i", str(white), str(path), str(path.with_suffix(".pdf"))])
    every = [job for name in jobs for job in jobs[name]]
    subprocess.run([sys.executable, "-c", _HOCRTRANSFORM_EACH, json.dumps(every)], check=True, capture_output=True,
                   timeout=1200)
    out = {}
    for name in docs:
        out[name] = collections.Counter()
        for job in jobs.get(name, []):
            text = subprocess.run(["pdftotext", "-enc", "UTF-8", job[-1], "-"], capture_output=True, text=True,
                                  check=True).stdout
            out[name].update(text.split())
    return out


_schemas: dict[Path, object] = {}


def alto_errors(data: bytes, shared: Path) -> list[str]:
    """What the ALTO 4.4 XSD (offline copy, xlink import resolved locally) says is wrong; [] when valid."""
    from lxml import etree

    xsd = shared / "data" / "schemas" / "alto-4-4.xsd"
    if xsd not in _schemas:
        _schemas[xsd] = etree.XMLSchema(etree.parse(str(xsd)))
    schema = _schemas[xsd]
    ok = schema.validate(etree.fromstring(data))
    return [] if ok else [f"{e.line}: {e.message}" for e in schema.error_log]
