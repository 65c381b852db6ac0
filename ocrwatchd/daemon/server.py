"""The daemon process: one Server object with startup / main_loop / shutdown (after uvicorn's server.py).

Signal handlers only set flags. The main loop is the single producer: it collects candidates (watchdog events
plus incremental scans, into a bounded window: intake.Candidates), settles them, claims a file only when the
bounded queue has room (a full queue leaves files untouched in the inbox: backpressure without loss), re-queues
retries when due, and refreshes this daemon's leases and takes over what dead daemons left (lease.py,
takeover.py).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import queue
import signal
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector

from ..config import Config, ConfigError, InboxConfig, check_folders, load_config
from ..pipeline import Engine
from ..engine.session import CUDA, available_cores
from .budget import MemoryBudget
from .claims import claim, owner_name
from .intake import Candidates, Settler
from .janitor import Janitor
from .lease import Leases
from .takeover import take_over
from .watch import NETWORK_FS, filesystem_type, folder_identity, start_observer, watch_again
from .metrics import Metrics, MetricsServer
from .sdnotify import Notifier
from .space import OutputWaits
from .worker import Job, Worker

log = logging.getLogger("ocrwatchd")

class Server:
    def __init__(self, config: Config, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.should_exit = threading.Event()
        self.exit_code = 0
        self.owner = owner_name()
        self.jobs: queue.Queue = queue.Queue(maxsize=config.queue.size)
        self.budget = MemoryBudget(config.memory_budget_mb << 20)
        self.settler = Settler(config.settle_seconds)
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)     # process_resident_memory_bytes and friends
        self.metrics = Metrics(self.registry)
        # The window of files looked at: what the queue can take, twice, plus a margin (intake.Candidates).
        window = 2 * (config.queue.size + config.workers.count) + 16
        self.candidates = Candidates(config.inboxes, self.settler, window,
                                     counted=lambda reason: self.metrics.rescans.labels(reason).inc())
        self.leases = Leases(self.owner, [i.path for i in config.inboxes], config.lease_seconds)
        self._lease_lock = threading.Lock()
        self.queue_max = 0                                    # the deepest the queue has been
        self.pending: list[Job] = []                          # claimed, waiting for queue room (taken over)
        self.retries: list[tuple[float, int, Job]] = []       # (due, seq, job)
        self.retries_lock = threading.Lock()
        self.seq = itertools.count()
        self.workers: list[Worker] = []
        self.observers = []
        self.counts = {"done": 0, "failed": 0, "retried": 0, "lost": 0}
        self.waits = OutputWaits()          # jobs whose output folder is full or read-only (space.py)
        self.watched: dict[int, tuple] = {}  # inbox index → (observer, the folder's (st_dev, st_ino))
        self.metrics_server: MetricsServer | None = None
        self.notifier = Notifier()
        self.reload_requested = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def run(self) -> int:
        self.install_signal_handlers()
        self.startup()
        try:
            self.main_loop()
        finally:
            self.shutdown()
        return self.exit_code

    def install_signal_handlers(self) -> None:
        def handle(signum, _frame):
            log.info("received %s: stopping intake, finishing in-flight jobs", signal.Signals(signum).name)
            self.should_exit.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, handle)
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())

    def startup(self) -> None:
        cfg = self.config
        check_folders(cfg)
        # Bind the metrics port first: a taken port is a one-line error before minutes of model loading.
        try:
            self.metrics_server = MetricsServer(cfg.metrics.listen, self.registry, self.healthy)
        except (OSError, ValueError) as e:
            raise ConfigError(f"metrics.listen: cannot listen on {cfg.metrics.listen}: "
                              f"{getattr(e, 'strerror', None) or e}") from None
        # On the CPU one engine serves every worker: its sessions are stateless and ONNX Runtime runs a session
        # from several threads at once, each run on its caller's thread (threads each). A copy per worker cost
        # ~45 MB and ~0.6 s of start-up per extra worker and bought no speed (README "Speed"). On CUDA each worker
        # keeps its own: a session's kernels go to its one CUDA stream, and two workers' should overlap, not queue.
        threads = max(1, available_cores() // cfg.workers.count)
        settings = cfg.engine.model_copy(update={"threads": cfg.engine.threads or threads})
        engine = Engine(settings)
        log.info("%d workers, detector %s on %s, queue %d, memory budget %d MB", cfg.workers.count,
                 engine.model_info["name"], engine.provider, cfg.queue.size, cfg.memory_budget_mb)
        for i in range(cfg.workers.count):
            if i and engine.provider == CUDA:
                engine = Engine(settings)
            w = Worker(i, engine, self.jobs, self.budget, self.schedule_retry, self.report, self.should_exit,
                       cfg.truncated_retry_seconds, lease_check=self.lease_check,
                       lease_lost_since=self.lease_lost_since)
            self.workers.append(w)
        # Our lease goes into every inbox before our first claim there; then what dead daemons left is ours.
        if not self.refresh_lease():
            raise ConfigError("cannot write our lease into every inbox's state folder (see the error above)")
        log.info("owner %s, lease %g s refreshed every %g s", self.owner, cfg.lease_seconds,
                 cfg.lease_refresh_seconds)
        self.take_over()
        for inbox_index, inbox in enumerate(cfg.inboxes):
            self.start_observer(inbox_index, inbox)
        for w in self.workers:
            w.start()
        self.start_metrics()
        self.candidates.ask("start")
        self.feed()
        # Only now: models are loaded and the startup scan is queued.
        self.notifier.ready(self.status_text())

    def start_metrics(self) -> None:
        m, cfg = self.metrics, self.config
        m.set_build(self.workers[0].engine.model_info["name"], self.workers[0].engine.provider)
        for inbox in cfg.inboxes:
            m.add_inbox(str(inbox.path))
        m.queue_capacity.set(cfg.queue.size)
        m.queue_depth.set_function(self.jobs.qsize)
        m.workers.set_function(lambda: sum(w.is_alive() for w in self.workers))
        m.inflight.set_function(lambda: sum(w.busy_since is not None for w in self.workers))
        m.budget.set(self.budget.budget)
        m.reserved.set_function(lambda: self.budget.reserved)
        m.queue_max.set_function(lambda: self.queue_max)
        m.candidates.set_function(lambda: len(self.candidates))
        m.add_outputs(lambda: [(str(i.path), key, path) for i in self.config.inboxes for key, path in i.folders],
                      self.waits.counts)
        self.metrics_server.start()
        log.info("metrics on http://%s/metrics, health on /healthz", cfg.metrics.listen)

    def start_observer(self, index: int, inbox: InboxConfig) -> None:
        poll = inbox.poll if inbox.poll is not None else filesystem_type(inbox.path) in NETWORK_FS
        observer = start_observer(inbox.path, inbox.recursive, poll,
                                  on_path=lambda path: self.candidates.event(index, path),
                                  on_folder=lambda folder: self.candidates.folder(index, folder),
                                  on_overflow=self.overflowed)
        self.observers.append(observer)
        self.watched[index] = (observer, folder_identity(inbox.path))
        log.info("watching %s (%s)", inbox.path, "polling" if poll else "inotify")

    def rewatch(self, index: int, inbox: InboxConfig) -> None:
        """An inbox folder deleted (and maybe made again) ends its inotify watch for good, while the observer
        thread lives on: watch the folder again once it exists, so events — not only the rescan — find its files."""
        observer, identity = self.watched.get(index, (None, None))
        now = folder_identity(inbox.path)
        if observer is None or now == identity and all(e.is_alive() for e in observer.emitters):
            return
        if now is None:
            if identity is not None:
                log.warning("inbox %s is gone; watching it again when it is back", inbox.path)
                self.watched[index] = (observer, None)
            return
        watch_again(observer, inbox.path, inbox.recursive)
        self.watched[index] = (observer, now)
        self.candidates.ask("folder")   # files that came between the folder's return and the new watch
        log.warning("inbox %s is a new folder (deleted and made again): watching it again", inbox.path)

    def overflowed(self) -> None:
        """inotify lost events (watcher thread): scan now."""
        log.warning("inotify queue overflowed (more than fs.inotify.max_queued_events events unread): rescanning")
        self.candidates.ask("overflow")

    def shutdown(self) -> None:
        self.notifier.stopping()
        for o in self.observers:
            o.stop()
        if self.metrics_server is not None and self.metrics_server.thread.is_alive():
            self.metrics_server.stop()
        # Jobs still queued stay claimed and are recovered at the next start; in-flight ones may finish.
        drained = 0
        while True:
            try:
                job = self.jobs.get_nowait()
                self.jobs.task_done()
                if job is not None:
                    drained += 1
            except queue.Empty:
                break
        for _ in self.workers:
            self.jobs.put(None)
        deadline = time.monotonic() + self.config.shutdown_timeout_seconds
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
        busy = [w.name for w in self.workers if w.is_alive()]
        if not busy:
            # Nothing of ours is half-done: the lease goes. Our queued claims stay where they are: a daemon of this
            # host takes them at its start (our pid is gone), one of another host once it has seen them without a
            # lease for lease_seconds. With a job still running, the lease is left to expire, so that whoever
            # takes over also finishes the set that job may have left half-published.
            self.leases.release()
        log.info("stopped (%d done, %d failed, %d given up to daemons that took them over; %d queued jobs left "
                 "claimed%s)", self.counts["done"], self.counts["failed"], self.counts["lost"],
                 drained + len(self.pending), f"; still busy: {busy}" if busy else "")

    # -- the loop --------------------------------------------------------------------------------------------
    def main_loop(self) -> None:
        cfg = self.config
        next_rescan = time.monotonic() + cfg.rescan_seconds
        next_lease = time.monotonic() + cfg.lease_refresh_seconds
        janitor = Janitor(cfg)
        next_janitor = time.monotonic()
        next_ping = next_status = next_rewatch = time.monotonic()
        while not self.should_exit.is_set():
            now = time.monotonic()
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            if self.notifier.watchdog_interval and now >= next_ping:
                if self.alive():     # only while the work really progresses: a hung worker gets us restarted
                    self.notifier.watchdog()
                next_ping = now + self.notifier.watchdog_interval
            if now >= next_status:
                self.notifier.status(self.status_text())
                next_status = now + 5.0
            if now >= next_rewatch:      # an inbox deleted and made again needs a new watch (rewatch)
                for index, inbox in enumerate(self.config.inboxes):
                    self.rewatch(index, inbox)
                next_rewatch = now + 1.0
            if now >= next_rescan:
                self.candidates.ask("periodic")
                next_rescan = now + cfg.rescan_seconds
            if now >= next_lease and self.healthy():
                # The lease says "this daemon's loop runs". A hung job does not stop it: the job timeout and the
                # systemd watchdog deal with that (restart); stopping the lease would only make others take over
                # the claims our other workers are busy with.
                self.refresh_lease()        # an inbox whose refresh failed judges nobody by lease (lease.py)
                self.take_over()
                next_lease = now + cfg.lease_refresh_seconds
            if now >= next_janitor:
                for kind, n in janitor.run().items():
                    if n:
                        self.metrics.janitor.labels(kind).inc(n)
                next_janitor = now + cfg.janitor.interval_seconds
            self.feed()
            if not self.healthy():
                dead = [t for t in [*self.observers, *self.workers] if not t.is_alive()]
                log.error("a watcher or worker thread died (%s): exiting so the service manager restarts us", dead)
                self.exit_code = 1
                break
            self.should_exit.wait(0.25)

    def healthy(self) -> bool:
        """Observers and workers alive (also what /healthz answers)."""
        return bool(self.workers) and all(t.is_alive() for t in [*self.observers, *self.workers])

    def alive(self) -> bool:
        """Healthy and no worker stuck on one job past job_timeout_seconds."""
        limit = self.config.job_timeout_seconds
        now = time.monotonic()
        hung = [w.name for w in self.workers if w.busy_since is not None and now - w.busy_since > limit]
        if hung and not getattr(self, "_hung_logged", False):
            log.error("worker(s) %s stuck on one job for over %.0f s: watchdog pings stop", hung, limit)
            self._hung_logged = True
        return self.healthy() and not hung

    def status_text(self) -> str:
        waiting = self.waits.total()
        return (f"queue {self.jobs.qsize()}/{self.config.queue.size}, done {self.counts['done']}, "
                f"failed {self.counts['failed']}" + (f", {waiting} waiting for output space" if waiting else ""))

    def reload(self) -> None:
        """SIGHUP: apply what can change live (log level, settle time, inbox list, timings); say what needs a restart."""
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
            check_folders(new)
        except (ConfigError, OSError) as e:
            log.error("reload refused, keeping the running configuration: %s", e)
            self.notifier.ready(self.status_text())
            return
        old = self.config
        needs_restart = [k for k in ("workers", "queue", "engine", "metrics", "memory_budget_mb", "lease_seconds",
                                     "lease_refresh_seconds")
                         if getattr(old, k) != getattr(new, k)]
        logging.getLogger().setLevel(new.log_level)
        self.settler.settle_seconds = new.settle_seconds
        old_paths = {i.path for i in old.inboxes}
        self.config = new.model_copy(update={k: getattr(old, k) for k in needs_restart})
        for o in self.observers:
            o.stop()
        self.observers = []
        self.watched = {}
        self.candidates.reset(self.config.inboxes)
        if {i.path for i in self.config.inboxes} != old_paths:
            self.leases.set_inboxes([i.path for i in self.config.inboxes])
        for index, inbox in enumerate(self.config.inboxes):
            if inbox.path not in old_paths:
                self.metrics.add_inbox(str(inbox.path))
            self.start_observer(index, inbox)
        self.candidates.ask("reload")
        if needs_restart:
            log.warning("reloaded; these changes need a restart to take effect: %s", ", ".join(needs_restart))
        else:
            log.info("reloaded")
        self.notifier.ready(self.status_text())

    def take_over(self) -> None:
        """Finish the sets and take the claims dead daemons left, in every inbox (after a lease refresh)."""
        for inbox in self.config.inboxes:
            try:
                sets, claims = take_over(inbox, self.owner, self.leases)
            except OSError as e:        # an unreachable inbox must not stop the others (or the loop)
                log.error("taking over in %s: %s", inbox.path, e)
                continue
            if sets:
                self.metrics.takeovers.labels("set").inc(sets)
            if claims:
                self.metrics.takeovers.labels("claim").inc(len(claims))
            self.pending.extend(Job(c, inbox) for c in claims)

    def lease_check(self) -> None:
        """Before a worker publishes: were we paused or stalled past our lease? Then refresh it now (others may
        have taken some of our claims meanwhile: each claim's rename decides, and the worker finds out)."""
        if self.leases.overdue():
            log.warning("our lease was not refreshed for over %g s (paused? stalled?): refreshing it before "
                        "publishing", self.config.lease_seconds)
            self.refresh_lease()

    def lease_lost_since(self, when: float) -> bool:
        """Was our lease found expired or removed at or after this wall time (others may have taken our claims)?"""
        return self.leases.lost_at is not None and self.leases.lost_at >= when

    def refresh_lease(self) -> bool:
        """Refresh our leases (main loop; a worker whose publish finds it overdue), counting a lost lease."""
        with self._lease_lock:
            before = self.leases.lost
            ok = self.leases.refresh()
            if self.leases.lost > before:
                self.metrics.lease_lost.inc(self.leases.lost - before)
            return ok

    def feed(self) -> None:
        """Move work into the queue while it has room: pending takeovers, due retries, settled files."""
        while self.pending and self._put(self.pending[0]):
            self.pending.pop(0)
        now = time.monotonic()
        with self.retries_lock:
            while self.retries and self.retries[0][0] <= now and not self.jobs.full():
                _, _, job = heapq.heappop(self.retries)
                self._put(job)
        if self.should_exit.is_set():
            return
        # Bounded work per tick whatever the backlog: the window is topped up (events, the scan pass) and at
        # most as many files are claimed as the queue has room for.
        self.candidates.top_up()
        room = self.config.queue.size - self.jobs.qsize()
        if room <= 0:
            return   # backpressure: the files stay in the inbox untouched
        # an inbox whose output folder is full or read-only claims nothing: its files wait in the inbox (space.py)
        paused = {i for i, inbox in enumerate(self.config.inboxes) if self.waits.paused(str(inbox.path))}
        for index, path, settled in self.candidates.ready(room, skip=paused):
            inbox = self.config.inboxes[index]
            c = claim(inbox.path, path, self.owner)
            if c is not None:
                self._put(Job(c, inbox, settle_seconds=settled))

    def _put(self, job: Job) -> bool:
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            return False
        depth = self.jobs.qsize()
        self.queue_max = max(self.queue_max, depth)
        log.debug("queued %s (queue depth %d/%d)", job.source, depth, self.config.queue.size)
        return True

    # -- callbacks from workers ------------------------------------------------------------------------------
    def schedule_retry(self, job: Job, delay: float) -> None:
        with self.retries_lock:
            heapq.heappush(self.retries, (time.monotonic() + delay, next(self.seq), job))

    def report(self, outcome: str, job: Job, result: dict | None, written, seconds: float) -> None:
        self.counts[outcome] += 1
        self.waits.update(job)
        if outcome == "lost":
            self.metrics.takeovers.labels("lost").inc()
            return
        inbox = str(job.inbox.path)
        if outcome == "done" and result is not None:
            self.metrics.job_done(inbox, result, seconds, job.settle_seconds, time.time())
        else:
            self.metrics.files.labels(inbox, outcome, "" if outcome == "done" else job.reason).inc()
