"""Temp cleanup the original deployment did by hand: our stale temp files and old results if configured. (Sets a
dead owner left half-published are finished by the takeover pass, takeover.py, every lease refresh.)"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..config import Config
from .claims import STATE_DIR

log = logging.getLogger("ocrwatchd.janitor")


class Janitor:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.removed = {"temp": 0, "output": 0, "failed": 0}

    def run(self, now: float | None = None) -> dict[str, int]:
        now = now or time.time()
        j = self.config.janitor
        counts = {"temp": 0, "output": 0, "failed": 0}
        for inbox in self.config.inboxes:
            for _, folder in inbox.folders:
                counts["temp"] += self._sweep(folder, now - j.temp_max_age_hours * 3600, _our_temp, state=True)
            if j.outputs_max_age_days:
                counts["output"] += self._sweep(inbox.output, now - j.outputs_max_age_days * 86400, _any)
            if j.failed_max_age_days:
                counts["failed"] += self._sweep(inbox.failed, now - j.failed_max_age_days * 86400, _any)
        for k, v in counts.items():
            self.removed[k] += v
        if any(counts.values()):
            log.info("janitor removed %s", counts)
        return counts

    @staticmethod
    def _sweep(folder: Path, cutoff: float, match, state: bool = False) -> int:
        """Remove matching files older than cutoff; our state folder (sets being published) only if `state`."""
        n = 0
        for root, dirs, files in os.walk(folder):
            if not state and STATE_DIR in dirs:
                dirs.remove(STATE_DIR)
            for name in files:
                p = Path(root) / name
                try:
                    if match(name) and p.lstat().st_mtime < cutoff:
                        p.unlink()
                        n += 1
                except OSError:
                    continue
        return n


def _our_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")   # fsutil.write_new_file's temp names


def _any(name: str) -> bool:
    return not _our_temp(name)
