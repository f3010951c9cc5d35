"""PulumiEngine against the REAL pulumi CLI: up -> preview -> outputs -> stacks -> destroy, a lock and
`deployer cancel`, with the default file backend and generated passphrase.

The program declares no cloud resource (only stack outputs, one of them secret), so these tests need
the CLI but no cloud credentials, no provider plugin and no network. They skip, saying why, where the
CLI is absent (it cannot be installed on the machines this project is built on).
"""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from deployer import providers
from deployer.blueprint.load import load_blueprint
from deployer.cli.app import main
from deployer.engine import PulumiEngine
from deployer.providers import Artifact, EngineOptions, Provider
from fakes import write_blueprint

pytestmark = [
    pytest.mark.pulumi_cli,
    pytest.mark.skipif(shutil.which("pulumi") is None,
                       reason="needs the pulumi CLI on PATH (https://www.pulumi.com/docs/install/), "
                              "which cannot be installed on this machine"),
]


class ExportsProvider(Provider):
    """Deploys nothing but stack outputs: the Pulumi engine path without any cloud."""

    name = "exports"

    def package(self, bp, function):
        return Artifact(function, bp.root / "unused.zip", "0" * 64, 0)

    def program(self, bp, artifacts):
        def run() -> None:
            import pulumi

            pulumi.export("api_url", f"https://{bp.name}-{bp.stage}.example.test")
            pulumi.export("functions", {fn: f"{bp.name}-{bp.stage}-{fn}" for fn in bp.functions})
            pulumi.export("stores", {})
            pulumi.export("token", pulumi.Output.secret("s3cr3t-value"))

        return run


@pytest.fixture
def root(tmp_path, monkeypatch):
    for name in ("CI", "DEPLOYER_BACKEND", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    write_blueprint(tmp_path)
    undo = providers.register(ExportsProvider())
    yield tmp_path
    undo()


def test_engine_lifecycle(root):
    bp = load_blueprint(root / "deployer.yaml")
    eng = PulumiEngine(ExportsProvider(), bp, EngineOptions())
    events: list[dict] = []
    first = eng.up(events.append)
    assert first.changed and first.changes.get("create") == 1  # the stack resource itself
    assert first.outputs == {"api_url": "https://shop-dev.example.test", "functions": {"api": "shop-dev-api"},
                             "stores": {}, "token": "[secret]"}
    assert {"kind": "resource", "phase": "done", "op": "create", "type": "pulumi:pulumi:Stack",
            "name": "shop-dev"} in events
    assert not eng.preview().changed
    assert eng.outputs() == first.outputs
    assert [s["name"] for s in eng.stacks()] == ["dev"]
    stack_file = root / ".deployer/state/exports/.pulumi/stacks/shop/dev.json"
    assert "s3cr3t-value" not in stack_file.read_text()  # secrets are encrypted with the passphrase
    gone = eng.destroy()
    assert gone.changes.get("delete") == 1 and gone.kept == []


def run(root, capsys, *args):
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--cloud", "exports", "-f", str(root / "deployer.yaml")])
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def test_cli_up_no_changes_outputs_destroy(root, capsys):
    code, out, err = run(root, capsys, "up", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["outputs"]["api_url"] == "https://shop-dev.example.test"
    code, out, err = run(root, capsys, "up", "--yes")
    assert code == 0 and "no changes" in err
    code, out, err = run(root, capsys, "outputs", "--json")
    assert json.loads(out)["functions"] == {"api": "shop-dev-api"}
    passphrase = (root / ".deployer/passphrase").read_text().strip()
    code, out, err = run(root, capsys, "destroy", "--yes")
    assert code == 0
    assert passphrase not in out + err


def test_locked_stack_then_cancel(root, capsys):
    assert run(root, capsys, "up", "--yes")[0] == 0
    locks = root / ".deployer/state/exports/.pulumi/locks/organization/shop/dev"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / f"{uuid.uuid4()}.json").write_text(json.dumps(
        {"pid": 1, "username": "ci", "hostname": "runner", "timestamp": "2026-01-01T00:00:00Z"}))
    code, out, err = run(root, capsys, "up", "--yes")
    assert code == 1 and "deployer cancel --cloud exports --stage dev" in err
    assert run(root, capsys, "cancel", "--yes")[0] == 0
    assert run(root, capsys, "destroy", "--yes")[0] == 0
