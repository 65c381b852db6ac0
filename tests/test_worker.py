"""A real Worker thread with the real engine, on real claimed files: transient errors while reading (out of memory,
disk full) are retried 3 times with growing pauses, then quarantined; other errors are quarantined at once; an
output or failed folder that is full or read-only is waited for as long as it takes."""
import errno
import json
import os
import queue
import threading

import pytest
from conftest import small_scan

from ocrwatchd.config import InboxConfig
from ocrwatchd.daemon import publish, worker
from ocrwatchd.daemon.budget import MemoryBudget
from ocrwatchd.daemon.claims import claim, owner_name
from ocrwatchd.daemon.worker import Job, Worker


def run_one(tmp_path, engine, name="scan.png"):
    """Claim one scan and hand it to a worker; retries go straight back on the queue (the pauses asked for are
    recorded: waiting them out is the server's job). Returns (outcomes, pauses, inbox config)."""
    inbox = InboxConfig(path=tmp_path / "in", output=tmp_path / "out", failed=tmp_path / "failed")
    inbox.path.mkdir()
    (inbox.path / name).write_bytes(small_scan(3))
    jobs, outcomes, pauses, finished = queue.Queue(), [], [], threading.Event()

    def retry(job, delay):
        pauses.append(delay)
        jobs.put(job)

    def report(outcome, job, result, written, seconds):
        outcomes.append(outcome)
        if outcome != "retried":
            finished.set()

    w = Worker(0, engine, jobs, MemoryBudget(4 << 30), retry, report, threading.Event())
    w.start()
    jobs.put(Job(claim(inbox.path, inbox.path / name, owner_name()), inbox))
    assert finished.wait(120), outcomes
    jobs.put(None)
    w.join(30)
    assert not w.is_alive()
    return outcomes, pauses, inbox


def disk_full_for(monkeypatch, writes: int) -> None:
    """The first `writes` files the publisher writes find the disk full (ENOSPC); later ones are written."""
    real, calls = publish.write_new_file, []

    def write_new_file(path, data):
        calls.append(path.name)
        if len(calls) <= writes:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)
    monkeypatch.setattr(publish, "write_new_file", write_new_file)


def test_disk_full_while_writing_is_retried_and_then_done(tmp_path, engine, monkeypatch):

    disk_full_for(monkeypatch, 2)
    outcomes, pauses, inbox = run_one(tmp_path, engine)
    assert outcomes == ["retried", "retried", "done"] and pauses == [1.0, 2.0]
    assert json.loads((inbox.output / "scan.json").read_text())["pages"][0]["text"] == "scan number 3"
    assert (inbox.output / "scan.png").is_file() and not list(inbox.failed.rglob("*"))
    assert sorted(p.name for p in inbox.output.iterdir() if p.name != ".ocrwatchd") == ["scan.json", "scan.png"]
    assert not list((inbox.output / ".ocrwatchd").rglob("*.*"))                        # no temp, no -1 copy


@pytest.mark.parametrize("error", [
    MemoryError(),
    OSError(errno.ENOSPC, "No space left on device"),
    # what ONNX Runtime raises when the CUDA arena cannot grow
    RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer"),
], ids=["MemoryError", "ENOSPC", "onnxruntime-oom"])
def test_a_transient_error_is_retried_3_times_with_backoff_then_quarantined(tmp_path, engine, monkeypatch, error):
    def process(path, engine, **_):
        raise error
    monkeypatch.setattr(worker, "process", process)
    outcomes, pauses, inbox = run_one(tmp_path, engine)
    assert outcomes == ["retried"] * 3 + ["failed"]
    assert pauses == [1.0, 2.0, 4.0]                                  # growing pauses between the attempts
    doc = json.loads((inbox.failed / "scan.error.json").read_text())
    assert doc["attempts"] == 4 and doc["error"]["type"] == type(error).__name__
    assert "gave up after 4 attempts" in doc["error"]["message"] and len(doc["earlier_errors"]) == 4
    assert (inbox.failed / "scan.png").is_file() and not list(inbox.output.rglob("*"))


def test_other_errors_are_quarantined_at_once(tmp_path, engine, monkeypatch):
    def process(path, engine, **_):
        raise ValueError("a bug, not the weather")
    monkeypatch.setattr(worker, "process", process)
    outcomes, pauses, inbox = run_one(tmp_path, engine)
    assert outcomes == ["failed"] and pauses == []
    assert json.loads((inbox.failed / "scan.error.json").read_text())["attempts"] == 1


def run_watched(tmp_path, engine, data: bytes, truncated_retry_seconds: float = 120.0):
    """Like run_one, also recording each report's reason and how often the pipeline ran."""
    inbox = InboxConfig(path=tmp_path / "in", output=tmp_path / "out", failed=tmp_path / "failed")
    inbox.path.mkdir()
    (inbox.path / "scan.png").write_bytes(data)
    jobs, seen, pauses, finished = queue.Queue(), [], [], threading.Event()

    def retry(job, delay):
        pauses.append(delay)
        jobs.put(job)

    def report(outcome, job, result, written, seconds):
        seen.append((outcome, job.reason, job.attempts))
        if outcome != "retried":
            finished.set()

    w = Worker(0, engine, jobs, MemoryBudget(4 << 30), retry, report, threading.Event(), truncated_retry_seconds)
    w.start()
    job = Job(claim(inbox.path, inbox.path / "scan.png", owner_name()), inbox)
    jobs.put(job)
    assert finished.wait(120), seen
    jobs.put(None)
    w.join(30)
    return seen, pauses, inbox, job


def test_a_full_output_folder_is_waited_for_beyond_three_tries_without_reading_the_file_again(tmp_path, engine,
                                                                                                monkeypatch):
    """Disk full is not the file's fault: 7 refusals (more than the 3 retries a transient error gets), growing
    pauses, the pipeline ran once, attempts stay 1, and the set lands whole once there is room."""
    runs = []
    real_process = worker.process

    def counting(*a, **k):
        runs.append(1)
        return real_process(*a, **k)

    disk_full_for(monkeypatch, 7)
    monkeypatch.setattr(worker, "process", counting)
    seen, pauses, inbox, job = run_watched(tmp_path, engine, small_scan(3))
    assert seen == [("retried", "no-space", 1)] * 7 + [("done", "", 1)] and len(runs) == 1
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert sorted(p.name for p in inbox.output.iterdir() if p.name != ".ocrwatchd") == ["scan.json", "scan.png"]
    assert job.blocked is None and not list(inbox.failed.rglob("*"))


def test_a_full_failed_folder_is_waited_for_too(tmp_path, engine, monkeypatch):
    """Before: the quarantine's ENOSPC escaped Worker.fail, and the job lay claimed until a restart."""

    disk_full_for(monkeypatch, 2)
    seen, pauses, inbox, job = run_watched(tmp_path, engine, b"not a picture")
    assert seen == [("retried", "no-space", 1), ("retried", "no-space", 1), ("failed", "unsupported", 1)]
    assert json.loads((inbox.failed / "scan.error.json").read_text())["error"]["reason"] == "unsupported"
    assert (inbox.failed / "scan.png").read_bytes() == b"not a picture"


def test_a_read_only_output_folder_is_waited_for(tmp_path, engine, monkeypatch):
    real, calls = publish.place, []

    def place(src, dst):
        calls.append(dst)
        if len(calls) <= 1:
            raise OSError(errno.EROFS, "Read-only file system", str(src), None, str(dst))
        return real(src, dst)
    monkeypatch.setattr(publish, "place", place)
    seen, pauses, inbox, job = run_watched(tmp_path, engine, small_scan(4))
    assert seen == [("retried", "read-only", 1), ("done", "", 1)]     # the set was named: the retry finished it
    assert (inbox.output / "scan.json").exists() and (inbox.output / "scan.png").exists()


def test_a_file_removed_after_its_claim_is_reported_vanished(tmp_path, engine, monkeypatch):
    """Before: FileNotFoundError escaped handle() and only a log line said what had become of the file."""
    real = worker.open_document

    def open_document(path, options):
        os.unlink(path)                     # gone between the claim and the read
        return real(path, options)
    monkeypatch.setattr(worker, "open_document", open_document)
    seen, pauses, inbox, job = run_watched(tmp_path, engine, small_scan(5))
    assert seen == [("failed", "vanished", 1)] and not inbox.failed.exists() and not inbox.output.exists()


def test_an_unreadable_file_gets_the_grace_period_then_is_quarantined_as_permission(tmp_path, engine, monkeypatch):
    def open_document(path, options):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(worker, "open_document", open_document)
    seen, pauses, inbox, job = run_watched(tmp_path, engine, small_scan(6), truncated_retry_seconds=2.0)
    assert [s[:2] for s in seen] == [("retried", "permission"), ("failed", "permission")]
    assert json.loads((inbox.failed / "scan.error.json").read_text())["error"]["reason"] == "permission"


def test_a_plain_error_after_the_set_was_named_finishes_that_set_later(tmp_path, engine, monkeypatch):
    """EIO while linking a named set: its original already lies in the output's staging folder, so quarantining
    it would find nothing to move. The set is tried again (60 s later) and finished, not redone or dropped."""
    real, calls = publish.place, []

    def place(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            raise OSError(errno.EIO, "Input/output error", str(dst))
        return real(src, dst)
    monkeypatch.setattr(publish, "place", place)
    seen, pauses, inbox, job = run_watched(tmp_path, engine, small_scan(7))
    assert seen == [("retried", "internal", 1), ("done", "", 1)] and pauses == [60.0]
    assert (inbox.output / "scan.json").exists() and not inbox.failed.exists()
