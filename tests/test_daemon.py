"""The real `ocrwatchd run` process on temp folders (CPU, bundled model): what the daemon promises users."""
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import pytest
from conftest import Daemon, big_scan, scrape, small_scan, sources, text_image, two_page_tiff, wait_for


def test_twelve_files_some_written_slowly_each_processed_once(tmp_path):
    d = Daemon(tmp_path).start()
    names = [f"s{i:02d}.png" for i in range(12)]

    def slow_write(name, data):
        with open(d.inbox / name, "wb") as f:   # a scanner / SMB copy: chunks over ~4 s
            for k in range(0, len(data), len(data) // 8 + 1):
                f.write(data[k:k + len(data) // 8 + 1])
                f.flush()
                time.sleep(0.5)

    threads = []
    for i, name in enumerate(names):
        if i % 4 == 0:
            threads.append(threading.Thread(target=slow_write, args=(name, small_scan(i))))
            threads[-1].start()
        else:
            (d.inbox / name).write_bytes(small_scan(i))
    for t in threads:
        t.join()
    wait_for(lambda: len(d.results()) + len(d.failures()) >= 12, 240, "12 results")
    time.sleep(2)
    rc, _ = d.stop()
    assert rc == 0
    assert d.failures() == []
    assert sources(d.results()) == sorted(str(d.inbox / n) for n in names)      # each once, none twice
    assert sorted(p.name for p in d.out.glob("*.png")) == names                 # originals beside results
    for i, name in enumerate(names):
        result = json.loads((d.out / name.replace(".png", ".json")).read_text())
        assert result["pages"][0]["text"] == f"scan number {i}"                 # slow ones read whole
    assert d.left_in_inbox() == []


def inbox_state(d: Daemon) -> dict[str, tuple]:
    """What would change if the daemon touched a file: inode, size, mtime, ctime (a rename changes the ctime)."""
    state = {}
    for p in d.inbox.iterdir():
        try:
            s = p.lstat()
        except FileNotFoundError:
            continue                                     # claimed since the listing
        if stat.S_ISREG(s.st_mode):
            state[p.name] = (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)
    return state


def test_a_full_queue_leaves_files_untouched_in_the_inbox(tmp_path):
    d = Daemon(tmp_path, queue=2, workers=1)
    (d.inbox / "a-big.png").write_bytes(big_scan(100))   # keeps the one worker busy (1.5 s on a fast host) while
                                                          # the queue fills
    names = [f"q{i:02d}.png" for i in range(6)]
    for i, n in enumerate(names):
        (d.inbox / n).write_bytes(small_scan(i))
    as_written = inbox_state(d)
    d.start()
    claimed_counts = []
    while len(d.results()) < 7:
        claimed, now = d.claimed(), inbox_state(d)
        claimed_counts.append(len(claimed))
        assert len(claimed) <= 3, claimed                # one in the worker + a full queue of 2: no more taken
        assert {n: s for n, s in now.items() if s != as_written[n]} == {}, "a file waiting in the inbox was touched"
        assert d.proc.poll() is None and len(claimed_counts) < 2400, "no progress in 4 minutes"
        time.sleep(0.1)
    assert max(claimed_counts) == 3                      # the queue really was full while files waited
    assert d.stop()[0] == 0
    assert sources(d.results()) == sorted(str(d.inbox / n) for n in ["a-big.png", *names])
    assert d.left_in_inbox() == [] and d.claimed() == []


def test_bad_inputs_are_quarantined_with_a_reason_and_good_ones_still_done(tmp_path):
    d = Daemon(tmp_path)
    good = small_scan(1)
    ok, jpg = cv2.imencode(".jpg", text_image(640, 240, [(20, 120, "truncated", 1.2)]))
    (d.inbox / "cut.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 2])
    (d.inbox / "empty.png").write_bytes(b"")
    (d.inbox / "notes.png").write_text("this is text, not a picture")
    os.symlink("/etc/passwd", d.inbox / "passwd.png")
    os.mkfifo(d.inbox / "pipe.png")
    (d.inbox / "readme.txt").write_text("not an image extension: left alone")
    (d.inbox / "bomb.tif").write_bytes(two_page_tiff(20_000, 20_000))   # the bomb is on page 2
    d.start()
    (d.inbox / "good.png").write_bytes(good)
    wait_for(lambda: len(d.failures()) >= 6 and len(d.results()) >= 1, 120, "6 failures and 1 result")
    assert d.proc.poll() is None                       # still running
    (d.inbox / "after.png").write_bytes(small_scan(2))
    wait_for(lambda: len(d.results()) >= 2, 60, "a good file after the bad ones")
    assert d.stop()[0] == 0
    errors = {p.name: json.loads(p.read_text()) for p in d.failures()}
    assert set(errors) == {"cut.error.json", "empty.error.json", "notes.error.json", "passwd.error.json",
                           "pipe.error.json", "bomb.error.json"}
    assert errors["bomb.error.json"]["error"]["type"] == "ImageTooLarge"
    assert "page 2 of 2 is 20000x20000" in errors["bomb.error.json"]["error"]["message"]
    assert errors["cut.error.json"]["error"]["type"] == "TruncatedImage" and errors["cut.error.json"]["attempts"] > 1
    assert "not a supported image" in errors["notes.error.json"]["error"]["message"]
    assert "symlink to /etc/passwd" in errors["passwd.error.json"]["error"]["message"]
    assert errors["pipe.error.json"]["error"]["type"] == "NotARegularFile"
    assert os.path.islink(d.failed / "passwd.png") and os.readlink(d.failed / "passwd.png") == "/etc/passwd"
    for e in errors.values():
        assert e["ocrwatchd_version"] and e["first_seen"] and e["failed_at"] and e["source"].startswith(str(d.inbox))
    assert [p.name for p in d.left_in_inbox()] == ["readme.txt"]


def test_two_daemons_on_one_inbox_both_claim_and_each_file_is_done_once(tmp_path):
    # Small queues: neither daemon can hold more than 1 + 3 files, so both must win some of the 16.
    a = Daemon(tmp_path, name="a", queue=3, workers=1).start()
    b = Daemon(tmp_path, name="b", queue=3, workers=1).start()
    names = [f"t{i:02d}.png" for i in range(16)]
    for i, n in enumerate(names):
        (a.inbox / n).write_bytes(small_scan(i))
    wait_for(lambda: len(a.results()) >= 16, 240, "16 results")
    time.sleep(3)
    assert a.stop()[0] == 0 and b.stop()[0] == 0
    assert sources(a.results()) == sorted(str(a.inbox / n) for n in names)     # each once
    done_by = [re.findall(r"INFO done (\S+) ", d.log.read_text()) for d in (a, b)]
    assert sorted(done_by[0] + done_by[1]) == sorted(str(a.inbox / n) for n in names)
    assert done_by[0] and done_by[1], [len(x) for x in done_by]                # both really claimed files
    assert a.claimed() == [] and a.left_in_inbox() == []


def test_sigterm_finishes_in_flight_jobs_and_the_next_start_does_the_queued_claims(tmp_path):
    d = Daemon(tmp_path, workers=1)
    names = ["a-big.png", *(f"b{i}.png" for i in range(4))]
    (d.inbox / names[0]).write_bytes(big_scan(100))      # 1.5 s on a fast host (40 lines: 0.95 s): still in flight
                                                          # when the test looks
    for i, n in enumerate(names[1:]):
        (d.inbox / n).write_bytes(small_scan(i))
    d.start()
    wait_for(lambda: len(d.claimed()) == 5, 60, "all five claimed")
    wait_for(lambda: scrape(d.metrics_url).get(("ocrwatchd_inflight_jobs", frozenset())) == 1, 30,
             "the big page in flight")
    rc, seconds = d.stop()
    assert rc == 0 and seconds < 15
    # The job in flight finished and wrote its whole set; the queued ones stay claimed, untouched.
    assert d.published() == ["a-big.json", "a-big.png"]
    assert json.loads((d.out / "a-big.json").read_text())["pages"][0]["text"].startswith("line 0 of a long page")
    assert sorted(p.name for p in d.claimed()) == names[1:]
    assert "4 queued jobs left claimed" in d.log.read_text()
    d.start()                                            # the next start takes them over and does them
    wait_for(lambda: len(d.results()) == 5, 120, "the queued claims done after the restart")
    assert d.stop()[0] == 0
    assert sources(d.results()) == sorted(str(d.inbox / n) for n in names)
    assert d.claimed() == [] and d.left_in_inbox() == [] and d.failures() == []


def test_a_taken_metrics_port_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        d = Daemon(tmp_path, metrics_port=taken.getsockname()[1])
        p = subprocess.run([sys.executable, "-m", "ocrwatchd", "run", "--config", str(d.config)],
                           capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "metrics.listen" in p.stderr and "in use" in p.stderr


@pytest.mark.parametrize("kind", ["worker", "watcher"])
def test_a_dead_thread_makes_healthz_503_and_the_daemon_exit_1(tmp_path, kind):
    from ocrwatchd.config import load_config
    from ocrwatchd.daemon.server import Server

    d = Daemon(tmp_path, workers=1)
    server = Server(load_config(d.config), d.config)
    server.startup()
    health = f"{d.metrics_url}/healthz"
    try:
        assert urllib.request.urlopen(health, timeout=5).status == 200
        if kind == "worker":
            server.jobs.put(None)                       # the worker thread ends while the daemon runs on
            thread = server.workers[0]
        else:
            thread = server.observers[0]
            thread.stop()
        thread.join(10)
        assert not thread.is_alive()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(health, timeout=5)
        assert e.value.code == 503
        loop = threading.Thread(target=server.main_loop, daemon=True)
        loop.start()
        loop.join(10)
        assert not loop.is_alive() and server.exit_code == 1
    finally:
        server.should_exit.set()
        server.shutdown()


def test_a_worker_thread_dying_in_the_real_process_exits_1_and_its_file_is_done_after_restart(tmp_path):
    d = Daemon(tmp_path, workers=2)
    # The daemon as `ocrwatchd run`, except that one file kills the worker thread that takes it: a
    # BaseException gets past the worker's `except Exception` (as a bug in a C extension's thread state might).
    launcher = (
        "import sys\n"
        "from ocrwatchd.cli import main\n"
        "from ocrwatchd.daemon.worker import Worker\n"
        "handle = Worker.handle\n"
        "def dying(self, job):\n"
        "    if job.source.name == 'kill-worker.png':\n"
        "        raise SystemExit('worker thread killed by the test')\n"
        "    return handle(self, job)\n"
        "Worker.handle = dying\n"
        "sys.exit(main(sys.argv[1:]))\n")
    # -c, like -m, puts the current folder (this checkout) first on sys.path
    d.proc = subprocess.Popen([sys.executable, "-c", launcher, "-v", "run", "--config", str(d.config)],
                              stderr=open(d.log, "w"))
    wait_for(lambda: "watching" in d.log.read_text(), 120, "daemon start")
    (d.inbox / "kill-worker.png").write_bytes(small_scan(7))
    assert d.proc.wait(timeout=60) == 1
    assert "a watcher or worker thread died" in d.log.read_text()
    assert [p.name for p in d.claimed()] == ["kill-worker.png"]      # the claim stays for the restart
    d.start()                                                         # as systemd's Restart=on-failure would
    wait_for(lambda: len(d.results()) == 1, 60, "the file done after the restart")
    assert d.stop()[0] == 0


@pytest.mark.parametrize("provider, engines", [("CPUExecutionProvider", 1), ("CUDAExecutionProvider", 3)])
def test_workers_share_one_engine_on_the_cpu_and_each_have_their_own_on_cuda(tmp_path, monkeypatch, provider, engines):
    from ocrwatchd.config import load_config
    from ocrwatchd.daemon import server as server_module

    made = []

    class Engine:                      # stands in for the real one: what startup reads of it, nothing loaded
        def __init__(self, settings):
            self.settings, self.provider = settings, provider
            self.model_info = {"name": "stand-in", "provider": provider}
            made.append(self)

    monkeypatch.setattr(server_module, "Engine", Engine)
    d = Daemon(tmp_path, workers=3)
    cfg = load_config(d.config)
    server = server_module.Server(cfg, d.config)
    server.startup()
    try:
        assert len(made) == engines
        assert len({id(w.engine) for w in server.workers}) == engines
        # the cores are split between the workers whether or not they share (unless the config names a count)
        assert all(e.settings.threads == (cfg.engine.threads or max(1, len(os.sched_getaffinity(0)) // 3))
                   for e in made)
    finally:
        server.should_exit.set()
        server.shutdown()
