"""Memory budget: a job reserves its estimated bytes before decoding and waits while the budget is spent.

Many huge scans arriving at once must not OOM the host: the bounded queue bounds the number of jobs, the
budget bounds their pixels. A job larger than the whole budget is let through only when nothing else runs.
"""
from __future__ import annotations

import threading

TILE_WORKING_SET = 384 << 20   # one batch of tiles + probability maps + line crops (measured ~450 MB process)
# Each further batch the engine keeps in the model at once (Engine.parallel_runs: 2 where a worker's models have
# two cores or more). `ocrwatchd detect` on bench/memory.py's 20-MP sheet peaked 383 MB one run at a time and
# 541-625 MB two at a time (489 MB with one malloc arena: the rest is the second thread's arena).
TILE_RUN_BYTES = 160 << 20


BYTES_PER_PIXEL = 4            # decoded pixels (worst case 3 channels) plus a crop/resize copy
AHEAD_BYTES_PER_PIXEL = 3      # the next page, rendered ahead (documents/readahead.py): its pixels only


def working_set(runs: int = 1) -> int:
    """The tile working set of an engine that keeps `runs` batches in the model at once."""
    return TILE_WORKING_SET + (max(1, runs) - 1) * TILE_RUN_BYTES


def page_bytes(pixels: int, ahead: bool = False, runs: int = 1) -> int:
    """What a page of this many pixels holds while it is read: its pixels, a copy, and the tile working set; with
    read-ahead also the next page's pixels."""
    return pixels * (BYTES_PER_PIXEL + (AHEAD_BYTES_PER_PIXEL if ahead else 0)) + working_set(runs)


def reservation(pixels: int, pages: int, read_ahead: bool, budget: int, runs: int = 1) -> tuple[int, bool]:
    """(bytes a document reserves, whether it reads ahead) for a document whose largest page has `pixels` pixels.
    Read-ahead holds a second page, so it is used only for several pages and only where two pages fit the budget:
    a page rendered down to fit the budget alone is read one at a time."""
    ahead = read_ahead and pages > 1 and page_bytes(pixels, ahead=True, runs=runs) <= budget
    return page_bytes(pixels, ahead, runs), ahead


class MemoryBudget:
    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.reserved = 0
        self._cond = threading.Condition()

    def reserve(self, n: int, stop: threading.Event | None = None) -> bool:
        """Block until n bytes fit (or nothing else is reserved); False if stop was set while waiting."""
        with self._cond:
            while self.reserved and self.reserved + n > self.budget:
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(0.2)
            self.reserved += n
            return True

    def page_limit(self, runs: int = 1) -> int:
        """Bytes one page's pixels may take so that the page fits the whole budget (PDF pages are rendered
        smaller to fit it)."""
        return max(self.budget - working_set(runs), BYTES_PER_PIXEL) // BYTES_PER_PIXEL * BYTES_PER_PIXEL

    def release(self, n: int) -> None:
        with self._cond:
            self.reserved = max(0, self.reserved - n)
            self._cond.notify_all()
