"""Campaign part "bad": 50-odd kinds of bad input (bench/bad_inputs.py) and inbox accidents thrown at one real
daemon, with /healthz polled all along. Each kind must end in the failed folder with its specific reason, or in the
output folder where it is really fine; nothing lost, doubled, half-published or left behind.

Accidents, made deterministic by one worker busy on a big page while the victims wait claimed in the queue:
- a claimed file deleted before a worker reads it (→ "vanished": nothing to publish, logged and counted);
- a claimed file replaced by another (→ the new content is read and published);
- a sub-folder renamed while some of its files are claimed and queued and the rest wait in the inbox (queue full);
- the inbox folder deleted and made again while watched (rescan_seconds is an hour here: only a renewed inotify
  watch, not the safety-net rescan, can find the files dropped into the new folder).

As root the daemon runs without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH/CAP_FOWNER (setpriv), so another user's 0600
file is as unreadable (and unlinkable, fs.protected_hardlinks) to it as to a service user.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import stat
import time
import urllib.request
from pathlib import Path

from PIL import Image

from bad_inputs import big_scan, kinds, small_scan
from campaign_daemon import Health, Unprivileged
from campaign_parts import audit, peak_rss_mb
from conftest import Daemon, wait_for

REPO = Path(__file__).resolve().parent.parent


def listing(folder: Path) -> dict[str, os.stat_result]:
    """Every published entry (never following links), relative path → lstat; the state folder left out."""
    out = {}
    for root, dirs, files in os.walk(folder):
        if ".ocrwatchd" in dirs:
            dirs.remove(".ocrwatchd")
        for name in dirs + files:
            p = Path(root) / name
            st = os.lstat(p)
            if name in files or stat.S_ISLNK(st.st_mode):
                out[str(p.relative_to(folder))] = st
    return out


def where(rel: str, d: Daemon) -> tuple[str, str, list[str]]:
    """(outcome, reason, places) of the original dropped as `rel`: found by name (a name too long for its set
    is shortened to its first bytes + ~hash)."""
    stem, suffix = os.path.splitext(rel)
    places = []
    for outcome, folder in (("done", d.out), ("failed", d.failed)):
        for name in listing(folder):
            base, ext = os.path.splitext(name)
            if ext != suffix or name.endswith((".error.json",)):
                continue
            if base == stem or (len(os.fsencode(stem)) > 200 and "~" in base and stem.startswith(base[:100])):
                places.append((outcome, folder / name))
    if not places:
        inbox = d.inbox / rel
        if os.path.lexists(inbox):
            return "ignored", "", [str(inbox)]
        return "lost", "", []
    outcome, path = places[0]
    reason = ""
    if outcome == "failed":
        err = path.with_name(os.path.splitext(path.name)[0] + ".error.json")
        reason = json.loads(err.read_text())["error"]["reason"] if err.exists() else "?"
    return outcome, reason, [str(p) for _, p in places]


def bad_inputs(root: Path, short: bool = False) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    d = Unprivileged(root, workers=1, queue=4, rescan_seconds=3600, truncated_retry_seconds=4)
    ctx = {"root": root}
    table = []          # kind, file, expected, outcome, reason
    made = kinds(short)
    if os.geteuid() == 0 and not d.prefix():   # root that may read anything: that kind cannot be made here
        made = [(k, n, m, "done") if n == "unreadable.png" else (k, n, m, e) for k, n, m, e in made]
        notes_ = ["unreadable kind untestable: root with CAP_DAC_OVERRIDE (no setpriv)"]
    else:
        notes_ = []
    for kind, name, make, expect in made:
        make(d.inbox / name, ctx)
    d.start()
    health = Health(d.metrics_url)
    health.start()
    notes = notes_
    try:
        expected_end = [n for _, n, _, e in made if e != "ignored"]
        wait_for(lambda: all(where(n, d)[0] in ("done", "failed") for n in expected_end), 3600 if not short else 300,
                 "every bad input to end")
        notes.append(f"{len(made)} kinds ended {time.monotonic() - t0:.0f} s after the start")
        for kind, name, make, expect in made:
            outcome, reason, _ = where(name, d)
            table.append((kind, name, expect, outcome + (f":{reason}" if reason else "")))
        table += accidents(d, notes)
        peak = peak_rss_mb(d.proc.pid)
        big = json.loads(next(d.out.glob("blank-*.json")).read_text())
        notes.append(f"{len(big['pages'])} blank pages read in {big['timings']['total']:.0f} s "
                     f"({big['stats']['tiles']} tiles run, {big['stats']['blank_tiles']} blank tiles skipped)")
        metrics = urllib.request.urlopen(d.metrics_url + "/metrics", timeout=10).read().decode()
    finally:
        health.stop.set()
        health.join()
        alive = d.proc.poll() is None
        rc = d.stop()[0] if alive else d.proc.returncode
    reasons = sorted({line.split('reason="')[1].split('"')[0] for line in metrics.splitlines()
                      if line.startswith("ocrwatchd_files_total{") and 'outcome="failed"' in line
                      and not line.endswith(" 0.0")})
    row = audit({}, d)     # by name below: several kinds share one content
    wrong = [(k, n, e, o) for k, n, e, o in table if o != e]
    row.update({"lost": sum(1 for *_, o in table if o == "lost"),
                "doubled": sum(1 for k, n, e, o in table if len(where(n, d)[2]) > 1 and e != "ignored"),
                "done": sum(1 for *_, o in table if o == "done"),
                "failed": sum(1 for *_, o in table if o.startswith("failed")),
                "files in": len(table), "peak RSS MB": round(peak), "wall s": round(time.monotonic() - t0),
                "notes": f"{len(table)} kinds, {len(wrong)} unexpected; /healthz {health.polls} polls, "
                         f"{len(health.bad)} not 200; exit {rc}; failed reasons seen: {', '.join(reasons)}; "
                         + "; ".join(notes),
                "_table": table, "_wrong": wrong, "_health_bad": health.bad[:5], "_rc": rc})
    # 'left behind' counts only what waits in the inbox: the ignored symlink to a folder is not a file
    row["left behind"] = len([p for p in d.left_in_inbox() if not p.is_dir()])
    write_table(root, table, short)
    return row


def long_tiff(pages: int, lines: int) -> bytes:
    """A multi-page TIFF of big_scan pages: work for a worker for seconds per page."""
    page = Image.open(io.BytesIO(big_scan(lines)))
    buf = io.BytesIO()
    page.save(buf, format="TIFF", save_all=True, append_images=[page.copy() for _ in range(pages - 1)],
              compression="tiff_deflate")
    return buf.getvalue()


BLOCKER_SECONDS = 14.0


def accidents(d: Daemon, notes: list[str]) -> list[tuple[str, str, str, str]]:
    """The claim-window, renamed-folder and re-created-inbox cases, against the running daemon."""
    rows = []
    processing = d.inbox / ".ocrwatchd" / "processing"

    def claimed(name: str) -> Path | None:
        hits = [p for p in processing.rglob(name)] if processing.is_dir() else []
        return hits[0] if hits else None

    # One worker busy on a long document (pages of 48 lines). Behind it in the queue (4): two victims, then two
    # files of sub/; the other two files of sub/ wait in the inbox (queue full). Then: one victim deleted and one
    # replaced in its claim, and sub/ renamed. The blocker must outlast the claims' settling, which takes the same
    # seconds on every host (three settles of 1 s: the deletion came 4.5 s after the blocker's claim), while a page
    # takes 0.7 s on a CPU with VNNI and 3 s on one without: 20 pages were 14 s there and 60 s here. So one page is
    # read first, and the blocker gets as many as last BLOCKER_SECONDS at that pace (3x the settling).
    t = time.monotonic()
    (d.inbox / "pace.png").write_bytes(big_scan(48))
    wait_for(lambda: (d.out / "pace.json").exists(), 120, "the pace page read")
    page_s = json.loads((d.out / "pace.json").read_text())["timings"]["total"]
    pages = max(4, min(20, math.ceil(BLOCKER_SECONDS / max(page_s, 0.1))))
    notes.append(f"a page read in {page_s:.1f} s: the blocker has {pages} pages")
    (d.inbox / "blocker.tif").write_bytes(long_tiff(pages=pages, lines=48))
    wait_for(lambda: claimed("blocker.tif") is not None, 60, "the blocker claimed")
    t_claim = time.monotonic()
    (d.inbox / "deleted-after-claim.png").write_bytes(small_scan(41))
    (d.inbox / "replaced-after-claim.png").write_bytes(small_scan(42))
    wait_for(lambda: claimed("deleted-after-claim.png") and claimed("replaced-after-claim.png"), 60,
             "the victims claimed")
    sub = d.inbox / "sub"
    sub.mkdir()
    for i in range(4):
        (sub / f"s{i}.png").write_bytes(small_scan(50 + i))
    wait_for(lambda: len(list(processing.rglob("s*.png"))) == 2, 60, "2 queued from sub/")
    in_window = not (d.out / "blocker.json").exists()
    claimed("deleted-after-claim.png").unlink()
    victim = claimed("replaced-after-claim.png")
    fresh = victim.with_name(".fresh.tmp")
    fresh.write_bytes(small_scan(43))
    os.replace(fresh, victim)
    waiting = len(list(sub.iterdir()))
    sub.rename(d.inbox / "sub-renamed")
    in_window &= not (d.out / "blocker.json").exists()
    notes.append(f"the accidents made {time.monotonic() - t_claim:.1f} s after the blocker's claim")
    wait_for(lambda: (d.out / "replaced-after-claim.json").exists(), 120, "the replaced file done")
    wait_for(lambda: "deleted-after-claim.png was removed after it was claimed" in d.log.read_text(), 60,
             "the deleted one reported")
    text = json.loads((d.out / "replaced-after-claim.json").read_text())["pages"][0]["text"]
    notes.append(f"claim window {'held' if in_window else 'MISSED'}; replaced file read as {text!r}")
    gone = where("deleted-after-claim.png", d)[0]
    rows.append(("claimed file deleted before it is read", "deleted-after-claim.png", "failed:vanished",
                 ("failed:vanished" if in_window else "not tested: the blocker ended before the deletion")
                 if gone == "lost" else gone))
    rows.append(("claimed file replaced before it is read", "replaced-after-claim.png", "done",
                 "done" if text == "scan number 43" else f"read {text!r}"))
    wait_for(lambda: sum(1 for n in listing(d.out) if os.path.basename(n).startswith("s") and n.endswith(".json"))
             >= 4, 180, "sub/ done")
    placed = sorted(n for n in listing(d.out) if os.path.basename(n).startswith("s") and n.endswith(".json"))
    notes.append(f"sub-folder renamed with 2 claimed and {waiting} waiting: {placed}")
    rows.append(("sub-folder renamed while its files are queued", "sub/s*.png (4)", "done",
                 "done" if len(placed) == 4 and sum(n.startswith("sub-renamed/") for n in placed) == waiting
                 else f"{placed}"))
    notes.append(f"claim-window and rename accidents {time.monotonic() - t:.0f} s")

    # 3. the inbox deleted and made again while watched (rescan_seconds = 3600: only a renewed watch finds files)
    wait_for(lambda: not processing.exists() or not any(p.is_file() for p in processing.rglob("*")), 120, "idle")
    shutil.rmtree(d.inbox)
    time.sleep(0.5)
    d.inbox.mkdir(exist_ok=True)   # (the daemon may have made it again already: it keeps its inboxes)
    time.sleep(0.5)
    t = time.monotonic()
    (d.inbox / "after-recreate.png").write_bytes(small_scan(60))
    try:
        wait_for(lambda: (d.out / "after-recreate.json").exists(), 60, "the file in the new inbox")
        outcome = "done"
        notes.append(f"a file dropped into the re-created inbox done {time.monotonic() - t:.1f} s later")
    except AssertionError:
        outcome = "left in the new inbox"
    rows.append(("inbox deleted and made again while watched", "after-recreate.png", "done", outcome))
    return rows


def write_table(root: Path, table, short: bool) -> None:
    lines = ["| kind | file | expected | outcome |", "|---|---|---|---|"]
    for kind, name, expect, outcome in table:
        shown = ascii(name)[1:-1] if len(name) < 60 else f"{name[:12]}…({len(os.fsencode(name))} bytes)"
        lines.append(f"| {kind} | `{shown}` | {expect} | {outcome}{'' if outcome == expect else ' **(!)**'} |")
    text = "\n".join(lines) + "\n"
    (root / "bad-inputs.md").write_text(text)
    if not short:
        out = REPO / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "bad-inputs.md").write_text(text)
