import os
import subprocess
import sys

from ocrwatchd.daemon.claims import claim, owner_alive, owner_name, processing_root, recover


def test_claim_moves_into_owner_folder_and_only_once(tmp_path):
    inbox = tmp_path / "in"
    (inbox / "sub").mkdir(parents=True)
    f = inbox / "sub" / "scan.png"
    f.write_bytes(b"x")
    me = owner_name()
    c = claim(inbox, f, me)
    assert c is not None and c.relative.as_posix() == "sub/scan.png"
    assert c.path == processing_root(inbox) / me / "sub" / "scan.png" and c.path.read_bytes() == b"x"
    assert not f.exists()
    assert claim(inbox, f, "other~1~1") is None       # second claimer loses


def test_recover_takes_claims_of_dead_processes_only(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = owner_name(int(dead.stdout))   # that process has exited
    alive_owner = owner_name()                   # this test process
    for owner, name in ((dead_owner, "a.png"), (alive_owner, "b.png")):
        d = processing_root(inbox) / owner
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(b"x")
    assert owner_alive(alive_owner) is True and owner_alive(dead_owner) is False
    assert owner_alive("otherhost~1~1") is None
    new_owner = "me~0~0"
    got = recover(inbox, new_owner)
    assert [c.relative.name for c in got] == ["a.png"]
    assert (processing_root(inbox) / new_owner / "a.png").exists()
    assert (processing_root(inbox) / alive_owner / "b.png").exists()
    assert not (processing_root(inbox) / dead_owner).exists()


def test_a_folder_another_taker_removes_mid_walk_is_no_error(tmp_path, monkeypatch):
    """Two survivors take over one dead owner at once: the other may take and prune a subfolder after we listed
    it and before we look inside. Our pass still returns what it took, and nothing is raised (a FileNotFoundError
    here lost the whole pass, with the claims it had already renamed into our folder)."""
    import shutil

    inbox = tmp_path / "in"
    root = processing_root(inbox)
    for owner in ("deadA~1~1", "deadB~2~2"):
        (root / owner / "sub" / "deep").mkdir(parents=True)
        (root / owner / "sub" / "deep" / f"{owner[:5]}.png").write_bytes(b"x")
        (root / owner / f"{owner[:5]}-top.png").write_bytes(b"x")
    contested = root / "deadA~1~1" / "sub" / "deep"
    real_scandir = os.scandir

    def scandir(path="."):
        if not isinstance(path, int) and os.fspath(path) == os.fspath(contested) and contested.exists():
            shutil.rmtree(contested)          # the other taker got there between our listing and our look inside
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    got = recover(inbox, "me~0~0", lambda owner: True)
    assert sorted(c.relative.as_posix() for c in got) == ["deadA-top.png", "deadB-top.png", "sub/deep/deadB.png"]
    assert not (root / "deadA~1~1").exists() and not (root / "deadB~2~2").exists()


def test_results_follow_the_umask_not_mkstemps_0600(tmp_path):
    from ocrwatchd.fsutil import write_new_file

    old = os.umask(0o027)
    try:
        write_new_file(tmp_path / "r.json", b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640


def _claim_all(inbox, batches, barrier, results):
    """One of many processes: batch after batch, wait for all the others, then try to claim every file of the
    batch (every process the same files at the same moment: each file is raced for by all of them)."""
    from pathlib import Path

    me = owner_name()
    won = []
    for batch in batches:
        barrier.wait()
        won += [n for n in batch if claim(Path(inbox), Path(inbox) / n, me) is not None]
    results.put((me, won))


def test_many_processes_claiming_the_same_files_at_once_take_each_exactly_once(tmp_path):
    import multiprocessing

    inbox = tmp_path / "in"
    inbox.mkdir()
    names = [f"f{i:03d}.png" for i in range(300)]
    for n in names:
        (inbox / n).write_bytes(n.encode())
    batches = [names[i:i + 5] for i in range(0, len(names), 5)]
    ctx = multiprocessing.get_context("spawn")    # not fork: pytest's process has threads by now (test_lease.py)
    barrier, results = ctx.Barrier(6, timeout=120), ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(str(inbox), batches, barrier, results)) for _ in range(6)]
    for p in procs:
        p.start()
    won = dict(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(10)
    all_won = sorted(n for files in won.values() for n in files)
    assert all_won == names                                   # every file claimed, none twice
    assert sum(1 for files in won.values() if files) >= 2    # the claimers really raced for the same files
    for owner, files in won.items():                          # and each lies, whole, where its winner put it
        folder = processing_root(inbox) / owner
        got = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        assert got == sorted(files) and all((folder / n).read_bytes() == n.encode() for n in files)
    assert not any(inbox.glob("*.png"))


def test_a_worker_pruning_empty_folders_waits_for_a_claim_into_them(tmp_path, monkeypatch):
    """A worker finishing sub/a.png removes sub/ if it is empty (prune_parents) while the main thread claims
    sub/b.png into it: pruned between the claim's mkdir and its rename, the claim failed (and mkdir's own check
    raised FileExistsError and stopped the daemon). The prune runs exactly in that gap here; it must wait."""
    import threading

    from ocrwatchd.daemon import claims as claims_module
    from ocrwatchd.daemon.claims import prune_parents

    inbox = tmp_path / "in"
    (inbox / "sub").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        (inbox / "sub" / name).write_bytes(b"x")
    owner = owner_name()
    owner_dir = processing_root(inbox) / owner
    first = claim(inbox, inbox / "sub" / "a.png", owner)
    os.replace(first.path, tmp_path / "a.json")          # a.png is done: sub/ in our folder is empty now
    real_rename = os.rename
    pruner = threading.Thread(target=prune_parents, args=(first.path, owner_dir))

    def rename_after_a_prune(src, dst):
        pruner.start()
        pruner.join(0.5)                                  # a prune not held off empties the folder meanwhile
        return real_rename(src, dst)

    monkeypatch.setattr(claims_module.os, "rename", rename_after_a_prune)
    second = claim(inbox, inbox / "sub" / "b.png", owner)
    pruner.join(10)
    assert second is not None and second.path.is_file()
    assert not (inbox / "sub" / "b.png").exists()
