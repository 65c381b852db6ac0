"""Campaign parts 'host' (a dead host on a shared inbox) and 'scale' (10,000 files), as campaign table rows.

host: three daemons as three hosts on one inbox (OCRWATCHD_HOST_NAME: none can judge another by its pids, only by
its lease). Files keep flowing; one daemon is killed -9 while it holds claims, and the survivors must finish its
files, exactly once, once its lease expires. The takeover time is measured from the kill to the moment nothing of
the dead host is left claimed or staged. scale: bench/campaign_scale.py's burst and trickle runs.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import campaign_scale
from campaign_parts import audit, peak_rss_mb
from conftest import Daemon, small_scan, three_hosts, wait_for



def _held(d: Daemon, host: str) -> int:
    root = d.inbox / ".ocrwatchd" / "processing"
    staging = d.out / ".ocrwatchd" / "staging"
    return (sum(1 for p in root.glob(f"{host}~*/**/*") if not p.is_dir()) if root.is_dir() else 0) + (
        len(list(staging.glob(f"{host}~*"))) if staging.is_dir() else 0)


def dead_host(root: Path, short: bool = False) -> dict:
    n, lease = (30, 5.0) if short else (120, 10.0)
    root.mkdir(parents=True)
    hosts = three_hosts(root, queue=6, lease_seconds=lease)
    any_d = hosts["hostA"]
    files = [(f"s{i:03d}.png", small_scan(50_000 + i)) for i in range(n)]
    sources = {hashlib.sha256(data).hexdigest(): name for name, data in files}
    t_start = time.monotonic()
    for name, data in files[: n // 2]:
        (any_d.inbox / name).write_bytes(data)
    wait_for(lambda: _held(any_d, "hostA") >= 3, 60, "hostA holding claims")
    peak = max(peak_rss_mb(d.proc.pid) for d in hosts.values())
    hosts["hostA"].kill()                                    # holding claims (and maybe a set half-published)
    t_kill = time.monotonic()
    for name, data in files[n // 2:]:                        # the inbox keeps filling meanwhile
        (any_d.inbox / name).write_bytes(data)
    wait_for(lambda: _held(any_d, "hostA") == 0, lease * 4 + 30, "hostA's claims taken over")
    took = time.monotonic() - t_kill
    wait_for(lambda: len(any_d.results()) + len(any_d.failures()) >= n, 300, "every file")
    for h in ("hostB", "hostC"):
        peak = max(peak, peak_rss_mb(hosts[h].proc.pid))
        hosts[h].stop()
    row = audit(sources, any_d)
    row.update({"peak RSS MB": round(peak), "wall s": round(time.monotonic() - t_start),
                "notes": f"3 hosts, lease {lease:g} s: hostA killed -9 holding claims, taken over after {took:.1f} s"})
    return row


def scale(root: Path, short: bool = False) -> dict:
    files, folders = (300, 10) if short else (10_000, 100)
    rows = [campaign_scale.run(files, folders, mode, root=root / mode) for mode in ("burst", "trickle")]
    notes = "; ".join(f"{r['mode']}: {r['files_per_min']:.0f} files/min, first result {r['first_result_seconds']} s, "
                      f"RSS {r['rss_mb_top']:.0f} MB at {r['waiting_at_top']} waiting vs {r['rss_mb_1k']:.0f} MB at "
                      f"{r['waiting_at_1k']} ({r['rss_growth_pct']:+.1f} %), queue max {r['queue_max']}/32"
                      for r in rows)
    return {"files in": sum(r["files"] for r in rows), "done": sum(r["done"] for r in rows),
            "failed": sum(r["failed"] for r in rows), "lost": sum(max(0, r["lost"]) for r in rows),
            "doubled": sum(r["duplicates"] for r in rows),
            "left behind": sum(r["left_in_inbox"] + r["left_claimed"] for r in rows), "incomplete sets": 0,
            "temp left": sum(r["left_staged"] for r in rows), "peak RSS MB": round(max(r["hwm_mb"] for r in rows)),
            "wall s": round(sum(r["wall_seconds"] for r in rows)), "notes": notes}
