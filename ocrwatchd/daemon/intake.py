"""Finding candidate files and deciding when they are ready: ignore rules, the scan, and settling.

A scanner or an SMB copy writes a file slowly; a file is taken only when its size and mtime have stayed the
same for settle_seconds. Names that are someone's temp or metadata files are never touched.
"""
from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from .claims import STATE_DIR

IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store", "@eadir", ".stfolder", ".stversions", ".spotlight-v100",
                 ".trashes", "__macosx", "#recycle", "lost+found", STATE_DIR}
IGNORED_PATTERNS = ("~$*", "*.tmp", "*.part", "*.crdownload", "*.swp", "*.swx", "*~")


def ignored(name: str) -> bool:
    low = name.lower()
    return low.startswith(".") or low in IGNORED_NAMES or any(fnmatch.fnmatch(low, p) for p in IGNORED_PATTERNS)


def wanted(path: Path, inbox: Path, extensions: tuple[str, ...]) -> bool:
    """Inside the inbox, no ignored component, an allowed extension."""
    try:
        rel = path.relative_to(inbox)
    except ValueError:
        return False
    return not any(ignored(part) for part in rel.parts) and path.suffix.lower() in extensions


def scan(inbox: Path, recursive: bool, extensions: tuple[str, ...]) -> Iterator[Path]:
    """Every wanted entry below inbox; symlinked folders are never entered (they may lead outside)."""
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if ignored(e.name):
                continue
            if e.is_dir(follow_symlinks=False):
                if recursive:
                    stack.append(Path(e.path))
            elif Path(e.name).suffix.lower() in extensions:
                yield Path(e.path)


class Settler:
    """Remembers each candidate's (size, mtime) and since when it has been unchanged."""

    def __init__(self, settle_seconds: float, clock=time.monotonic) -> None:
        self.settle_seconds = settle_seconds
        self.clock = clock
        self._seen: dict[Path, tuple[tuple[int, int], float]] = {}   # path → (signature, unchanged since)

    def ready(self, path: Path) -> bool | None:
        """True when settled; False while changing; None when gone. Non-regular files are 'settled' at once
        (they are refused, not read)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self._seen.pop(path, None)
            return None
        if not stat.S_ISREG(st.st_mode):
            return True
        sig = (st.st_size, st.st_mtime_ns)
        now = self.clock()
        prev = self._seen.get(path)
        if prev is None or prev[0] != sig:
            self._seen[path] = (sig, now)
            return self.settle_seconds <= 0
        return now - prev[1] >= self.settle_seconds

    def forget(self, path: Path) -> float | None:
        """Stop tracking; returns how long the file was watched (its settle time), if it was."""
        seen = self._seen.pop(path, None)
        return None if seen is None else self.clock() - seen[1]
