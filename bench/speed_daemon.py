"""bench/speed.py's daemon part: a real `ocrwatchd run` draining a set of scans dropped at once, beside Tesseract.

For each worker layout (1 worker × 2 threads, 2 workers × 1 thread: the [workers] count and [engine] threads,
everything else the engine's defaults) a fresh daemon is started on a fresh inbox (tests/conftest.py's Daemon)
and left to load its models; then every file is renamed into the inbox at once (staged beside it on the same
file system, so no half-written file is seen) and the clock runs until the last result or failure is published.
The daemon's settle time (conftest's 1 s) is part of that wall, as it is for a user. Peak RSS is the daemon's
VmHWM read just before it is stopped (workers are threads of that one process). Beside it: Tesseract 5.3 as a pool
of 2 processes with OMP_THREAD_LIMIT=1 over the same files (what OCRmyPDF --jobs 2 does), from the first start
to the last exit.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from campaign_parts import peak_rss_mb
from conftest import Daemon, wait_for

LAYOUTS = ((1, 2), (2, 1))      # (workers, threads per worker): both fill 2 cores


def _pages(results: list[Path]) -> int:
    return sum(json.loads(p.read_text())["source"].get("pages", 1) for p in results)


def _model_share(results: list[Path]) -> float | None:
    """Σ session.run seconds over Σ page seconds (the pipeline's total plus writing the formats) of every result:
    how much of the workers' time the models took."""
    timings = [json.loads(p.read_text())["timings"] for p in results]
    work = sum(t["total"] + t.get("formats", 0.0) for t in timings)
    return sum(t.get("model", 0.0) for t in timings) / work if work else None


def daemon_run(images: list[Path], root: Path, workers: int, threads: int, timeout: float = 3600) -> dict:
    root.mkdir(parents=True)
    d = Daemon(root, workers=workers, queue=max(8, len(images)))
    stage = root / "stage"
    stage.mkdir()
    for img in images:                                   # copied now, renamed into the inbox at the drop
        shutil.copyfile(img, stage / img.name)
    env = {"OCRWATCHD_ENGINE__THREADS": str(threads)}    # the environment overrides the config's threads = 1
    d.start(env)
    try:
        t0 = time.monotonic()
        for img in images:
            os.rename(stage / img.name, d.inbox / img.name)
        wait_for(lambda: len(d.results()) + len(d.failures()) >= len(images), timeout, "every result")
        wall = time.monotonic() - t0
        peak = peak_rss_mb(d.proc.pid)
        results, failures = d.results(), d.failures()
    finally:
        if d.proc.poll() is None:
            d.stop()
    pages, share = _pages(results), _model_share(results)
    return {"layout": f"ocrwatchd run, {workers} worker{'s' if workers > 1 else ''} × {threads} "
                      f"thread{'s' if threads > 1 else ''}", "images": len(images), "pages": pages,
            "failed": len(failures), "wall": wall, "images_per_min": 60 * len(results) / wall,
            "pages_per_min": 60 * pages / wall, "rss": peak, "model_share": share}


def tesseract_pool(images: list[Path], root: Path, procs: int = 2) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCRWATCHD_")} | {"OMP_THREAD_LIMIT": "1"}

    def one(img: Path) -> float | None:
        """Peak RSS MB of one Tesseract process, None if it failed."""
        p = subprocess.run(["/usr/bin/time", "-v", "tesseract", str(img), str(root / img.stem)],
                           capture_output=True, text=True, env=env)
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        return int(found.group(1)) / 1024 if p.returncode == 0 and found else None

    t0 = time.monotonic()
    with ThreadPoolExecutor(procs) as pool:
        rss = list(pool.map(one, images))
    wall = time.monotonic() - t0
    done = [r for r in rss if r is not None]
    # pages = images: every file of the set is one page (the daemon's result JSONs count them to check)
    return {"layout": f"Tesseract 5.3, {procs} processes × OMP_THREAD_LIMIT=1", "images": len(images),
            "pages": len(images), "failed": len(rss) - len(done), "wall": wall,
            "images_per_min": 60 * len(done) / wall, "pages_per_min": 60 * len(done) / wall,
            "rss": max(done, default=None), "rss_note": "per process"}


def throughput(images: list[Path], root: Path | None = None) -> list[dict]:
    root = Path(root or tempfile.mkdtemp(prefix="ocrwatchd-speed-daemon-"))
    rows = []
    for workers, threads in LAYOUTS:
        rows.append(daemon_run(images, root / f"w{workers}t{threads}", workers, threads))
        print(rows[-1], flush=True)
    rows.append(tesseract_pool(images, root / "tesseract"))
    print(rows[-1], flush=True)
    return rows


def table(rows: list[dict], images: list[Path]) -> list[str]:
    out = [f"### Daemon throughput: {len(images)} real samples dropped at once\n",
           "files: " + ", ".join(p.name for p in images) + "\n",
           "| layout | images | pages | failed | wall s (drop → last result) | images/min | pages/min | peak RSS MB "
           "| session.run share |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rss = (f"{r['rss']:.0f}" if r["rss"] is not None else "–") + (f" ({r['rss_note']})" if "rss_note" in r else "")
        out.append(f"| {r['layout']} | {r['images']} | {r['pages']} | {r['failed']} | {r['wall']:.1f} | "
                   f"{r['images_per_min']:.1f} | {r['pages_per_min']:.1f} | {rss} | "
                   + (f"{r['model_share']:.1%} |" if r.get("model_share") is not None else "– |"))
    out.append("\nThe daemon's wall runs from the rename of every file into a fresh inbox (models already loaded) to "
               "the last published result, its 1 s settle included; peak RSS is the daemon's VmHWM; session.run share is Σ "
               "`timings.model` / Σ (`total` + `formats`) over the results. Tesseract's "
               "runs from the first process started to the last one done; its RSS is the largest of one process.\n")
    return out
