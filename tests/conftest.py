"""Shared test fixtures: example blueprints, the golden-file helper, a CLI runner.

Golden files live under tests/golden/ and are regenerated with `pytest --update-golden` (then
reviewed in the diff like any other change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
EXAMPLES = sorted(p.name for p in BLUEPRINTS.iterdir() if (p / "deployer.yaml").is_file())
GOLDEN = Path(__file__).resolve().parent / "golden"

# Secrets the examples declare; tests deploy and plan with a known dummy value.
os.environ.setdefault("INGEST_TOKEN", "test-token")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


@pytest.fixture
def golden(request):
    """golden(relative_path, data): compare data (JSON-able or str) with tests/golden/<path>."""
    update = request.config.getoption("--update-golden")

    def check(relative: str, data) -> None:
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
