#!/usr/bin/env python3
"""Throughput and peak memory of the real daemon under a burst of files.

Usage: python bench/daemon_load.py [--files 30] [--workers 2] [--image tests/data/sample-scan.jpg] [--out bench/out]

Starts `ocrwatchd run` on temp folders, drops N copies of a scan at once, waits until every file has a result,
reads the daemon's peak RSS (VmHWM from /proc), stops it with SIGTERM, and writes bench/out/daemon-load.md.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=32)
    ap.add_argument("--image", type=Path, default=REPO / "tests/data/sample-scan.jpg")
    ap.add_argument("--out", type=Path, default=REPO / "bench/out")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="ocrwatchd-load-"))
    inbox, out, failed = root / "in", root / "out", root / "failed"
    inbox.mkdir()
    cfg = root / "c.toml"
    cfg.write_text(f'settle_seconds = 1\n[[inboxes]]\npath = "{inbox}"\noutput = "{out}"\nfailed = "{failed}"\n'
                   f'[workers]\ncount = {a.workers}\n[queue]\nsize = {a.queue}\n[engine]\ndevice = "cpu"\n')
    log = open(root / "daemon.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "ocrwatchd", "run", "--config", str(cfg)], stderr=log)
    while "watching" not in (root / "daemon.log").read_text():
        time.sleep(0.2)
    t0 = time.monotonic()
    for i in range(a.files):
        shutil.copy(a.image, inbox / f"scan{i:03d}{a.image.suffix}")
    while len(list(out.glob("*.json"))) + len(list(failed.glob("*.error.json"))) < a.files:
        time.sleep(0.5)
    wall = time.monotonic() - t0
    hwm = next(int(l.split()[1]) for l in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
               if l.startswith("VmHWM")) / 1024
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait()
    n_failed = len(list(failed.glob("*.error.json")))
    table = (f"| files | image | workers | wall s (drop → last result, incl. 1 s settle) | files/min | "
             f"daemon peak RSS MB | failed | exit |\n|---|---|---|---|---|---|---|---|\n"
             f"| {a.files} | {a.image.name} | {a.workers} | {wall:.1f} | {a.files / wall * 60:.1f} | {hwm:.0f} | "
             f"{n_failed} | {rc} |\n")
    (a.out / "daemon-load.md").write_text(table)
    print(table)
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
