"""Two model runs at a time (engine/session.in_parallel): the same results, in order, no more in flight than asked,
and a model clock that counts wall time, not the sum of overlapping runs."""
import json
import threading
import time

import cv2
import numpy as np
import pytest
from conftest import text_image

from ocrwatchd.engine.session import (LazySession, TimedSession, available_cores, covered_seconds, in_parallel,
                                      model_seconds)
from ocrwatchd.pipeline.run import process


class SleepingSession:
    """Stands in for an InferenceSession: run() sleeps, releasing the GIL as a real run does."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def run(self, outputs, feeds):
        time.sleep(self.seconds)
        return [feeds["x"] * 2]


def test_results_come_back_in_order_with_at_most_width_running():
    running, peak, lock = [0], [0], threading.Lock()

    def work(n):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02 * (5 - n % 5))          # the early items finish last
        with lock:
            running[0] -= 1
        return n * n

    assert in_parallel(work, range(12), 2) == [n * n for n in range(12)]
    assert peak[0] == 2
    peak[0] = 0
    assert in_parallel(work, range(6), 3) == [n * n for n in range(6)]
    assert peak[0] == 3


def test_width_one_runs_everything_in_the_calling_thread():
    caller = threading.get_ident()
    assert in_parallel(lambda n: threading.get_ident(), range(4), 1) == [caller] * 4


def test_an_error_in_one_item_reaches_the_caller():
    def work(n):
        if n == 3:
            raise ValueError("page 3 is broken")
        return n

    with pytest.raises(ValueError, match="page 3"):
        in_parallel(work, range(6), 2)


def test_the_next_item_starts_when_any_one_ends_and_an_error_stops_the_rest():
    """Item 0 is slow, item 1 fails at once: the failure is seen while item 0 still runs, and nothing after it is
    started (a sliding window that only waited for the oldest would start item 2 first)."""
    started, lock = [], threading.Lock()

    def work(n):
        with lock:
            started.append(n)
        if n == 0:
            time.sleep(0.5)
        if n == 1:
            raise ValueError("item 1 is broken")
        return n

    with pytest.raises(ValueError, match="item 1"):
        in_parallel(work, range(10), 2)
    assert sorted(started) == [0, 1]
    # with no error, the results still come back in the order of the items, the slow first one included
    started.clear()
    assert in_parallel(lambda n: work(n) if n != 1 else n, range(10), 2) == list(range(10))
    assert sorted(started) == [0] + list(range(2, 10))


def test_the_callers_model_clock_counts_the_time_any_run_was_in_progress():
    """Four runs of 0.2 s, two at a time, take ~0.4 s of wall: the clock of the thread that asked for them
    advances by that, not by the 0.8 s the runs add up to (a page's model share stays a share of its wall)."""
    session = TimedSession(SleepingSession(0.2))
    before = model_seconds()
    spans: list = []
    out = in_parallel(lambda k: session.run(None, {"x": np.full(2, k)})[0], range(4), 2, spans)
    advanced = model_seconds() - before
    assert [list(o) for o in out] == [[0, 0], [2, 2], [4, 4], [6, 6]]
    assert len(spans) == 4 and all(s[0] is session for s in spans)
    assert 0.38 <= advanced <= 0.6
    assert advanced == pytest.approx(covered_seconds(spans))


def test_runs_started_inside_a_helper_count_on_the_callers_clock_too():
    """in_parallel inside an item of in_parallel: the inner runs ran on helper threads of a helper thread, and the
    outermost caller's clock still gets the time they covered (2 × 2 runs of 0.2 s, all at once: ~0.2 s)."""
    session = TimedSession(SleepingSession(0.2))
    before = model_seconds()
    inner = lambda k: in_parallel(lambda j: session.run(None, {"x": np.full(1, j)}), range(2), 2)  # noqa: E731
    assert len(in_parallel(inner, range(2), 2)) == 2
    assert 0.18 <= model_seconds() - before <= 0.5


def test_a_lazy_session_opens_at_its_first_run_once_and_its_opening_is_not_model_time():
    """The fp32 recheck is opened where a line is first doubted (pipeline/engine.OPENED_ON_USE): two threads
    running it at once open it once, the 0.3 s it takes to open is not on the model clock, and its runs are
    spans of the lazy session itself (a page's recogniser time is the union of its sessions' spans)."""
    opens = []

    def open_session():
        opens.append(threading.current_thread().name)
        time.sleep(0.3)
        return TimedSession(SleepingSession(0.1))

    session = LazySession(open_session)
    assert not session.opened and opens == []
    before = model_seconds()
    spans: list = []
    out = in_parallel(lambda k: session.run(None, {"x": np.full(1, k)})[0], range(4), 2, spans)
    assert [list(o) for o in out] == [[0], [2], [4], [6]]
    assert session.opened and len(opens) == 1
    assert all(s[0] is session for s in spans) and len(spans) == 4
    assert 0.18 <= model_seconds() - before <= 0.29          # 2 × 0.1 s of runs, not the 0.3 s opening


def test_covered_seconds_is_the_union_of_the_spans_of_the_sessions_asked():
    a, b = object(), object()
    spans = [(a, 0.0, 1.0), (a, 0.5, 1.5), (b, 1.2, 3.0), (a, 4.0, 4.5), (b, 4.1, 4.2)]
    assert covered_seconds(spans) == pytest.approx(1.5 + 1.5 + 0.5)
    assert covered_seconds(spans, (a,)) == pytest.approx(1.5 + 0.5)
    assert covered_seconds(spans, (b,)) == pytest.approx(1.8 + 0.1)
    assert covered_seconds([]) == 0.0


def test_a_page_read_two_runs_at_a_time_reads_exactly_as_one_at_a_time(tmp_path, engine):
    """A page of several tiles and several line batches: the same lines, boxes and scores either way, and the
    model's share of the page's time still at most its wall."""
    lines = [(60, 140 + 150 * k, f"Line {k} of the report reads {1000 + 37 * k} units", 1.6) for k in range(14)]
    page = text_image(1900, 2300, lines)          # tiles in 2 columns x 3 rows at 1024 px
    path = tmp_path / "report.png"
    cv2.imwrite(str(path), page)
    runs = (engine.detector.parallel_runs, engine.recognizer.parallel_runs)
    results = {}
    try:
        for width in (1, 2):
            engine.detector.parallel_runs = engine.recognizer.parallel_runs = width
            results[width] = process(path, engine).result
    finally:
        engine.detector.parallel_runs, engine.recognizer.parallel_runs = runs

    def read(result):
        return [(ln["text"], ln["box"], ln["score"], ln["text_score"]) for p in result["pages"] for ln in p["lines"]]

    assert len(read(results[1])) >= 12
    assert read(results[2]) == read(results[1])
    timings = results[2]["timings"]
    assert timings["detect_inference"] <= timings["detect"] + 1e-3
    assert timings["recognize_inference"] <= timings["recognize"] + 1e-3
    assert timings["model"] <= timings["total"] + 1e-3


def test_the_engine_runs_two_at_a_time_only_where_its_models_have_two_cores(engine):
    from ocrwatchd.pipeline import Engine, EngineSettings

    assert engine.parallel_runs == (2 if (engine.settings.threads or available_cores()) >= 2 else 1)
    one = Engine(EngineSettings(device="cpu", threads=1))
    assert one.parallel_runs == 1 and one.detector.parallel_runs == 1 and one.recognizer.parallel_runs == 1
    two = Engine(EngineSettings(device="cpu", threads=2))
    assert two.parallel_runs == 2 and two.detector.parallel_runs == 2 and two.recognizer.parallel_runs == 2
    lean = Engine(EngineSettings(device="cpu", threads=2, parallel_runs=1))   # the memory-lean choice
    assert lean.parallel_runs == 1 and lean.detector.parallel_runs == 1 and lean.recognizer.parallel_runs == 1


def test_a_daemon_worker_with_two_threads_reserves_the_second_runs_bytes(tmp_path):
    """A real `ocrwatchd run`, 1 worker given 2 threads (so it runs two batches at once): while its page is in
    flight the memory budget holds exactly that page's estimate with the second run's working set, and the page
    is read and published."""
    from conftest import Daemon, big_scan, scrape, wait_for

    from ocrwatchd.daemon.budget import page_bytes

    d = Daemon(tmp_path, workers=1)
    big = big_scan(90)                              # seconds of work: in flight while the test looks
    h, w = cv2.imdecode(np.frombuffer(big, np.uint8), cv2.IMREAD_GRAYSCALE).shape
    d.start({"OCRWATCHD_ENGINE__THREADS": "2"})
    try:
        (d.inbox / "big.png").write_bytes(big)
        reserved = ("ocrwatchd_memory_reserved_bytes", frozenset())
        seen: list[float] = []
        wait_for(lambda: seen.append(scrape(d.metrics_url).get(reserved, 0.0)) or seen[-1] > 0, 120,
                 "the page in flight")
        assert seen[-1] == page_bytes(w * h, runs=2) > page_bytes(w * h)
        wait_for(lambda: len(d.results()) == 1, 120, "the result")
        assert json.loads(d.results()[0].read_text())["pages"][0]["lines"]
    finally:
        d.stop()
