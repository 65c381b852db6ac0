"""Claiming a file, maildir-style: an atomic rename into the inbox's state folder is the lock.

INBOX/sub/scan.png → INBOX/.ocrwatchd/processing/<owner>/sub/scan.png. Only the process whose rename succeeded
owns the file, so two daemons — even on two hosts sharing an NFS inbox — never process one file twice. The
owner directory names host, pid and the process start, so claims left by a dead process on this host are
recovered at start (renamed again, atomically, into the new owner's directory), while a live neighbour's are
left alone.
"""
from __future__ import annotations

import errno
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".ocrwatchd"
PROCESSING = "processing"


@dataclass(frozen=True)
class Claim:
    inbox: Path          # the watched folder
    relative: Path       # where the file was inside it (kept for the output layout)
    path: Path           # where it lies now, owned by us
    claimed_at: float


def _start_ticks(pid: int) -> str:
    """The process start time (clock ticks since boot): tells a live pid from a reused one."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def owner_name(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{socket.gethostname()}~{pid}~{_start_ticks(pid)}"


def owner_alive(owner: str) -> bool | None:
    """True/False for owners on this host; None (unknown) for other hosts."""
    try:
        host, pid, ticks = owner.split("~")
    except ValueError:
        return False   # not ours to interpret: a stray folder, treat as abandoned
    if host != socket.gethostname():
        return None
    return _start_ticks(int(pid)) == ticks and ticks != "0"


def processing_root(inbox: Path) -> Path:
    return inbox / STATE_DIR / PROCESSING


def claim(inbox: Path, path: Path, owner: str) -> Claim | None:
    """Take `path` (inside inbox) by renaming it into our processing folder; None if someone else was faster."""
    relative = path.relative_to(inbox)
    target = processing_root(inbox) / owner / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, target)   # same filesystem by construction: atomic, and only one renamer wins
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ESTALE):
            return None
        raise
    return Claim(inbox, relative, target, time.time())


def recover(inbox: Path, owner: str) -> list[Claim]:
    """Re-claim files left in processing/ by dead processes of this host (a crash, kill -9)."""
    root = processing_root(inbox)
    if not root.is_dir():
        return []
    out = []
    for owner_dir in root.iterdir():
        if owner_dir.name == owner or not owner_dir.is_dir() or owner_alive(owner_dir.name) is not False:
            continue
        for path in sorted(p for p in owner_dir.rglob("*") if p.is_file() and not p.is_symlink()):
            relative = path.relative_to(owner_dir)
            target = root / owner / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(path, target)
            except FileNotFoundError:
                continue   # another recovering daemon took it
            out.append(Claim(inbox, relative, target, time.time()))
        _prune(owner_dir)
    return out


def prune_parents(path: Path, stop_at: Path) -> None:
    """Remove the now-empty folders between a finished claim's old place and its owner folder (kept)."""
    folder = path.parent
    while folder != stop_at and stop_at in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _prune(folder: Path) -> None:
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            d.rmdir()
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass
