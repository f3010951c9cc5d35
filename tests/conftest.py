"""Shared test fixtures: example blueprints, the golden-file helper, a CLI runner; the suite's skip policy.

Golden files live under tests/golden/ and are regenerated with `pytest --update-golden` (then
reviewed in the diff like any other change). A golden file that no test produced in a complete run is
stale: the run fails, and `--update-golden` removes it.

Skips: scripts/test.sh installs everything the tests need, so when CI runs (`CI` set) a skipped test is
a FAILURE, whatever the reason; the one accepted skip is a test marked `pulumi_cli` (the pulumi CLI does
not install from the registries CI reaches). The summary says how many tests that skip covered.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
EXAMPLES = sorted(p.name for p in BLUEPRINTS.iterdir() if (p / "deployer.yaml").is_file())
GOLDEN = Path(__file__).resolve().parent / "golden"

# Secrets the examples declare; tests deploy and plan with a known dummy value.
os.environ.setdefault("INGEST_TOKEN", "test-token")
# The local cloud's folder of stores that already exist is machine-wide (~/.local/share/deployer/...):
# the tests' local clouds (daemons inherit this) use a private one instead, removed at exit.
if not os.environ.get("DEPLOYER_LOCAL_EXISTING"):
    os.environ["DEPLOYER_LOCAL_EXISTING"] = tempfile.mkdtemp(prefix="deployer-existing-")
    atexit.register(shutil.rmtree, os.environ["DEPLOYER_LOCAL_EXISTING"], True)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from current output (and remove the ones no test produces)")


# -- skip policy -----------------------------------------------------------------------------------

ACCEPTED_SKIP = "pulumi_cli"  # the marker of the one skip CI accepts


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _fail_skip_in_ci(report, accepted: bool) -> None:
    if report.skipped and in_ci() and not accepted and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"skipped in CI: {reason}\nCI runs every test but the pulumi CLI's: "
                           "scripts/test.sh (scripts/test-tools.sh) must install what this test needs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip_in_ci(outcome.get_result(), accepted=item.get_closest_marker(ACCEPTED_SKIP) is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip_in_ci(outcome.get_result(), accepted=False)  # a whole module skipped (importorskip, skip())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    accepted = [r for r in skipped if ACCEPTED_SKIP in getattr(r, "keywords", {})]
    if accepted:
        terminalreporter.write_line(f"{len(accepted)} skipped because the pulumi CLI is not installed: the one "
                                    "accepted skip (real Pulumi runs; every other skip fails when CI is set)")
    others = len(skipped) - len(accepted)
    if others and not in_ci():
        terminalreporter.write_line(f"{others} skipped for another reason: each of these FAILS when CI is set",
                                    yellow=True)
    for line in config.stash.get(_NOTES, []):
        terminalreporter.write_line(line, red=not config.getoption("--update-golden"))


# -- golden files ----------------------------------------------------------------------------------

_NOTES = pytest.StashKey[list]()
_used_golden: set[str] = set()


def pytest_runtest_logreport(report):
    """Collect the golden files tests used (reported from xdist workers too, as user properties)."""
    _used_golden.update(value for key, value in report.user_properties if key == "golden")


def complete_run(session) -> bool:
    """Every test of tests/ ran and passed: only then is an unused golden file known to be stale."""
    opt = session.config.option
    narrowed = opt.keyword or opt.markexpr or opt.collectonly or getattr(opt, "deselect", None) \
        or getattr(opt, "lf", False)
    here = session.config.invocation_params.dir
    whole = all((here / arg.split("::")[0]).resolve() in (GOLDEN.parent, ROOT) for arg in session.config.args)
    return whole and not narrowed and session.testsfailed == 0 and not session.shouldstop


def _build_output_in_the_repository() -> set[Path]:
    return {p for p in [*BLUEPRINTS.glob("*/.deployer"), GOLDEN.parent / "fixtures/events/portable/.deployer"]
            if p.exists()}


_BEFORE = pytest.StashKey[set]()


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = _build_output_in_the_repository()


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks
    stray = sorted(_build_output_in_the_repository() - session.config.stash.get(_BEFORE, set()))
    if stray:  # written by a test, or by a module or session fixture the per-test check cannot see
        session.config.stash[_NOTES] = [f"a test wrote {p} into the repository: plan or package a copy "
                                        "(conftest.example_copy)" for p in stray]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if not complete_run(session):
        return  # a partial run
    stale = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*")
                   if p.is_file() and str(p.relative_to(GOLDEN)) not in _used_golden)
    if not stale:
        return
    if session.config.getoption("--update-golden"):
        for rel in stale:
            (GOLDEN / rel).unlink()
        session.config.stash[_NOTES] = [f"removed stale golden file tests/golden/{rel}" for rel in stale]
        return
    session.config.stash[_NOTES] = [f"stale golden file (no test produces it): tests/golden/{rel}; "
                                         "`pytest --update-golden` removes it" for rel in stale]
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def golden(request):
    """golden(relative_path, data): compare data (JSON-able or str) with tests/golden/<path>."""
    update = request.config.getoption("--update-golden")

    def check(relative: str, data) -> None:
        request.node.user_properties.append(("golden", relative))
        path = GOLDEN / relative
        text = data if isinstance(data, str) else json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden file {path} is missing; run pytest --update-golden and review it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        assert text == path.read_text(), f"output differs from {path}; run pytest --update-golden and review the diff"

    return check


@functools.cache
def example_copy(name: str) -> Path:
    """deployer.yaml of a copy of blueprints/<name>, made once per test process: commands that package
    (plan, up) write their build output beside the blueprint, and never into the repository."""
    base = Path(tempfile.mkdtemp(prefix="deployer-examples-"))
    atexit.register(shutil.rmtree, base, True)
    shutil.copytree(BLUEPRINTS / name, base / name, ignore=shutil.ignore_patterns(".deployer", "__pycache__"))
    return base / name / "deployer.yaml"


@pytest.fixture(autouse=True)
def _no_build_output_in_the_repository():
    """A test that writes .deployer/ into blueprints/ (or the portable fixture) fails: use example_copy.
    (Under xdist the test that fails may be one running beside the writer; a serial rerun names it. A module
    or session fixture that writes there is caught at the end of the session, see pytest_sessionfinish.)"""
    before = _build_output_in_the_repository()
    yield
    after = _build_output_in_the_repository()
    assert after <= before, (f"this test wrote {sorted(map(str, after - before))} into the repository; plan or "
                             "package a copy (conftest.example_copy) instead")


@pytest.fixture(params=EXAMPLES)
def example(request) -> Path:
    """Path of each example blueprint's deployer.yaml."""
    return BLUEPRINTS / request.param / "deployer.yaml"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real `deployer` console entry point in a subprocess (exit codes and streams as users see them)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "deployer.cli", *args], cwd=cwd, env=full_env, input=input,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def fast_retries(monkeypatch):
    """Local clouds this test starts retry a failed message after 0.05 s, not 0.25 s (the daemon inherits
    the environment); scoped to the test, so every other test sees the default."""
    monkeypatch.setenv("DEPLOYER_LOCAL_RETRY_DELAY", "0.05")


def tiny_blueprint(tmp: Path, yaml_text: str, code: str = "fn"):
    """Write `yaml_text` as tmp/deployer.yaml beside a code folder `code` whose main.py has `run`, and load it."""
    from deployer.blueprint.load import load_blueprint

    (tmp / code).mkdir(exist_ok=True)
    (tmp / code / "main.py").write_text("def run(event):\n    return None\n")
    (tmp / "deployer.yaml").write_text(yaml_text)
    return load_blueprint(tmp / "deployer.yaml")


# -- the shim tests' portable blueprint (tests/fixtures/events/portable) -------------------------------

@pytest.fixture(scope="session")
def portable_bp():
    """The portable blueprint, whose functions the shim tests package for each cloud."""
    from fixtures.events.shimkit import load_portable

    return load_portable()


@pytest.fixture
def seen():
    """What the portable handlers saw (their module's SEEN list), emptied for this test."""
    from fixtures.events.shimkit import portable_module

    module = portable_module()
    module.SEEN.clear()
    return module.SEEN
