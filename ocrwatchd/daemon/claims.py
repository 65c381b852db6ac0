"""Claiming a file, maildir-style: an atomic rename into the inbox's state folder is the lock.

INBOX/sub/scan.png → INBOX/.ocrwatchd/processing/<owner>/sub/scan.png. Only the process whose rename succeeded
owns the file, so two daemons — even on two hosts sharing an NFS inbox — never process one file twice. The
owner directory names host, pid and the process start. Claims of a dead owner are taken over by renaming them
again, one by one, into the taker's directory (lease.py says who is dead: a process of this host that is gone,
or an owner on any host whose lease was not refreshed in time); a live owner's claims are left alone.

Only the daemon's main thread puts names into its own processing folder (claims and takeovers), and no other
process ever does, so "is this name free in my folder, then rename into it" has no race: a claim never
replaces one of our own (two files with the same relative path: the later waits for a later scan). Workers do
remove the folders a finished claim leaves empty (prune_parents), so making a claim's folder and renaming into
it, and removing empty folders, hold one lock: a folder pruned between mkdir's check and the rename made mkdir
raise FileExistsError and stopped the daemon (seen once in `make test`, 200 files in 10 folders).
"""
from __future__ import annotations

import errno
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".ocrwatchd"
PROCESSING = "processing"
HOST_ENV = "OCRWATCHD_HOST_NAME"
_folders = threading.Lock()    # our processing folder's subfolders: made and renamed into, or pruned, not both


@dataclass(frozen=True)
class Claim:
    inbox: Path          # the watched folder
    relative: Path       # where the file was inside it (kept for the output layout)
    path: Path           # where it lies now, owned by us
    claimed_at: float


def host_name() -> str:
    """This host's name in owner names. OCRWATCHD_HOST_NAME replaces it in tests (two 'hosts' on one machine);
    it must differ between pid namespaces, or one daemon would judge the other's pids dead."""
    name = os.environ.get(HOST_ENV) or socket.gethostname()
    return name.replace("~", "_").replace("/", "_")


def _start_ticks(pid: int) -> str:
    """The process start time (clock ticks since boot): tells a live pid from a reused one."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def owner_name(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{host_name()}~{pid}~{_start_ticks(pid)}"


def owner_alive(owner: str) -> bool | None:
    """True/False for owners on this host (is the process there?); None (unknown) for other hosts."""
    try:
        host, pid, ticks = owner.split("~")
        pid_n = int(pid)
    except ValueError:
        return False   # not ours to interpret: a stray folder, treat as abandoned
    if host != host_name():
        return None
    return _start_ticks(pid_n) == ticks and ticks != "0"


def processing_root(inbox: Path) -> Path:
    return inbox / STATE_DIR / PROCESSING


def claim(inbox: Path, path: Path, owner: str) -> Claim | None:
    """Take `path` (inside inbox) by renaming it into our processing folder; None if someone else was faster
    (or we still hold a file of the same relative path: this one is taken after that one is done)."""
    relative = path.relative_to(inbox)
    target = processing_root(inbox) / owner / relative
    if os.path.lexists(target):
        return None
    return Claim(inbox, relative, target, time.time()) if _rename_won(path, target) else None


def _rename_won(src: Path, dst: Path) -> bool:
    """rename(src, dst) where dst is a free name only we fill, its folder made first (while no worker prunes our
    folders): True if we moved it, False if src was gone.

    On the same filesystem a rename is atomic, so of several renamers of one name exactly one wins. NFS may
    answer a retransmitted rename with ENOENT although the first one moved the file: dst tells."""
    with _folders:
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(src, dst)
            return True
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ESTALE):
                return os.path.lexists(dst)
            raise


def recover(inbox: Path, owner: str, dead: Callable[[str], bool] | None = None) -> list[Claim]:
    """Take over the claims of dead owners (default: processes of this host that are gone) into ours."""
    dead = dead or (lambda o: owner_alive(o) is False)
    root = processing_root(inbox)
    if not root.is_dir():
        return []
    out = []
    for owner_dir in sorted(root.iterdir()):
        if owner_dir.name == owner or not owner_dir.is_dir() or not dead(owner_dir.name):
            continue
        files, _ = _walk(owner_dir)
        for path in sorted(files):
            relative = path.relative_to(owner_dir)
            target = root / owner / relative
            if os.path.lexists(target):
                continue   # we hold a file of that name already: taken on a later pass, after ours is done
            if _rename_won(path, target):       # False: another taker (or the owner, resumed) was faster
                out.append(Claim(inbox, relative, target, time.time()))
        _prune(owner_dir)
    return out


def prune_parents(path: Path, stop_at: Path) -> None:
    """Remove the now-empty folders between a finished claim's old place and its owner folder (kept)."""
    folder = path.parent
    with _folders:
        while folder != stop_at and stop_at in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """(files and symlinks, real folders) below folder.

    Other takers work on the same dead owner's folder at the same time, renaming its claims away and pruning its
    folders, so any folder may vanish while we walk it. os.walk skips one that does (Path.rglob raised
    FileNotFoundError there, which lost the takeover pass — and with it the claims already renamed into ours)."""
    files, folders = [], []
    for top, dirnames, filenames in os.walk(folder):       # never descends into a symlinked folder
        for name in dirnames:
            path = Path(top) / name
            (files if path.is_symlink() else folders).append(path)
        files.extend(Path(top) / name for name in filenames)
    return files, folders


def _prune(folder: Path) -> None:
    _, folders = _walk(folder)
    for d in sorted(folders, key=lambda p: -len(p.parts)):
        try:
            d.rmdir()
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass
