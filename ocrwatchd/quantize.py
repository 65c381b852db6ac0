"""Install time: int8 versions of the fp32 detector and recogniser, derived here, reproducibly.

On a CPU the models' convolutions and matrix products are most of a page's time; static int8 quantization (QDQ,
weights per channel) lets onnxruntime run them as integer kernels (VNNI where the CPU has it). The activation
ranges are calibrated on what the models really see: the fp32 pipeline reads the calibration pages shipped in
models/calibration/ and every tensor it feeds the detector and the recogniser is recorded, so tiles and line
crops are cut, scaled and padded exactly as they are at run time.

The ranges that calibration finds are kept beside the pages (NAME.ranges.json, onnxruntime's calibration cache),
and install quantizes from them: the fp32 pass over the pages depends on OpenCV's resampling and the CPU's float
rounding, and int8 reads are sensitive to the last bits of a range (two builds whose ranges differed by 1e-7 in 9
of 96 tensors read FUNSD-train's word F1 0.7901 and 0.7886), so a model derived from the pages on each machine
read each machine's own numbers. From the kept ranges every machine with the same quantizer derives the same
bytes. `ocrwatchd models install --recalibrate` reads the pages again and rewrites the ranges (after the pages,
the fp32 model or a calibration setting change).

Nothing here runs when ocrwatchd reads a file; `ocrwatchd models install` calls derive_int8 after the fp32 files
are in place, and load checks the derived files' sha256 like every other model's.
"""
from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fsutil import replace_file

log = logging.getLogger(__name__)

CALIBRATION_DIR = Path(__file__).resolve().parent.parent / "models" / "calibration"
# Per calibration page: enough tensors to see every kind of page in the set, few enough that install stays short
# (the fp32 pass over the pages and the calibration runs are most of it).
DET_TENSORS_PER_PAGE = 4
REC_TENSORS_PER_PAGE = 64     # every line batch of the shipped pages (117 in all, 7-58 a page)


@dataclass
class Recorded:
    """The inputs one session was given, in order, up to a limit."""

    input_name: str
    limit: int
    tensors: list

    def add(self, feed: dict) -> None:
        if len(self.tensors) < self.limit:
            self.tensors.append(np.array(feed[self.input_name], copy=True))


class RecordingSession:
    """Stands in for an InferenceSession: runs it and keeps a copy of each input."""

    def __init__(self, session, record: Recorded) -> None:
        self._session, self._record = session, record

    def run(self, outputs, feed, *args, **kwargs):
        self._record.add(feed)
        return self._session.run(outputs, feed, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)


def ranges_path(entry, directory: Path = CALIBRATION_DIR) -> Path:
    """Where the calibrated ranges of a derived model are kept: beside the pages they were calibrated on."""
    return directory / f"{Path(entry.file).stem}.ranges.json"


def calibration_pages(directory: Path = CALIBRATION_DIR) -> list[Path]:
    from .modelstore import ModelError

    pages = sorted(p for p in directory.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not pages:
        raise ModelError(f"no calibration pages in {directory} (pass the checkout's models/calibration with "
                         "--calibration)")
    return pages


def record_inputs(engine, pages: list[Path]) -> tuple[list, list]:
    """Read the pages with an fp32 engine; the detector's and the recogniser's inputs as they were fed, the
    first few of each page (so every page has its say)."""
    from .pipeline.run import process

    reading = engine.recognizer is not None
    det_session = engine.detector.session
    rec_session = engine.recognizer.session if reading else None
    det_all, rec_all = [], []
    try:
        for page in pages:
            det = Recorded(engine.detector.spec.input_name, DET_TENSORS_PER_PAGE, [])
            engine.detector.session = RecordingSession(det_session, det)
            if reading:
                rec = Recorded(engine.recognizer.spec.input_name, REC_TENSORS_PER_PAGE, [])
                engine.recognizer.session = RecordingSession(rec_session, rec)
            process(page, engine)
            det_all += det.tensors
            rec_all += rec.tensors if reading else []
    finally:
        engine.detector.session = det_session
        if reading:
            engine.recognizer.session = rec_session
    return det_all, rec_all


def toolchain() -> str:
    import numpy
    import onnx
    import onnxruntime
    return f"onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, numpy {numpy.__version__}"


def derive_int8(manifest, directory: Path | None = None, recalibrate: bool = False) -> list[Path]:
    """Derive every int8 model of the manifest whose file is missing or does not verify; returns those written.

    Each is quantized from its kept ranges (ranges_path) where they exist; the others, or all with recalibrate,
    are calibrated on the pages in directory first and their ranges written there. The fp32 parents must be
    installed (they are the quantizer's input, and read the pages when calibrating)."""
    from .modelstore import ModelError, sha256_file

    directory = directory or CALIBRATION_DIR
    todo = []
    for entry in manifest.models.values():
        if entry.derive != "int8-qdq":
            continue
        try:
            manifest.verified_path(entry.name)
            verified = True
        except ModelError:
            verified = False
        if recalibrate or not verified:
            todo.append(entry)
    calibrate = {e.name for e in todo if recalibrate or not ranges_path(e, directory).is_file()}
    det_tensors = rec_tensors = []
    if calibrate:
        from .pipeline.engine import Engine, EngineSettings

        detectors = [e.derived_from for e in todo if e.name in calibrate and e.task == "detect"]
        recognizers = [e.derived_from for e in todo if e.name in calibrate and e.task == "recognize"]
        if len(detectors) > 1 or len(recognizers) > 1:
            raise ModelError("cannot calibrate more than one int8 detector and one recogniser at a time")
        # the recogniser (and the orientation check that uses it) only runs when a recogniser is to be calibrated
        # one model run at a time, so the tensors are recorded (and their ranges averaged) in the same order on
        # every run: with two in flight two calibrations here differed in the last bits of their ranges
        engine = Engine(EngineSettings(manifest=manifest.path, device="cpu", precision="fp32", parallel_runs=1,
                                       model=detectors[0] if detectors else None, recognize=bool(recognizers),
                                       recognizer=recognizers[0] if recognizers else None))
        det_tensors, rec_tensors = record_inputs(engine, calibration_pages(directory))
    written = []
    for entry in todo:
        parent = manifest.entry(entry.derived_from)
        ranges = ranges_path(entry, directory)
        tensors = None
        if entry.name in calibrate:
            tensors = det_tensors if entry.task == "detect" else rec_tensors
            ranges.unlink(missing_ok=True)      # the quantizer writes the ranges it calibrates where none are
        _, src, _ = manifest.verified_path(parent.name)
        dst = manifest.directory / entry.file
        # The detector: every op but its head's upsampling (upsampling_head), ranges min/max over all tiles (the
        # mean of each tile's own read the SROIE receipts worse: word F1 0.877 vs 0.884). The recogniser: its
        # sequence encoder stays fp32 (every op int8 had cost SROIE word F1 0.8835 -> 0.8663) and ranges are the
        # mean of each batch's own (held-out characters read unlike fp32: 3.3 % -> 2.2 %; SROIE word F1 0.8806 ->
        # 0.8846), and its GELUs are one fp32 op each (fuse_gelu: SROIE CER 0.0520 -> 0.0511, FUNSD-train's 0.1758
        # -> 0.1738). The detector's GELUs are left to the quantizer: fused, a tile ran ~9 % faster but read
        # degraded print worse (FUNSD-train CER +0.005, 12 synthetic faxes +0.006; measured again with its head
        # conv int8: 20 % faster, SROIE word F1 -0.0065, FUNSD-train CER +0.008; the README's Models section).
        if entry.task == "recognize":
            quantize_int8(src, dst, parent.input, tensors, keep=encoder_nodes, moving_average=True, gelu_fp32=True,
                          ranges=ranges)
        else:
            quantize_int8(src, dst, parent.input, tensors, keep=upsampling_head, ranges=ranges)
        digest = sha256_file(dst)
        if digest != entry.sha256:
            built_with = toolchain()
            manifest.record_derived(entry, digest, built_with)
            log.warning("%s built with %s differs from the reference build's sha256 (another quantizer, or ranges "
                        "calibrated again); recorded in %s", dst.name, built_with,
                        manifest.directory / "derived.toml")
        written.append(dst)
    return written


def upsampling_head(model) -> list[str]:
    """The head's nodes from its first transposed conv on (head_nodes where it has none). The DB detector's head
    is a 3x3 conv over the joined pyramid at a quarter of the tile's size, then two transposed convs that draw the
    probability map at full size, and the sigmoid: the map's 0.4 contour is the box, so those stay fp32. The conv
    is a conv like the trunk's, and was 13 % of an 800 x 832 tile's kernel time in fp32 (onnxruntime's profiler):
    int8, a tile runs 11 % faster (1 thread, min of 7: 134 -> 120 ms), and every quality set reads within its
    run-to-run spread (the README's Models section)."""
    ops = {node.name: node.op_type for node in model.graph.node}
    names = head_nodes(model)
    ups = [k for k, name in enumerate(names) if ops[name] == "ConvTranspose"]
    return names[:ups[-1] + 1] if ups else names


def head_nodes(model) -> list[str]:
    """The nodes of the model's output head: walking back from the output while each node has one input that is
    not a weight. For the DB detector that is the probability head after the feature pyramid's concat (a conv,
    two transposed convs, the sigmoid); for the CTC recogniser, the classifier after its sequence encoder."""
    weights = {i.name for i in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    names, tensor = [], model.graph.output[0].name
    while (node := producer.get(tensor)) is not None:
        data = [i for i in node.input if i and i not in weights]
        if len(data) != 1:
            break
        names.append(node.name)
        tensor = data[0]
    return names


def encoder_nodes(model) -> list[str]:
    """The nodes of a CTC recogniser's sequence encoder and classifier: the last pooling node (where the
    convolutional backbone ends, the line's height squeezed to one row of features) and every node after it.
    A model with no pooling node has none."""
    pools = [k for k, node in enumerate(model.graph.node)
             if node.op_type in ("AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool")]
    return [node.name for node in model.graph.node[pools[-1]:]] if pools else []


def fuse_gelu(model):
    """The model with each GELU written as its five elementwise ops (Div, Erf, Add, Mul, Mul) made the one Gelu op
    onnxruntime has a kernel for (onnxruntime.transformers' own fusion).

    onnxruntime fuses them itself when it loads an fp32 graph, but not once they are quantized: the quantizer
    puts its Add and Muls in int8 with a quantize/dequantize pair around each, and gives Div and Mul their own
    dequantize of the input, which the fusion does not recognise. Fused first, the Gelu stays fp32 between one
    dequantize and one quantize. A batch of 8 48×640 lines in the recogniser, 1 thread, min of 9: 0.559-0.589 ->
    0.505-0.513 s (one 1024² detector tile, min of 15: 0.627-0.634 -> 0.571-0.574 s, not taken: derive_int8)."""
    import onnx
    from onnxruntime.transformers.fusion_gelu import FusionGelu
    from onnxruntime.transformers.onnx_model import OnnxModel

    wrapped = OnnxModel(model)
    FusionGelu(wrapped).apply()
    # The fusion appends its nodes at the end; quant_pre_process writes the graph back in order, before
    # encoder_nodes reads that order.
    if any(node.op_type == "Gelu" for node in wrapped.model.graph.node) and \
            not any(o.domain == "com.microsoft" for o in wrapped.model.opset_import):
        wrapped.model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    return wrapped.model


def quantize_int8(src: Path, dst: Path, input_name: str, tensors: list | None, keep=head_nodes,
                  moving_average: bool = False, gelu_fp32: bool = False, ranges: Path | None = None) -> None:
    """Static int8 QDQ of an fp32 ONNX file: weights int8 per channel, activations uint8 from the recorded
    tensors' ranges, the nodes keep(model) names left fp32. Ranges are min/max over all tensors, or with
    moving_average the mean of each tensor's own min/max; with gelu_fp32 each GELU is one fp32 op (fuse_gelu).
    With ranges (onnxruntime's calibration cache) an existing file's ranges are used and tensors may be None;
    a missing one is written with the ranges calibrated on tensors. Made in a temporary folder, then put in
    place atomically (fsutil.replace_file)."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(tensors)

        def get_next(self):
            x = next(self._it, None)
            return None if x is None else {input_name: x}

    calibrating = ranges is None or not ranges.is_file()
    if calibrating and tensors is None:
        raise ValueError(f"no tensors to calibrate {src.name} on, and no kept ranges at {ranges}")
    with tempfile.TemporaryDirectory(prefix="ocrwatchd-quant-") as tmp:
        # PaddleOCR's older exports are opset 11; per-channel QDQ needs 13 (DequantizeLinear's axis). Newer ones
        # (opset 14) are left as they are: the converter has no way back down for some of their ops.
        opset13 = Path(tmp) / "opset13.onnx"
        model = onnx.load(str(src))
        if max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=13) < 13:
            model = version_converter.convert_version(model, 13)
        onnx.save(fuse_gelu(model) if gelu_fp32 else model, str(opset13))
        del model
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(opset13), str(prepared), skip_symbolic_shape=True)
        out = Path(tmp) / "int8.onnx"
        exclude = keep(onnx.load(str(prepared))) if keep is not None else []
        quantize_static(str(prepared), str(out), Reader() if calibrating else None,
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        nodes_to_exclude=exclude,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"CalibMovingAverage": moving_average},
                        calibration_cache_path=str(ranges) if ranges is not None else None)
        if ranges is not None and calibrating:
            # the same ranges, their tensors in name order: the quantizer writes them in a set's order, which
            # changes from run to run, and the file is kept in the checkout
            replace_file(ranges, (json.dumps(json.loads(ranges.read_text()), sort_keys=True) + "\n").encode())
        replace_file(dst, out.read_bytes())
