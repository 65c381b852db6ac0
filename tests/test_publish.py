"""Publishing a set (daemon/publish.py): never overwriting, the JSON last, and exactly one complete set after a
crash at every step — shown by dying at each fault point and rolling forward, not by luck."""
from __future__ import annotations

import errno
import json
import os
import socket
import tempfile
from pathlib import Path

import pytest

from ocrwatchd.daemon import publish as pub
from ocrwatchd.daemon.claims import claim, processing_root, recover
from ocrwatchd.daemon.publish import SetFiles, publish, roll_forward

FIVE = {".ocr.pdf": b"%PDF searchable", ".txt": b"text\n", ".hocr": b"<html/>", ".alto.xml": b"<alto/>"}


def claimed(tmp_path: Path, owner: str, name: str = "sub/scan.png", data: bytes = b"scan bytes"):
    inbox = tmp_path / "in"
    (inbox / name).parent.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(data)
    return claim(inbox, inbox / name, owner)


def job(tmp_path: Path, c, formats: dict[str, bytes], marker: str = ".json", archive: Path | None = None) -> SetFiles:
    folder = tmp_path / ("failed" if marker == ".error.json" else "out")
    files = dict(formats) | {marker: json.dumps({"of": str(c.relative)}).encode()}
    return SetFiles(folder, c.relative, files, c.path, archive or folder)


def visible(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and ".ocrwatchd" not in p.parts)


def test_a_set_gets_one_base_name_and_nothing_is_overwritten(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "scan.txt").write_text("the user's own notes")     # takes scan.* for the whole set
    paths = [publish(job(tmp_path, claimed(tmp_path, "o~1~1"), FIVE), "o~1~1") for _ in range(2)]
    assert visible(out) == sorted(f"sub/{b}{s}" for b in ("scan-1", "scan-2")
                                  for s in (".png", ".json", *FIVE)) + ["sub/scan.txt"]
    assert (out / "sub" / "scan.txt").read_text() == "the user's own notes"
    assert paths[0][".json"].name == "scan-1.json" and paths[0]["original"].read_bytes() == b"scan bytes"
    assert not list((out / ".ocrwatchd").rglob("*.*"))                 # staging cleaned


def test_a_name_taken_while_committing_moves_the_whole_set_and_leaves_nothing_behind(tmp_path, monkeypatch):
    c = claimed(tmp_path, "o~1~1")
    out = tmp_path / "out" / "sub"
    real = pub.fault_point

    def someone_else_takes_scan_json(step):
        if step == "linked:txt":
            (out / "scan.json").write_text("another daemon's result")
        real(step)

    monkeypatch.setattr(pub, "fault_point", someone_else_takes_scan_json)
    paths = publish(job(tmp_path, c, FIVE), "o~1~1")
    assert paths[".json"].name == "scan-1.json"
    assert visible(tmp_path / "out") == sorted(["sub/scan.json"] + [f"sub/scan-1{s}" for s in (".png", ".json", *FIVE)])


def test_archive_the_searchable_pdf_takes_the_originals_name(tmp_path):
    c = claimed(tmp_path, "o~1~1", "scan.jpg")
    paths = publish(job(tmp_path, c, {".pdf": b"%PDF"}, archive=tmp_path / "archive"), "o~1~1")
    assert paths[".pdf"] == tmp_path / "out" / "scan.pdf" and paths["original"] == tmp_path / "archive" / "scan.jpg"
    assert (tmp_path / "archive" / "scan.jpg").read_bytes() == b"scan bytes"


def test_the_original_crosses_filesystems(tmp_path):
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem here")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        c = claimed(Path(other), "o~1~1")
        paths = publish(job(tmp_path, c, {}), "o~1~1")
        assert paths["original"].read_bytes() == b"scan bytes" and not c.path.exists()


class Crash(BaseException):
    """What os._exit would be in a real process: nothing after the fault point runs."""


STEPS_FIVE = ["staged", "manifest", "original-staged", "linked:pdf", "linked:txt", "linked:hocr", "linked:xml",
              "linked:original", "linked:json", "committed", "cleaned"]
STEPS_JSON = ["staged", "manifest", "original-staged", "linked:original", "linked:json", "committed", "cleaned"]


@pytest.mark.parametrize("formats, marker, step, links", [(FIVE, ".json", s, True) for s in STEPS_FIVE] +
                         [({}, ".json", s, True) for s in STEPS_JSON] +
                         [({}, ".error.json", s, True) for s in STEPS_JSON] +
                         # a filesystem without hard links: files are placed by copy, so the roll-forward finds
                         # copies of its staged files under the final names and must know them by their bytes
                         [(FIVE, ".json", s, False) for s in ("linked:txt", "linked:original", "linked:json")])
def test_a_crash_at_every_step_ends_in_exactly_one_complete_set(tmp_path, monkeypatch, formats, marker, step, links):
    dead, alive = f"{socket.gethostname()}~1~1", f"{socket.gethostname()}~{os.getpid()}~2"   # pid 1 started at 1: gone
    if not links:
        def no_links(*args, **kwargs):
            raise OSError(errno.EOPNOTSUPP, "no hard links here")
        monkeypatch.setattr(os, "link", no_links)
    c = claimed(tmp_path, dead)

    def crash_at(name):
        if name == step:
            raise Crash(name)
    monkeypatch.setattr(pub, "fault_point", crash_at)
    with pytest.raises(Crash):
        publish(job(tmp_path, c, formats, marker), dead)
    folder = tmp_path / ("failed" if marker == ".error.json" else "out")
    if (folder / "sub" / f"scan{marker}").exists():                     # the marker is only ever the last file
        assert visible(folder) == sorted(f"sub/scan{s}" for s in (".png", marker, *formats))
    else:
        assert step not in ("committed", "cleaned")
    monkeypatch.setattr(pub, "fault_point", lambda name: None)
    # the restart: finish what the dead owner began, then take its remaining claims and run those jobs again
    roll_forward(folder, lambda owner: owner == dead, alive)
    again = [r for r in recover(tmp_path / "in", alive)]
    for r in again:
        publish(job(tmp_path, r, formats, marker), alive)
    expected = sorted(f"sub/scan{s}" for s in (".png", marker, *formats))
    assert visible(folder) == expected                                  # one set, complete, nothing doubled
    assert json.loads((folder / "sub" / f"scan{marker}").read_text()) == {"of": "sub/scan.png"}
    assert (folder / "sub" / "scan.png").read_bytes() == b"scan bytes"
    assert not list((folder / ".ocrwatchd").rglob("*.*"))              # no staging left
    assert not [p for p in processing_root(tmp_path / "in").rglob("*") if p.is_file()]
    assert len(again) == (1 if step == "staged" else 0)                 # re-run only if nothing was named yet


def test_a_retry_after_the_set_was_named_finishes_that_set(tmp_path, monkeypatch):
    """Disk full while linking: the same worker's next attempt completes the named set instead of restarting."""
    c = claimed(tmp_path, "o~1~1")
    real = pub.place
    calls = []

    def full_once(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst)
    monkeypatch.setattr(pub, "place", full_once)
    with pytest.raises(OSError):
        publish(job(tmp_path, c, FIVE), "o~1~1")
    assert not c.path.exists()                                           # the original is in the staged set
    paths = pub.resume(tmp_path / "out", "o~1~1", c.relative)
    assert paths is not None and visible(tmp_path / "out") == sorted(f"sub/scan{s}" for s in (".png", ".json", *FIVE))
