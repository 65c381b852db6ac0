"""Leases and takeover (daemon/lease.py, takeover.py, publish.py): who is dead is judged by the file server's
mtimes only; every claim and every half-published set of a dead owner goes to exactly one survivor, even when
two race for it; an owner paused past its lease loses what was taken, cleanly, at whatever step it stopped."""
from __future__ import annotations

import json
import multiprocessing
import threading
import traceback
import os
import time
from pathlib import Path

import pytest

from ocrwatchd.config import InboxConfig
from ocrwatchd.daemon import publish as pub
from ocrwatchd.daemon.claims import claim, processing_root, recover
from ocrwatchd.daemon.lease import Leases, lease_path
from ocrwatchd.daemon.publish import ClaimLost, SetFiles, publish
from ocrwatchd.daemon.takeover import take_over

FORMATS = {".txt": b"text\n", ".hocr": b"<html/>"}


def backdate(path: Path, seconds: float, reference: Path) -> None:
    """Set path's mtime `seconds` before reference's (both stamped by the same file server)."""
    ref = os.stat(reference).st_mtime_ns
    os.utime(path, ns=(ref, ref - int(seconds * 1e9)))


def other_lease(inbox: Path, owner: str, lease_seconds: float = 10) -> Path:
    p = lease_path(inbox, owner)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"owner": owner, "lease_seconds": lease_seconds}))
    return p


def test_expiry_is_judged_by_the_servers_mtimes_not_by_our_clock(tmp_path, monkeypatch):
    inbox = tmp_path / "in"
    inbox.mkdir()
    me = Leases("hostA~1~1", [inbox], lease_seconds=10)
    assert me.refresh()
    mine = lease_path(inbox, "hostA~1~1")
    theirs = other_lease(inbox, "hostB~7~7", lease_seconds=10)
    # Our wall clock is a day off: nothing changes, since no local time is compared with an mtime.
    monkeypatch.setattr(time, "time", lambda: 1e9 + 86400)
    backdate(theirs, 9, mine)
    assert not me.dead(inbox, "hostB~7~7")
    backdate(theirs, 11, mine)
    assert me.dead(inbox, "hostB~7~7")
    # The owner's own promise counts: it said 30 s, so 11 s without a refresh is not dead yet.
    theirs.write_text(json.dumps({"lease_seconds": 30}))
    backdate(theirs, 11, mine)
    assert not me.dead(inbox, "hostB~7~7")
    backdate(theirs, 31, mine)
    assert me.dead(inbox, "hostB~7~7")


def test_a_missing_lease_counts_for_claims_only_after_lease_seconds_of_our_own_clock(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    now = [100.0]
    me = Leases("hostA~1~1", [inbox], lease_seconds=10, clock=lambda: now[0])
    me.refresh()
    assert not me.dead(inbox, "hostB~7~7")                   # first seen without a lease: not yet
    now[0] += 9.9
    assert not me.dead(inbox, "hostB~7~7")
    assert not me.dead(inbox, "hostB~7~7", claims=False)     # a staged set proves nothing about a lease
    now[0] += 0.2
    assert me.dead(inbox, "hostB~7~7")
    assert not me.dead(inbox, "hostB~7~7", claims=False)
    other_lease(inbox, "hostB~7~7")                          # it appears (it was only slow): alive again
    assert not me.dead(inbox, "hostB~7~7")


def test_a_gone_process_of_this_host_is_dead_at_once_whatever_its_lease(tmp_path):
    import subprocess
    import sys

    from ocrwatchd.daemon.claims import owner_name

    inbox = tmp_path / "in"
    inbox.mkdir()
    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                             text=True).stdout)
    gone = owner_name(pid)
    me = Leases(owner_name(), [inbox], lease_seconds=10)
    me.refresh()
    other_lease(inbox, gone)                                  # fresh lease, but the process has exited
    assert me.dead(inbox, gone) and me.dead(inbox, gone, claims=False)


def test_our_own_lease_found_expired_or_removed_is_counted_and_rewritten(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    me = Leases("hostA~1~1", [inbox], lease_seconds=10)
    me.refresh()
    mine = lease_path(inbox, "hostA~1~1")
    os.utime(mine, ns=(0, os.stat(mine).st_mtime_ns - 11 * 10**9))   # we were stopped for 11 s
    me.refresh()
    assert me.lost == 1
    mine.unlink()                                                     # a survivor removed it
    me.refresh()
    assert me.lost == 2 and json.loads(mine.read_text())["lease_seconds"] == 10
    me.release()
    assert not mine.exists()


# ---------------------------------------------------------------- two survivors racing for one dead owner

def inbox_config(tmp_path: Path) -> InboxConfig:
    return InboxConfig(path=tmp_path / "in", output=tmp_path / "out", failed=tmp_path / "failed")


class Stop(BaseException):
    """Where the dead owner's process stopped (os._exit in a real one: nothing after it runs)."""


def half_published(tmp_path: Path, owner: str, name: str, step: str, monkeypatch) -> None:
    """A set `owner` began publishing and stopped right after `step`."""
    inbox = tmp_path / "in"
    (inbox / name).write_bytes(name.encode())
    c = claim(inbox, inbox / name, owner)

    def stop_at(s):
        if s == step:
            raise Stop(s)
    monkeypatch.setattr(pub, "fault_point", stop_at)
    with pytest.raises(Stop):
        publish(SetFiles(tmp_path / "out", c.relative, FORMATS | {".json": name.encode()}, c.path, tmp_path / "out"),
                owner)
    monkeypatch.setattr(pub, "fault_point", lambda s: None)


def _taker(root: str, me: str, rounds: int, go, done, results) -> None:
    cfg = inbox_config(Path(root))
    leases = Leases(me, [cfg.path], lease_seconds=5)
    won = []
    try:
        for _ in range(rounds):
            go.wait()
            leases.refresh()
            sets, claims = take_over(cfg, me, leases)
            won.append((sets, [str(c.relative) for c in claims]))
            for c in claims:                                 # and finish them, as the daemon's workers would
                publish(SetFiles(cfg.output, c.relative, FORMATS | {".json": str(c.relative).encode()}, c.path,
                                 cfg.output), me)
            done.wait()
    except BaseException:                                    # the test shows it, instead of waiting on the barrier
        results.put((me, traceback.format_exc()))
        go.abort()
        done.abort()
        raise
    results.put((me, won))


def test_two_survivors_take_each_claim_and_each_staged_set_exactly_once(tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    rounds, per_round = 12, 8
    # spawn, not fork: by this point of the suite pytest's process has ONNX Runtime and other threads, and a
    # forked child of a threaded process can die or hang on a lock some thread held (one taker died at the
    # first barrier in a full run and the test waited forever)
    ctx = multiprocessing.get_context("spawn")
    go, done, results = ctx.Barrier(3, timeout=120), ctx.Barrier(3, timeout=120), ctx.Queue()
    takers = [ctx.Process(target=_taker, args=(str(tmp_path), f"host{x}~{n}~{n}", rounds, go, done, results))
              for n, x in ((11, "B"), (12, "C"))]
    for t in takers:
        t.start()
    steps = ["manifest", "original-staged", "linked:txt", "linked:original", "committed"]
    names = []
    for r in range(rounds):
        dead = f"hostA~{100 + r}~1"
        other_lease(tmp_path / "in", dead, lease_seconds=5)
        for k in range(per_round):
            name = f"r{r:02d}-{k}.png"
            names.append(name)
            if k < len(steps):
                half_published(tmp_path, dead, name, steps[k], monkeypatch)
            else:
                (tmp_path / "in" / name).write_bytes(name.encode())
                claim(tmp_path / "in", tmp_path / "in" / name, dead)
        backdate(lease_path(tmp_path / "in", dead), 60, tmp_path / "in")   # its host died a minute ago
        try:
            go.wait()
            done.wait()
        except threading.BrokenBarrierError:
            pytest.fail(f"a taker failed: {dict(results.get(timeout=10) for _ in range(1))}")
    won = dict(results.get(timeout=60) for _ in takers)
    for t in takers:
        t.join(10)
    out = tmp_path / "out"
    published = sorted(p.name for p in out.iterdir() if p.is_file())
    assert published == sorted(f"{Path(n).stem}{s}" for n in names for s in (".png", ".json", ".txt", ".hocr"))
    for n in names:                                          # each set whole, with its own original
        assert (out / n).read_bytes() == n.encode()
    assert not [p for p in (out / ".ocrwatchd").rglob("*") if p.is_file()]
    assert not [p for p in processing_root(tmp_path / "in").rglob("*") if p.is_file()]
    claims = [c for w in won.values() for _, cs in w for c in cs]
    assert len(claims) == len(set(claims))                   # no claim went to both
    assert sum(s for w in won.values() for s, _ in w) + len(claims) == len(names)
    # both really took part (the rounds are released for both at once)
    assert all(any(s or cs for s, cs in w) for w in won.values())
    assert not list((tmp_path / "in" / ".ocrwatchd" / "leases").glob("hostA~*"))   # dead leases cleaned


# ---------------------------------------------------------------- an owner paused past its lease

@pytest.mark.parametrize("step", ["staged", "manifest", "original-staged", "linked:txt", "linked:json",
                                  "committed"])
def test_an_owner_paused_at_any_step_loses_the_job_cleanly_or_finishes_it_never_both(tmp_path, monkeypatch, step):
    """The owner stops right after `step` (SIGSTOP), a survivor takes over everything it holds and publishes it,
    then the owner resumes: either it finds the job gone (ClaimLost) or, where the set was already committed, it
    only cleans up — and there is exactly one complete set."""
    cfg = inbox_config(tmp_path)
    cfg.path.mkdir()
    owner, survivor = "hostA~1~1", "hostB~2~2"
    (cfg.path / "scan.png").write_bytes(b"scan")
    c = claim(cfg.path, cfg.path / "scan.png", owner)
    a = Leases(owner, [cfg.path], lease_seconds=5)
    a.refresh()
    b = Leases(survivor, [cfg.path], lease_seconds=5)
    taken = []

    def paused(s):
        if s == step and not taken:                                    # the owner's step, not the survivor's
            backdate(lease_path(cfg.path, owner), 30, cfg.path)        # 30 s stopped
            b.refresh()
            sets, claims = take_over(cfg, survivor, b)
            taken.append(sets)
            for tc in claims:
                publish(SetFiles(cfg.output, tc.relative, FORMATS | {".json": b"B"}, tc.path, cfg.output), survivor)
                taken.append("claim")
    monkeypatch.setattr(pub, "fault_point", paused)
    try:
        publish(SetFiles(cfg.output, c.relative, FORMATS | {".json": b"A"}, c.path, cfg.output), owner)
        outcome = "finished"
    except ClaimLost:
        outcome = "lost"
    assert taken                                                       # the survivor did take something
    expect = {"staged": "lost", "manifest": "lost", "original-staged": "lost", "linked:txt": "lost",
              "linked:json": "lost", "committed": "finished"}[step]
    assert outcome == expect
    out = cfg.output
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["scan.hocr", "scan.json", "scan.png", "scan.txt"]
    assert (out / "scan.png").read_bytes() == b"scan"
    # a set the survivor took over from a manifest says A; one it ran again from the claim says B
    assert (out / "scan.json").read_bytes() == (b"B" if step == "staged" else b"A")
    assert not [p for p in (out / ".ocrwatchd").rglob("*") if p.is_file()]
    assert not [p for p in processing_root(cfg.path).rglob("*") if p.is_file()]


def test_across_filesystems_the_unlink_after_the_copy_decides_who_has_the_file(tmp_path, monkeypatch):
    """Inbox on one filesystem, output on another: the original is copied, then its claim unlinked. A survivor
    that takes the claim between the two wins it; the paused owner finds the claim in the survivor's folder,
    drops its copy and gives the job up: one set, the survivor's."""
    import tempfile

    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem here")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        cfg = InboxConfig(path=Path(other) / "in", output=tmp_path / "out", failed=tmp_path / "failed")
        cfg.path.mkdir()
        (cfg.path / "scan.png").write_bytes(b"scan")
        owner, survivor = "hostA~1~1", "hostB~2~2"
        c = claim(cfg.path, cfg.path / "scan.png", owner)

        def paused(s):
            # the survivor's pass looked at the sets before the owner named its set, and at the claims now: the
            # copy is made, the claim still there
            if s == "original-copied":
                claims = recover(cfg.path, survivor, dead=lambda o: o == owner)
                assert [tc.relative.name for tc in claims] == ["scan.png"]
        monkeypatch.setattr(pub, "fault_point", paused)
        with pytest.raises(ClaimLost, match="taken over by hostB"):
            publish(SetFiles(cfg.output, c.relative, {".json": b"A"}, c.path, cfg.output), owner)
        monkeypatch.setattr(pub, "fault_point", lambda s: None)
        assert not [p for p in (cfg.output / ".ocrwatchd").rglob("*") if p.is_file()]   # our copy dropped
        taken = processing_root(cfg.path) / survivor / "scan.png"
        publish(SetFiles(cfg.output, Path("scan.png"), {".json": b"B"}, taken, cfg.output), survivor)
        assert sorted(p.name for p in cfg.output.iterdir() if p.is_file()) == ["scan.json", "scan.png"]
        assert (cfg.output / "scan.json").read_bytes() == b"B"
