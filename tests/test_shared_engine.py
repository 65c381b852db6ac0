"""The daemon's workers share one Engine: two pages read at the same moment from two threads get exactly the
lines each gets when read alone (sessions and stages keep no state between calls)."""
import threading

import pytest

import cv2
from conftest import text_image

from ocrwatchd.engine.session import available_cores
from ocrwatchd.pipeline.run import process


def _lines(result: dict) -> list[tuple[str, list]]:
    return [(line["text"], line["box"]) for page in result["pages"] for line in page["lines"]]


def test_two_threads_reading_at_once_get_what_each_reads_alone(tmp_path, engine):
    pages = {
        # short sides >= 736 (min_side), so neither is upscaled before detection
        "invoice.png": text_image(1000, 740, [(50, 120, "INVOICE 2041 DUE 14 MARCH", 1.4),
                                              (50, 300, "Total amount 318.40 EUR", 1.2),
                                              (50, 480, "Paid by bank transfer", 1.1)]),
        "letter.png": text_image(740, 900, [(40, 150, "Dear reader of this page", 1.1),
                                            (40, 350, "the second line is longer", 0.9),
                                            (40, 700, "Kind regards 77", 1.2)]),
    }
    paths = []
    for name, pixels in pages.items():
        cv2.imwrite(str(tmp_path / name), pixels)
        paths.append(tmp_path / name)
    alone = {p: _lines(process(p, engine).result) for p in paths}
    assert all(alone.values()) and alone[paths[0]] != alone[paths[1]]

    together: dict = {}
    start = threading.Barrier(len(paths))

    def read(path):
        start.wait()
        for _ in range(2):                       # twice, so the runs overlap whichever thread starts first
            together.setdefault(path, []).append(_lines(process(path, engine).result))

    threads = [threading.Thread(target=read, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert together == {p: [alone[p], alone[p]] for p in paths}


def test_the_models_opened_beside_the_detector_are_kept_on_a_cpu_and_opened_again_where_it_found_cuda(monkeypatch):
    """Engine() opens the recogniser and the classifier in threads while it opens the detector, guessing the CPU,
    and checks the recheck's file (opened at its first run). On a CPU host each model is opened once; where the
    detector lands on CUDA (simulated: the provider is reported, the sessions run here) the guesses are dropped
    and the fp32 models opened on CUDA."""
    from dataclasses import replace

    import ocrwatchd.pipeline.engine as engine_module
    from ocrwatchd.engine.session import CPU, CUDA
    from ocrwatchd.modelstore import load_manifest
    from ocrwatchd.pipeline.engine import Engine, EngineSettings

    manifest = load_manifest()
    rec_int8 = manifest.int8_of(manifest.default_recognizer)
    if manifest.int8_of(manifest.default_detector) is None or rec_int8 is None:
        pytest.skip("this manifest derives no int8 models")
    real = engine_module.create_session
    opened: list[tuple[str, str, str]] = []    # file, device asked, provider reported

    def opener(gpu_host: bool):
        def create(path, cfg):
            session, _ = real(path, replace(cfg, device="cpu"))
            provider = CUDA if gpu_host and cfg.device != "cpu" else CPU
            opened.append((path.name, cfg.device, provider))
            return session, provider
        return create

    monkeypatch.setattr(engine_module, "create_session", opener(gpu_host=False))
    engine = Engine(EngineSettings())
    files = [f for f, _, _ in opened]
    assert sorted(files) == sorted({manifest.int8_of(manifest.default_detector).file, rec_int8.file,
                                    manifest.entry(manifest.default_classifier).file})     # each once
    assert engine.model_info["precision"] == engine.model_info["recognizer"]["precision"] == "int8"
    assert engine.model_info["recognizer"]["recheck"]["name"] == manifest.default_recognizer
    assert engine.recognizer.recheck is not None and engine.page_orientation is not None
    # the fp32 recheck is opened where it is first run (here: asked for its options), on the CPU, once
    recheck_file = manifest.entry(manifest.default_recognizer).file
    assert not engine.recognizer.recheck.opened
    engine.recognizer.recheck.get_session_options()
    engine.recognizer.recheck.get_session_options()
    assert [o for o in opened if o[0] == recheck_file] == [(recheck_file, "cpu", CPU)]

    opened.clear()
    monkeypatch.setattr(engine_module, "create_session", opener(gpu_host=True))
    engine = Engine(EngineSettings())
    assert engine.model_info["precision"] == engine.model_info["recognizer"]["precision"] == "fp32"
    assert engine.model_info["provider"] == engine.model_info["recognizer"]["provider"] == CUDA
    assert "recheck" not in engine.model_info["recognizer"] and engine.recognizer.recheck is None
    on_cuda = {f for f, _, provider in opened if provider == CUDA}
    assert {manifest.entry(manifest.default_recognizer).file, manifest.entry(manifest.default_classifier).file} \
        <= on_cuda


def test_every_session_lets_its_idle_threads_sleep(engine):
    """ONNX Runtime's intra-op threads otherwise spin after each run, holding a core the page's Python and the
    models still loading need (engine/session.py: SROIE 100 1.28 -> 1.11 s per process). Every model the engine
    opened (detector, recogniser, its fp32 recheck, the classifier) is opened that way, at the threads asked."""
    recognizer = engine.recognizer
    sessions = [engine.detector.session, recognizer.session, recognizer.recheck,
                engine.page_orientation.classifier.session]
    assert all(s is not None for s in sessions)
    for session in sessions:
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == (engine.settings.threads or available_cores())
