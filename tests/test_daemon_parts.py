import os
import sys
import threading
import time
from pathlib import Path

from ocrwatchd.config import Config
from ocrwatchd.daemon.budget import TILE_RUN_BYTES, TILE_WORKING_SET, MemoryBudget, page_bytes, reservation
from ocrwatchd.daemon.intake import Settler, ignored, scan, wanted
from ocrwatchd.daemon.janitor import Janitor


def test_ignore_rules():
    for name in (".hidden.png", "~$doc.png", "x.png.part", "a.tmp", "b.crdownload", ".x.swp", "Thumbs.db",
                 "desktop.ini", ".ocrwatchd", "@eaDir", "._mac.png", "__MACOSX"):
        assert ignored(name), name
    assert not ignored("scan 01.png")
    inbox = Path("/in")
    assert wanted(Path("/in/sub/a.PNG"), inbox, (".png",))
    assert not wanted(Path("/in/.ocrwatchd/processing/x/a.png"), inbox, (".png",))
    assert not wanted(Path("/in/a.txt"), inbox, (".png",))
    assert not wanted(Path("/elsewhere/a.png"), inbox, (".png",))


def test_scan_does_not_enter_symlinked_folders(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.png").write_bytes(b"x")
    (tmp_path / "in" / "sub" / "a.png").write_bytes(b"x")
    os.symlink(tmp_path / "outside", tmp_path / "in" / "link")
    found = sorted(p.name for p in scan(tmp_path / "in", True, (".png",)))
    assert found == ["a.png"]
    assert sorted(p.name for p in scan(tmp_path / "in", False, (".png",))) == []


def test_settler_waits_for_a_stable_size_and_mtime(tmp_path):
    now = [0.0]
    s = Settler(2.0, clock=lambda: now[0])
    f = tmp_path / "a.png"
    f.write_bytes(b"1")
    assert s.ready(f) is False
    now[0] = 1.0
    with open(f, "ab") as h:
        h.write(b"2")                      # still growing: the clock starts again
    os.utime(f, ns=(1, 10**9))
    assert s.ready(f) is False
    now[0] = 2.5
    assert s.ready(f) is False
    now[0] = 3.1
    assert s.ready(f) is True
    f.unlink()
    assert s.ready(f) is None


def blocked_on_budget(thread: threading.Thread) -> bool:
    """Whether the thread is waiting on the budget's condition inside MemoryBudget.reserve, right now."""
    frame = sys._current_frames().get(thread.ident)
    codes = []
    while frame is not None:
        codes.append(frame.f_code)
        frame = frame.f_back
    return bool(codes) and codes[0].co_name == "wait" and MemoryBudget.reserve.__code__ in codes


def test_budget_makes_big_jobs_wait_and_lets_a_huge_one_run_alone():
    b = MemoryBudget(100)
    assert b.reserve(60)
    order = []

    def job(n, name):
        b.reserve(n)
        order.append(name)

    t = threading.Thread(target=job, args=(50, "second"), daemon=True)
    t.start()
    end = time.monotonic() + 5
    while not blocked_on_budget(t) and time.monotonic() < end:   # 60 + 50 > 100: it must end up waiting
        time.sleep(0.01)
    assert t.is_alive() and blocked_on_budget(t) and order == []
    time.sleep(0.5)
    assert t.is_alive() and blocked_on_budget(t) and order == [] and b.reserved == 60   # and stay there
    b.release(60)
    t.join(2)
    assert order == ["second"] and b.reserved == 50
    b.release(50)
    assert b.reserve(500)                  # bigger than the budget, nothing else running: goes alone
    stop = threading.Event()
    stop.set()
    assert b.reserve(10, stop) is False    # shutting down: gives up instead of waiting


def test_a_document_reads_ahead_only_with_several_pages_that_fit_the_budget_twice():
    a4 = 2480 * 3508                                  # 300 dpi
    one, two = page_bytes(a4), page_bytes(a4, ahead=True)
    assert one < two <= 2 * one and one == a4 * 4 + TILE_WORKING_SET
    assert reservation(a4, 6, True, 4 << 30) == (two, True)
    assert reservation(a4, 1, True, 4 << 30) == (one, False)      # nothing to read ahead
    assert reservation(a4, 6, False, 4 << 30) == (one, False)     # turned off
    assert reservation(a4, 6, True, two - 1) == (one, False)      # two pages would not fit: one at a time


def test_an_engine_running_two_batches_at_once_reserves_a_second_batch_and_renders_pages_smaller():
    a4 = 2480 * 3508
    assert page_bytes(a4, runs=2) == page_bytes(a4) + TILE_RUN_BYTES
    assert reservation(a4, 6, True, 4 << 30, runs=2) == (page_bytes(a4, ahead=True, runs=2), True)
    just_two = page_bytes(a4, ahead=True)                         # fits one run at a time, not two
    assert reservation(a4, 6, True, just_two, runs=1) == (just_two, True)
    assert reservation(a4, 6, True, just_two, runs=2) == (page_bytes(a4, runs=2), False)
    b = MemoryBudget(1 << 30)
    assert b.page_limit(runs=2) == b.page_limit() - TILE_RUN_BYTES


def test_janitor_removes_only_our_stale_temp_files_and_old_results_when_asked(tmp_path):
    inbox, out, failed = tmp_path / "in", tmp_path / "out", tmp_path / "failed"
    for d in (inbox, out, failed):
        d.mkdir()
    old = time.time() - 3 * 86400
    stale = out / ".scan.json.abc123.tmp"
    fresh = out / ".scan2.json.def456.tmp"
    user = out / "user.tmp"
    result = out / "scan.json"
    for p in (stale, fresh, user, result):
        p.write_text("x")
    os.utime(stale, (old, old))
    os.utime(result, (old, old))
    cfg = Config(inboxes=[{"path": str(inbox), "output": str(out), "failed": str(failed)}])
    assert Janitor(cfg).run() == {"temp": 1, "output": 0, "failed": 0}
    assert not stale.exists() and fresh.exists() and user.exists() and result.exists()
    cfg = Config(inboxes=[{"path": str(inbox), "output": str(out), "failed": str(failed)}],
                 janitor={"outputs_max_age_days": 1})
    assert Janitor(cfg).run()["output"] == 1 and not result.exists()


def test_an_inbox_symlinked_onto_a_network_mount_is_polled(tmp_path):
    from ocrwatchd.daemon.watch import NETWORK_FS, filesystem_type

    share = tmp_path / "mnt" / "scans share"            # stands for an NFS mount point (space escaped as \040)
    (share / "inbox").mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda1 / ext4 rw 0 0\n"
                      f"nas:/export {str(share).replace(' ', chr(92) + '040')} nfs4 rw,relatime 0 0\n")
    link = tmp_path / "srv-inbox"
    link.symlink_to(share / "inbox")
    assert filesystem_type(share / "inbox", mounts) == "nfs4"
    assert filesystem_type(link, mounts) == "nfs4" and "nfs4" in NETWORK_FS   # resolved before the lookup
    assert filesystem_type(tmp_path, mounts) == "ext4"


def test_the_mount_lookup_follows_an_inbox_symlink_onto_another_filesystem(tmp_path):
    import tempfile

    import pytest

    from ocrwatchd.daemon.watch import filesystem_type

    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as elsewhere:
        link = tmp_path / "inbox"
        link.symlink_to(elsewhere)
        assert filesystem_type(link) == filesystem_type(Path("/dev/shm")) != filesystem_type(tmp_path)
