"""The real daemon killed inside publishing (OCRWATCHD_FAULT: the process dies right after a publish step, as a
crash or kill -9 would there) ends, after a restart, with exactly one complete set for every file."""
import os

import pytest
from conftest import Daemon, small_scan, sources, wait_for


@pytest.mark.parametrize("step", ["original-staged"])
def test_killed_while_publishing_then_restarted_every_file_once(tmp_path, step):
    d = Daemon(tmp_path, workers=1)
    names = [f"c{i}.png" for i in range(3)]
    for i, n in enumerate(names):
        (d.inbox / n).write_bytes(small_scan(i))
    os.environ["OCRWATCHD_FAULT"] = f"publish:{step}"
    try:
        d.start()
        d.proc.wait(timeout=180)                     # dies at the step, in the middle of the first set
    finally:
        del os.environ["OCRWATCHD_FAULT"]
    assert d.proc.returncode == 99
    assert not list(d.out.glob("*.json"))             # the original left its claim, but no set is visible yet
    d.start()
    wait_for(lambda: len(d.results()) >= 3, 180, "three results after the restart")
    assert d.stop()[0] == 0
    assert sources(d.results()) == sorted(str(d.inbox / n) for n in names)
    assert sorted(p.name for p in d.out.iterdir() if not p.name.startswith(".")) == sorted(
        [n for n in names] + [n.replace(".png", ".json") for n in names])
    assert "finished publishing" in d.log.read_text()
    assert not list((d.out / ".ocrwatchd").rglob("*.*")) and d.left_in_inbox() == []
