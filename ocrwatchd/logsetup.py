"""Logging: structured journal entries under systemd, plain lines on a terminal."""
from __future__ import annotations

import logging
import os
import sys


def stderr_is_journal() -> bool:
    """systemd sets JOURNAL_STREAM=dev:ino when stderr goes to the journal (and it must still be that file)."""
    value = os.environ.get("JOURNAL_STREAM")
    if not value:
        return False
    try:
        dev, ino = (int(x) for x in value.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def setup(level: int | str, prefix: str = "ocrwatchd: ", levels: bool = False) -> str:
    """Configure the root logger; returns 'journal' or 'stderr'."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(level)
    if stderr_is_journal():
        try:
            from systemd.journal import JournalHandler   # fields: PRIORITY, CODE_FILE, CODE_LINE, THREAD_NAME…
        except ImportError:
            pass
        else:
            root.addHandler(JournalHandler(SYSLOG_IDENTIFIER="ocrwatchd"))
            return "journal"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(prefix + ("%(levelname)s " if levels else "") + "%(message)s"))
    root.addHandler(handler)
    return "stderr"
