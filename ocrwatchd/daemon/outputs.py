"""Publishing a finished job: the JSON first (atomic), then the original — never overwriting anything.

INBOX/sub/scan.png → OUTPUT/sub/scan.json, then OUTPUT/sub/scan.png. A taken name gets -1, -2, … on both
files of the pair, so a result always sits beside its own original.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..fsutil import move_new, write_new_file

MAX_SUFFIX = 10_000


def _names(folder: Path, stem: str, suffix: str, n: int, json_name: str, extras) -> dict[str, Path]:
    base = stem if n == 0 else f"{stem}-{n}"
    names = {"original": folder / f"{base}{suffix}", "json": folder / f"{base}.{json_name}"}
    for extra in extras:
        names[extra] = folder / f"{base}.{extra}"
    return names


def publish(original: Path, folder: Path, relative: Path, document: dict, json_name: str = "json",
            extras: dict[str, bytes] | None = None) -> dict[str, Path]:
    """Place `document` as JSON (key json_name: 'json' or 'error.json') and the original side by side.

    extras: more files of the same stem, e.g. {"boxes.jpg": b"…"}. Returns the paths written.
    """
    extras = extras or {}
    target_dir = folder / relative.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    stem, suffix = relative.stem, relative.suffix
    data = (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()
    for n in range(MAX_SUFFIX):
        names = _names(target_dir, stem, suffix, n, json_name, extras)
        if any(os.path.lexists(p) for p in names.values()):
            continue
        try:
            write_new_file(names["json"], data)
        except FileExistsError:
            continue
        try:
            move_new(original, names["original"])
        except FileExistsError:
            names["json"].unlink()
            continue
        for key, blob in extras.items():
            try:
                write_new_file(names[key], blob)
            except FileExistsError:
                pass   # a by-product; the pair itself is in place
        return names
    raise FileExistsError(f"no free name for {relative} in {target_dir} after {MAX_SUFFIX} tries")
