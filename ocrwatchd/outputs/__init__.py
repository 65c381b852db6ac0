"""Every output format is one writer over the same result: `write(result, source) -> bytes`.

The result is the JSON object the pipeline built (schema ocrwatchd/1: pages → lines → words, in page pixels);
source is the original file, which only the searchable PDF reads (its pages are the original's, untouched).
Nothing here runs a model: the CLI (`--pdf/--txt/--hocr/--alto`) and the daemon's publishing step both call these.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str                                  # after the set's base name: scan.json, scan.ocr.pdf, …
    write: Callable[[dict, Path], bytes]


def write_json(result: dict, source: Path | None = None) -> bytes:
    # A file name with bytes that are not UTF-8 (caf\xe9.png from a Latin-1 client) reaches us with lone surrogates
    # (os.fsdecode); UTF-8 cannot carry them, so they are written as JSON escapes ("caf\udce9.png"): valid JSON,
    # and json.loads + os.fsencode give the original bytes back.
    return (json.dumps(result, ensure_ascii=False, indent=1) + "\n").encode("utf-8", "backslashreplace")


def _lazy(module: str, function: str) -> Callable[[dict, Path], bytes]:
    """The writer, imported on first use (the PDF writer pulls in pikepdf, img2pdf and OCRmyPDF's renderer)."""
    def write(result: dict, source: Path) -> bytes:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), function)(result, source)
    return write


FORMATS: dict[str, Format] = {
    "json": Format("json", ".json", write_json),
    # .ocr.pdf: a searchable PDF made from scan.pdf must not pass for the original scan.pdf beside it
    "pdf": Format("pdf", ".ocr.pdf", _lazy("pdf", "write_pdf")),
    "txt": Format("txt", ".txt", _lazy("text", "write_txt")),
    "hocr": Format("hocr", ".hocr", _lazy("hocr", "write_hocr")),
    "alto": Format("alto", ".alto.xml", _lazy("alto", "write_alto")),
}
