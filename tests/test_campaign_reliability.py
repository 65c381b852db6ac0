"""The campaign's "bad" and "disk" parts, short versions, against the real daemon (the full ones:
`python bench/campaign.py --parts bad,disk`, tables in bench/out/)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from campaign_bad import bad_inputs  # noqa: E402
from campaign_disk import full_disk  # noqa: E402

CLEAN = ("lost", "doubled", "incomplete sets", "left behind", "temp left")


def test_every_bad_input_ends_with_its_reason_and_the_daemon_stays_healthy(tmp_path):
    """Truncated, empty, misnamed, bombs (headers, 100,000-page TIFF, 10,000-page PDF, Flate and form bombs),
    encrypted, broken page tree, symlinks, FIFO, socket, another user's 0600 file, odd names, a claimed file deleted
    or replaced, a sub-folder renamed while queued, the inbox deleted and made again: each ends where the table in
    bench/bad_inputs.py says, with that reason; /healthz answered 200 at every poll; the daemon exits 0."""
    row = bad_inputs(tmp_path / "bad", short=True)
    assert row["_wrong"] == [], row["_wrong"]
    assert {k: row[k] for k in CLEAN} == dict.fromkeys(CLEAN, 0), row
    assert row["_health_bad"] == [] and row["_rc"] == 0
    assert "claim window held" in row["notes"]
    outcomes = dict((name, outcome) for _, name, _, outcome in row["_table"])
    assert outcomes["form-bomb.pdf"] == "failed:too-large" and outcomes["pages-100000.tif"] == "failed:too-many-pages"


def test_full_and_read_only_output_folders_pause_work_and_lose_nothing(tmp_path):
    """Output and failed folders on 3 MB / 512 KB tmpfs mounts filled up, then the output remounted read-only,
    then chmod 555: jobs wait (never quarantined for it), claiming pauses, every set is whole, nothing is left in
    staging, and work resumes by itself each time."""
    row = full_disk(tmp_path / "disk", short=True)
    notes = row["notes"]
    if not row.get("_filled") and "permission phase skipped" in notes:
        pytest.skip(notes)
    assert {k: row[k] for k in CLEAN} == dict.fromkeys(CLEAN, 0), row
    assert row["done"] + row["failed"] == row["files in"] and row["failed"] == (1 if row.get("_filled") else 0)
    assert not row["_quarantined_for_space"] and row["_staging"] == []
    phases = (2 if row.get("_filled") else 0) + (0 if "permission phase skipped" in notes else 1)
    assert len(row["_pauses"]) == phases, notes                  # each pause ended by itself
    assert row["_health_bad"] == [] and row["_rc"] == 0
    if row.get("_filled"):
        # the gauge saw the full filesystems (the failed one at 0 bytes free) and their space coming back
        assert min(row["_free"]["failed"]) == 0 and max(row["_free"]["failed"]) > 400 * 1024
        assert min(row["_free"]["output"]) < 64 * 1024 < 2 << 20 < max(row["_free"]["output"])
