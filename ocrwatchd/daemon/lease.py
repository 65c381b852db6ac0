"""Leases: how daemons sharing an inbox (several hosts on one NFS export) tell a dead owner from a live one.

Every daemon keeps a heartbeat file INBOX/.ocrwatchd/leases/<owner> in each inbox it watches, written before
its first claim there and touched (utime) every lease_refresh_seconds by its main loop. An owner is dead when
  - it is a process of this host that is gone (pid and start time, as for claims), or
  - its lease was not refreshed for the lease_seconds it wrote into the file (any host), or
  - it has claims in the inbox but no lease file at all (it stopped cleanly, which removes the lease, or runs a
    version without leases) and this daemon has seen it so for lease_seconds on its own monotonic clock.
Any live daemon then takes over its claims and half-published sets (takeover.py).

"Not refreshed for" is measured on the file server's clock alone: we touch our own lease and read its new
mtime — the server's "now" — and compare the other lease's mtime with that. No two hosts' clocks are ever
compared, so clock skew between them does not matter. Leases are read with open()+fstat(): on NFS, open()
revalidates a file's attributes (close-to-open consistency), so the attribute cache (actimeo) does not show an
old mtime; mounts with `nocto` lose that, and need lease_seconds > refresh + acregmax. utime(NULL) on NFS asks
the server to stamp its own time (SET_TO_SERVER_TIME). mtime granularity (1 s on ext3, 2 s on FAT/exFAT, 100 ns
on SMB, ns elsewhere) only blurs the age by that much: lease_seconds must be well above it (≥ 2 s enforced).
"""
from __future__ import annotations

import errno
import json
import logging
import os
import threading
import time
from pathlib import Path

from ..fsutil import replace_file
from .claims import STATE_DIR, host_name, owner_alive

log = logging.getLogger("ocrwatchd.lease")

LEASES = "leases"


def lease_path(inbox: Path, owner: str) -> Path:
    return inbox / STATE_DIR / LEASES / owner


def read_lease(path: Path) -> tuple[int, float | None] | None:
    """(mtime in ns, the lease_seconds its owner promised) — None when there is no lease file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)   # open(): NFS close-to-open revalidates the attributes
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        promised = float(json.loads(data)["lease_seconds"])
    except (ValueError, KeyError, TypeError):
        promised = None          # being rewritten, or written by hand: judged by our own lease_seconds
    return st.st_mtime_ns, promised


class Leases:
    """This daemon's leases (one per inbox) and its view of everyone else's."""

    def __init__(self, owner: str, inboxes: list[Path], lease_seconds: float, clock=time.monotonic) -> None:
        self.owner, self.lease_seconds, self.clock = owner, lease_seconds, clock
        self.inboxes = list(inboxes)
        self.server_now: dict[Path, int] = {}      # inbox → our lease's mtime just after our last touch (ns)
        self.refreshed_at: float | None = None     # our clock, when every lease was last refreshed
        self.lost = 0                              # times our lease was found expired or gone (paused, cut off)
        self.lost_at: float | None = None          # wall time of the last such finding
        self._missing_since: dict[tuple[Path, str], float] = {}
        self._lock = threading.Lock()              # the main loop refreshes; a worker may, before publishing

    # -- ours ------------------------------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Touch our lease in every inbox (create it where missing); True when all were refreshed."""
        with self._lock:
            ok = True
            for inbox in self.inboxes:
                try:
                    self._refresh(inbox)
                except OSError as e:
                    ok = False
                    self.server_now.pop(inbox, None)    # no fresh 'now' there: nobody is judged by it
                    log.error("cannot refresh our lease in %s: %s", inbox, e)
            if ok:
                self.refreshed_at = self.clock()
            return ok

    def _refresh(self, inbox: Path) -> None:
        path = lease_path(inbox, self.owner)
        before = read_lease(path)
        if before is None:
            if inbox in self.server_now:
                self._lost(inbox, "was removed (by a daemon that judged us dead?)")
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, json.dumps({"owner": self.owner, "host": host_name(), "pid": os.getpid(),
                                           "lease_seconds": self.lease_seconds}).encode())
        else:
            try:
                os.utime(path)           # times=None: on NFS the server stamps its own clock
            except FileNotFoundError:    # removed between the read and the touch: write it again
                return self._refresh(inbox)
        now = read_lease(path)
        if now is None:
            raise OSError(errno.ENOENT, "lease vanished right after it was written", str(path))
        if before is not None and now[0] - before[0] > self.lease_seconds * 1e9:
            self._lost(inbox, f"had expired ({(now[0] - before[0]) / 1e9:.0f} s since the last refresh: were we "
                              "paused or cut off?)")
        self.server_now[inbox] = now[0]

    def _lost(self, inbox: Path, why: str) -> None:
        self.lost += 1
        self.lost_at = time.time()
        log.warning("our lease in %s %s; other daemons may have taken over our claims there — the ones they "
                    "took are left to them", inbox, why)

    def overdue(self) -> bool:
        """Has our own refresh not happened for lease_seconds (measured on our monotonic clock)?"""
        return self.refreshed_at is None or self.clock() - self.refreshed_at > self.lease_seconds

    def set_inboxes(self, inboxes: list[Path]) -> None:
        """Reload: leave the inboxes no longer watched (our lease there goes), lease the new ones."""
        gone = [i for i in self.inboxes if i not in inboxes]
        with self._lock:
            for inbox in gone:
                self.server_now.pop(inbox, None)
                try:
                    os.unlink(lease_path(inbox, self.owner))
                except OSError:
                    pass
            self.inboxes = list(inboxes)
        self.refresh()

    def release(self) -> None:
        """Clean shutdown: remove our leases (our queued claims stay: see dead() for who takes them)."""
        with self._lock:
            for inbox in self.inboxes:
                try:
                    os.unlink(lease_path(inbox, self.owner))
                except OSError:
                    pass
            self.server_now.clear()

    # -- everyone else's ---------------------------------------------------------------------------------------
    def dead(self, inbox: Path, owner: str, claims: bool = True) -> bool:
        """Is `owner` dead, as far as the lease folder of `inbox` tells?

        claims: the owner holds claims in this inbox's processing folder, so a live owner of our version has a
        lease there; without one it is taken as stopped once we have seen it so for lease_seconds. For sets
        staged in an output folder (claims=False) no lease proves nothing — that folder may be shared with an
        inbox we do not watch — so only an expired lease or a gone local process counts.
        """
        if owner == self.owner:
            return False
        local = owner_alive(owner)             # False: a process of this host that is gone (or a stray name)
        if local is False:
            return True
        lease = read_lease(lease_path(inbox, owner))
        key = (inbox, owner)
        if lease is not None:
            self._missing_since.pop(key, None)
            now = self.server_now.get(inbox)
            if now is None:
                return False                   # our own lease there failed: no server time to compare with
            limit = lease[1] if lease[1] is not None else self.lease_seconds
            return now - lease[0] > limit * 1e9
        if not claims or local is True:        # a live process of this host without a lease: an older version
            return False
        first = self._missing_since.setdefault(key, self.clock())
        return self.clock() - first >= self.lease_seconds

    def forget(self, inbox: Path, owner: str) -> None:
        """Everything of a dead owner is taken: remove its lease file (its name is never used again)."""
        self._missing_since.pop((inbox, owner), None)
        try:
            os.unlink(lease_path(inbox, owner))
        except OSError:
            pass
