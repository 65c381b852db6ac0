"""A real Worker thread with the real engine, on real claimed files: transient errors (out of memory, disk full)
are retried 3 times with growing pauses, then quarantined; other errors are quarantined at once."""
import errno
import json
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


def test_disk_full_while_writing_is_retried_and_then_done(tmp_path, engine, monkeypatch):
    real, calls = publish.write_new_file, []

    def write_new_file(path, data):
        calls.append(path.name)
        if len(calls) <= 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)
    monkeypatch.setattr(publish, "write_new_file", write_new_file)
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
