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
from .budget import MemoryBudget, page_bytes
from ..outputs import FORMATS, write_json
from .claims import Claim, prune_parents
from .publish import STAGING, ClaimLost, SetFiles, job_token, publish, resume

log = logging.getLogger("ocrwatchd.worker")

TRANSIENT_RETRIES = 3      # out of memory, disk full: retried a few times with backoff first
MAX_BACKOFF = 30.0


@dataclass
class Job:
    claim: Claim
    inbox: InboxConfig
    attempts: int = 0
    first_seen: float = field(default_factory=time.time)
    errors: list[str] = field(default_factory=list)
    settle_seconds: float | None = None   # how long the file was watched before it was claimed

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


class Worker(threading.Thread):
    def __init__(self, index: int, engine: Engine, jobs: queue.Queue, budget: MemoryBudget, retry, report,
                 stop: threading.Event, truncated_retry_seconds: float = 120.0, lease_check=None) -> None:
        super().__init__(name=f"worker-{index}", daemon=True)
        self.engine, self.jobs, self.budget = engine, jobs, budget
        self.lease_check = lease_check or (lambda: None)
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
            except Exception:     # never die of a job: even a bug in handle() only costs that job
                log.exception("unexpected error handling %s", getattr(job, "source", job))
            finally:
                self.busy_since = None
                self.jobs.task_done()

    def handle(self, job: Job) -> None:
        try:
            self._handle(job)
        except ClaimLost as e:
            self.lost(job, str(e))

    def _handle(self, job: Job) -> None:
        job.attempts += 1
        path = job.claim.path
        if not os.path.lexists(path):
            # An earlier attempt already moved the original into a set it had named, then failed (a full disk):
            # finish publishing that set rather than lose the job.
            for folder, outcome in ((job.inbox.output, "done"), (job.inbox.failed, "failed")):
                written = resume(folder, self.owner_dir(job).name, job.claim.relative)
                if written is not None:
                    log.info("finished publishing %s as %s", job.source,
                             written.get(".json") or written.get(".error.json"))
                    return self.report(outcome, job, None, written, time.time() - job.claim.claimed_at)
            raise ClaimLost(f"our claim {path} is gone")
        st = os.lstat(path)
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
            options = self.engine.settings.document_options(memory_limit=self.budget.page_limit(),
                                                            pdf_text=job.inbox.pdf_text)
            document = open_document(path, options)
            reserved = page_bytes(document.max_page_pixels())
            if not self.budget.reserve(reserved, self.stop):
                reserved = 0
                return self.retry(job, 0.0)   # shutting down: stays claimed, recovered at next start
            t0 = time.perf_counter()
            ctx = process(path, self.engine, options=options, document=document, visualize=job.inbox.visualize)
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
            self.lease_check()     # paused past our lease? (the claim's rename in publish() decides in any case)
            written = publish(SetFiles(job.inbox.output, job.claim.relative, files, path,
                                       job.inbox.archive or job.inbox.output), self.owner_dir(job).name)
            prune_parents(path, self.owner_dir(job))
            result["timings"]["write"] = round(time.perf_counter() - t1, 4)
            # ocrwatchd_job_seconds is claim -> written: queue and memory-budget waits are part of what users wait
            self.report("done", job, result, written, time.time() - job.claim.claimed_at)
            log.info("done %s -> %s (%d pages, %d lines, %.1f s)", job.source, written[".json"], len(result["pages"]),
                     result["stats"]["lines"], time.perf_counter() - t0)
        except ClaimLost:
            raise
        except Exception as e:
            if not os.path.lexists(path) and not self._staged(job):
                # The file went while we worked on it (the searchable PDF reads it again): a daemon that judged
                # us dead took the claim over. Not this file's error: no retry, no quarantine.
                raise ClaimLost(f"our claim {path} was taken while we worked on it ({type(e).__name__})") from None
            if isinstance(e, TruncatedImage):
                self._again_or_fail(job, e, within=self.truncated_retry_seconds, reason=e.reason)
            elif isinstance(e, DecodeError):
                self.fail(job, type(e).__name__, str(e), e.reason)
            elif _transient(e):
                self._again_or_fail(job, e, retries=TRANSIENT_RETRIES, reason="resources")
            else:
                self.fail(job, type(e).__name__, str(e), "internal")
        finally:
            if document is not None:
                document.close()
            if reserved:
                self.budget.release(reserved)

    def _again_or_fail(self, job: Job, e: Exception, retries: int | None = None, within: float | None = None,
                       reason: str = "internal") -> None:
        """Retry with exponential backoff while allowed (by attempts or by time since first seen), else fail."""
        job.errors.append(f"{type(e).__name__}: {e}")
        delay = min(MAX_BACKOFF, 2.0 ** (job.attempts - 1))
        again = job.attempts <= retries if retries is not None else time.time() + delay - job.first_seen <= within
        if again:
            log.warning("%s: %s; retrying in %.0f s (attempt %d)", job.source, e, delay, job.attempts)
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

    def lost(self, job: Job, why: str) -> None:
        """Our claim or staging folder was taken over. If the claim is still ours after all (only a staging
        folder without a manifest was taken), the job simply runs again shortly; else it is the taker's now."""
        if os.path.lexists(job.claim.path):
            log.info("%s: %s; our claim is still here: running it again", job.source, why)
            return self.retry(job, 1.0)
        log.warning("gave up %s to the daemon that took it over: %s", job.source, why)
        self.report("lost", job, None, None, 0.0)

    def _staged(self, job: Job) -> bool:
        """Does a staging folder of ours hold this job's set (its original already moved there)?"""
        token = job_token(self.owner_dir(job).name, job.claim.relative)
        return any((folder / STAGING / token).is_dir() for folder in (job.inbox.output, job.inbox.failed))

    @staticmethod
    def owner_dir(job: Job) -> Path:
        parts = job.claim.path.parts
        return Path(*parts[: len(parts) - len(job.claim.relative.parts)])

    def fail(self, job: Job, kind: str, message: str, reason: str) -> None:
        """Quarantine: the original and NAME.error.json in the failed folder. reason is a short fixed name
        (DecodeError.reason: encrypted, truncated, too-large…; not-a-file, resources, internal)."""
        doc = {
            "schema": "ocrwatchd-error/1", "ocrwatchd_version": __version__,
            "source": str(job.source), "error": {"type": kind, "reason": reason, "message": message},
            "attempts": job.attempts, "earlier_errors": job.errors,
            "first_seen": datetime.fromtimestamp(job.first_seen, timezone.utc).isoformat(timespec="seconds"),
            "failed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        written = publish(SetFiles(job.inbox.failed, job.claim.relative, {".error.json": write_json(doc)},
                                   job.claim.path, job.inbox.failed), self.owner_dir(job).name)
        prune_parents(job.claim.path, self.owner_dir(job))
        self.report("failed", job, None, written, 0.0)
        log.warning("failed %s -> %s: %s: %s", job.source, written[".error.json"], kind, message)
