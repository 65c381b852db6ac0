"""Campaign part "disk": output and failed folders on small tmpfs mounts that fill up mid-write, a remount
read-only, and an output folder whose permissions turn read-only — against one real daemon.

What must hold: jobs whose folder cannot take files wait and are retried with growing pauses (never quarantined for
it, never counted against the file); claiming from the inbox pauses meanwhile (the rest wait untouched in the
inbox); nothing is lost or doubled, no set is half-named, nothing is left in staging; and once space returns (or the
folder is writable again) work resumes by itself. ocrwatchd_output_free_bytes and ocrwatchd_output_blocked_jobs are
scraped all along.

Mounting needs root (CAP_SYS_ADMIN); where the machine forbids it the full-disk and remount phases are skipped and
say why. The permission phase needs a daemon that obeys permissions: not root, or root without CAP_DAC_OVERRIDE
(setpriv, as in the "bad" part).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from pathlib import Path

from campaign_daemon import DROP_CAPS, Health, Unprivileged
from campaign_parts import audit, peak_rss_mb
from conftest import scrape, small_scan, wait_for

FORMATS = ("txt", "hocr", "alto")   # the searchable PDF writer is on another branch


def mount_tmpfs(folder: Path, size_kb: int) -> str | None:
    """Mount a tmpfs of size_kb on folder; None when done, else why it cannot be."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "not root: cannot mount a small filesystem"
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(folder)],
                       capture_output=True, text=True)
    return None if p.returncode == 0 else f"mount refused here: {p.stderr.strip() or p.returncode}"


def remount(folder: Path, mode: str) -> None:
    for _ in range(50):           # EBUSY while a file is open for writing: try again a moment later
        if subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"could not remount {folder} {mode}")


def fill(folder: Path, leave_kb: int) -> Path:
    """A filler file taking all but leave_kb of the filesystem's free space."""
    st = os.statvfs(folder)
    filler = folder / "filler.bin"        # not a set: the audit skips it by name
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave_kb * 1024))
    return filler


class Watch(threading.Thread):
    """Scrapes the daemon twice a second: free-bytes values seen per folder, and when jobs waited for a folder."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, threading.Event()
        self.free: dict[str, list[float]] = {}
        self.blocked_since: float | None = None
        self.pauses: list[float] = []
        self.blocked_folders: set[str] = set()     # folders seen with jobs waiting for them

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                m = scrape(self.url)
            except Exception:
                continue
            blocked = 0.0
            for (name, labels), value in m.items():
                folder = dict(labels).get("folder")
                if name == "ocrwatchd_output_free_bytes":
                    self.free.setdefault(folder, []).append(value)
                elif name == "ocrwatchd_output_blocked_jobs":
                    blocked += value
                    if value:
                        self.blocked_folders.add(folder)
            now = time.monotonic()
            if blocked and self.blocked_since is None:
                self.blocked_since = now
            elif not blocked and self.blocked_since is not None:
                self.pauses.append(now - self.blocked_since)
                self.blocked_since = None


def full_disk(root: Path, short: bool = False) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    out, failed = root / "out", root / "failed"
    why = mount_tmpfs(out, 3072) or mount_tmpfs(failed, 512)
    mounted = [p for p in (out, failed) if os.path.ismount(p)]
    notes: list[str] = []
    try:
        return _run(root, short, why, notes, t0)
    finally:
        for p in mounted:
            subprocess.run(["umount", "-l", str(p)], capture_output=True)


def _run(root: Path, short: bool, why: str | None, notes: list[str], t0: float) -> dict:
    d = Unprivileged(root, workers=2, queue=4, inbox={"formats": list(FORMATS)},
                     janitor={"interval_seconds": 2, "temp_max_age_hours": 0.0005})
    obeys_permissions = os.geteuid() != 0 or bool(d.prefix())
    sources: dict[str, str] = {}
    n = 0

    def drop(good: int, bad: int) -> None:
        """good scans and bad files (quarantined: they go to the failed folder), the bad ones spread among the
        good ones from the second on: files are claimed in name order, and both folders must get work."""
        nonlocal n
        every = (good + bad) // bad if bad else 0
        for i in range(good + bad):
            if bad and i % every == 1:
                name, data = f"{n:03d}-notes.png", f"not a picture {n}\n".encode()
                bad -= 1
            else:
                name, data = f"{n:03d}-scan.png", small_scan(7000 + n)
            (d.inbox / name).write_bytes(data)
            sources[hashlib.sha256(data).hexdigest()] = name
            n += 1

    def all_ended() -> bool:
        return len(d.results()) + len(d.failures()) >= len(sources) and watch.blocked_since is None

    def blocked_again(what: str) -> None:
        episodes = len(watch.pauses)
        wait_for(lambda: watch.blocked_since is not None and len(watch.pauses) == episodes, 120, what)

    hold = 3 if short else 60
    fillers = []
    if why is None:
        fillers = [fill(d.out, 48), fill(d.failed, 0)]    # room for about one set in the output
    d.start()
    watch, health = Watch(d.metrics_url), Health(d.metrics_url)
    watch.start()
    health.start()
    peak = 0.0
    try:
        if why is None:
            # 1. both folders full: a few sets fit in the output, then ENOSPC mid-write; the failure can't go either
            drop(3 if short else 30, 1 if short else 5)
            blocked_again("jobs waiting for space")
            wait_for(lambda: watch.blocked_folders >= {"output", "failed"}, 120, "both folders found full")
            waited_in_inbox = _hold(d, hold, notes, "full")
            for f in fillers:
                f.unlink()
            wait_for(all_ended, 300, "work to resume once space returned")
            notes.append(f"full: {len(d.results())} done before/after the pause, {waited_in_inbox} files waited "
                         "untouched in the inbox")
            # 2. the output folder's filesystem remounted read-only
            remount(d.out, "ro")
            drop(1 if short else 10, 0)
            blocked_again("jobs waiting for the read-only folder")
            _hold(d, hold, notes, "read-only mount")
            remount(d.out, "rw")
            wait_for(all_ended, 300, "work to resume once writable")
        else:
            notes.append(f"full-disk and remount phases skipped: {why}")
        if obeys_permissions:
            # 3. the output folder's permissions turn read-only: staging (in OUTPUT/.ocrwatchd) still works, so sets
            # get named and then cannot be linked: the retry must finish the same set
            os.chmod(d.out, 0o555)
            drop(1 if short else 10, 0)
            blocked_again("jobs waiting for the chmod-ed folder")
            _hold(d, hold, notes, "chmod 555")
            os.chmod(d.out, 0o755)
            wait_for(all_ended, 300, "work to resume once writable")
        else:
            notes.append("permission phase skipped: root with CAP_DAC_OVERRIDE ignores permissions (no setpriv)")
        time.sleep(5)                     # two janitor rounds
        peak = peak_rss_mb(d.proc.pid)
    finally:
        watch.stop.set()
        health.stop.set()
        rc = d.stop()[0] if d.proc.poll() is None else d.proc.returncode
        log = d.log.read_text()
    row = audit(sources, d, FORMATS)
    staging = [p for f in (d.out, d.failed) for p in (f / ".ocrwatchd" / "staging").glob("*")]
    gauge = {k: (round(min(v) / 1024), round(max(v) / 1024)) for k, v in watch.free.items()}
    said = [line.split("after ")[1].split(" s")[0] for line in log.splitlines() if "takes files again after" in line]
    row.update({"peak RSS MB": round(peak), "wall s": round(time.monotonic() - t0),
                "notes": "; ".join(notes + [f"paused {', '.join(f'{p:.0f}' for p in watch.pauses)} s (scraped), "
                                            f"log says {', '.join(said)} s",
                                            f"free KB min-max {gauge}", f"staging left {len(staging)}",
                                            f"/healthz {len(health.bad)} of {health.polls} not 200", f"exit {rc}"]),
                "_pauses": watch.pauses, "_free": watch.free, "_rc": rc, "_health_bad": health.bad,
                "_staging": staging, "_quarantined_for_space": "no space left" in " ".join(
                    p.read_text().lower() for p in d.failures())})
    if why is None:
        row["_filled"] = True
    return row


def _hold(d, seconds: float, notes: list[str], what: str) -> int:
    """While jobs wait: nothing new is claimed, and nothing is published under a final name without its JSON.
    Returns how many files wait untouched in the inbox."""
    inbox = sorted(p.name for p in d.inbox.iterdir() if p.is_file())
    claimed = sorted(p.name for p in d.claimed())
    time.sleep(seconds)
    now = sorted(p.name for p in d.inbox.iterdir() if p.is_file())
    assert now == inbox, f"{what}: claiming went on: {inbox} -> {now}"
    assert {p.name for p in d.claimed()} <= set(claimed), f"{what}: new claims while waiting"
    for folder, marker in ((d.out, ".json"), (d.failed, ".error.json")):
        names = {p.name for p in folder.iterdir() if p.is_file() and p.name != "filler.bin"} if folder.is_dir() \
            else set()
        for name in names:
            base = name.split(".")[0]
            assert f"{base}{marker}" in names, f"{what}: {name} published without {base}{marker}"
    named = [p for f in (d.out, d.failed) for p in (f / ".ocrwatchd" / "staging").glob("*/manifest.json")]
    notes.append(f"{what}: {len(inbox)} waiting in the inbox, {len(claimed)} claimed, {len(named)} sets named and "
                 f"waiting, for {seconds} s")
    return len(inbox)


__all__ = ["full_disk", "DROP_CAPS"]
