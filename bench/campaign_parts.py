"""The parts of the reliability campaign (bench/campaign.py) and the audit every part ends with."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import time
from pathlib import Path

from conftest import Daemon, files_under, small_scan, wait_for

from ocrwatchd.fsutil import sha256_file

SET_SUFFIXES = (".error.json", ".json", ".ocr.pdf", ".txt", ".hocr", ".alto.xml", ".boxes.jpg")
FORMATS = {"pdf": ".ocr.pdf", "txt": ".txt", "hocr": ".hocr", "alto": ".alto.xml"}


def _split(name: str) -> tuple[str, str]:
    for suffix in SET_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    stem, dot, ext = name.rpartition(".")
    return (stem, "." + ext) if dot else (name, "")


def _published(folder: Path) -> list[Path]:
    """Files published in folder; a symlink (to a folder too) is a file here: quarantined as the link itself."""
    return files_under(folder, folder_links=True)    # state folders left out; one vanishing meanwhile is skipped


def audit(sources: dict[str, str], d: Daemon, formats: tuple[str, ...] = ()) -> dict:
    """Where every dropped file ended. sources: sha256 → name dropped.

    done / failed: originals found in output / failed; doubled: a source found more than once; lost: found nowhere
    and not waiting anywhere; left behind: still in the inbox or claimed; incomplete sets: a JSON without its
    original or formats, or an original or format without its JSON; temp left: our temp files or staging.
    """
    seen: dict[str, list[Path]] = {h: [] for h in sources}
    incomplete = []
    for folder, marker, wanted in ((d.out, ".json", [FORMATS[f] for f in formats]), (d.failed, ".error.json", [])):
        files = _published(folder)
        by_base: dict[Path, dict[str, Path]] = {}
        for p in files:
            base, suffix = _split(p.name)
            if p.name.startswith("."):
                continue
            by_base.setdefault(p.parent / base, {})[suffix] = p
        for base, members in by_base.items():
            originals = [p for s, p in members.items() if s not in SET_SUFFIXES]
            for p in originals:
                h = sha256_file(p) if p.is_file() and not p.is_symlink() else "link:" + str(p)
                seen.setdefault(h, []).append(p)
            if marker not in members or len(originals) != 1 or any(s not in members for s in wanted):
                incomplete.append(str(base))
    # still waiting in the inbox, or claimed and never finished
    left = [p for p in d.inbox.rglob("*") if not p.is_dir() and (".ocrwatchd" not in p.parts or "processing" in p.parts)]
    left_names = {p.name for p in left}
    temp = [p for folder in (d.out, d.failed) if folder.is_dir() for p in folder.rglob("*")
            if not p.is_dir() and (p.name.endswith(".tmp") or ".ocrwatchd" in p.parts)]
    done = sum(1 for h, ps in seen.items() if h in sources and any(d.out in p.parents for p in ps))
    failed = sum(1 for h, ps in seen.items() if h in sources and any(d.failed in p.parents for p in ps))
    return {"files in": len(sources), "done": done, "failed": failed,
            "lost": sum(1 for h, name in sources.items() if not seen[h] and name not in left_names),
            "doubled": sum(1 for h in sources if len(seen[h]) > 1),
            "left behind": len(left),
            "incomplete sets": len(incomplete), "temp left": len(temp),
            "_incomplete": incomplete[:5], "_temp": [str(p) for p in temp[:5]]}


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---------------------------------------------------------------- kill -9 anywhere

PUBLISH_STEPS = ["staged", "manifest", "original-staged", "linked:pdf", "linked:txt", "linked:hocr", "linked:xml",
                 "linked:original", "linked:json", "committed", "cleaned"]


def _files(n: int, seed: int) -> list[tuple[str, bytes]]:
    """n files to drop: mostly one-line PNG scans, every tenth a one-page PDF, every twentieth three pages."""
    from io import BytesIO

    import cv2
    import numpy as np
    from PIL import Image

    out = []
    for i in range(n):
        if i % 20 == 19 or i % 10 == 9:
            pages = [Image.fromarray(cv2.imdecode(np.frombuffer(small_scan(seed * 10_000 + i * 10 + k), np.uint8),
                                                  cv2.IMREAD_GRAYSCALE)) for k in range(3 if i % 20 == 19 else 1)]
            buf = BytesIO()
            pages[0].save(buf, "PDF", resolution=150, save_all=True, append_images=pages[1:])
            out.append((f"sub{i % 4}/doc{i:03d}.pdf", buf.getvalue()))
        else:
            out.append((f"sub{i % 4}/scan{i:03d}.png", small_scan(seed * 10_000 + i)))
    return out


def kill_anywhere(root: Path, short: bool = False, formats: tuple[str, ...] = ("pdf", "txt", "hocr", "alto")) -> dict:
    """Kill -9 at 20 moments spread over the pipeline while files flow through 2 workers; restart after each."""
    rng = random.Random(7)
    n, kills = (10, 3) if short else (200, 20)
    root.mkdir(parents=True)
    d = Daemon(root, workers=2, queue=8, inbox={"formats": list(formats)},
               janitor={"interval_seconds": 2, "temp_max_age_hours": 0.0005})
    files = _files(n, seed=1)
    sources = {hashlib.sha256(data).hexdigest(): name for name, data in files}
    phases = (["settle", "claim", "inference", "janitor"] + [f"publish:{s}" for s in PUBLISH_STEPS])
    # short (make test): a kill with jobs in flight, one right after the original left its claim, one right after
    # the JSON was linked
    plan = [phases[k % len(phases)] for k in range(kills)] if not short else [
        "inference", "publish:original-staged", "publish:linked:json"]
    dropped, t0, peak, log = 0, time.monotonic(), 0.0, []
    batch = max(1, n // (kills + 1))

    def drop(k: int) -> None:
        nonlocal dropped
        for name, data in files[dropped:dropped + k]:
            path = d.inbox / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        dropped = min(n, dropped + k)

    for phase in plan:
        drop(batch)
        env = {"OCRWATCHD_FAULT": phase} if phase.startswith("publish:") else {}
        os.environ.update(env)
        try:
            try:
                d.start()
            except AssertionError:       # it died at the fault point while finishing the last run's set at start
                pass
        finally:
            for k in env:
                del os.environ[k]
        pid = d.proc.pid
        if env:      # the process dies by itself right after that publish step
            try:
                d.proc.wait(timeout=120)
            except Exception:
                d.kill()
        else:
            marker = {"settle": None, "claim": "queued ", "inference": "queued ", "janitor": None}[phase]
            if phase == "settle":
                drop(3)          # fresh files: they are settling now
                time.sleep(rng.uniform(0.1, 0.8))
            elif phase == "janitor":
                time.sleep(rng.uniform(0.0, 0.3))   # the janitor runs first thing after start
            else:
                try:
                    wait_for(lambda: marker in d.log.read_text(), 60, phase)
                except AssertionError:
                    pass
                time.sleep(rng.uniform(0.0, 0.2) if phase == "claim" else rng.uniform(0.5, 2.0))
            peak = max(peak, peak_rss_mb(pid))
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
        log.append(phase)
    drop(n)
    d.start()
    try:
        wait_for(lambda: len(d.results()) + len(d.failures()) >= n, 1800 if not short else 300, "every file")
        time.sleep(5)                     # two janitor rounds: temp files of the killed runs go
    finally:
        peak = max(peak, peak_rss_mb(d.proc.pid))
        d.stop()
    row = audit(sources, d, formats)
    row.update({"peak RSS MB": round(peak), "wall s": round(time.monotonic() - t0),
                "notes": f"{kills} kills: " + ", ".join(sorted(set(log)))})
    return row


PARTS = {"kill": kill_anywhere}


def _more_parts() -> None:
    """Parts kept in their own modules (they import this one for audit())."""
    import campaign_bad      # module imports: they work while those modules are themselves importing this one
    import campaign_disk
    import campaign_host

    PARTS["host"] = campaign_host.dead_host
    PARTS["scale"] = campaign_host.scale
    PARTS["bad"] = lambda root, short=False: campaign_bad.bad_inputs(root, short)
    PARTS["disk"] = lambda root, short=False: campaign_disk.full_disk(root, short)


_more_parts()
