"""Finding candidate files and deciding when they are ready: ignore rules, the scan, settling, and the bounded
window of candidates the daemon looks at.

A scanner or an SMB copy writes a file slowly; a file is taken only when its size and mtime have stayed the
same for settle_seconds. Names that are someone's temp or metadata files are never touched.

The inbox is the queue: with 10,000 files waiting the daemon holds only a window of them (Candidates), topped
up from watch events and from a scan that walks the inboxes incrementally, a little further each time the
window has room. Memory and the work per tick do not grow with the backlog.
"""
from __future__ import annotations

import fnmatch
import itertools
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
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
    """Every wanted entry below inbox, in name order: a folder's files, then its sub-folders one by one (so
    files are taken in the order their names give, as a batch of scans is numbered). Symlinked folders are
    never entered (they may lead outside). Lazy: one folder's listing is held at a time."""
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for e in entries:
            if ignored(e.name):
                continue
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if recursive:
                    subfolders.append(Path(e.path))
            elif Path(e.name).suffix.lower() in extensions:
                yield Path(e.path)
        stack.extend(reversed(subfolders))


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

    def clear(self) -> None:
        self._seen.clear()

    def forget(self, path: Path) -> float | None:
        """Stop tracking; returns how long the file was watched (its settle time), if it was."""
        seen = self._seen.pop(path, None)
        return None if seen is None else self.clock() - seen[1]


class Candidates:
    """The files being watched for settling: at most `limit` of them, in the order they were found.

    Watch events go straight in while there is room; when there is none they are dropped and a scan pass is
    asked for instead (the file is found by it). A pass (scan of every inbox) is started when asked for —
    at start, every rescan_seconds, after an inotify queue overflow, when a folder appears, after dropped
    events — and continued only as far as the window has room; a pass asked for while one runs starts when it
    ends, so whatever existed when it was asked for is seen by the end of the next pass.
    """

    def __init__(self, inboxes: list, settler: Settler, limit: int, counted: Callable[[str], None] | None = None,
                 clock=time.monotonic, stale_seconds: float | None = None) -> None:
        self.settler, self.limit, self.clock = settler, limit, clock
        self.counted = counted or (lambda reason: None)
        self.stale_seconds = stale_seconds or max(30.0, 10 * settler.settle_seconds)
        self._lock = threading.Lock()
        self.reset(inboxes)

    def reset(self, inboxes: list) -> None:
        """A new inbox list (reload): forget everything, scan again."""
        with self._lock:
            self.inboxes = list(inboxes)
            self.window: dict[tuple[int, Path], float] = {}     # (inbox index, path) → when it came in
            self._events: dict[tuple[int, Path], None] = {}
            self._asked: dict[str, None] = {}                   # reasons for the next pass
            self._cursor: Iterator[tuple[int, Path]] | None = None
        self.settler.clear()

    def __len__(self) -> int:
        return len(self.window)

    def event(self, index: int, path: Path) -> None:
        """A watch event (watcher threads): the path if there is room, else a pass later finds it."""
        with self._lock:
            inbox = self.inboxes[index] if index < len(self.inboxes) else None
            if inbox is None or not wanted(path, inbox.path, inbox.extensions):
                return       # our own state folder's renames, temp files, other extensions
            if len(self._events) + len(self.window) < self.limit:
                self._events[(index, path)] = None
            else:
                self._asked.setdefault("backlog", None)

    def folder(self, index: int, path: Path) -> None:
        """A folder appeared (or moved in): a pass finds its files — unless it is one of ours (a claim's folder
        in .ocrwatchd/processing) or otherwise ignored."""
        inbox = self.inboxes[index] if index < len(self.inboxes) else None
        try:
            parts = path.relative_to(inbox.path).parts if inbox is not None else ()
        except ValueError:
            return
        if parts and not any(ignored(part) for part in parts):
            self.ask("folder")

    def ask(self, reason: str) -> None:
        """Ask for a scan pass (start, periodic, overflow, folder, backlog, reload)."""
        with self._lock:
            self._asked.setdefault(reason, None)

    @property
    def scanning(self) -> bool:
        return self._cursor is not None

    def top_up(self) -> None:
        """Fill the window from the events, then from the scan pass, each new entry looked at once (its settle
        time starts when it comes in)."""
        with self._lock:
            events, self._events = list(self._events), {}
        for key in events:
            self._enter(key)
        while len(self.window) < self.limit:
            if self._cursor is None:
                with self._lock:
                    reasons, self._asked = list(self._asked), {}
                if not reasons:
                    return
                for r in reasons:
                    self.counted(r)
                self._cursor = itertools.chain.from_iterable(
                    ((i, p) for p in scan(inbox.path, inbox.recursive, inbox.extensions))
                    for i, inbox in enumerate(self.inboxes))
            try:
                key = next(self._cursor)
            except StopIteration:
                self._cursor = None
                continue
            self._enter(key)

    def _enter(self, key: tuple[int, Path]) -> None:
        if key in self.window or len(self.window) >= self.limit:
            if key not in self.window:
                self.ask("backlog")
            return
        index, path = key
        if index >= len(self.inboxes) or not wanted(path, self.inboxes[index].path, self.inboxes[index].extensions):
            return
        self.window[key] = self.clock()
        if self.settler.ready(path) is None:   # gone already (claimed by a neighbour)
            del self.window[key]

    def ready(self, room: int, skip: set[int] = frozenset()) -> list[tuple[int, Path, float | None]]:
        """Up to `room` settled files, in the order they came in: (inbox index, path, seconds watched); none of the
        inboxes in `skip` (paused). Files gone meanwhile leave the window; so do files still changing after
        stale_seconds while the window is full (a pass finds them again later), so that copies that never end
        cannot block the intake."""
        out: list[tuple[int, Path, float | None]] = []
        now = self.clock()
        full = len(self.window) >= self.limit
        for key, since in list(self.window.items()):
            if len(out) >= room:
                break
            if key[0] in skip:
                continue
            state = self.settler.ready(key[1])
            if state is False:
                if full and now - since > self.stale_seconds:
                    del self.window[key]
                    self.settler.forget(key[1])
                    self.ask("backlog")
                continue
            del self.window[key]
            settled = self.settler.forget(key[1])
            if state:
                out.append((key[0], key[1], settled))
        return out
