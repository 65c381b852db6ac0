"""Taking over what dead owners left in an inbox: their half-published sets first, then their claims.

Run by every daemon at start and then every lease_refresh_seconds, right after refreshing its own lease (so the
file server's 'now' it judges by is fresh). Who is dead: lease.py. Each set and each claim is taken by a rename,
which succeeds once: several survivors may take over one dead owner at the same moment and every file still goes
to exactly one of them. Sets go first — their originals already left the claims, and a claim taken before its
set would run the job a second time (publish.py).
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..config import InboxConfig
from .claims import STATE_DIR, Claim, owner_alive, processing_root, recover
from .lease import LEASES, Leases, read_lease
from .publish import roll_forward

log = logging.getLogger("ocrwatchd.takeover")

FORGET_AFTER = 3      # a dead owner's lease file is removed once expired this many of its lease_seconds


def take_over(inbox: InboxConfig, owner: str, leases: Leases) -> tuple[int, list[Claim]]:
    """One pass over one inbox: (sets finished, claims now ours)."""
    root = processing_root(inbox.path)
    holders = [d.name for d in root.iterdir() if d.is_dir() and d.name != owner] if root.is_dir() else []
    dead_claimers = {o for o in holders if leases.dead(inbox.path, o, claims=True)}

    def dead(o: str) -> bool:
        return o in dead_claimers or leases.dead(inbox.path, o, claims=False)

    sets = sum(roll_forward(folder, dead, owner) for folder in dict.fromkeys((inbox.output, inbox.failed)))
    claims = recover(inbox.path, owner, lambda o: o in dead_claimers) if dead_claimers else []
    for c in claims:
        log.info("took over %s from a dead daemon", inbox.path / c.relative)
    _forget_dead_leases(inbox.path, owner, leases)
    return sets, claims


def _forget_dead_leases(inbox: Path, owner: str, leases: Leases) -> None:
    """Remove lease files of owners that are long dead and hold nothing here any more (each restart is a new
    owner name: without this the lease folder would only grow). Kept a while after expiry, so daemons that
    publish elsewhere still see the expired lease and take that owner's sets there."""
    folder = inbox / STATE_DIR / LEASES
    now = leases.server_now.get(inbox)
    for path in folder.iterdir() if folder.is_dir() and now is not None else []:
        other = path.name
        if other == owner or other.startswith(".") or (processing_root(inbox) / other).exists():
            continue
        gone = owner_alive(other) is False
        lease = read_lease(path)
        if lease is None:
            continue
        limit = lease[1] if lease[1] is not None else leases.lease_seconds
        if gone or now - lease[0] > FORGET_AFTER * limit * 1e9:
            leases.forget(inbox, other)
            log.debug("removed the lease of %s (dead, holds nothing)", other)
