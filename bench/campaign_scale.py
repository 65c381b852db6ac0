#!/usr/bin/env python3
"""The real daemon under a backlog of many small files: drop them all at once (burst), trickle them in faster than
the workers drain them (trickle), or have them all waiting when the daemon starts (startup); every file must be done exactly once, memory must not grow with the backlog (the inbox
is the queue), the bounded queue must stay bounded, and the first result must not wait for the backlog.

Usage: python bench/campaign_scale.py [--files 10000] [--folders 100] [--modes burst,trickle,startup] [--rate 60]
                                      [--workers 2] [--out bench/out]
Writes bench/out/campaign-scale.md (and .json). As a module: run(files=..., folders=..., mode=...) -> dict, for
bench/campaign.py and for the test that runs it small (tests/test_scale.py).

Measured: wall time (first drop, or for startup the daemon ready, → last result), files/min, the daemon's VmRSS when ~all files are waiting (after
the first 50 results, engines warm) and again at 1,000 waiting (VmHWM too), the deepest the queue got
(ocrwatchd_queue_depth_max, kept by the daemon itself, so no peak falls between two scrapes) against its size,
the largest candidate window, time from the first drop to the first result, rescans by reason (overflow: the
kernel's inotify queue overflowed), and duplicates / lost / failed files, counted from what was published.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tiny_png(word: str) -> bytes:
    """A 200×60 PNG with one word: one detector tile, one line to read."""
    import cv2
    import numpy as np

    img = np.full((60, 200), 255, np.uint8)
    cv2.putText(img, word, (10, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 0, 2, cv2.LINE_AA)
    return cv2.imencode(".png", img)[1].tobytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scrape(url: str) -> dict[str, float]:
    """name{labels} → value, as the text format writes it (enough for our own counters and gauges)."""
    out = {}
    for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def _proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def layout(files: int, folders: int) -> list[Path]:
    """Relative paths: folders nested two deep (top/sub), files spread evenly over them."""
    top = max(1, int(folders ** 0.5))
    dirs = [Path(f"t{i % top:02d}") / f"s{i:03d}" for i in range(folders)]
    return [dirs[i % folders] / f"p{i:05d}.png" for i in range(files)]


def run(files: int = 10_000, folders: int = 100, mode: str = "burst", rate: float = 60.0, workers: int = 2,
        queue: int = 32, root: Path | None = None, settle: float = 1.0, timeout: float = 3600.0,
        keep: bool = False) -> dict:
    """Run one campaign; returns the measurements (see the module docstring)."""
    root = Path(root or tempfile.mkdtemp(prefix="ocrwatchd-scale-"))
    inbox, out, failed = root / "in", root / "out", root / "failed"
    inbox.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    cfg = root / "scale.toml"
    cfg.write_text(f"settle_seconds = {settle}\nrescan_seconds = 60\nshutdown_timeout_seconds = 30\n"
                   f'[[inboxes]]\npath = "{inbox}"\noutput = "{out}"\nfailed = "{failed}"\n'
                   f"[workers]\ncount = {workers}\n[queue]\nsize = {queue}\n"
                   f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
                   # fast engine: one 640 tile, no upscaling of small images, no page-orientation pass;
                   # recognition stays on (the daemon's path is what is measured)
                   f'[engine]\ndevice = "cpu"\nthreads = 1\ntile_size = 640\nmin_side = 0\norientation = false\n')
    rels = layout(files, folders)
    pngs = {}
    payload = [pngs.setdefault(i % 50, tiny_png(f"word{i % 50}")) for i in range(files)]
    log_path = root / "daemon.log"
    for d in {r.parent for r in rels}:
        (inbox / d).mkdir(parents=True, exist_ok=True)
    if mode == "startup":                   # all waiting before the daemon starts: its startup scan meets them
        for rel, data in zip(rels, payload):
            (inbox / rel).write_bytes(data)
    proc = subprocess.Popen([sys.executable, "-m", "ocrwatchd", "run", "--config", str(cfg)],
                            stderr=open(log_path, "w"), cwd=REPO)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 300
        while "watching" not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daemon did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        samples: list[dict] = []
        dropped = [files if mode == "startup" else 0]
        first: dict[str, float] = {}
        stop = threading.Event()

        def monitor():
            while not stop.is_set():
                try:
                    m = _scrape(url)
                except OSError:
                    time.sleep(0.2)
                    continue
                done = sum(v for k, v in m.items() if k.startswith("ocrwatchd_files_total") and
                           ('outcome="done"' in k or 'outcome="failed"' in k))
                if done and "first" not in first:
                    first["first"] = time.monotonic()
                samples.append({"t": time.monotonic(), "done": done, "waiting": dropped[0] - done,
                                "rss_kb": _proc_kb(proc.pid, "VmRSS"), "hwm_kb": _proc_kb(proc.pid, "VmHWM"),
                                "queue": m.get("ocrwatchd_queue_depth", 0),
                                "queue_max": m.get("ocrwatchd_queue_depth_max", 0),
                                "candidates": m.get("ocrwatchd_candidates", 0), "metrics": m})
                stop.wait(0.1 if "first" not in first else 0.5)

        t0 = time.monotonic()               # the first drop; startup: the daemon ready ("watching" logged)
        threading.Thread(target=monitor, daemon=True).start()
        for i, (rel, data) in enumerate(zip(rels, payload) if mode != "startup" else ()):
            (inbox / rel).write_bytes(data)
            dropped[0] = i + 1
            if mode == "trickle":
                pause = t0 + (i + 1) / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        t_dropped = time.monotonic() - t0
        end = time.monotonic() + timeout
        while not samples or samples[-1]["done"] < files:
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"daemon died or timed out:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        wall = samples[-1]["t"] - t0
        stop.set()
        time.sleep(0.6)
        last = samples[-1]["metrics"]
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
        result = _check(inbox, out, failed, rels)
        peak_wait = max(samples, key=lambda s: s["waiting"])
        warm = [s for s in samples if s["done"] >= min(50, files // 10)] or samples
        at_top = max(warm, key=lambda s: s["waiting"])               # most waiting, engines warm
        at_1k = next((s for s in warm if s["t"] > at_top["t"] and s["waiting"] <= max(1000, files // 10)), warm[-1])
        log_text = log_path.read_text()
        return {
            "files": files, "folders": folders, "mode": mode, "workers": workers, "queue_size": queue,
            "rate": rate if mode == "trickle" else None, "drop_seconds": round(t_dropped, 1),
            "wall_seconds": round(wall, 1), "files_per_min": round(files / wall * 60, 1),
            "first_result_seconds": round(first["first"] - t0, 2) if first else None,
            "max_waiting": int(peak_wait["waiting"]),
            "rss_mb_top": round(at_top["rss_kb"] / 1024, 1), "waiting_at_top": int(at_top["waiting"]),
            "rss_mb_1k": round(at_1k["rss_kb"] / 1024, 1), "waiting_at_1k": int(at_1k["waiting"]),
            "rss_growth_pct": round(100 * (at_top["rss_kb"] - at_1k["rss_kb"]) / at_1k["rss_kb"], 1),
            "hwm_mb": round(max(s["hwm_kb"] for s in samples) / 1024, 1),
            "queue_max": int(last.get("ocrwatchd_queue_depth_max", 0)),
            "candidates_max": int(max(s["candidates"] for s in samples)),
            "rescans": {k.split('"')[1]: int(v) for k, v in last.items() if k.startswith("ocrwatchd_rescans_total")},
            "overflow_logged": log_text.count("inotify queue overflowed"),
            **result, "exit": rc, "root": str(root) if keep else None,
        }
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _check(inbox: Path, out: Path, failed: Path, rels: list[Path]) -> dict:
    """Exactly once, from what was published: one result JSON per dropped file, whose source is that file."""
    seen: dict[str, int] = {}
    for dirpath, dirs, names in os.walk(out):
        if ".ocrwatchd" in dirs:
            dirs.remove(".ocrwatchd")
        for n in names:
            if n.endswith(".json"):
                src = json.loads((Path(dirpath) / n).read_bytes())["source"]["path"]
                seen[src] = seen.get(src, 0) + 1
    expected = {str(inbox / r) for r in rels}
    failures = [p for p in failed.rglob("*.error.json") if ".ocrwatchd" not in p.parts] if failed.exists() else []
    left = [p for p in inbox.rglob("*") if p.is_file() and ".ocrwatchd" not in p.relative_to(inbox).parts]
    claimed = [p for p in (inbox / ".ocrwatchd" / "processing").rglob("*") if p.is_file()]
    staged = [p for p in (out / ".ocrwatchd").rglob("*") if p.is_file()] if (out / ".ocrwatchd").exists() else []
    return {"done": len(seen), "duplicates": sum(n - 1 for n in seen.values() if n > 1),
            "lost": len(expected - set(seen)) - len(failures), "unexpected": len(set(seen) - expected),
            "failed": len(failures), "left_in_inbox": len(left), "left_claimed": len(claimed),
            "left_staged": len(staged)}


def table(rows: list[dict]) -> str:
    cols = [("mode", "mode"), ("files", "files"), ("folders", "folders"), ("rate", "drop rate /s"),
            ("wall_seconds", "wall s"), ("files_per_min", "files/min"), ("first_result_seconds", "first result s"),
            ("max_waiting", "max waiting"), ("rss_mb_top", "RSS MB (most waiting)"), ("waiting_at_top", "at waiting"),
            ("rss_mb_1k", "RSS MB (1k waiting)"), ("rss_growth_pct", "RSS growth %"), ("hwm_mb", "VmHWM MB"),
            ("queue_max", "queue max"), ("queue_size", "queue size"), ("candidates_max", "window max"),
            ("rescans", "rescans"), ("duplicates", "dup"), ("lost", "lost"), ("failed", "failed"), ("exit", "exit")]
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k)) if k != "rescans" else
                                       ", ".join(f"{a}={b}" for a, b in r[k].items() if b) for k, _ in cols) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--folders", type=int, default=100)
    ap.add_argument("--modes", default="burst,trickle,startup")
    ap.add_argument("--rate", type=float, default=60.0, help="trickle: files per second dropped")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=32)
    ap.add_argument("--root", type=Path, default=None, help="where the inbox goes (default: a temp folder)")
    ap.add_argument("--out", type=Path, default=REPO / "bench/out")
    a = ap.parse_args()
    rows = []
    for mode in a.modes.split(","):
        root = a.root / mode if a.root else None
        r = run(a.files, a.folders, mode, a.rate, a.workers, a.queue, root=root)
        print(json.dumps(r), flush=True)
        rows.append(r)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "campaign-scale.json").write_text(json.dumps(rows, indent=1))
    (a.out / "campaign-scale.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
