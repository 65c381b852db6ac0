"""The original model's profile: a ModelScope DBNet export with a static 1×3×800×800 input `images` → `pred`.

Its weights can't be fetched here, so a tiny ONNX with exactly that signature stands in: it outputs the darkness
of the (BGR, mean-subtracted, /255) input as the probability map, so where text is is known exactly.
"""
import hashlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ocrwatchd.modelstore import load_manifest
from ocrwatchd.pipeline import Engine, EngineSettings


def build_static_dbnet(path: Path) -> None:
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 800, 800])
    y = helper.make_tensor_value_info("pred", TensorProto.FLOAT, [1, 1, 800, 800])
    gain = helper.make_tensor("gain", TensorProto.FLOAT, [], [-40.0])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["m", "gain"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["pred"]),
    ]
    graph = helper.make_graph(nodes, "static_dbnet_standin", [x], [y], [gain])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


@pytest.fixture()
def static_engine(tmp_path, monkeypatch):
    model = tmp_path / "cv_resnet18_ocr-detection-db.onnx"
    build_static_dbnet(model)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    # The repo manifest's entry, with the sha256 a user records for their own export.
    text = (Path(load_manifest().path)).read_text()
    start = text.index("[models.modelscope-dbnet-r18]")
    entry = text[start:].replace('sha256 = ""', f'sha256 = "{digest}"', 1)
    (tmp_path / "manifest.toml").write_text('default_detector = "modelscope-dbnet-r18"\n\n' + entry)

    def make(**kw):
        eng = Engine(EngineSettings(manifest=tmp_path / "manifest.toml", device="cpu", recognize=False, **kw))
        shapes = []
        real_run = eng.detector.session.run

        def run(outputs, feed):
            shapes.append(feed["images"].shape)
            return real_run(outputs, feed)

        eng.detector.session = type("S", (), {"run": staticmethod(run)})()
        return eng, shapes

    return make


def test_manifest_entry_without_sha256_is_a_clear_error():
    from ocrwatchd.modelstore import ModelError

    with pytest.raises(ModelError, match="sha256sum"):
        load_manifest().verified_path("modelscope-dbnet-r18")


def test_big_image_runs_as_exact_800_tiles_with_coordinates_in_the_original(static_engine):
    eng, shapes = static_engine(min_side=0)
    img = np.full((1700, 2300, 3), 255, np.uint8)
    img[1500:1540, 150:2200] = 0          # a long line across several 800-px tiles, near the bottom
    img[100:140, 1900:2100] = 0           # a short one in the top-right corner tile
    out = eng.detector.detect(img)
    assert shapes and all(s == (1, 3, 800, 800) for s in shapes)
    assert len(out.grid.tiles) == 4 * 3      # x: 0, 640, 1280, 1500; y: 0, 640, 900
    boxes = sorted([d.quad[:, 0].min(), d.quad[:, 1].min(), d.quad[:, 0].max(), d.quad[:, 1].max()] for d in out.lines)
    assert len(boxes) == 2
    (lx0, ly0, lx1, ly1), (sx0, sy0, sx1, sy1) = sorted(boxes, key=lambda b: -(b[2] - b[0]))
    # unclip grows each box by area*1.5/perimeter (≈ 29 px for the long line, ≈ 25 px for the short one)
    assert 110 < lx0 < 150 and 2200 < lx1 < 2240 and 1460 < ly0 < 1500 and 1540 < ly1 < 1580
    assert 1860 < sx0 < 1900 and 2100 < sx1 < 2140 and 60 < sy0 < 100 and 140 < sy1 < 180


def test_small_image_is_padded_to_one_800_tile(static_engine):
    eng, shapes = static_engine(min_side=0)
    img = np.full((300, 500), 255, np.uint8)   # gray input: expanded per tile, not per image
    img[140:160, 50:450] = 0
    out = eng.detector.detect(img)
    assert shapes == [(1, 3, 800, 800)]
    (line,) = out.lines
    assert line.quad[:, 0].max() <= 500 and line.quad[:, 1].max() <= 300   # clipped to the image, not the pad


def test_modelscope_profile_normalises_as_the_export_expects():
    from ocrwatchd.engine.preprocess import get_profile, to_tensor

    px = np.array([[[10, 20, 30]]], np.uint8)          # one BGR pixel
    t = to_tensor([px], get_profile("modelscope-bgr"))
    expected = (np.array([10, 20, 30]) - [123.68, 116.78, 103.94]) / 255.0
    assert np.allclose(t[0, :, 0, 0], expected, atol=1e-6)
