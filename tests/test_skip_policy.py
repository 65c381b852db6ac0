"""The suite's own skip policy: a missing tool or data set skips a test on a workstation, but in CI (CI=true, which
.ci/run sets) it fails — a skipped test there would be a promise nobody checked."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def pytest_outcome(tests_dir: Path, ci: str | None, *args: str) -> str:
    """The summary line of a pytest run with CI set to `ci` (None: unset) and no $OCRWATCHD_SHARED."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OCRWATCHD_SHARED")}
    if ci is not None:
        env["CI"] = ci
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tests_dir),
                        *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return p.stdout.strip().splitlines()[-1]


def test_ci_run_sets_ci_before_make_test():
    script = (REPO / ".ci/run").read_text()
    export = re.search(r"^export CI=true$", script, re.M)
    make = re.search(r"^make test$", script, re.M)
    assert export and make and export.start() < make.start()


def test_real_scan_tests_fail_in_ci_when_the_shared_data_is_missing(tmp_path):
    # A copy of the decode tests in a checkout without ../shared beside it.
    tests = tmp_path / "checkout" / "tests"
    tests.mkdir(parents=True)
    for name in ("conftest.py", "imagefiles.py", "test_decode_pixels.py"):
        shutil.copy(REPO / "tests" / name, tests / name)
    assert not (tmp_path / "shared").exists()
    target = [str(tests / "test_decode_pixels.py"), "-k", "real_scans"]
    assert re.fullmatch(r"3 skipped, \d+ deselected in .*", pytest_outcome(tests, None, *target))
    assert re.fullmatch(r"3 failed, \d+ deselected in .*", pytest_outcome(tests, "true", *target))


def test_a_missing_tool_fails_in_ci_and_skips_elsewhere(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", tests / "conftest.py")
    (tests / "test_tool.py").write_text(
        "from conftest import need\n\n\n"
        "def test_uses_a_tool():\n"
        "    need('no-such-tool-ocrwatchd', 'the CI image installs it')\n")
    for ci in (None, "", "false"):
        assert re.fullmatch(r"1 skipped in .*", pytest_outcome(tests, ci, str(tests)))
    for ci in ("true", "1"):
        assert re.fullmatch(r"1 failed in .*", pytest_outcome(tests, ci, str(tests)))
