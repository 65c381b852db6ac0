"""Publishing a finished job: its whole set of files appears exactly once, whatever moment a crash hits.

A set is the original plus what was made from it, under one base name: OUTPUT/sub/scan.png beside scan.json,
scan.ocr.pdf, scan.txt, … (or FAILED/sub/scan.png + scan.error.json). A taken name gets -1, -2, … on the whole
set; nothing is ever overwritten. Consumers rely on the JSON being the set's commit marker: whoever sees
NAME.json finds every other file of the set complete beside it.

How (maildir-like — stage, then commit by links):
1. every new file is written, fsynced, into FOLDER/.ocrwatchd/staging/<job>/;
2. names are chosen and a manifest records them (and where the claimed original lies);
3. the original is moved from its claim into the staging folder — one rename where inbox and output share a
   filesystem, so of the owner and a daemon taking its claims over, exactly one gets the file;
4. each staged file gets its final name with link() — never replacing anything — the JSON last;
5. the manifest is marked committed and the staging folder removed.
A crash before 2 leaves the claim in the inbox's processing folder: the job runs again and the staging folder is
discarded. From 2 on, the set rolls forward: roll_forward() (before claims are taken over, see takeover.py)
first renames a dead owner's staging folder to the taker's name — so of two takers only one finishes it — and
then re-does only the steps not yet done: the job never runs twice and no set appears twice or half. An owner
that finds its staging folder or its claim gone (it was paused past its lease and someone took over) stops
with ClaimLost, leaving the file to the taker. Each step is a fault point (OCRWATCHD_FAULT=publish:STEP makes
the process die right after it) so tests can crash the daemon at every one of them.

Across filesystems step 3 is a copy, then unlink(claim): not atomic against a taker. The unlink decides: if the
claim is gone by then and lies in another owner's processing folder, that owner has it and our copy is dropped;
if it lies nowhere (an NFS retransmission can answer ENOENT to an unlink that did happen) we publish — a taker
that took the claim in between and already finished it could then have made a second set: a duplicate is
possible there, a lost file is not.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import copy_new, fsync_dir, place, replace_file, write_new_file

log = logging.getLogger("ocrwatchd.publish")

STAGING = Path(".ocrwatchd") / "staging"
MANIFEST, COMMITTED = "manifest.json", "committed.json"
ORIGINAL = "original"               # the staged original's name
MAX_SUFFIX = 10_000
FAULT_ENV = "OCRWATCHD_FAULT"


class ClaimLost(Exception):
    """Our claim or our staging folder is gone: another daemon judged us dead and took the job over."""


def fault_point(step: str) -> None:
    """Die right here, as a crash would, when OCRWATCHD_FAULT names this step (tests only; unset in service)."""
    if os.environ.get(FAULT_ENV) == f"publish:{step}":
        os._exit(99)


@dataclass(frozen=True)
class SetFiles:
    """What one job publishes.

    folder: output or failed root; relative: the source's place in its inbox (sub/scan.png), which the set keeps;
    files: suffix → bytes, in commit order, the marker last (".json" or ".error.json"); original: where the
    claimed original lies; original_folder: where it goes (folder itself, or an archive root).
    """

    folder: Path
    relative: Path
    files: dict[str, bytes]
    original: Path
    original_folder: Path

    @property
    def marker(self) -> str:
        return list(self.files)[-1]


def job_token(owner: str, relative: Path) -> str:
    """The staging folder's name: unique per claim (one owner never holds two claims of one relative path)."""
    return f"{owner}~{hashlib.sha1(str(relative).encode()).hexdigest()[:16]}"


def publish(job: SetFiles, owner: str) -> dict[str, Path]:
    """Stage and commit the set; returns suffix → final path (key "original" for the original)."""
    staging = job.folder / STAGING / job_token(owner, job.relative)
    earlier = _load(staging) if staging.exists() else None
    if earlier is not None:          # an earlier attempt got as far as naming the set: finish that one
        return _roll(staging, earlier)
    if staging.exists():             # an earlier attempt died while staging (disk full?): start afresh
        shutil.rmtree(staging)
    if not os.path.lexists(job.original):
        raise ClaimLost(f"our claim {job.original} is gone")
    staging.mkdir(parents=True)
    try:
        for n, (suffix, data) in enumerate(job.files.items()):
            write_new_file(staging / f"{n}{suffix}", data)
        fault_point("staged")
        entries = [[f"{n}{suffix}", suffix] for n, suffix in enumerate(job.files)]
        manifest = {"schema": "ocrwatchd-publish/1", "owner": owner, "claim": str(job.original),
                    "relative": str(job.relative), "folder": str(job.folder),
                    "original_folder": str(job.original_folder), "original_suffix": job.relative.suffix,
                    "entries": entries}
        manifest["base"] = _free_base(manifest)
        replace_file(staging / MANIFEST, _dump(manifest))
    except FileNotFoundError:
        if not staging.is_dir():     # a daemon that judged us dead took the folder (and will take the claim)
            raise ClaimLost(f"our staging folder {staging} was taken over") from None
        raise
    fault_point("manifest")
    return _roll(staging, manifest)


def resume(folder: Path, owner: str, relative: Path) -> dict[str, Path] | None:
    """Finish this owner's own set for `relative` if an earlier attempt named it (its original already left
    the claim for the staging folder); None when there is none."""
    staging = folder / STAGING / job_token(owner, relative)
    manifest = _load(staging) if staging.is_dir() else None
    return None if manifest is None else _roll(staging, manifest)


def roll_forward(folder: Path, dead, taker: str) -> int:
    """Take over and finish the sets whose owner is dead (dead(owner) is True): returns how many were completed.

    Each staging folder is first renamed to one of the taker's names: a rename of one name succeeds once, so of
    two daemons taking over the same dead owner only one finishes a set. A staging folder without a manifest
    never got past writing: it is removed (its claim is still in processing and runs again). Call before claims
    are taken over, so a job that was being published is not run a second time.
    """
    root = folder / STAGING
    done = 0
    for staging in sorted(root.iterdir()) if root.is_dir() else []:
        owner = staging.name.rsplit("~", 1)[0]
        if owner == taker or not staging.is_dir() or not dead(owner):
            continue
        mine = root / f"{taker}~{staging.name.rsplit('~', 1)[1]}.{secrets.token_hex(4)}"
        try:
            os.rename(staging, mine)
        except FileNotFoundError:
            if not mine.is_dir():    # another taker (or the owner, finishing) was faster
                continue
        manifest = _load(mine)
        if manifest is None:
            shutil.rmtree(mine, ignore_errors=True)
            continue
        try:
            paths = _roll(mine, manifest)
        except ClaimLost as e:
            log.info("dropped %s's unfinished set of %s: %s", owner, manifest["relative"], e)
            continue
        log.info("finished publishing %s (left by %s) as %s", manifest["relative"], owner, paths.get(".json") or
                 paths.get(".error.json"))
        done += 1
    return done


def _roll(staging: Path, manifest: dict) -> dict[str, Path]:
    """Steps 3-5, each done only if not done yet: safe to run again after a crash at any point. ClaimLost when
    the original went to someone else, or the staging folder did (then whoever took it finishes the set)."""
    try:
        if not (staging / COMMITTED).exists():
            _take_original(staging, manifest)
            fault_point("original-staged")
            while not _commit(staging, manifest):
                manifest["base"] = _free_base(manifest, after=manifest["base"] + 1)
                replace_file(staging / MANIFEST, _dump(manifest))
            os.replace(staging / MANIFEST, staging / COMMITTED)
            fsync_dir(staging)
            fault_point("committed")
    except FileNotFoundError:
        if not staging.is_dir():
            raise ClaimLost(f"the staging folder {staging.name} was taken over") from None
        raise
    paths = _finals(manifest)
    shutil.rmtree(staging, ignore_errors=True)
    fsync_dir(staging.parent)
    fault_point("cleaned")
    return paths


def _take_original(staging: Path, manifest: dict) -> None:
    """Step 3: the original leaves its claim for the staging folder, or ClaimLost (staging removed)."""
    staged, claim = staging / ORIGINAL, Path(manifest["claim"])
    if os.path.lexists(staged):
        if os.path.lexists(claim):   # a copy across filesystems was made, its unlink did not happen yet
            _unlink_claim(staging, manifest)
        return
    try:
        os.rename(claim, staged)     # same filesystem: atomic — owner and taker cannot both win the file
        return
    except FileNotFoundError:
        if os.path.lexists(staged):  # a retransmitted NFS rename answered ENOENT to our own success
            return
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            raise ClaimLost(f"the claim {claim} was taken over") from None
        raise
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
    copy_new(claim, staged)
    fault_point("original-copied")
    _unlink_claim(staging, manifest)


def _unlink_claim(staging: Path, manifest: dict) -> None:
    """Across filesystems the unlink of the claim decides who has the file (see the module docstring)."""
    claim = Path(manifest["claim"])
    try:
        os.unlink(claim)
        fsync_dir(claim.parent)
        return
    except FileNotFoundError:
        if not staging.is_dir():     # a taker took our set (and unlinked the claim itself): it finishes the set
            raise ClaimLost(f"the staging folder {staging.name} was taken over") from None
    root = claim.parents[len(Path(manifest["relative"]).parts) - 1]      # …/.ocrwatchd/processing/<owner>
    holders = [d.name for d in root.parent.iterdir()
               if d.name != root.name and os.path.lexists(d / manifest["relative"])] if root.parent.is_dir() else []
    if holders:
        shutil.rmtree(staging, ignore_errors=True)
        raise ClaimLost(f"the claim {claim} was taken over by {holders[0]} while we copied it")
    log.warning("the claim %s was gone when we removed it after copying and nobody else holds it: publishing our "
                "copy", claim)


def _commit(staging: Path, manifest: dict) -> bool:
    """Give every staged file its final name, the original before the marker, the marker last. False when a
    name turned out taken by someone else: our links so far are undone, and another base name is tried."""
    finals = _finals(manifest)
    order = [(staged, finals[suffix]) for staged, suffix in manifest["entries"][:-1]]
    order.append((ORIGINAL, finals["original"]))
    order.append((manifest["entries"][-1][0], finals[manifest["entries"][-1][1]]))
    placed = []
    for staged, final in order:
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            place(staging / staged, final)
        except FileExistsError:
            if not _same(staging / staged, final):
                for ours_staged, ours in placed:
                    if _same(staging / ours_staged, ours):
                        os.unlink(ours)
                return False
        placed.append((staged, final))
        fault_point(f"linked:{'original' if staged == ORIGINAL else Path(staged).suffix.lstrip('.') or staged}")
    return True


def _finals(manifest: dict) -> dict[str, Path]:
    base = _base_name(manifest)
    folder = Path(manifest["folder"]) / Path(manifest["relative"]).parent
    out = {suffix: folder / f"{base}{suffix}" for _, suffix in manifest["entries"]}
    out["original"] = (Path(manifest["original_folder"]) / Path(manifest["relative"]).parent /
                       f"{base}{manifest['original_suffix']}")
    return out


def _base_name(manifest: dict) -> str:
    stem = Path(manifest["relative"]).stem
    return stem if manifest["base"] == 0 else f"{stem}-{manifest['base']}"


def _free_base(manifest: dict, after: int = 0) -> int:
    for n in range(after, MAX_SUFFIX):
        if not any(os.path.lexists(p) for p in _finals(manifest | {"base": n}).values()):
            return n
    raise FileExistsError(errno.EEXIST, f"no free name after {MAX_SUFFIX} tries", manifest["relative"])


def _same(staged: Path, final: Path) -> bool:
    """Is `final` our staged file (the same inode, or — after a copy across filesystems — the same bytes)?"""
    try:
        a, b = os.lstat(staged), os.lstat(final)
    except FileNotFoundError:
        return False
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        return True
    if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
        return False
    if stat.S_ISLNK(a.st_mode):
        return os.readlink(staged) == os.readlink(final)
    if not stat.S_ISREG(a.st_mode):
        return True                  # a FIFO or socket has no content to compare (and must never be opened)
    return a.st_size == b.st_size and _digest(staged) == _digest(final)


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _dump(manifest: dict) -> bytes:
    return json.dumps(manifest, ensure_ascii=False).encode()


def _load(staging: Path) -> dict | None:
    for name in (COMMITTED, MANIFEST):
        try:
            return json.loads((staging / name).read_bytes())
        except FileNotFoundError:
            continue
    return None
