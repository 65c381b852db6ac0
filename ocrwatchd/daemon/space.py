"""Output folders that cannot take files: which jobs wait for them, and what that does to intake.

A full disk or a folder turned read-only is not the file's fault: the worker keeps the job's finished set and
tries again with growing pauses (worker.OUTPUT_BACKOFF at most), for as long as it takes, without counting it
against the file. Meanwhile this tracker
- pauses claiming for that inbox (its files wait untouched in the inbox, as when the queue is full: claiming them
  would only read them and hold more finished sets in memory), and resumes it as soon as a waiting set is
  published;
- logs the condition once when it starts and once when it ends (not once per job and try);
- feeds ocrwatchd_output_blocked_jobs{inbox, folder}.
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("ocrwatchd.space")


class OutputWaits:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[int, tuple[str, str]] = {}        # id(job) → (inbox, folder key)
        self._since: dict[tuple[str, str], float] = {}      # (inbox, folder key) → when the first job began waiting

    def update(self, job) -> None:
        """Call whenever a job is reported: job.blocked is (folder key, problem) while its set waits, else None."""
        where = (str(job.inbox.path), job.blocked[0]) if job.blocked else None
        with self._lock:
            before = self._jobs.pop(id(job), None)
            if where is not None:
                self._jobs[id(job)] = where
                if where not in self._since:
                    self._since[where] = self.clock()
                    log.warning("the %s folder of inbox %s cannot take files (%s): jobs wait and are tried again, "
                                "claiming from this inbox is paused", where[1], where[0], job.blocked[1])
            if before is not None and before not in self._jobs.values():
                waited = self.clock() - self._since.pop(before)
                log.warning("the %s folder of inbox %s takes files again after %.0f s: claiming resumes",
                            before[1], before[0], waited)

    def paused(self, inbox: str) -> bool:
        with self._lock:
            return any(where[0] == inbox for where in self._jobs.values())

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            out: dict[tuple[str, str], int] = {}
            for where in self._jobs.values():
                out[where] = out.get(where, 0) + 1
            return out

    def total(self) -> int:
        with self._lock:
            return len(self._jobs)
