"""The suite's own rules (tests/conftest.py), run on a tiny suite that carries a copy of that conftest.

- When CI is set, a skipped test fails, except one marked `pulumi_cli`, and the summary names that skip.
- A golden file no test produced in a complete run fails the run; `--update-golden` removes it.
- Build output (.deployer/) written into blueprints/ fails the run, even from a module fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

TESTS = '''
import shutil
import pytest

def test_uses_a_golden(golden):
    golden("kept.txt", "kept\\n")

def test_needs_a_tool():
    if shutil.which("no-such-tool-here") is None:
        pytest.skip("no-such-tool-here is missing")

@pytest.mark.pulumi_cli
def test_needs_pulumi():
    pytest.skip("needs the pulumi CLI")
'''


@pytest.fixture
def suite(tmp_path) -> Path:
    """tmp/tests/{conftest.py (a copy), test_small.py, golden/kept.txt, golden/old/stale.txt}, tmp/blueprints/."""
    (tmp_path / "blueprints").mkdir()
    tests = tmp_path / "tests"
    (tests / "golden" / "old").mkdir(parents=True)
    shutil.copy(HERE / "conftest.py", tests / "conftest.py")
    (tests / "test_small.py").write_text(TESTS)
    (tests / "golden" / "kept.txt").write_text("kept\n")
    (tests / "golden" / "old" / "stale.txt").write_text("nobody makes me\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    pulumi_cli: needs the pulumi CLI\n")
    return tmp_path


def pytest_in(root: Path, *args: str, ci: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("PYTEST_")}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_outside_ci_a_missing_tool_skips_and_the_summary_counts_it(suite):
    done = pytest_in(suite, "-k", "tool or pulumi")
    assert done.returncode == 0, done.stdout
    assert "1 skipped because the pulumi CLI is not installed: the one accepted skip" in done.stdout
    assert "1 skipped for another reason: each of these FAILS when CI is set" in done.stdout


def test_in_ci_only_the_pulumi_skip_is_accepted(suite):
    done = pytest_in(suite, "-k", "tool or pulumi", ci=True)
    assert done.returncode == 1, done.stdout
    assert "FAILED tests/test_small.py::test_needs_a_tool" in done.stdout
    assert "skipped in CI: Skipped: no-such-tool-here is missing" in done.stdout
    assert "1 failed, 1 skipped" in done.stdout
    assert "1 skipped because the pulumi CLI is not installed" in done.stdout


def test_a_stale_golden_file_fails_a_complete_run_and_update_golden_removes_it(suite):
    done = pytest_in(suite)
    assert done.returncode == 1, done.stdout
    assert "stale golden file (no test produces it): tests/golden/old/stale.txt" in done.stdout
    assert "kept.txt" not in done.stdout.split("stale golden file")[-1]
    partial = pytest_in(suite, "-k", "golden")  # a partial run cannot tell: it says nothing
    assert partial.returncode == 0 and "stale" not in partial.stdout, partial.stdout
    updated = pytest_in(suite, "--update-golden")
    assert updated.returncode == 0, updated.stdout
    assert "removed stale golden file tests/golden/old/stale.txt" in updated.stdout
    assert not (suite / "tests/golden/old/stale.txt").exists()
    assert (suite / "tests/golden/kept.txt").read_text() == "kept\n"


def test_no_module_sets_the_local_retry_delay_for_the_whole_session():
    """Every test module is imported at collection, before any test runs: one that set the variable at
    import would show here. Tests that want fast retries ask for the `fast_retries` fixture."""
    assert "DEPLOYER_LOCAL_RETRY_DELAY" not in os.environ


def test_build_output_written_into_blueprints_fails_the_run_even_from_a_module_fixture(suite):
    (suite / "blueprints" / "demo").mkdir()
    (suite / "tests" / "test_writes.py").write_text(
        "import pytest\nfrom conftest import BLUEPRINTS\n\n"
        "@pytest.fixture(scope='module')\ndef built():\n    (BLUEPRINTS / 'demo' / '.deployer').mkdir()\n\n"
        "def test_plans(built):\n    pass\n")
    done = pytest_in(suite, "tests/test_writes.py")
    assert done.returncode == 1, done.stdout
    assert f"a test wrote {suite / 'blueprints/demo/.deployer'} into the repository" in done.stdout
