import json
import os

import pytest

from ocrwatchd.config import ConfigError, check_folders, load_config


def write(tmp_path, text):
    p = tmp_path / "ocrwatchd.toml"
    p.write_text(text)
    return p


def inbox_toml(tmp_path, extra=""):
    return f'''
[[inboxes]]
path = "{tmp_path}/in"
output = "{tmp_path}/done"
failed = "{tmp_path}/failed"
{extra}
[workers]
count = 3
[queue]
size = 8
'''


def test_loads_values_and_defaults(tmp_path):
    c = load_config(write(tmp_path, inbox_toml(tmp_path, "visualize = true")))
    assert c.workers.count == 3 and c.queue.size == 8 and c.settle_seconds == 2.0
    assert c.inboxes[0].visualize and c.inboxes[0].recursive
    assert c.metrics.listen == "127.0.0.1:9464" and c.engine.tile_size == 1024


def test_environment_overrides_nested_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("OCRWATCHD_WORKERS__COUNT", "5")
    monkeypatch.setenv("OCRWATCHD_ENGINE__DEVICE", "cpu")
    c = load_config(write(tmp_path, inbox_toml(tmp_path)))
    assert c.workers.count == 5 and c.engine.device == "cpu"


@pytest.mark.parametrize("extra,key", [
    ("outptu = '/x'", "inboxes.0.outptu"),
    ("recursive = 'sometimes'", "inboxes.0.recursive"),
])
def test_unknown_or_bad_keys_name_the_key(tmp_path, extra, key):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, inbox_toml(tmp_path, extra)))
    assert key in str(e.value) and "\n" not in str(e.value)


def test_unknown_top_level_table_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="wokers"):
        load_config(write(tmp_path, inbox_toml(tmp_path) + "\n[wokers]\ncount = 1\n"))


def test_output_inside_inbox_is_a_loop(tmp_path):
    text = f'''
[[inboxes]]
path = "{tmp_path}/in"
output = "{tmp_path}/in/done"
failed = "{tmp_path}/failed"
'''
    with pytest.raises(ConfigError, match=r"inboxes\.0\.output: .* processing loop"):
        load_config(write(tmp_path, text))


def test_relative_path_refused(tmp_path):
    text = '[[inboxes]]\npath = "in"\noutput = "/tmp/o"\nfailed = "/tmp/f"\n'
    with pytest.raises(ConfigError, match=r"inboxes\.0\.path: .*absolute"):
        load_config(write(tmp_path, text))


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, "[[inboxes]\n"))


def test_folders_checked_and_created(tmp_path):
    c = load_config(write(tmp_path, inbox_toml(tmp_path)))
    with pytest.raises(ConfigError, match=r"inboxes\.0\.path: .* not an existing folder"):
        check_folders(c)
    (tmp_path / "in").mkdir()
    check_folders(c)
    assert (tmp_path / "done").is_dir() and (tmp_path / "failed").is_dir()


def test_unwritable_folder_refused(tmp_path, monkeypatch):
    c = load_config(write(tmp_path, inbox_toml(tmp_path)))
    (tmp_path / "in").mkdir()
    check_folders(c)
    done = str(tmp_path / "done")
    real_access = os.access
    # root may write anywhere, so the permission answer is what is faked, not the folder
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == done else real_access(p, mode))
    with pytest.raises(ConfigError, match=r"inboxes\.0\.output: .* not writable"):
        check_folders(c)


def test_check_config_cli_prints_effective_config(tmp_path):
    import subprocess
    import sys

    p = write(tmp_path, inbox_toml(tmp_path))
    r = subprocess.run([sys.executable, "-m", "ocrwatchd", "check-config", "--config", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    eff = json.loads(r.stdout)
    assert eff["workers"]["count"] == 3 and eff["inboxes"][0]["path"] == f"{tmp_path}/in"
    bad = write(tmp_path, inbox_toml(tmp_path, "bogus = 1"))
    r = subprocess.run([sys.executable, "-m", "ocrwatchd", "check-config", "--config", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "inboxes.0.bogus" in r.stderr


def test_annotated_example_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "etc" / "ocrwatchd.toml"
    c = load_config(example)
    assert c.inboxes[0].path == Path("/srv/scans/inbox") and c.workers.count == 2 and c.queue.size == 32


def test_annotated_example_names_every_key(tmp_path):
    """The README says the example lists every key: with its commented-out keys switched on it sets each key of
    every table, and is still a valid configuration."""
    import re
    import tomllib
    from pathlib import Path

    from ocrwatchd.config import Config, InboxConfig

    text = (Path(__file__).resolve().parents[1] / "etc" / "ocrwatchd.toml").read_text()
    on = re.sub(r"(?m)^# (\w+ = )", r"\1", text)
    data = tomllib.loads(on)

    def fields(model, prefix=""):
        out = set()
        for name, f in model.model_fields.items():
            sub = f.annotation if isinstance(f.annotation, type) and hasattr(f.annotation, "model_fields") else None
            out |= fields(sub, f"{prefix}{name}.") if sub else {prefix + name}
        return out

    def keys(table, prefix=""):
        out = set()
        for name, value in table.items():
            if isinstance(value, dict):
                out |= keys(value, f"{prefix}{name}.")
            elif name == "inboxes":
                out |= {f"inboxes.{k}" for k in value[0]}
            else:
                out.add(prefix + name)
        return out

    wanted = (fields(Config) - {"inboxes"}) | {f"inboxes.{k}" for k in InboxConfig.model_fields}
    assert keys(data) == wanted
    write(tmp_path, on.replace('archive = "/srv/scans/originals"', "# archive"))
    load_config(tmp_path / "ocrwatchd.toml")        # every key switched on is still a valid configuration


@pytest.mark.parametrize("name,key", [
    ("OCRWATCHD_WORKER__COUNT", "worker"),               # misspelt section: silently dropped by pydantic-settings
    ("OCRWATCHD_WORKERS__CUONT", "workers.cuont"),
    ("OCRWATCHD_SETTLE_SECOND", "settle_second"),
    ("OCRWATCHD_LOG_LEVEL__X", "log_level.x"),           # a plain value has no keys below it
    ("ocrwatchd_engine__devise", "engine.devise"),       # names are matched case-insensitively, like the keys
])
def test_unknown_environment_variables_are_refused_like_bad_keys(tmp_path, monkeypatch, name, key):
    monkeypatch.setenv(name, "4")
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, inbox_toml(tmp_path)))
    msg = str(e.value)
    assert "\n" not in msg and name in msg and f": {key}: " in msg and "not permitted" in msg


def test_known_environment_variables_and_non_config_ones_are_accepted(tmp_path, monkeypatch):
    from ocrwatchd.config import NOT_CONFIG_ENV

    monkeypatch.setenv("OCRWATCHD_MODELS_DIR", "/nowhere")     # read by modelstore, not a config key
    monkeypatch.setenv("OCRWATCHD_SHARED", "/nowhere")         # the tests' shared data
    monkeypatch.setenv("OCRWATCHD_QUEUE", '{"size": 3}')       # a whole table as JSON
    monkeypatch.setenv("OCRWATCHD_SETTLE_SECONDS", "0.5")
    assert {"OCRWATCHD_MODELS_DIR", "OCRWATCHD_SHARED"} <= set(NOT_CONFIG_ENV)
    c = load_config(write(tmp_path, inbox_toml(tmp_path)))
    assert c.queue.size == 3 and c.settle_seconds == 0.5


def test_daemon_refuses_a_misspelt_environment_variable(tmp_path):
    import subprocess
    import sys

    p = write(tmp_path, inbox_toml(tmp_path))
    env = {**os.environ, "OCRWATCHD_WORKER__COUNT": "4"}
    r = subprocess.run([sys.executable, "-m", "ocrwatchd", "check-config", "--config", str(p)],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "OCRWATCHD_WORKER__COUNT" in r.stderr
