"""ONNX Runtime sessions: CUDA first, CPU fallback, and the truth about which one runs.

onnxruntime-gpu without the CUDA/cuDNN libraries logs an error and silently runs on the CPU, so the provider is
read back from the session, never assumed.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class GPUUnavailable(RuntimeError):
    """require_gpu was set and CUDA could not be used."""


@dataclass(frozen=True)
class SessionConfig:
    device: str = "auto"               # "auto": CUDA when it works, else CPU; "cpu"; "cuda"
    require_gpu: bool = False          # fail instead of falling back to the CPU
    gpu_device_id: int = 0
    gpu_mem_limit_mb: int | None = None  # CUDA arena cap; with kSameAsRequested it is not rounded to powers of 2
    intra_op_threads: int = 0          # 0: one per available core
    inter_op_threads: int = 1


_clock = threading.local()


def model_seconds() -> float:
    """Seconds this thread has spent inside session.run so far (every session create_session made)."""
    return getattr(_clock, "seconds", 0.0)


class TimedSession:
    """An InferenceSession whose run() adds its wall time to the calling thread's model clock (model_seconds),
    so a page's time splits into model and everything else wherever it ran: several workers share one session,
    and a thread-local clock keeps each worker's own share."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session

    def run(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            end = time.perf_counter()
            _clock.seconds = model_seconds() + end - t
            spans = getattr(_clock, "spans", None)
            if spans is not None:        # inside in_parallel: the caller's clock gets the union of the runs
                spans.append((self, t, end))

    def __getattr__(self, name):
        return getattr(self._session, name)


class LazySession(TimedSession):
    """A TimedSession opened at its first run (by `open_session`, which returns a TimedSession), for a model that
    may never be needed; threads that run it at once open it once. The opening is not model time."""

    def __init__(self, open_session: Callable[[], TimedSession]) -> None:
        self._open = open_session
        self._lock = threading.Lock()
        self._session = None

    @property
    def opened(self) -> bool:
        return self._session is not None

    def _inner(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._open()._session
        return self._session

    def run(self, *args, **kwargs):
        self._inner()
        return super().run(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner(), name)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.cache
def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags as Linux lists them in /proc/cpuinfo; None where there is no such list."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return None


def fast_int8_is_exact(flags: frozenset[str] | None = None) -> bool:
    """Whether onnxruntime's fast u8 x s8 kernel sums the int8 models' products exactly on this CPU.

    On x86 without VNNI (AVX2, AVX-512 before Cascade Lake) it sums them in pairs into 16 bits, where they
    saturate, and the same model reads differently there than where it was measured; `session.x64quantprecision`
    then turns the weights to u8 for the exact u8 x u8 kernels. With VNNI (MLAS's AVX512-VNNI kernel where AVX-512
    BW is there, else AVX-VNNI's) the products are summed in 32 bits, the outputs are the same to the bit, and the
    exact kernels only cost time: on a Zen 4 (AVX-512 VNNI), 1 thread, min of 5, a 800 x 832 detector tile 0.177
    -> 0.280 s and 8 recogniser lines of 640 px 0.279 -> 0.401 s with the option set. Where the flags cannot be
    read the option stays on: exact everywhere, if slower."""
    flags = cpu_flags() if flags is None else flags
    if flags is None:
        return False
    return "avx512_vnni" in flags or ("avx_vnni" in flags and "avx512bw" not in flags)


def create_session(path: Path, cfg: SessionConfig = SessionConfig()) -> tuple[TimedSession, str]:
    """Open a model; returns the session and the provider that actually runs it."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = cfg.intra_op_threads or available_cores()
    opts.inter_op_num_threads = cfg.inter_op_threads
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # The CPU arena keeps the peak of every shape it ever saw; tiles are fixed-size, so without it memory
    # returns to the allocator between runs and peak RSS stays at one batch's working set.
    opts.enable_cpu_mem_arena = False
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ONNX Runtime's intra-op threads spin after each parallel section, waiting for the next; while they do they
    # hold a core that the models still loading, the page's Python (crops, CTC decoding) and the next page's
    # decode need. With it off (2-core host, 2 threads): `ocrwatchd detect` on SROIE 100 1.28 -> 1.11 s wall,
    # CPU 2.3 -> 1.7 s; the daemon with 1 worker × 2 threads 44.7-48.3 (3 runs) -> 45.6-52.6 (5 runs) images/min;
    # one run alone, nothing else waiting, ~5-10 % slower (the threads are woken instead of found spinning).
    # Sessions of one thread (the daemon's default layout on 2 cores) have no pool to spin.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not fast_int8_is_exact():
        opts.add_session_config_entry("session.x64quantprecision", "1")

    want_cuda = cfg.device in ("auto", "cuda") or cfg.require_gpu
    providers: list = []
    if want_cuda and CUDA in ort.get_available_providers():
        cuda_opts = {"device_id": cfg.gpu_device_id, "arena_extend_strategy": "kSameAsRequested"}
        if cfg.gpu_mem_limit_mb:
            cuda_opts["gpu_mem_limit"] = int(cfg.gpu_mem_limit_mb) * 1024 * 1024
        providers.append((CUDA, cuda_opts))
    elif cfg.require_gpu:
        raise GPUUnavailable(f"require_gpu is set but this onnxruntime has no {CUDA} (is onnxruntime-gpu installed?)")
    providers.append(CPU)

    # On CPU-only hosts the CUDA attempt prints a page of library errors; in "auto" mode that is expected, so
    # ORT's own logger is quieted for the attempt and the outcome is logged once, below, in one line.
    quiet = cfg.device == "auto" and not cfg.require_gpu and len(providers) > 1
    if quiet:
        ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    finally:
        if quiet:
            ort.set_default_logger_severity(2)
    active = session.get_providers()[0]
    if want_cuda and active != CUDA:
        if cfg.require_gpu:
            raise GPUUnavailable(
                f"require_gpu is set but CUDA could not be initialised for {path.name} "
                "(onnxruntime-gpu needs the CUDA 12/13 and cuDNN 9 libraries on the library path)"
            )
        log.log(logging.WARNING if cfg.device == "cuda" else logging.INFO,
                "CUDA unavailable for %s (no usable CUDA/cuDNN libraries); running on the CPU", path.name)
    return TimedSession(session), active


# Two session.runs at once on one session (it is thread-safe) keep a 2-core CPU busier than one run on both cores:
# a run's intra-op threads wait at each layer's end for the slowest, and the Python between runs (a tile's
# resize and DB post-processing, a line batch's crops and CTC decoding) holds no core for the model. The int8
# models, 1 thread per session against 2, 3 rounds: 6 detector tiles (832 x 800) one after another 0.45-0.46 s on 2
# threads, two at a time 0.38-0.41 s; 6 recogniser batches (8 x 48 x 640-960) 0.84 s against 0.72-0.73 s.
# More than two in flight would only hold more tiles in memory.
PARALLEL_RUNS = 2

_T = TypeVar("_T")
_R = TypeVar("_R")
_helpers = ThreadPoolExecutor(max_workers=64, thread_name_prefix="model-run")   # made as needed, then reused


def in_parallel(fn: Callable[[_T], _R], items: Iterable[_T], width: int,
                spans: list | None = None) -> list[_R]:
    """[fn(item) for item in items], with up to `width` of them running at a time (on helper threads), results in
    the order of items. width <= 1: all in the calling thread, as a plain loop.

    The calling thread's model clock (model_seconds) advances by the time at least one of their session.runs was
    in progress — wall time, not the sum of the overlapping runs — so a page's model share stays a share of its
    wall. spans, where given, gets every run's (session, start, end)."""
    items = list(items)
    if width <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    collected: list = []

    def traced(item: _T) -> _R:
        _clock.spans = collected      # list.append is atomic: the helpers may share it
        try:
            return fn(item)
        finally:
            _clock.spans = None

    futures, running = [], set()
    for item in items:
        while len(running) >= width:      # the next starts as soon as any one ends, not only the oldest
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                f.result()                # an error stops the rest from being started
        futures.append(_helpers.submit(traced, item))
        running.add(futures[-1])
    results = [f.result() for f in futures]
    _clock.seconds = model_seconds() + covered_seconds(collected)
    outer = getattr(_clock, "spans", None)
    for sink in (spans, outer):
        if sink is not None:
            sink.extend(collected)
    return results


def covered_seconds(spans: list, sessions: tuple = ()) -> float:
    """Seconds covered by at least one of the (session, start, end) spans (only those of `sessions`, if given)."""
    total, reach = 0.0, float("-inf")
    for _, start, end in sorted((s for s in spans if not sessions or s[0] in sessions), key=lambda s: s[1]):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total
