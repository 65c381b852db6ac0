"""Watching an inbox: watchdog's inotify observer (or its polling one on network mounts), with the inotify
queue overflow reported to us.

When the kernel's inotify queue overflows (more than fs.inotify.max_queued_events events unread — 10,000 files
dropped at once do that), every later event is lost until the queue is read. watchdog 7 notices (IN_Q_OVERFLOW),
logs it and rebuilds its recursive watches, but tells no event handler; we hook its inotify reader so that an
overflow asks for a rescan at once. Older watchdog versions drop the overflow event silently: there, and where
the hook cannot be placed, only the periodic rescan finds what was missed (a warning at start says so).
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("ocrwatchd.watch")

NETWORK_FS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse", "9p", "afs", "ceph", "glusterfs")


def filesystem_type(path: Path, mounts: Path = Path("/proc/self/mounts")) -> str:
    """The filesystem type of the mount holding `path` (longest matching mount point).

    The path is resolved first: an inbox that is a symlink onto an NFS mount lies on NFS, not where the link is.
    """
    path = os.path.realpath(path)
    best, kind = "", ""
    try:
        for line in mounts.read_text().splitlines():
            parts = line.split()
            # the kernel escapes space, tab, newline and backslash in mount points as \ooo
            mnt = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                best, kind = mnt, parts[2]
    except (OSError, IndexError):
        pass
    return kind


def folder_identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder, None if it is not there: a folder deleted and made again is a new one."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def start_observer(path: Path, recursive: bool, poll: bool, on_path: Callable[[Path], None],
                   on_folder: Callable[[Path], None], on_overflow: Callable[[], None]):
    """A started observer: on_path(file path) for created/moved-in/closed/modified files, on_folder(folder) when
    a folder appears (files inside it are not reported one by one), on_overflow() when inotify lost events."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):   # never raises: one bad event must not kill the observer thread
            try:
                target = getattr(event, "dest_path", "") or event.src_path
                if event.is_directory:
                    if event.event_type in ("created", "moved"):
                        on_folder(Path(os.fsdecode(target)))
                    return
                if event.event_type in ("created", "moved", "closed", "modified"):
                    on_path(Path(os.fsdecode(target)))
            except Exception:
                log.exception("watch event %r", event)

    observer = (PollingObserver if poll else Observer)()
    if not poll and not hook_overflow(observer, on_overflow):
        log.warning("this watchdog version does not report inotify queue overflows: events lost in one are found "
                    "by the periodic rescan (rescan_seconds) only")
    handler = Handler()
    observer.schedule(handler, str(path), recursive=recursive)
    observer.ocrwatchd_handler = handler     # to watch the folder again if it is deleted and made again
    observer.daemon = True
    observer.start()
    return observer


def hook_overflow(observer, on_overflow: Callable[[], None]) -> bool:
    """Wrap the inotify reader's handle_event (watchdog >= 7: one reader thread per observer) so IN_Q_OVERFLOW
    calls on_overflow() first; watchdog's own handling (rebuilding watches) still runs. False if not possible."""
    fd = getattr(observer, "_inotify_fd", None)
    handle = getattr(fd, "handle_event", None)
    if handle is None:
        return False

    def handle_event(event):
        if getattr(event, "is_queue_overflow", False):
            try:
                on_overflow()
            except Exception:
                log.exception("overflow callback")
        return handle(event)

    fd.handle_event = handle_event
    return True


def watch_again(observer, path: Path, recursive: bool) -> None:
    """Schedule the observer's handler on the folder at `path` again (its old watch ended with the old folder)."""
    observer.unschedule_all()
    observer.schedule(observer.ocrwatchd_handler, str(path), recursive=recursive)
