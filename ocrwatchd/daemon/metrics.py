"""Prometheus metrics and the /metrics + /healthz endpoint: thin glue over prometheus-client.

Names follow Prometheus conventions (namespace ocrwatchd_, base units, _total counters). Process RSS comes from
prometheus-client's standard process collector (process_resident_memory_bytes). GPU memory is exported only
where NVML (nvidia-ml-py) is importable and finds a device: an absent metric, never a fake 0, on CPU hosts.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics,
                               make_wsgi_app)
from prometheus_client.core import GaugeMetricFamily

from .. import __version__

log = logging.getLogger("ocrwatchd.metrics")
disable_created_metrics()   # *_created series double the scrape for nothing a dashboard uses

STAGES = ("settle", "decode", "render", "detect", "orientation", "recognize", "marks", "formats", "write")
# The reason label of ocrwatchd_files_total: "" for done; for failed and retried the worker's short reasons
# (worker.FAILED_REASONS / RETRIED_REASONS, the same names error.json carries): a fixed, documented set.
SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300, 600)


class Metrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        ns = "ocrwatchd"
        self.registry = registry
        self.files = Counter("files", "Files finished, by inbox, outcome (done, failed, retried) and reason (why it "
                             "failed or was retried: unsupported, truncated, too-large, no-space…; empty for done)",
                             ["inbox", "outcome", "reason"], namespace=ns, registry=registry)
        self.pages = Counter("pages", "Pages processed", namespace=ns, registry=registry)
        self.lines = Counter("lines", "Text lines found", namespace=ns, registry=registry)
        self.tiles = Counter("tiles", "Detector tiles run", namespace=ns, registry=registry)
        self.pixels = Counter("pixels", "Image pixels processed", namespace=ns, registry=registry)
        self.stage = Histogram("stage_seconds", "Time per pipeline stage", ["stage"], namespace=ns,
                               registry=registry, buckets=SECONDS)
        self.model = Counter("model_seconds", "Seconds inside the models (session.run), summed over workers: "
                             "rate() over rate(stage_seconds_sum) is the share of the work the models do",
                             namespace=ns, registry=registry)
        self.job = Histogram("job_seconds", "Time per file, claim to written", namespace=ns, registry=registry,
                             buckets=SECONDS)
        self.queue_depth = Gauge("queue_depth", "Jobs waiting in the bounded queue", namespace=ns, registry=registry)
        self.queue_capacity = Gauge("queue_capacity", "Size of the bounded queue", namespace=ns, registry=registry)
        self.inflight = Gauge("inflight_jobs", "Jobs being processed by workers", namespace=ns, registry=registry)
        self.workers = Gauge("workers", "Worker threads alive", namespace=ns, registry=registry)
        self.budget = Gauge("memory_budget_bytes", "Memory budget for jobs in flight", namespace=ns,
                            registry=registry)
        self.reserved = Gauge("memory_reserved_bytes", "Memory reserved by jobs in flight", namespace=ns,
                              registry=registry)
        self.janitor = Counter("janitor_removed", "Files removed by the janitor, by kind", ["kind"], namespace=ns,
                               registry=registry)
        self.rescans = Counter("rescans", "Scan passes over the inboxes, by why they were started (start, periodic, "
                               "overflow: inotify lost events, folder: a folder appeared, backlog: events dropped "
                               "for a full window, reload)", ["reason"], namespace=ns, registry=registry)
        self.takeovers = Counter("takeovers", "Taken over from dead daemons (claim, set: a half-published set "
                                 "finished) or given up to another daemon that took them (lost)", ["kind"],
                                 namespace=ns, registry=registry)
        self.queue_max = Gauge("queue_depth_max", "The deepest the bounded queue has been since start",
                               namespace=ns, registry=registry)
        self.candidates = Gauge("candidates", "Files being watched for settling (a bounded window over the inbox)",
                                namespace=ns, registry=registry)
        self.lease_lost = Counter("lease_lost", "Times our lease was found expired or removed when we refreshed "
                                  "it (paused, stalled, cut off from the file server)", namespace=ns,
                                  registry=registry)
        for r in ("start", "periodic", "overflow", "folder", "backlog", "reload"):
            self.rescans.labels(r)
        for k in ("claim", "set", "lost"):
            self.takeovers.labels(k)
        self.last_success = Gauge("last_success_timestamp_seconds", "Unix time of the last file done, per inbox",
                                  ["inbox"], namespace=ns, registry=registry)
        self.build = Gauge("build_info", "Version, detector model and execution provider (value 1)",
                           ["version", "model", "provider"], namespace=ns, registry=registry)
        for s in STAGES:
            self.stage.labels(s)
        self.outputs = OutputCollector(lambda: [], lambda: {})
        registry.register(self.outputs)
        gpu = GpuCollector.create()
        if gpu is not None:
            registry.register(gpu)

    def set_build(self, model: str, provider: str) -> None:
        self.build.labels(__version__, model, provider).set(1)

    def add_inbox(self, inbox: str) -> None:
        """Series exist (at 0) before the first file, so rate() and ratios work from the start."""
        from .worker import FAILED_REASONS, RETRIED_REASONS

        self.files.labels(inbox, "done", "")
        for reason in FAILED_REASONS:
            self.files.labels(inbox, "failed", reason)
        for reason in RETRIED_REASONS:
            self.files.labels(inbox, "retried", reason)

    def add_outputs(self, folders, waits) -> None:
        """ocrwatchd_output_free_bytes and ocrwatchd_output_blocked_jobs, read at scrape time: folders() gives
        (inbox, folder key, path) for every output, failed and archive folder; waits() (inbox, key) → jobs."""
        self.outputs.folders, self.outputs.waits = folders, waits

    def job_done(self, inbox: str, result: dict, seconds: float, settle: float | None, when: float) -> None:
        self.files.labels(inbox, "done", "").inc()
        self.pages.inc(len(result["pages"]))
        self.lines.inc(sum(len(p["lines"]) for p in result["pages"]))
        self.tiles.inc(result["stats"]["tiles"])
        self.pixels.inc(result["stats"]["pixels"])
        t = result["timings"]
        for s in STAGES[1:]:       # settle is observed below, from the job
            if s in t:
                self.stage.labels(s).observe(t[s])
        self.model.inc(t.get("model", 0.0))
        if settle is not None:
            self.stage.labels("settle").observe(settle)
        self.job.observe(seconds)
        self.last_success.labels(inbox).set(when)


class GpuCollector:
    """ocrwatchd_gpu_memory_{used,total}_bytes{device} from NVML, read at scrape time."""

    def __init__(self, nvml, count: int) -> None:
        self.nvml, self.count = nvml, count

    @classmethod
    def create(cls) -> GpuCollector | None:
        try:
            import pynvml as nvml   # nvidia-ml-py
            nvml.nvmlInit()
            count = nvml.nvmlDeviceGetCount()
        except Exception:           # no package, no driver, no device: no metric
            return None
        return cls(nvml, count) if count else None

    def collect(self):
        used = GaugeMetricFamily("ocrwatchd_gpu_memory_used_bytes", "GPU memory in use (NVML)", labels=["device"])
        total = GaugeMetricFamily("ocrwatchd_gpu_memory_total_bytes", "GPU memory size (NVML)", labels=["device"])
        for i in range(self.count):
            try:
                info = self.nvml.nvmlDeviceGetMemoryInfo(self.nvml.nvmlDeviceGetHandleByIndex(i))
            except Exception:
                continue
            used.add_metric([str(i)], info.used)
            total.add_metric([str(i)], info.total)
        yield used
        yield total


class OutputCollector:
    """Free space of each output folder's filesystem (os.statvfs at scrape time: what an unprivileged writer may
    still use) and how many jobs wait for a folder that is full or read-only."""

    def __init__(self, folders, waits) -> None:
        self.folders, self.waits = folders, waits

    def collect(self):
        free = GaugeMetricFamily("ocrwatchd_output_free_bytes", "Bytes free for the daemon on the filesystem of "
                                 "each output, failed and archive folder", labels=["inbox", "folder"])
        blocked = GaugeMetricFamily("ocrwatchd_output_blocked_jobs", "Jobs whose finished set waits because its "
                                    "folder is full or read-only (claiming from that inbox is paused meanwhile)",
                                    labels=["inbox", "folder"])
        waits = self.waits()
        for inbox, key, path in self.folders():
            try:
                st = os.statvfs(path)
            except OSError:             # the folder is gone: no sample rather than a made-up one
                pass
            else:
                free.add_metric([inbox, key], st.f_bavail * st.f_frsize)
            blocked.add_metric([inbox, key], waits.get((inbox, key), 0))
        yield free
        yield blocked


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):   # a scrape every few seconds would flood the journal
        pass


class MetricsServer:
    """GET /metrics (prometheus-client's WSGI app: text or OpenMetrics as the scraper asks, gzip when accepted) and
    GET /healthz (200 when healthy() is true, else 503), on an IPv4 or IPv6 address ("[::1]:9464")."""

    def __init__(self, listen: str, registry: CollectorRegistry, healthy) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        # The socket's family must match the address: a plain HTTP server is AF_INET and cannot bind "::1".
        family = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

        class Server(ThreadingMixIn, WSGIServer):
            address_family = family
            daemon_threads = True   # a stuck scraper must not hold up shutdown

        metrics_app = make_wsgi_app(registry)

        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                return metrics_app(environ, start_response)
            if path == "/healthz":
                ok = healthy()
                status, body = ("200 OK", b"ok\n") if ok else ("503 Service Unavailable", b"unhealthy\n")
            else:
                status, body = "404 Not Found", b"not found\n"
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]

        self.httpd = make_server(host, int(port), app, server_class=Server, handler_class=_QuietHandler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
