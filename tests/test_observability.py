"""Metrics exist with help texts and move as files flow; the dashboard and rules only name real metrics; a real
Prometheus scrapes a real daemon."""
import gzip
import json
import os
import re
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector
from conftest import Daemon, big_scan, free_port, need, scrape, small_scan, text_image, wait_for

from ocrwatchd.daemon.metrics import Metrics, MetricsServer

REPO = Path(__file__).resolve().parents[1]
GPU_METRICS = {"ocrwatchd_gpu_memory_used_bytes", "ocrwatchd_gpu_memory_total_bytes"}   # NVML hosts only


def exposed_names() -> set[str]:
    reg = CollectorRegistry()
    ProcessCollector(registry=reg)
    Metrics(reg)
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for fam in reg.collect():   # families, so labelled series count before their first sample
        names.update(fam.name + suffix for suffix in suffixes.get(fam.type, ("",)))
    return names | GPU_METRICS | {"up"}


def names_in(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)               # label matchers
    expr = re.sub(r'"[^"]*"', "", expr)
    return {t for t in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
            if t.startswith(("ocrwatchd_", "process_")) or t == "up"}


def test_every_metric_has_help_and_the_namespace():
    reg = CollectorRegistry()
    Metrics(reg)
    for fam in reg.collect():
        assert fam.name.startswith("ocrwatchd_") and fam.documentation, fam.name


def test_no_gpu_metric_without_nvml():
    import importlib.util

    if importlib.util.find_spec("pynvml") is not None:
        pytest.skip("NVML importable here")
    reg = CollectorRegistry()
    Metrics(reg)
    assert not any(f.name.startswith("ocrwatchd_gpu") for f in reg.collect())


def ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "[::1]:0"])
def test_metrics_and_healthz_endpoints(listen, capfd):
    if listen.startswith("[") and not ipv6_loopback():
        pytest.skip("this host has no IPv6 loopback")
    reg = CollectorRegistry()
    Metrics(reg).set_build("det", "CPUExecutionProvider")
    healthy = [True]
    srv = MetricsServer(listen, reg, lambda: healthy[0])
    srv.start()
    try:
        base = f"http://{listen.rpartition(':')[0]}:{srv.port}"
        body = urllib.request.urlopen(base + "/metrics").read().decode()
        assert 'ocrwatchd_build_info{model="det",provider="CPUExecutionProvider"' in body
        assert urllib.request.urlopen(base + "/healthz").status == 200
        # prometheus-client's own exposition: OpenMetrics when asked for, gzip when accepted
        ask = urllib.request.Request(base + "/metrics", headers={
            "Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(ask) as r:
            assert r.headers["Content-Type"].startswith("application/openmetrics-text")
            assert r.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(r.read()).decode().endswith("# EOF\n")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/other")
        assert e.value.code == 404
        healthy[0] = False
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/healthz")
        assert e.value.code == 503
    finally:
        srv.stop()
    out, err = capfd.readouterr()
    assert "GET /" not in out + err                      # scrapes every few seconds must not flood the log


def test_every_moving_metric_follows_real_jobs_done_failed_and_retried(tmp_path):
    import time

    import cv2
    import numpy as np

    from ocrwatchd.daemon.budget import page_bytes

    # [::1] where the host has it: the daemon's listener binds IPv6 addresses too
    d = Daemon(tmp_path, workers=1, metrics_host="[::1]" if ipv6_loopback() else "127.0.0.1")
    d.out.mkdir()
    stale = d.out / ".old.json.x1y2z3.tmp"                   # a temp file of ours left by a crash, two days old
    stale.write_text("{")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    ok, jpg = cv2.imencode(".jpg", text_image(640, 240, [(20, 120, "cut short", 1.2)]))
    (d.inbox / "a-cut.jpg").write_bytes(jpg.tobytes()[: len(jpg) // 2])   # retried, then quarantined
    big = big_scan(60)                                   # ~1.2 s on a fast host: in flight while the test looks
    (d.inbox / "b-big.png").write_bytes(big)
    (d.inbox / "c-notes.png").write_text("not a picture")                # quarantined at once
    (d.inbox / "d-small.png").write_bytes(small_scan(1))
    started = time.time()
    d.start()
    inbox = str(d.inbox)
    key = lambda name, **labels: (name, frozenset(labels.items()))      # noqa: E731
    h, w = cv2.imdecode(np.frombuffer(big, np.uint8), cv2.IMREAD_GRAYSCALE).shape

    # The one worker on the big page: one job in flight holding exactly its estimate, the others queued.
    busy = {}

    def big_in_flight():
        busy.update(scrape(d.metrics_url))
        return (busy.get(key("ocrwatchd_memory_reserved_bytes")) == page_bytes(w * h)
                and busy[key("ocrwatchd_queue_depth")] >= 2)
    wait_for(big_in_flight, 120, "the big page in flight with the others queued")
    assert busy[key("ocrwatchd_inflight_jobs")] == 1

    wait_for(lambda: len(d.results()) == 2 and len(d.failures()) == 2, 120, "2 results and 2 failures")
    time.sleep(0.5)
    m = scrape(d.metrics_url)
    assert d.stop()[0] == 0
    results = [json.loads(p.read_text()) for p in d.results()]
    cut = json.loads((d.failed / "a-cut.error.json").read_text())
    assert m[key("ocrwatchd_files_total", inbox=inbox, outcome="done", reason="")] == 2
    # the reason label: the short name error.json carries, from a fixed set (every series exists from the start)
    assert m[key("ocrwatchd_files_total", inbox=inbox, outcome="failed", reason="truncated")] == 1
    assert m[key("ocrwatchd_files_total", inbox=inbox, outcome="failed", reason="unsupported")] == 1
    assert cut["error"]["reason"] == "truncated"
    assert sum(v for (name, labels), v in m.items() if name == "ocrwatchd_files_total"
               and ("outcome", "failed") in labels) == 2
    assert m[key("ocrwatchd_files_total", inbox=inbox, outcome="retried", reason="truncated")] == cut["attempts"] - 1 >= 1
    from ocrwatchd.daemon.worker import FAILED_REASONS
    assert {dict(labels)["reason"] for (name, labels) in m if name == "ocrwatchd_files_total"
            and ("outcome", "failed") in labels} == set(FAILED_REASONS)
    # free space of every output folder's filesystem, read at scrape time; no job waits for a full folder
    for folder in ("output", "failed"):
        st = os.statvfs(d.out if folder == "output" else d.failed)
        free = m[key("ocrwatchd_output_free_bytes", inbox=inbox, folder=folder)]
        assert abs(free - st.f_bavail * st.f_frsize) < 256 << 20, (folder, free)
        assert m[key("ocrwatchd_output_blocked_jobs", inbox=inbox, folder=folder)] == 0
    assert m[key("ocrwatchd_inflight_jobs")] == 0 and m[key("ocrwatchd_memory_reserved_bytes")] == 0
    assert m[key("ocrwatchd_queue_depth")] == 0 and m[key("ocrwatchd_queue_capacity")] == 8
    assert m[key("ocrwatchd_workers")] == 1 and m[key("ocrwatchd_memory_budget_bytes")] == 4096 << 20
    assert m[key("ocrwatchd_janitor_removed_total", kind="temp")] == 1 and not stale.exists()
    assert m[key("ocrwatchd_pages_total")] == 2
    assert m[key("ocrwatchd_lines_total")] == sum(len(r["pages"][0]["lines"]) for r in results) >= 15
    assert m[key("ocrwatchd_tiles_total")] == sum(r["stats"]["tiles"] for r in results)
    assert m[key("ocrwatchd_pixels_total")] == sum(r["stats"]["pixels"] for r in results)
    for stage in ("settle", "decode", "detect", "recognize", "write"):
        assert m[key("ocrwatchd_stage_seconds_count", stage=stage)] == 2, stage
    # the models' own time: what the results say, and most of what detect + recognize took
    model = m[key("ocrwatchd_model_seconds_total")]
    assert abs(model - sum(r["timings"]["model"] for r in results)) < 1e-3
    staged = sum(m[key("ocrwatchd_stage_seconds_sum", stage=s)] for s in ("detect", "recognize"))
    assert 0.5 * staged < model < sum(r["timings"]["total"] for r in results)
    assert started < m[key("ocrwatchd_last_success_timestamp_seconds", inbox=inbox)] < time.time()
    # claim -> written: the small page was claimed with the big one, so its time includes the big page's run
    totals = {r["source"]["path"].rsplit("/", 1)[1]: r["timings"]["total"] for r in results}
    assert m[key("ocrwatchd_job_seconds_count")] == 2
    assert m[key("ocrwatchd_job_seconds_sum")] >= 2 * totals["b-big.png"] + totals["d-small.png"] - 0.5


def test_dashboard_is_valid_json_and_queries_real_metrics():
    dash = json.loads((REPO / "etc/grafana/ocrwatchd.json").read_text())
    known = exposed_names()
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for e in exprs:
        names = {n for n in names_in(e) if n != "up"}
        assert names, e
        for n in names:
            assert n in known, f"{n} in {e!r} is not a metric ocrwatchd exports"
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("throughput", "p50", "p95", "queue", "memory", "gpu", "failures"):
        assert topic in titles


PROMETHEUS = ".ci/run installs Debian's prometheus package (apt-get install prometheus)"


def test_alert_rules_pass_promtool_and_name_real_metrics():
    rules = REPO / "etc/prometheus/ocrwatchd.rules.yml"
    p = subprocess.run([need("promtool", PROMETHEUS), "check", "rules", str(rules)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    known = exposed_names()
    exprs = re.findall(r"expr: \|?\n?((?:.|\n)*?)\n\s+(?:for|labels):", rules.read_text())
    assert len(exprs) >= 5
    for e in exprs:
        for n in names_in(e):
            assert n in known, f"{n} in {e!r}"


def test_real_prometheus_scrapes_the_daemon(tmp_path):
    prometheus = need("prometheus", PROMETHEUS)
    metrics_port, prom_port = free_port(), free_port()
    d = Daemon(tmp_path, metrics_port=metrics_port)
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ocrwatchd
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
    d.start()
    prom = subprocess.Popen([prometheus, f"--config.file={tmp_path}/prometheus.yml",
                             f"--storage.tsdb.path={tmp_path}/tsdb", f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))
    try:
        def query(q):
            url = f"http://127.0.0.1:{prom_port}/api/v1/query?query=" + urllib.parse.quote(q)
            try:
                data = json.loads(urllib.request.urlopen(url, timeout=5).read())
            except OSError:
                return None
            res = data["data"]["result"]
            return float(res[0]["value"][1]) if res else None

        wait_for(lambda: query('up{job="ocrwatchd"}') == 1, 60, "Prometheus to scrape the daemon")
        before = query('sum(ocrwatchd_files_total{outcome="done"})')
        assert before == 0
        for i in range(3):
            (d.inbox / f"p{i}.png").write_bytes(small_scan(i))
        wait_for(lambda: (query('sum(ocrwatchd_files_total{outcome="done"})') or 0) >= 3, 120,
                 "ocrwatchd_files_total to rise in Prometheus")
        assert query("ocrwatchd_queue_capacity") == 8
        assert (query("process_resident_memory_bytes") or 0) > 50e6
        assert query('sum(ocrwatchd_stage_seconds_count{stage="detect"})') == 3
    finally:
        prom.terminate()
        prom.wait(timeout=30)
        assert d.stop()[0] == 0
