"""Plain text: each page's text in reading order (rows by newlines, fields of one row by tabs, as the result's
pages[].text has it), pages separated by a form feed, UTF-8, ending with a newline.

A page without text (blank, unreadable, or read without recognition) is an empty page, so the n-th form-feed
separated part is always page n.
"""
from __future__ import annotations

from pathlib import Path


def write_txt(result: dict, source: Path | None = None) -> bytes:
    return ("\f".join(page.get("text") or "" for page in result["pages"]) + "\n").encode("utf-8")
