"""The final names of a published set (publish.py): one base name for the original and every file made from it,
-1, -2, … on the whole set when a name is taken, shortened the same way for every file when a suffix would make it
too long; and whether what lies at a final name is our staged file.

Everything here is computed from the set's manifest (folder, relative path, suffixes, base number), so a daemon
rolling a dead owner's set forward finds the same names the owner chose.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from ..fsutil import sha256_file

MAX_SUFFIX = 10_000
NAME_MAX = 255                      # bytes in one file name (every Linux filesystem we publish to)


def finals(manifest: dict) -> dict[str, Path]:
    base = base_name(manifest)
    folder = Path(manifest["folder"]) / Path(manifest["relative"]).parent
    out = {suffix: folder / f"{base}{suffix}" for _, suffix in manifest["entries"]}
    out["original"] = (Path(manifest["original_folder"]) / Path(manifest["relative"]).parent /
                       f"{base}{manifest['original_suffix']}")
    return out


def base_name(manifest: dict) -> str:
    stem = Path(manifest["relative"]).stem
    tail = "" if manifest["base"] == 0 else f"-{manifest['base']}"
    suffixes = [suffix for _, suffix in manifest["entries"]] + [manifest["original_suffix"]]
    room = NAME_MAX - max(len(os.fsencode(s)) for s in suffixes) - len(tail)
    raw = os.fsencode(stem)
    if len(raw) > room:
        # scan.png may be 255 bytes long, scan.error.json cannot: the whole set takes the name's first bytes and a
        # hash of all of it (two long names that start alike stay apart)
        tag = hashlib.sha1(raw).hexdigest()[:8]
        head = raw[: max(0, room - 9)]
        try:
            stem = head.decode("utf-8", "ignore") if raw.decode("utf-8") else ""   # never cut a character in two
        except UnicodeDecodeError:
            stem = os.fsdecode(head)
        stem = f"{stem}~{tag}"
    return stem + tail


def free_base(manifest: dict, after: int = 0) -> int:
    for n in range(after, MAX_SUFFIX):
        if not any(os.path.lexists(p) for p in finals(manifest | {"base": n}).values()):
            return n
    raise FileExistsError(errno.EEXIST, f"no free name after {MAX_SUFFIX} tries", manifest["relative"])


def same_file(staged: Path, final: Path) -> bool:
    """Is `final` our staged file (the same inode, or — after a copy across filesystems — the same bytes)?"""
    try:
        a, b = os.lstat(staged), os.lstat(final)
    except FileNotFoundError:
        return False
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return True
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
        return False
    if stat.S_ISLNK(a.st_mode):
        return os.readlink(staged) == os.readlink(final)
    if not stat.S_ISREG(a.st_mode):
        return True                  # a FIFO or socket has no content to compare (and must never be opened)
    return a.st_size == b.st_size and sha256_file(staged) == sha256_file(final)
