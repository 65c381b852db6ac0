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

A failure before the set is named (a full disk, a folder turned read-only while staging) removes the staging
folder and leaves the claim as it was: nothing of the set is left under any name, and the caller retries. After
the set is named, publishing again (or resume) finishes that same set. An original nobody may link or read (another
user's 0600 file, refused by fs.protected_hardlinks) is renamed to its final name instead of linked; the manifest
records its inode so a later roll finds it there. A name too long for the filesystem once a suffix is added is
shortened, the same way for every file of the set. An original that is gone with nobody else holding it
(removed after it was claimed) is Vanished: nothing of its set was published.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import copy_new, fsync_dir, place, rename_new, replace_file, write_new_file
from .setnames import finals, free_base, same_file

log = logging.getLogger("ocrwatchd.publish")

STAGING = Path(".ocrwatchd") / "staging"
MANIFEST, COMMITTED = "manifest.json", "committed.json"
ORIGINAL = "original"               # the staged original's name
FAULT_ENV = "OCRWATCHD_FAULT"


class ClaimLost(Exception):
    """Our claim or our staging folder is gone: another daemon judged us dead and took the job over."""


class Vanished(FileNotFoundError):
    """The original is gone (removed after it was claimed) and no other daemon holds it, before the set was
    published: there is nothing to publish, and nothing of the set was."""


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
    return f"{owner}~{hashlib.sha1(os.fsencode(relative)).hexdigest()[:16]}"


def publish(job: SetFiles, owner: str) -> dict[str, Path]:
    """Stage and commit the set; returns suffix → final path (key "original" for the original)."""
    staging = job.folder / STAGING / job_token(owner, job.relative)
    earlier = _load(staging) if staging.exists() else None
    if earlier is not None:          # an earlier attempt got as far as naming the set: finish that one
        return _roll(staging, earlier)
    try:
        original = os.lstat(job.original)
    except FileNotFoundError:
        raise _gone(job.original, job.relative) from None
    try:
        if staging.exists():         # an earlier attempt died while staging (disk full?): start afresh
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        for n, (suffix, data) in enumerate(job.files.items()):
            write_new_file(staging / f"{n}{suffix}", data)
        fault_point("staged")
        entries = [[f"{n}{suffix}", suffix] for n, suffix in enumerate(job.files)]
        manifest = {"schema": "ocrwatchd-publish/1", "owner": owner, "claim": str(job.original),
                    "relative": str(job.relative), "folder": str(job.folder),
                    "original_folder": str(job.original_folder), "original_suffix": job.relative.suffix,
                    "original_id": [original.st_dev, original.st_ino], "entries": entries}
        manifest["base"] = free_base(manifest)
        replace_file(staging / MANIFEST, _dump(manifest))
    except BaseException as e:
        # Not named yet: nothing of the set may stay (its files would take the space a full disk lacks); the claim
        # is untouched and the caller tries again. On a read-only disk this removal fails too: the next try does it.
        taken = isinstance(e, FileNotFoundError) and not staging.is_dir()
        shutil.rmtree(staging, ignore_errors=True)
        if taken:                    # a daemon that judged us dead took the folder (and will take the claim)
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


def named(folder: Path, owner: str, relative: Path) -> bool:
    """Whether an attempt of this owner got as far as naming the set (it can then only be finished, not redone)."""
    staging = folder / STAGING / job_token(owner, relative)
    return (staging / MANIFEST).exists() or (staging / COMMITTED).exists()


def roll_forward(folder: Path, dead, taker: str) -> int:
    """Take over and finish the sets whose owner is dead (dead(owner) is True): returns how many were completed.

    Each staging folder is first renamed to one of the taker's names: a rename of one name succeeds once, so of
    two daemons taking over the same dead owner only one finishes a set; one the taker could not finish (a full
    disk) keeps that name and is tried again at its next pass. A staging folder without a manifest
    never got past writing: it is removed (its claim is still in processing and runs again). Call before claims
    are taken over, so a job that was being published is not run a second time.
    """
    root = folder / STAGING
    done = 0
    for staging in sorted(root.iterdir()) if root.is_dir() else []:
        owner, tail = staging.name.rsplit("~", 1) if "~" in staging.name else ("", staging.name)
        if not staging.is_dir():
            continue
        if owner == taker:
            if "." not in tail or staging in _ROLLING:   # one of our own jobs, being published right now
                continue
            mine = staging           # taken over earlier and not finished then (a full disk): try again
        else:
            if not dead(owner):
                continue
            mine = root / f"{taker}~{tail}.{secrets.token_hex(4)}"
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
        except Vanished:
            log.warning("dropped the set of %s left by %s: its original is gone", manifest["relative"], owner)
            continue
        except OSError as e:         # a full or read-only disk: the set stays named (ours now), the next pass retries
            log.warning("could not finish publishing %s (left by %s) now: %s", manifest["relative"], owner, e)
            continue
        log.info("finished publishing %s (left by %s) as %s", manifest["relative"], owner, paths.get(".json") or
                 paths.get(".error.json"))
        done += 1
    return done


_ROLLING: set[Path] = set()          # staging folders this process is rolling forward right now


def _roll(staging: Path, manifest: dict) -> dict[str, Path]:
    """Steps 3-5, each done only if not done yet: safe to run again after a crash at any point. ClaimLost when
    the original went to someone else, or the staging folder did (then whoever took it finishes the set)."""
    _ROLLING.add(staging)
    try:
        return _roll_steps(staging, manifest)
    finally:
        _ROLLING.discard(staging)


def _roll_steps(staging: Path, manifest: dict) -> dict[str, Path]:
    try:
        if not (staging / COMMITTED).exists():
            _take_original(staging, manifest)
            fault_point("original-staged")
            while not _commit(staging, manifest):
                manifest["base"] = free_base(manifest, after=manifest["base"] + 1)
                replace_file(staging / MANIFEST, _dump(manifest))
            os.replace(staging / MANIFEST, staging / COMMITTED)
            fsync_dir(staging)
            fault_point("committed")
    except FileNotFoundError:
        if not staging.is_dir():
            raise ClaimLost(f"the staging folder {staging.name} was taken over") from None
        raise
    paths = finals(manifest)
    shutil.rmtree(staging, ignore_errors=True)
    fsync_dir(staging.parent)
    fault_point("cleaned")
    return paths


def _take_original(staging: Path, manifest: dict) -> None:
    """Step 3: the original leaves its claim for the staging folder; ClaimLost (another daemon has it) or Vanished
    (nobody has it) with the staging folder removed."""
    staged, claim = staging / ORIGINAL, Path(manifest["claim"])
    if os.path.lexists(staged):
        if os.path.lexists(claim):   # a copy across filesystems was made, its unlink did not happen yet
            _unlink_claim(staging, manifest)
        return
    if _renamed_into_place(manifest):   # an original we may not link went to its final name already (_place)
        return
    try:
        os.rename(claim, staged)     # same filesystem: atomic — owner and taker cannot both win the file
        return
    except FileNotFoundError:
        if os.path.lexists(staged):  # a retransmitted NFS rename answered ENOENT to our own success
            return
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            raise _gone(claim, Path(manifest["relative"])) from None
        raise
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
    copy_new(claim, staged)
    fault_point("original-copied")
    _unlink_claim(staging, manifest)


def holders(claim: Path, relative: Path) -> list[str]:
    """The other owners whose processing folder holds this relative path (a daemon that took our claim over)."""
    root = claim.parents[len(relative.parts) - 1]      # …/.ocrwatchd/processing/<owner>
    if not root.parent.is_dir():
        return []
    return [d.name for d in root.parent.iterdir() if d.name != root.name and os.path.lexists(d / relative)]


def _gone(claim: Path, relative: Path) -> Exception:
    """Why a claimed original is not where we left it: another daemon took it over, or somebody removed it."""
    takers = holders(claim, relative)
    if takers:
        return ClaimLost(f"the claim {claim} was taken over by {takers[0]}")
    return Vanished(errno.ENOENT, "the claimed original is gone", str(claim))


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
    takers = holders(claim, Path(manifest["relative"]))
    if takers:
        shutil.rmtree(staging, ignore_errors=True)
        raise ClaimLost(f"the claim {claim} was taken over by {takers[0]} while we copied it")
    log.warning("the claim %s was gone when we removed it after copying and nobody else holds it: publishing our "
                "copy", claim)


def _commit(staging: Path, manifest: dict) -> bool:
    """Give every staged file its final name, the original before the marker, the marker last. False when a
    name turned out taken by someone else: our links so far are undone, and another base name is tried."""
    names = finals(manifest)
    order = [(staged, names[suffix]) for staged, suffix in manifest["entries"][:-1]]
    order.append((ORIGINAL, names["original"]))
    order.append((manifest["entries"][-1][0], names[manifest["entries"][-1][1]]))
    placed = []
    for staged, final in order:
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            if staged != ORIGINAL or os.path.lexists(staging / ORIGINAL) or not _renamed_into_place(manifest):
                _place(staging / staged, final, staged == ORIGINAL)
        except FileExistsError:
            if not same_file(staging / staged, final):
                for ours_staged, ours in placed:
                    if ours_staged == ORIGINAL and not os.path.lexists(staging / ORIGINAL):
                        os.rename(ours, staging / ORIGINAL)      # renamed there, not linked: bring it back
                    elif same_file(staging / ours_staged, ours):
                        os.unlink(ours)
                return False
        placed.append((staged, final))
        fault_point(f"linked:{'original' if staged == ORIGINAL else Path(staged).suffix.lstrip('.') or staged}")
    return True


def _place(staged: Path, final: Path, original: bool) -> None:
    try:
        place(staged, final)
    except OSError as e:
        # The original is the one file that may be neither linkable nor readable by us (another user's 0600 scan:
        # protected_hardlinks refuses the link, the copy cannot read it). Renaming needs only the folders.
        if not original or e.errno not in (errno.EPERM, errno.EACCES):
            raise
        rename_new(staged, final)


def _renamed_into_place(manifest: dict) -> bool:
    """Whether the original already lies at its final name, renamed there (see _place): the inode the manifest
    recorded when the set was named."""
    try:
        st = os.lstat(finals(manifest)["original"])
    except (FileNotFoundError, NotADirectoryError):
        return False
    return [st.st_dev, st.st_ino] == manifest.get("original_id")


def _dump(manifest: dict) -> bytes:
    # ASCII with escapes: a path with bytes that are not UTF-8 (lone surrogates from os.fsdecode) survives the trip
    return json.dumps(manifest).encode()


def _load(staging: Path) -> dict | None:
    for name in (COMMITTED, MANIFEST):
        try:
            return json.loads((staging / name).read_bytes())
        except FileNotFoundError:
            continue
    return None
