"""Shared test helpers: synthetic images, a stand-in ONNX session, the real daemon as a subprocess, and the
skip policy (a missing tool or data set skips a test on a workstation but fails it in CI)."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    """CI=true (set by .ci/run, and by most CI services): nothing the suite needs may be missing."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_unless_ci(reason: str, ci_reason: str) -> None:
    """Skip on a workstation; in CI a skip would hide a test that never ran, so fail instead."""
    if in_ci():
        pytest.fail(f"{reason} in CI: {ci_reason}")
    pytest.skip(reason)


def need(binary: str, ci_reason: str) -> str:
    """The path of an external tool the test drives (promtool, prometheus, systemd-analyze)."""
    path = shutil.which(binary)
    if path is None:
        skip_unless_ci(f"{binary} not installed", ci_reason)
    return path


def shared_dir() -> Path | None:
    """../shared beside the checkout (or $OCRWATCHD_SHARED): real scans and the eval kit, when present."""
    for cand in (os.environ.get("OCRWATCHD_SHARED"), REPO.parent / "shared"):
        if cand and Path(cand, "data").is_dir():
            return Path(cand)
    return None


def need_shared() -> Path:
    root = shared_dir()
    if root is None:
        skip_unless_ci(f"shared test data not found ({REPO.parent / 'shared'} or $OCRWATCHD_SHARED)",
                       "the real scans must be there (../shared/data beside the checkout)")
    return root


class ThresholdSession:
    """A stand-in for an ONNX session: 'text probability' = darkness of the normalised input.

    Lets tiling and merging be tested with exact geometry: every dark rectangle is one text kernel.
    Records the shapes it was run with.
    """

    def __init__(self):
        self.shapes = []

    def run(self, outputs, feed):
        x = next(iter(feed.values()))
        self.shapes.append(x.shape)
        # paddle-bgr normalisation maps white to +1 and black to -1
        return [(x.mean(axis=1, keepdims=True) < 0).astype(np.float32)]


DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def font(path: Path, size: int):
    from PIL import ImageFont

    if not path.exists():
        skip_unless_ci(f"font {path} not installed", "fonts-dejavu-core and fonts-wqy-microhei are test deps")
    return ImageFont.truetype(str(path), size)


def read(engine, tmp_path: Path, img: np.ndarray) -> list[dict]:
    """The lines ocrwatchd reads on an image, written as a PNG and processed as a file."""
    from ocrwatchd.pipeline.run import process

    path = tmp_path / "page.png"
    cv2.imwrite(str(path), img)
    return process(path, engine).result["pages"][0]["lines"]


def text_image(w: int, h: int, lines: list[tuple[int, int, str, float]]) -> np.ndarray:
    """A white gray image with black text lines drawn at (x, y-baseline) with the given font scale."""
    img = np.full((h, w), 255, np.uint8)
    for x, y, text, scale in lines:
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, max(1, int(scale * 2)), cv2.LINE_AA)
    return img


@pytest.fixture(scope="session")
def engine():
    """The bundled default detector on the CPU (models come from `make models`)."""
    from ocrwatchd.pipeline import Engine, EngineSettings

    return Engine(EngineSettings(device="cpu"))


def two_page_tiff(w2: int, h2: int) -> bytes:
    """An 8x8 gray first page, then a second page whose directory declares w2 x h2 (its strip is 64 bytes)."""
    def ifd(w, h, strip, count, next_ifd):
        tags = [(256, w), (257, h), (258, 8), (259, 1), (262, 1), (273, strip), (278, h), (279, count)]
        return struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", tag, 4, 1, v) for tag, v in tags) \
            + struct.pack("<I", next_ifd)
    first, second = 8, 8 + 102          # each directory: 2 + 8 * 12 + 4 bytes
    pixels = second + 102
    return (b"II*\0" + struct.pack("<I", first) + ifd(8, 8, pixels, 64, second)
            + ifd(w2, h2, pixels + 64, w2 * h2, 0) + bytes(range(64)) + bytes(64))


# ---------------------------------------------------------------- the real daemon

@pytest.fixture(autouse=True)
def _no_daemon_left_running():
    yield
    while Daemon.made:
        proc = Daemon.made.pop().proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


def small_scan(i: int) -> bytes:
    ok, png = cv2.imencode(".png", text_image(640, 240, [(20, 120, f"scan number {i}", 1.2)]))
    return png.tobytes()


def big_scan(lines: int = 14, title: str = "a long page") -> bytes:
    """A page that keeps a worker busy for seconds (many lines to read), for tests that need a job in flight."""
    ok, png = cv2.imencode(".png", text_image(1000, 60 * lines + 100,
                                              [(40, 80 + 60 * k, f"line {k} of {title}", 1.4)
                                               for k in range(lines)]))
    return png.tobytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Engine settings for daemons that read many small scans: 640-px tiles, no upscaling, no page-orientation check
# (small pages go fast; recognition stays on). Used by the takeover test and the campaign's host part.
FAST_ENGINE = {"OCRWATCHD_ENGINE__TILE_SIZE": "640", "OCRWATCHD_ENGINE__MIN_SIDE": "0",
               "OCRWATCHD_ENGINE__ORIENTATION": "false"}


def three_hosts(root: Path, queue: int, lease_seconds: float) -> dict[str, "Daemon"]:
    """Three daemons on one inbox as three hosts (OCRWATCHD_HOST_NAME: none can judge another by its pids, only by
    its lease), started and ready."""
    hosts = {h: Daemon(root, h, workers=1, queue=queue, lease_seconds=lease_seconds)
             for h in ("hostA", "hostB", "hostC")}
    for h, d in hosts.items():
        d.spawn({"OCRWATCHD_HOST_NAME": h, **FAST_ENGINE})
    for d in hosts.values():
        d.started()
    return hosts


class Daemon:
    """`ocrwatchd run` in a subprocess on temp folders: in/, out/, failed/ under root; log in root/NAME.log."""

    made: list["Daemon"] = []   # killed after each test if still running (a failed assertion must not leave one)

    def __init__(self, root: Path, name: str = "d", metrics_port: int | None = None, metrics_host: str = "127.0.0.1",
                 inbox: dict | None = None, janitor: dict | None = None, **cfg):
        self.root = root
        self.inbox, self.out, self.failed = root / "in", root / "out", root / "failed"
        self.inbox.mkdir(exist_ok=True)
        self.metrics_port = metrics_port or free_port()
        self.metrics_url = f"http://{metrics_host}:{self.metrics_port}"
        settings = {"settle_seconds": 1, "rescan_seconds": 2, "truncated_retry_seconds": 3,
                    "shutdown_timeout_seconds": 20, **{k: v for k, v in cfg.items() if k not in ("workers", "queue")}}
        top = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
        self.config = root / f"{name}.toml"
        self.config.write_text(f'''{top}
[[inboxes]]
path = "{self.inbox}"
output = "{self.out}"
failed = "{self.failed}"
{"".join(f"{k} = {json.dumps(v)}{chr(10)}" for k, v in (inbox or {}).items())}[workers]
count = {cfg.get("workers", 2)}
[queue]
size = {cfg.get("queue", 8)}
[engine]
device = "cpu"
threads = 1
[metrics]
listen = "{metrics_host}:{self.metrics_port}"
{"[janitor]" + chr(10) + "".join(f"{k} = {json.dumps(v)}{chr(10)}" for k, v in janitor.items()) if janitor else ""}''')
        self.log = root / f"{name}.log"
        self.proc = None
        Daemon.made.append(self)

    def start(self, env: dict[str, str] | None = None):
        """env: extra environment (OCRWATCHD_HOST_NAME for a second 'host', OCRWATCHD_ENGINE__… overrides)."""
        return self.spawn(env).started()

    def spawn(self, env: dict[str, str] | None = None):
        """Start the process without waiting for it (several daemons load their models at once)."""
        self.proc = subprocess.Popen([sys.executable, "-m", "ocrwatchd", "-v", "run", "--config", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                     env={**os.environ, **(env or {})})
        return self

    def started(self):
        wait_for(lambda: "watching" in self.log.read_text() or self.proc.poll() is not None, 120,
                 f"daemon start ({self.log})")
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def stop(self) -> tuple[int, float]:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        return rc, time.monotonic() - t0

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def results(self) -> list[Path]:
        """Published result JSONs (a set being staged in .ocrwatchd/ is not published yet)."""
        return sorted(p for p in files_under(self.out) if p.name.endswith(".json"))

    def failures(self) -> list[Path]:
        return sorted(p for p in files_under(self.failed) if p.name.endswith(".error.json"))

    def published(self, folder: Path | None = None) -> list[str]:
        """Names of the files published in the output folder (or `folder`), state folder left out."""
        folder = folder or self.out
        return sorted(str(p.relative_to(folder)) for p in files_under(folder))

    def left_in_inbox(self) -> list[Path]:
        return sorted(files_under(self.inbox, state=True, folder_links=True))

    def claimed(self) -> list[Path]:
        """Files lying claimed in processing/ (any owner)."""
        return sorted(files_under(self.inbox / ".ocrwatchd" / "processing", state=True))


def files_under(root: Path, state: bool = False, folder_links: bool = False) -> list[Path]:
    """Files below root (a link to a file counts; links to folders only with folder_links, never followed),
    without the .ocrwatchd state folders unless state.

    The daemon creates and removes folders there while a test looks (a set's staging folder lives for a moment):
    os.walk skips a folder that vanished under it, where Path.rglob raised FileNotFoundError mid-walk."""
    found = []
    for top, dirs, files in os.walk(root):
        if not state:
            dirs[:] = [d for d in dirs if d != ".ocrwatchd"]
        found += [Path(top, name) for name in files]
        if folder_links:
            found += [Path(top, name) for name in dirs if os.path.islink(os.path.join(top, name))]
    return found


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a daemon's /metrics: {(name, labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def sources(paths):
    return sorted(json.loads(p.read_text())["source"]["path"] if not p.name.endswith(".error.json")
                  else json.loads(p.read_text())["source"] for p in paths)
