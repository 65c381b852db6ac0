"""systemd integration: sd_notify messages in order, watchdog pings that stop when a worker hangs, SIGHUP
reload, and the unit file (verify + exposure score)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import Daemon, need, small_scan, wait_for

REPO = Path(__file__).resolve().parents[1]


class NotifySocket:
    """A real unix datagram socket standing in for systemd's $NOTIFY_SOCKET; records every message."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.address = path if not path.startswith("\0") else "@" + path[1:]
        self.messages: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stop.is_set():
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except socket.timeout:
                continue

    def fields(self) -> list[str]:
        return [f.split("=")[0] + "=" + f.split("=", 1)[1] for _, m in self.messages for f in m.split("\n")]

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_fallback_sender_speaks_the_protocol_to_abstract_sockets(monkeypatch):
    from ocrwatchd.daemon import sdnotify

    ns = NotifySocket(f"\0ocrwatchd-test-{os.getpid()}")
    monkeypatch.setenv("NOTIFY_SOCKET", ns.address)
    assert sdnotify._fallback_send("READY=1\nSTATUS=hello")
    wait_for(lambda: ns.messages, 5, "a datagram")
    ns.close()
    assert ns.messages[0][1] == "READY=1\nSTATUS=hello"


def test_daemon_notifies_ready_status_watchdog_stopping_in_order(tmp_path):
    ns = NotifySocket(str(tmp_path / "notify.sock"))
    d = Daemon(tmp_path)
    env = {**os.environ, "NOTIFY_SOCKET": ns.address, "WATCHDOG_USEC": "1000000"}
    d.proc = subprocess.Popen([sys.executable, "-m", "ocrwatchd", "-v", "run", "--config", str(d.config)],
                              stderr=open(d.log, "w"), env=env)
    wait_for(lambda: any("READY=1" in m for _, m in ns.messages), 120, "READY=1")
    (d.inbox / "a.png").write_bytes(small_scan(1))
    wait_for(lambda: len(d.results()) == 1, 60, "a result")
    time.sleep(6)                                    # a STATUS round after the job
    assert d.stop()[0] == 0
    time.sleep(0.3)
    ns.close()
    f = ns.fields()
    kinds = [x.split("=")[0] for x in f]
    assert kinds[0] == "READY" and kinds[-1] == "STOPPING"
    assert kinds.count("WATCHDOG") >= 8              # every 0.5 s for WATCHDOG_USEC = 1 s
    statuses = [x for x in f if x.startswith("STATUS=")]
    assert statuses[0].startswith("STATUS=queue") and any("done 1" in s for s in statuses)
    ready_at = next(t for t, m in ns.messages if "READY=1" in m)
    assert "watching" in d.log.read_text()
    assert all(t >= ready_at for t, m in ns.messages if "WATCHDOG=1" in m)   # no ping before READY


def test_watchdog_pings_stop_when_a_worker_hangs(tmp_path, monkeypatch):
    from ocrwatchd.config import load_config
    from ocrwatchd.daemon.server import Server

    ns = NotifySocket(str(tmp_path / "notify.sock"))
    monkeypatch.setenv("NOTIFY_SOCKET", ns.address)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    d = Daemon(tmp_path, workers=1, job_timeout_seconds=2, shutdown_timeout_seconds=1)
    server = Server(load_config(d.config), d.config)
    server.startup()
    release = threading.Event()
    server.workers[0].handle = lambda job: release.wait(60)     # a job that never finishes
    loop = threading.Thread(target=server.main_loop, daemon=True)
    loop.start()
    try:
        time.sleep(2)
        pings_before = sum("WATCHDOG=1" in m for _, m in ns.messages)
        assert pings_before >= 2
        (d.inbox / "stuck.png").write_bytes(small_scan(0))
        wait_for(lambda: server.workers[0].busy_since is not None, 30, "the worker to take the job")
        time.sleep(4)                                           # past job_timeout_seconds = 2
        cutoff = time.monotonic() - 1.0
        assert not [t for t, m in ns.messages if "WATCHDOG=1" in m and t > cutoff]
        assert server.healthy() and not server.alive()          # threads alive, but the work does not progress
    finally:
        release.set()
        server.should_exit.set()
        loop.join(10)
        server.shutdown()
        ns.close()


def test_sighup_reloads_the_inbox_list(tmp_path):
    ns = NotifySocket(str(tmp_path / "notify.sock"))
    d = Daemon(tmp_path)
    env = {**os.environ, "NOTIFY_SOCKET": ns.address}
    d.proc = subprocess.Popen([sys.executable, "-m", "ocrwatchd", "-v", "run", "--config", str(d.config)],
                              stderr=open(d.log, "w"), env=env)
    wait_for(lambda: any("READY=1" in m for _, m in ns.messages), 120, "READY=1")
    second = tmp_path / "in2"
    second.mkdir()
    d.config.write_text(d.config.read_text().replace("[workers]", f'''[[inboxes]]
path = "{second}"
output = "{tmp_path}/out2"
failed = "{tmp_path}/failed2"
[workers]''').replace("count = 2", "count = 3"))
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in d.log.read_text(), 30, "the reload")
    (second / "new.png").write_bytes(small_scan(5))
    wait_for(lambda: (tmp_path / "out2" / "new.json").exists(), 60, "a result from the new inbox")
    assert d.stop()[0] == 0
    ns.close()
    log = d.log.read_text()
    assert "need a restart to take effect: workers" in log
    kinds = [x.split("=")[0] for x in ns.fields()]
    i = kinds.index("RELOADING")
    assert "READY" in kinds[i:]


def unit_for_this_machine(tmp_path) -> Path:
    """The unit as shipped, its ExecStart pointed at this environment's entry point (verify checks it exists)."""
    text = (REPO / "systemd/ocrwatchd.service").read_text()
    exe = shutil.which("ocrwatchd") or str(Path(sys.executable).with_name("ocrwatchd"))
    unit = tmp_path / "ocrwatchd.service"
    unit.write_text(text.replace("/opt/ocrwatchd/venv/bin/ocrwatchd", exe))
    return unit


def need_analyze():
    need("systemd-analyze", ".ci/run installs systemd")


def test_unit_verifies(tmp_path):
    need_analyze()
    p = subprocess.run(["systemd-analyze", "verify", str(unit_for_this_machine(tmp_path))],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_unit_exposure_is_at_most_2_5_with_nvidia_devices_allowed(tmp_path):
    need_analyze()
    unit = REPO / "systemd/ocrwatchd.service"
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", p.stdout + p.stderr)
    assert m, p.stdout + p.stderr
    assert float(m.group(1)) <= 2.5
    text = unit.read_text()
    assert not re.search(r"^PrivateDevices=yes", text, re.M) and "DeviceAllow=char-nvidia-frontend rw" in text
    for key in ("Type=notify", "NotifyAccess=main", "WatchdogSec=", "Restart=on-failure", "StateDirectory=ocrwatchd",
                "ConfigurationDirectory=ocrwatchd", "MemoryMax=", "MemoryHigh=", "TimeoutStopSec="):
        assert key in text
