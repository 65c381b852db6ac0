"""The short version of the reliability campaign (bench/campaign.py): the real daemon killed with kill -9 with jobs
in flight and at publish steps, restarted each time, then audited: every file exactly once, every set complete."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import campaign_parts  # noqa: E402


def test_kill_9_anywhere_short(tmp_path):
    row = campaign_parts.kill_anywhere(tmp_path / "kill", short=True)
    assert row["files in"] == 10 and row["done"] == 10, row
    assert (row["lost"], row["doubled"], row["left behind"], row["incomplete sets"], row["temp left"]) == (0, 0, 0, 0, 0), row


def test_the_audit_sees_what_goes_wrong(tmp_path):
    """The audit can fail: a doubled set, a set without one of its formats, a file left waiting, a temp file."""
    import hashlib

    from conftest import Daemon, small_scan

    d = Daemon(tmp_path)
    d.out.mkdir()
    d.failed.mkdir()
    files = {f"s{i}.png": small_scan(i) for i in range(4)}
    sources = {hashlib.sha256(v).hexdigest(): k for k, v in files.items()}
    for name in ("s0", "s0-1"):                               # s0 published twice
        (d.out / f"{name}.png").write_bytes(files["s0.png"])
        for suffix in (".json", ".txt"):
            (d.out / f"{name}{suffix}").write_text("{}")
    (d.out / "s1.png").write_bytes(files["s1.png"])          # s1 without its .txt
    (d.out / "s1.json").write_text("{}")
    (d.inbox / "s2.png").write_bytes(files["s2.png"])        # s2 still waiting; s3 nowhere
    (d.out / ".s9.json.ab12cd34.tmp").write_text("{")
    row = campaign_parts.audit(sources, d, ("txt",))
    assert (row["done"], row["doubled"], row["incomplete sets"], row["left behind"], row["lost"], row["temp left"]) == (
        2, 1, 1, 1, 1, 1), row
