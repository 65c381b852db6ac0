"""A worker: owns one Engine (its ONNX sessions), takes claimed jobs off the bounded queue, and ends each one
in the output folder or in quarantine — never dying of a job. A job whose claim another daemon took over (we
were paused or cut off past our lease: takeover.py) ends in neither: it is given up, quietly, to the taker."""
from __future__ import annotations

import errno
import logging
import os
import queue
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..config import InboxConfig
from ..documents import open_document
from ..engine.decode import DecodeError, TruncatedImage
from ..pipeline import Engine, process
from .budget import MemoryBudget, reservation
from ..outputs import FORMATS, write_json
from .claims import Claim, prune_parents
from .publish import STAGING, ClaimLost, SetFiles, Vanished, holders, job_token, named, publish, resume

log = logging.getLogger("ocrwatchd.worker")

TRANSIENT_RETRIES = 3      # out of memory, disk full while processing: retried a few times with backoff first
MAX_BACKOFF = 30.0
# A set that cannot be published because its folder is full or read-only waits, retried with growing pauses up to
# this, for as long as it takes: that is not the file's fault, and its attempts are not counted.
OUTPUT_BACKOFF = 60.0
# The short names in error.json's "reason" and in ocrwatchd_files_total's reason label: DecodeError.reason values
# and the worker's own. A fixed set (a metric label): anything else is reported as "internal".
FAILED_REASONS = ("unsupported", "truncated", "too-large", "encrypted", "too-many-pages",
                  "not-a-file", "permission", "vanished", "resources", "internal")
RETRIED_REASONS = ("truncated", "permission", "resources", "no-space", "read-only", "internal")


@dataclass
class Ready:
    """A job's set, made and waiting to be published. Kept while its folder is full or read-only, so the file is
    not read again when space returns."""

    outcome: str                  # "done" | "failed"
    files: SetFiles
    result: dict | None = None    # done: the result (for the metrics)
    reason: str = ""              # failed: the short reason
    message: str = ""


@dataclass
class Job:
    claim: Claim
    inbox: InboxConfig
    attempts: int = 0
    first_seen: float = field(default_factory=time.time)
    errors: list[str] = field(default_factory=list)
    settle_seconds: float | None = None   # how long the file was watched before it was claimed
    ready: Ready | None = None
    blocked: tuple[str, str] | None = None   # (folder key, "no-space" | "read-only") while its set waits for it
    waits: int = 0                            # publish tries its folder refused
    reason: str = ""                          # why it was last retried or failed (the metric's reason label)

    @property
    def source(self) -> Path:
        return self.claim.inbox / self.claim.relative


def _transient(e: BaseException) -> bool:
    if isinstance(e, MemoryError):
        return True
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM):
        return True
    text = str(e).lower()
    return "out of memory" in text or "failed to allocate" in text or "cudaerrormemoryallocation" in text


def output_problem(e: BaseException, original: Path) -> str | None:
    """"no-space" or "read-only" when publishing failed because the folder cannot take files now (full, over
    quota, mounted read-only, its permissions changed), else None. An error about the original itself (a file we
    may not read) is not the folder's."""
    if not isinstance(e, OSError) or (e.filename is not None and Path(os.fsdecode(e.filename)) == original):
        return None
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no-space"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "read-only"
    return None


class Worker(threading.Thread):
    def __init__(self, index: int, engine: Engine, jobs: queue.Queue, budget: MemoryBudget, retry, report,
                 stop: threading.Event, truncated_retry_seconds: float = 120.0, lease_check=None,
                 lease_lost_since=None) -> None:
        super().__init__(name=f"worker-{index}", daemon=True)
        self.engine, self.jobs, self.budget = engine, jobs, budget
        self.lease_check = lease_check or (lambda: None)
        self.lease_lost_since = lease_lost_since or (lambda when: False)
        self.truncated_retry_seconds = truncated_retry_seconds
        self.retry, self.report, self.stop = retry, report, stop
        self.busy_since: float | None = None

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                if job is None:   # shutdown sentinel
                    return
                self.busy_since = time.monotonic()
                self.handle(job)
            except Exception as e:   # never die of a job, nor leave it in limbo: even a bug costs only a pause
                log.exception("unexpected error handling %s; trying again in %.0f s", getattr(job, "source", job),
                              OUTPUT_BACKOFF)
                if isinstance(job, Job):
                    job.blocked, job.reason = None, "internal"
                    job.errors.append(f"{type(e).__name__}: {e}")
                    self.report("retried", job, None, None, 0.0)
                    self.retry(job, OUTPUT_BACKOFF)
            finally:
                self.busy_since = None
                self.jobs.task_done()

    def handle(self, job: Job) -> None:
        try:
            if job.ready is None:
                if not os.path.lexists(job.claim.path) and self._resumed(job):
                    return
                self.work(job)
            if job.ready is not None:
                self.deliver(job)
        except ClaimLost as e:
            self.lost(job, str(e))

    def _resumed(self, job: Job) -> bool:
        """The claim is gone: an earlier attempt moved the original into a set it had named, then failed (a full
        disk) — finish that set; or someone removed the file — say so. True when the job is over."""
        for folder, outcome in ((job.inbox.output, "done"), (job.inbox.failed, "failed")):
            try:
                written = resume(folder, self.owner_dir(job).name, job.claim.relative)
            except Vanished:
                continue
            if written is not None:
                log.info("finished publishing %s as %s", job.source,
                         written.get(".json") or written.get(".error.json"))
                job.reason = ""
                self.report(outcome, job, None, written, time.time() - job.claim.claimed_at)
                return True
        self.gone(job)
        return True

    def gone(self, job: Job, while_: str = "") -> None:
        """The claimed file is not where we left it: a daemon that judged us dead took it over (ClaimLost: the
        job is the taker's now), or somebody removed it (vanished)."""
        self.lease_check()            # paused past our lease? then this refresh finds it lost
        taker = holders(job.claim.path, job.claim.relative)
        if taker or self.lease_lost_since(job.claim.claimed_at):
            # held by another daemon, or already finished by one: ours was judged dead since we claimed the file
            raise ClaimLost(f"our claim {job.claim.path} was taken over"
                            f"{' by ' + taker[0] if taker else ' (our lease was lost meanwhile)'}{while_}")
        self.vanished(job)

    def work(self, job: Job) -> None:
        """Read the file and make its set (job.ready), or schedule a retry."""
        job.attempts += 1
        path = job.claim.path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return self.gone(job)
        if not stat.S_ISREG(st.st_mode):
            kind = f"symlink to {os.readlink(path)}" if stat.S_ISLNK(st.st_mode) else "not a regular file"
            return self.fail(job, "NotARegularFile", f"refused: {kind} (never followed or read)", "not-a-file")
        reserved = 0
        document = None
        try:
            if st.st_size == 0:
                raise TruncatedImage("empty file (nothing written yet?)")
            # A PDF page is rendered no larger than the whole budget allows; the reservation is the largest page's
            # pixels, known from the headers (page sizes) before any page is decoded or rendered.
            runs = self.engine.parallel_runs
            options = self.engine.settings.document_options(memory_limit=self.budget.page_limit(runs),
                                                            pdf_text=job.inbox.pdf_text)
            document = open_document(path, options)
            reserved, ahead = reservation(document.max_page_pixels(), document.page_count,
                                          self.engine.settings.read_ahead, self.budget.budget, runs)
            if not self.budget.reserve(reserved, self.stop):
                reserved = 0
                return self.retry(job, 0.0)   # shutting down: stays claimed, recovered at next start
            t0 = time.perf_counter()
            ctx = process(path, self.engine, options=options, document=document, visualize=job.inbox.visualize,
                          read_ahead=ahead)
            result = ctx.result
            result["source"]["path"] = str(job.source)
            visualization = ctx.visualization
            del ctx
            t1 = time.perf_counter()
            started = time.time()
            files = self.formats(job.inbox, result, path, visualization)
            result["timings"]["formats"] = round(time.perf_counter() - t1, 4)
            log.debug("formats %s of %s written from %.3f to %.3f", ",".join(files) or "-", job.source, started,
                      time.time())
            files[".json"] = write_json(result)       # the set's commit marker: published last
            result["timings"]["run"] = round(t1 - t0, 4)
            job.ready = Ready("done", SetFiles(job.inbox.output, job.claim.relative, files, path,
                                               job.inbox.archive or job.inbox.output), result)
        except FileNotFoundError as e:
            if (e.filename is not None and Path(os.fsdecode(e.filename)) == path) or not os.path.lexists(path):
                return self.gone(job, f" while we read it ({type(e).__name__})")   # between the claim and the read
            self._error(job, e)
        except PermissionError as e:
            # Another user's 0600 file: the writer may still chmod it once done, so it gets the truncated file's
            # grace period; then it is quarantined (renamed: it can be neither linked nor copied).
            self._again_or_fail(job, e, within=self.truncated_retry_seconds, reason="permission")
        except TruncatedImage as e:
            self._again_or_fail(job, e, within=self.truncated_retry_seconds, reason=e.reason)
        except DecodeError as e:
            self.fail(job, type(e).__name__, str(e), e.reason)
        except Exception as e:
            if not os.path.lexists(path) and not self._staged(job):
                # The file went while we worked on it (the searchable PDF reads it again): taken over, or removed.
                return self.gone(job, f" while we worked on it ({type(e).__name__})")
            self._error(job, e)
        finally:
            if document is not None:
                document.close()
            if reserved:
                self.budget.release(reserved)

    def _error(self, job: Job, e: Exception) -> None:
        if _transient(e):
            self._again_or_fail(job, e, retries=TRANSIENT_RETRIES, reason="resources")
        else:
            self.fail(job, type(e).__name__, str(e), "internal")

    def deliver(self, job: Job) -> None:
        """Publish the job's set; a folder that is full or read-only makes it wait, however long that takes."""
        ready = job.ready
        key = "output" if ready.outcome == "done" else "failed"
        t0 = time.perf_counter()
        self.lease_check()     # paused past our lease? (the claim's rename in publish() decides in any case)
        try:
            written = publish(ready.files, self.owner_dir(job).name)
        except ClaimLost:
            raise
        except Vanished:
            job.ready = None
            return self.gone(job, " before it was published")
        except Exception as e:
            problem = output_problem(e, job.claim.path)
            if problem is not None:
                return self._wait_for_folder(job, key, problem, e)
            if ready.outcome == "done" and not named(ready.files.folder, self.owner_dir(job).name, job.claim.relative):
                job.ready = None                   # a plain error: handled like one while reading (retry, or fail)
                self._error(job, e)
                return self.deliver(job) if job.ready is not None else None
            # A quarantine, or a set already named (its original in staging), that fails for another reason: the
            # job stays as it is and is tried again, never dropped.
            job.errors.append(f"{type(e).__name__}: {e}")
            job.waits += 1
            job.reason = "internal"
            log.error("cannot publish %s to the %s folder (%s); trying again in %.0f s", job.source, key, e,
                      OUTPUT_BACKOFF)
            self.report("retried", job, None, None, 0.0)
            return self.retry(job, OUTPUT_BACKOFF)
        prune_parents(job.claim.path, self.owner_dir(job))
        if job.blocked is not None:
            log.info("%s: its %s folder takes files again", job.source, job.blocked[0])
        job.ready, job.blocked, job.reason = None, None, ready.reason
        if ready.result is not None:
            ready.result["timings"]["write"] = round(ready.result["timings"].get("formats", 0.0)
                                                     + time.perf_counter() - t0, 4)
        # ocrwatchd_job_seconds is claim -> written: queue and memory-budget waits are part of what users wait
        self.report(ready.outcome, job, ready.result, written, time.time() - job.claim.claimed_at)
        if ready.outcome == "done":
            log.info("done %s -> %s (%d pages, %d lines, %.1f s)", job.source, written[".json"],
                     len(ready.result["pages"]), ready.result["stats"]["lines"],
                     ready.result["timings"].pop("run", 0.0))
        else:
            log.warning("failed %s -> %s: %s", job.source, written[".error.json"], ready.message)

    def _wait_for_folder(self, job: Job, key: str, problem: str, e: OSError) -> None:
        first = job.blocked is None
        job.blocked, job.reason = (key, problem), problem
        job.waits += 1
        delay = min(OUTPUT_BACKOFF, 2.0 ** (job.waits - 1))
        # the condition itself is logged once per folder, as a warning (space.py); each job says why, once
        (log.info if first else log.debug)("%s: the %s folder cannot take its files (%s); waiting, next try in "
                                           "%.0f s", job.source, key, e, delay)
        self.report("retried", job, None, None, 0.0)
        self.retry(job, delay)

    def lost(self, job: Job, why: str) -> None:
        """Our claim or staging folder was taken over. If the claim is still ours after all (only a staging
        folder without a manifest was taken), the job simply runs again shortly; else it is the taker's now."""
        job.ready = None
        if os.path.lexists(job.claim.path):
            log.info("%s: %s; our claim is still here: running it again", job.source, why)
            return self.retry(job, 1.0)
        log.warning("gave up %s to the daemon that took it over: %s", job.source, why)
        self.report("lost", job, None, None, 0.0)

    def _staged(self, job: Job) -> bool:
        """Does a staging folder of ours hold this job's set (its original already moved there)?"""
        token = job_token(self.owner_dir(job).name, job.claim.relative)
        return any((folder / STAGING / token).is_dir() for folder in (job.inbox.output, job.inbox.failed))

    def vanished(self, job: Job) -> None:
        job.ready, job.blocked, job.reason = None, None, "vanished"
        log.warning("%s was removed after it was claimed, before it was published: nothing to publish",
                    job.source)
        prune_parents(job.claim.path, self.owner_dir(job))
        self.report("failed", job, None, None, 0.0)

    def _again_or_fail(self, job: Job, e: Exception, retries: int | None = None, within: float | None = None,
                       reason: str = "internal") -> None:
        """Retry with exponential backoff while allowed (by attempts or by time since first seen), else fail."""
        job.errors.append(f"{type(e).__name__}: {e}")
        delay = min(MAX_BACKOFF, 2.0 ** (job.attempts - 1))
        again = job.attempts <= retries if retries is not None else time.time() + delay - job.first_seen <= within
        if again:
            log.warning("%s: %s; retrying in %.0f s (attempt %d)", job.source, e, delay, job.attempts)
            job.reason = reason
            self.report("retried", job, None, None, 0.0)
            self.retry(job, delay)
        else:
            self.fail(job, type(e).__name__, f"{e} (gave up after {job.attempts} attempts)", reason)

    @staticmethod
    def formats(inbox: InboxConfig, result: dict, original: Path, visualization: bytes | None) -> dict[str, bytes]:
        """Every format the inbox asks for but the JSON, by file suffix, in the order they are published."""
        files: dict[str, bytes] = {}
        for name in inbox.formats:
            if name == "json":
                continue
            fmt = FORMATS[name]
            # with an archive folder, the searchable PDF takes the original's name: scan.jpg → scan.pdf
            suffix = ".pdf" if name == "pdf" and inbox.archive is not None else fmt.suffix
            files[suffix] = fmt.write(result, original)
        if visualization:
            files[".boxes.jpg"] = visualization
        return files

    @staticmethod
    def owner_dir(job: Job) -> Path:
        parts = job.claim.path.parts
        return Path(*parts[: len(parts) - len(job.claim.relative.parts)])

    def fail(self, job: Job, kind: str, message: str, reason: str) -> None:
        """Make the quarantine set (the original and NAME.error.json for the failed folder); deliver() publishes
        it. reason is a short fixed name (FAILED_REASONS: DecodeError.reason: encrypted, truncated, too-large…;
        not-a-file, permission, resources, internal)."""
        reason = reason if reason in FAILED_REASONS else "internal"
        doc = {
            "schema": "ocrwatchd-error/1", "ocrwatchd_version": __version__,
            "source": str(job.source), "error": {"type": kind, "reason": reason, "message": message},
            "attempts": job.attempts, "earlier_errors": job.errors,
            "first_seen": datetime.fromtimestamp(job.first_seen, timezone.utc).isoformat(timespec="seconds"),
            "failed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        job.ready = Ready("failed", SetFiles(job.inbox.failed, job.claim.relative, {".error.json": write_json(doc)},
                                             job.claim.path, job.inbox.failed), reason=reason,
                          message=f"{kind}: {message}")
