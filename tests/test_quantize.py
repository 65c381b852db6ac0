"""int8 models derived at install time (ocrwatchd/quantize.py) and how the engine picks a precision."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import text_image
from ocrwatchd.engine import session as session_module
from ocrwatchd.engine.session import SessionConfig, create_session, fast_int8_is_exact
from ocrwatchd.modelstore import ModelError, load_manifest, sha256_file
from ocrwatchd.pipeline import Engine, EngineSettings, process
from ocrwatchd.quantize import encoder_nodes, head_nodes, quantize_int8, ranges_path, upsampling_head


def cpu_run(path, x):
    """The model's output for x in a session opened as the engine opens its own, on the CPU: on x86 CPUs without
    VNNI an int8 model reads like its fp32 one only with the session's options (create_session)."""
    session, _ = create_session(path, SessionConfig(device="cpu", intra_op_threads=1))
    return session.run(None, {"x": x})[0]


def small_net(path, seed=0, opset=11, gelu=False, upsample=False):
    """x → conv → relu → two convs → concat → conv → sigmoid: a trunk, a join and a head, as a DB detector. From
    opset 14 the trunk has a batch norm after its first conv, as newer PaddleOCR exports do; with gelu a GELU as
    PaddleOCR exports write it (x/√2 → Erf → +1 → ·x → ·0.5) stands for the relu; with upsample the head's conv
    is followed by a transposed conv to twice the size, as DB's head draws its map."""
    rng = np.random.default_rng(seed)

    def w(name, shape):
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    activation = [
        helper.make_node("Div", ["a", "sqrt2"], ["d"], name="gelu_div"),
        helper.make_node("Erf", ["d"], ["e"], name="gelu_erf"),
        helper.make_node("Add", ["e", "one"], ["e1"], name="gelu_add"),
        helper.make_node("Mul", ["a", "e1"], ["m"], name="gelu_mul"),
        helper.make_node("Mul", ["m", "half"], ["r"], name="gelu_half"),
    ] if gelu else [helper.make_node("Relu", ["a"], ["r"], name="relu")]
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["a0" if opset >= 14 else "a"], name="trunk", pads=[1, 1, 1, 1]),
        *([helper.make_node("BatchNormalization", ["a0", "bn_s", "bn_b", "bn_m", "bn_v"], ["a"], name="bn")]
          if opset >= 14 else []),
        *activation,
        helper.make_node("Conv", ["r", "w1"], ["b1"], name="left", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["r", "w2"], ["b2"], name="right", pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["b1", "b2"], ["cat"], name="join", axis=1),
        helper.make_node("Conv", ["cat", "w3"], ["logit0" if upsample else "logit"], name="head_conv"),
        *([helper.make_node("ConvTranspose", ["logit0", "w4"], ["logit"], name="head_up", strides=[2, 2])]
          if upsample else []),
        helper.make_node("Sigmoid", ["logit"], ["prob"], name="head_sigmoid"),
    ]
    graph = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [w("w0", (8, 3, 3, 3)), w("w1", (8, 8, 3, 3)), w("w2", (8, 8, 3, 3)), w("w3", (1, 16, 1, 1))]
        + ([w("w4", (1, 1, 2, 2))] if upsample else [])
        + ([numpy_helper.from_array(v.astype(np.float32), n) for n, v in (
            ("bn_s", rng.uniform(0.5, 1.5, 8)), ("bn_b", rng.normal(0, 0.1, 8)), ("bn_m", rng.normal(0, 0.1, 8)),
            ("bn_v", rng.uniform(0.5, 1.5, 8)))] if opset >= 14 else [])
        + ([numpy_helper.from_array(np.array(v, np.float32), n) for n, v in (("sqrt2", 2 ** 0.5), ("one", 1.0),
                                                                              ("half", 0.5))] if gelu else []),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)   # as PaddleOCR exports
    onnx.save(model, str(path))
    return model


def test_the_head_is_the_chain_after_the_last_join(tmp_path):
    assert head_nodes(small_net(tmp_path / "m.onnx")) == ["head_sigmoid", "head_conv"]


def test_the_detectors_head_conv_is_int8_and_its_upsampling_fp32(tmp_path):
    """The detector is quantized up to its head's first transposed conv (upsampling_head): the head's conv over
    the join is integer like the trunk's; the transposed conv and sigmoid that draw the map stay float."""
    model = small_net(tmp_path / "fp32.onnx", upsample=True)
    assert head_nodes(model) == ["head_sigmoid", "head_up", "head_conv"]
    assert upsampling_head(model) == ["head_sigmoid", "head_up"]
    assert upsampling_head(small_net(tmp_path / "plain.onnx")) == ["head_sigmoid", "head_conv"]   # none: the head
    rng = np.random.default_rng(2)
    calibration = [rng.random((1, 3, 32, 32), dtype=np.float32) for _ in range(8)]
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", "x", calibration, keep=upsampling_head)
    q = onnx.load(str(tmp_path / "int8.onnx"))
    producers = {o: n.op_type for n in q.graph.node for o in n.output}
    weight_of = {n.name: n.input[1] for n in q.graph.node if n.op_type in ("Conv", "ConvTranspose")}
    assert producers.get(weight_of["head_conv"]) == "DequantizeLinear"
    assert producers.get(weight_of["head_up"]) != "DequantizeLinear"
    x = rng.random((1, 3, 40, 48), dtype=np.float32)
    fp, i8 = (cpu_run(tmp_path / name, x) for name in ("fp32.onnx", "int8.onnx"))
    assert i8.shape == fp.shape == (1, 1, 80, 96) and np.abs(i8 - fp).max() < 0.05


@pytest.mark.parametrize("opset", [11, 14])
def test_int8_model_is_integer_in_the_trunk_float_in_the_head_and_reads_like_fp32(tmp_path, opset):
    """opset 11 as PP-OCRv6 and older exports (raised to 13 for per-channel QDQ); 14 as PP-OCRv5 mobile, which onnx
    cannot convert down to 13 (no adapter for BatchNormalization) and is quantized as it is."""
    small_net(tmp_path / "fp32.onnx", opset=opset)
    rng = np.random.default_rng(1)
    calibration = [rng.random((1, 3, 32, 32), dtype=np.float32) for _ in range(8)]
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", "x", calibration)
    q = onnx.load(str(tmp_path / "int8.onnx"))
    ops = [n.op_type for n in q.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    # the head's conv is fed float weights, not a dequantized int8 tensor
    head = next(n for n in q.graph.node if n.name == "head_conv")
    producers = {o: n.op_type for n in q.graph.node for o in n.output}
    assert producers.get(head.input[1]) != "DequantizeLinear"
    assert not list(tmp_path.glob(".*.tmp"))              # written atomically, nothing left beside it
    x = rng.random((1, 3, 40, 48), dtype=np.float32)      # another shape than calibrated: axes stay dynamic
    fp, i8 = (cpu_run(tmp_path / name, x) for name in ("fp32.onnx", "int8.onnx"))
    assert i8.shape == fp.shape and np.abs(i8 - fp).max() < 0.05


def test_a_gelu_is_quantized_as_one_float_op_between_one_dequantize_and_one_quantize(tmp_path):
    """Quantized as its five ops, a GELU gets int8 round trips inside it and onnxruntime no longer fuses it (a
    recogniser batch 0.56 → 0.51 s once fused first)."""
    small_net(tmp_path / "fp32.onnx", gelu=True)
    rng = np.random.default_rng(3)
    calibration = [rng.random((1, 3, 32, 32), dtype=np.float32) for _ in range(8)]
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "plain.onnx", "x", calibration)
    assert "Gelu" not in [n.op_type for n in onnx.load(str(tmp_path / "plain.onnx")).graph.node]   # as asked
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", "x", calibration, gelu_fp32=True)
    q = onnx.load(str(tmp_path / "int8.onnx"))
    ops = [n.op_type for n in q.graph.node]
    assert ops.count("Gelu") == 1 and not {"Erf", "Div"} & set(ops)
    gelu = next(n for n in q.graph.node if n.op_type == "Gelu")
    assert gelu.domain == "com.microsoft"
    producers = {o: n for n in q.graph.node for o in n.output}
    consumers = [n.op_type for n in q.graph.node if gelu.output[0] in n.input]
    assert producers[gelu.input[0]].op_type == "DequantizeLinear" and consumers == ["QuantizeLinear"]
    assert producers[producers[gelu.input[0]].input[0]].op_type == "QuantizeLinear"   # the trunk's output, int8
    # the graph is in order (the fusion appends its node; encoder_nodes reads the order)
    known = {i.name for i in q.graph.input} | {i.name for i in q.graph.initializer}
    for node in q.graph.node:
        assert all(not i or i in known for i in node.input), node.name
        known |= set(node.output)
    x = rng.random((1, 3, 40, 48), dtype=np.float32)
    fp, i8 = (cpu_run(tmp_path / name, x) for name in ("fp32.onnx", "int8.onnx"))
    assert i8.shape == fp.shape and np.abs(i8 - fp).max() < 0.05


def small_recognizer(path, seed=0):
    """x → conv → max pool → conv → average pool over the height → columns as a sequence → matmul → softmax: a
    convolutional backbone, then a sequence encoder and classifier, as a CTC recogniser."""
    rng = np.random.default_rng(seed)

    def w(name, shape):
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["a"], name="stem", pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["a"], ["p"], name="stem_pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w1"], ["b"], name="block", pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["b"], ["row"], name="height_pool", kernel_shape=[8, 1], strides=[8, 1]),
        helper.make_node("Squeeze", ["row", "axis2"], ["seq"], name="squeeze"),
        helper.make_node("Transpose", ["seq"], ["cols"], name="columns", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["cols", "w2"], ["logits"], name="encoder"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="classifier", axis=2),
    ]
    graph = helper.make_graph(
        nodes, "small_rec",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, "W"])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", "T", 5])],
        [w("w0", (8, 3, 3, 3)), w("w1", (8, 8, 3, 3)), w("w2", (8, 5)),
         numpy_helper.from_array(np.array([2], np.int64), "axis2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    onnx.save(model, str(path))
    return model


def test_int8_recogniser_is_integer_in_its_backbone_float_in_its_encoder_and_reads_like_fp32(tmp_path):
    model = small_recognizer(tmp_path / "fp32.onnx")
    assert encoder_nodes(model) == ["height_pool", "squeeze", "columns", "encoder", "classifier"]
    assert encoder_nodes(small_net(tmp_path / "det.onnx")) == []          # no pooling: nothing to keep
    rng = np.random.default_rng(2)
    calibration = [rng.random((n, 3, 16, w), dtype=np.float32) for n, w in ((1, 32), (2, 64), (1, 48))]
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", "x", calibration, keep=encoder_nodes,
                  moving_average=True)
    q = onnx.load(str(tmp_path / "int8.onnx"))
    producers = {o: n.op_type for n in q.graph.node for o in n.output}
    by_name = {n.name: n for n in q.graph.node}
    assert producers.get(by_name["stem"].input[1]) == "DequantizeLinear"     # int8 weights in the backbone
    assert producers.get(by_name["block"].input[1]) == "DequantizeLinear"
    assert producers.get(by_name["encoder"].input[1]) is None                 # the encoder's weights stay float
    assert producers.get(by_name["encoder"].input[0]) != "DequantizeLinear"   # … and so does what it is fed
    x = rng.random((1, 3, 16, 40), dtype=np.float32)
    fp, i8 = (cpu_run(tmp_path / name, x) for name in ("fp32.onnx", "int8.onnx"))
    assert i8.shape == fp.shape == (1, 20, 5) and np.abs(i8 - fp).max() < 0.05


def derived_manifest(tmp_path, int8_sha):
    (tmp_path / "fp.onnx").write_bytes(b"fp32 bytes")
    (tmp_path / "manifest.toml").write_text(f'''
default_detector = "det"
[models.det]
task = "detect"
file = "fp.onnx"
sha256 = "{sha256_file(tmp_path / 'fp.onnx')}"
input = "x"
input_shape = ["N", 3, "H", "W"]
preprocess = "paddle-bgr"
[models.det.postprocess]
thresh = 0.4
[models.det-int8]
derived_from = "det"
derive = "int8-qdq"
file = "int8.onnx"
sha256 = "{int8_sha}"
''')
    return load_manifest(tmp_path / "manifest.toml")


def test_a_derived_entry_inherits_its_parent_and_verifies_by_the_reference_or_the_local_build(tmp_path):
    (tmp_path / "int8.onnx").write_bytes(b"built by another toolchain")
    m = derived_manifest(tmp_path, "0" * 64)
    e = m.entry("det-int8")
    assert (e.task, e.input, e.preprocess, e.postprocess) == ("detect", "x", "paddle-bgr", {"thresh": 0.4})
    assert m.int8_of("det") == e and m.int8_of("det-int8") is None
    with pytest.raises(ModelError, match="sha256"):
        m.verified_path("det-int8")                          # neither the reference nor recorded here
    m.record_derived(e, sha256_file(tmp_path / "int8.onnx"), "onnxruntime test")
    assert m.verified_path("det-int8")[2] == sha256_file(tmp_path / "int8.onnx")
    (tmp_path / "int8.onnx").write_bytes(b"altered after the build")
    with pytest.raises(ModelError, match="sha256"):
        m.verified_path("det-int8")


def test_a_derived_entry_must_name_a_listed_fp32_model(tmp_path):
    derived_manifest(tmp_path, "0" * 64)
    text = (tmp_path / "manifest.toml").read_text().replace('derived_from = "det"', 'derived_from = "nope"')
    (tmp_path / "manifest.toml").write_text(text)
    with pytest.raises(ModelError, match="not a listed fp32 model"):
        load_manifest(tmp_path / "manifest.toml")


def test_the_cpu_runs_the_int8_models_unless_fp32_is_asked_and_both_read_the_same_line():
    manifest = load_manifest()
    if manifest.int8_of(manifest.default_detector) is None:
        pytest.skip("this manifest derives no int8 detector")
    lines = [(40, 40, "Invoice 2026-118 total 1,234.56 EUR", 1.0)]
    texts = {}
    for precision in ("auto", "fp32"):
        engine = Engine(EngineSettings(device="cpu", precision=precision))
        want = "int8" if precision == "auto" else "fp32"
        assert engine.model_info["precision"] == want
        if manifest.int8_of(manifest.default_recognizer) is not None:
            assert engine.model_info["recognizer"]["precision"] == want
        image = text_image(900, 160, lines)
        import cv2
        import tempfile
        with tempfile.NamedTemporaryFile(suffix=".png") as f:
            cv2.imwrite(f.name, image)
            texts[precision] = process(f.name, engine).result["pages"][0]["text"]
    assert texts["auto"] == texts["fp32"] == "Invoice 2026-118 total 1,234.56 EUR"


def test_kept_ranges_give_the_same_model_whatever_tensors_the_pages_give_this_time(tmp_path):
    """Calibration writes its ranges; quantizing from them again gives the same bytes — also when this machine's
    pages would have given other tensors (another OpenCV's resampling, another CPU's rounding), which without the
    kept ranges give another model."""
    small_net(tmp_path / "fp32.onnx")
    rng = np.random.default_rng(3)
    here = [rng.random((1, 3, 32, 32), dtype=np.float32) for _ in range(8)]
    elsewhere = [t * 1.5 for t in here]
    ranges = tmp_path / "int8.ranges.json"
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "first.onnx", "x", here, ranges=ranges)
    kept = ranges.read_bytes()
    assert sorted(json.loads(kept)["data"]) == list(json.loads(kept)["data"])    # in name order, for the checkout
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "again.onnx", "x", None, ranges=ranges)
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "elsewhere.onnx", "x", elsewhere, ranges=ranges)
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "uncached.onnx", "x", elsewhere)
    first = sha256_file(tmp_path / "first.onnx")
    assert sha256_file(tmp_path / "again.onnx") == sha256_file(tmp_path / "elsewhere.onnx") == first
    assert sha256_file(tmp_path / "uncached.onnx") != first
    assert ranges.read_bytes() == kept                  # read, not rewritten
    with pytest.raises(ValueError, match="no kept ranges"):
        quantize_int8(tmp_path / "fp32.onnx", tmp_path / "none.onnx", "x", None, ranges=tmp_path / "absent.json")


def test_every_derived_model_of_the_manifest_has_its_ranges_in_the_checkout():
    manifest = load_manifest()
    derived = [e for e in manifest.models.values() if e.derive == "int8-qdq"]
    assert derived
    for entry in derived:
        data = json.loads(ranges_path(entry).read_text())["data"]
        assert len(data) > 20 and all(t["lowest"]["data"][0] <= t["highest"]["data"][0] for t in data.values())


# /proc/cpuinfo flags of the CPUs that matter (only those fast_int8_is_exact reads, and one it must not be fooled by)
AVX2_ONLY = frozenset({"sse4_2", "avx", "avx2", "fma"})                      # Zen 3, Haswell to Skylake client
AVX512_VNNI = AVX2_ONLY | {"avx512f", "avx512bw", "avx512_vnni"}          # Cascade Lake on, Zen 4
AVX_VNNI = AVX2_ONLY | {"avx_vnni"}                                        # Alder Lake: VNNI without AVX-512
AVX512_WITHOUT_ITS_VNNI = AVX2_ONLY | {"avx512f", "avx512bw", "avx_vnni"}   # MLAS's AVX-512 core kernel, in pairs


def test_the_exact_int8_kernels_are_asked_only_where_the_fast_one_sums_in_pairs(tmp_path, monkeypatch):
    assert not fast_int8_is_exact(AVX2_ONLY)
    assert fast_int8_is_exact(AVX512_VNNI)
    assert fast_int8_is_exact(AVX_VNNI)
    assert not fast_int8_is_exact(AVX512_WITHOUT_ITS_VNNI)
    monkeypatch.setattr(session_module, "cpu_flags", lambda: None)
    assert not fast_int8_is_exact()                      # flags unknown (not Linux): exact, if slower

    path = tmp_path / "net.onnx"
    small_net(path)
    for flags, asked in ((AVX2_ONLY, True), (AVX512_VNNI, False), (None, True)):
        monkeypatch.setattr(session_module, "cpu_flags", lambda flags=flags: flags)
        session, _ = create_session(path, SessionConfig(device="cpu", intra_op_threads=1))
        options = session.get_session_options()
        if asked:
            assert options.get_session_config_entry("session.x64quantprecision") == "1"
        else:
            with pytest.raises(RuntimeError):                # the option is not set at all
                options.get_session_config_entry("session.x64quantprecision")


def test_where_vnni_sums_in_32_bits_a_page_reads_to_the_bit_as_with_the_exact_kernels(tmp_path, monkeypatch):
    """Why the option may be left off there: the same boxes, texts and scores, not merely the same text."""
    if not fast_int8_is_exact():
        pytest.skip("this CPU's fast int8 kernel sums in pairs into 16 bits (no VNNI): the exact one is always used")
    import cv2
    image = tmp_path / "page.png"
    cv2.imwrite(str(image), text_image(900, 200, [(40, 60, "Invoice 2026-118 total 1,234.56 EUR", 1.0),
                                                  (40, 140, "paid by card, thank you", 0.7)]))
    pages = {}
    for flags in (None, AVX2_ONLY):                     # this CPU's own flags, then the exact kernels forced
        if flags is not None:
            monkeypatch.setattr(session_module, "cpu_flags", lambda: flags)
        engine = Engine(EngineSettings(device="cpu", precision="int8", threads=1))
        assert engine.model_info["precision"] == "int8"
        pages[flags] = process(image, engine).result["pages"]
    assert pages[None][0]["text"] == "Invoice 2026-118 total 1,234.56 EUR\npaid by card, thank you"
    assert json.dumps(pages[None]) == json.dumps(pages[AVX2_ONLY])
