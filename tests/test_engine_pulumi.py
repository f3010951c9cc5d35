"""PulumiEngine through the real Automation API, against a scripted pulumi CLI (tests/fake_pulumi.py).

The pulumi CLI cannot be installed here; the Automation API only ever talks to it as a subprocess, so a
script that answers like it exercises everything deployer owns: the workspace (work dir, backend URL,
passphrase file, secrets provider), stack config, plugin installation at the SDK's version, the event
stream, outputs with secrets masked, kept stores, the error mapping (locked, missing stack, failed
update) and the missing-CLI path. tests/test_engine_pulumi_cli.py runs the real CLI where it exists.
"""

from __future__ import annotations

import json
import os
import stat
from importlib import metadata

import pytest

import fake_pulumi
from deployer import providers
from deployer.cli.app import main
from deployer.providers import Provider
from fakes import FakeProvider, write_blueprint


class PulumiProvider(FakeProvider):
    """A provider deployed by the real PulumiEngine (its program is never run by the scripted CLI)."""

    name = "fakepulumi"
    plugins = ("pulumi-aws",)

    engine = Provider.engine  # the default: PulumiEngine

    def stack_config(self, bp):
        return {"aws:region": "eu-west-1"}


@pytest.fixture
def root(tmp_path):
    write_blueprint(tmp_path / "app")
    return tmp_path / "app"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Put the scripted CLI first on PATH; returns a function reading its call log."""
    fake_pulumi.install(tmp_path / "bin")
    log = tmp_path / "pulumi-calls.jsonl"
    log.touch()
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    for name in ("CI", "DEPLOYER_BACKEND", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE",
                 "FAKE_PULUMI_SCENARIO", "FAKE_PULUMI_UNCHANGED", "PULUMI_HOME"):
        monkeypatch.delenv(name, raising=False)
    provider = PulumiProvider()
    undo = providers.register(provider)
    read = lambda: [json.loads(line) for line in log.read_text().splitlines()]  # noqa: E731
    read.provider = provider
    yield read
    undo()


@pytest.fixture
def run(capsys, root):
    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--cloud", "fakepulumi", "-f", str(root / "deployer.yaml")])
        captured = capsys.readouterr()
        return exit_.value.code, captured.out, captured.err

    return invoke


def commands(calls: list[dict]) -> list[str]:
    return [" ".join(c["args"][:2]) for c in calls if c["args"] != ["version"]]


def test_up_wires_workspace_state_passphrase_config_and_plugins(cli, run, root):
    code, out, err = run("up", "--yes", "--json")
    assert code == 0, err
    assert cli.provider.packaged == ["api"]
    doc = json.loads(out)
    assert doc["changes"] == {"create": 2, "same": 1} and doc["changed"] is True
    assert doc["outputs"] == {"api_url": "https://abc.execute-api.test", "token": "[secret]"}
    calls = cli()
    config = next(c["args"] for c in calls if c["args"][:2] == ["config", "set-all"])
    assert "aws:region=eu-west-1" in config and "deployer:deleteData=false" in config
    assert ["plugin", "install", "resource", "aws", f"v{metadata.version('pulumi-aws')}"] in [c["args"] for c in calls]
    up = next(c for c in calls if c["args"][0] == "up")
    assert up["cwd"] == str(root / ".deployer" / "pulumi" / "fakepulumi")
    assert up["env"]["PULUMI_BACKEND_URL"] == (root / ".deployer" / "state" / "fakepulumi").as_uri()
    assert (root / ".deployer" / "state" / "fakepulumi").is_dir()  # created on first use
    secret_file = root / ".deployer" / "passphrase"
    assert up["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(secret_file)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    phrase = secret_file.read_text().strip()
    saved = (root / ".deployer" / "outputs" / "shop" / "fakepulumi-dev.json").read_text()
    for text in (out, err, saved, json.dumps(calls)):
        assert phrase not in text and "s3cr3t" not in text  # neither the passphrase nor a secret output
    init = [c["args"] for c in calls if c["args"][:2] == ["stack", "init"]]
    assert init == [] or "--secrets-provider" in init[0]


def test_up_shows_progress_from_engine_events(cli, run):
    code, out, err = run("up", "--yes")
    assert code == 0
    assert "created store-uploads-bucket" in err and "created fn-api-function" in err
    assert "api_url  https://abc.execute-api.test" in out


def test_preview_without_changes(cli, run, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_UNCHANGED", "1")
    code, out, err = run("preview")
    assert code == 0 and "no changes" in err


def test_destroy_reports_the_retained_stores(cli, run):
    code, out, err = run("destroy", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["kept"] == ["uploads"]
    calls = cli()
    assert [c["args"][0] for c in calls if c["args"][0] in ("up", "destroy")] == ["destroy"]
    assert any(c["args"][:2] == ["plugin", "install"] for c in calls)  # destroy needs the provider plugin too


def test_destroy_delete_data_flips_retention_with_an_up_first(cli, run):
    code, out, err = run("destroy", "--yes", "--delete-data", "--json")
    assert code == 0, err
    assert json.loads(out)["kept"] == []
    calls = cli()
    config = next(c["args"] for c in calls if c["args"][:2] == ["config", "set-all"])
    assert "deployer:deleteData=true" in config
    ops = [c["args"][0] for c in calls if c["args"][0] in ("up", "destroy")]
    assert ops == ["up", "destroy"]


def test_locked_stack_exits_1_with_the_cancel_remedy(cli, run, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", "locked")
    code, out, err = run("up", "--yes")
    assert code == 1
    assert "is locked by another update" in err
    assert "deployer cancel --cloud fakepulumi --stage dev" in err


def test_failed_update_exits_1_with_pulumis_error(cli, run, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", "fail")
    code, out, err = run("up", "--yes")
    assert code == 1
    assert "x failed creating store-uploads-bucket" in err
    assert "creating bucket: AccessDenied" in err
    assert "Traceback" not in err


def test_outputs_of_a_missing_stack(cli, run, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", "missing")
    code, out, err = run("outputs")
    assert code == 2
    assert "stack shop/dev" in err and "does not exist" in err and "deployer up --cloud fakepulumi" in err


def test_stacks_and_cancel(cli, run):
    code, out, err = run("stacks", "--json")
    assert code == 0
    assert json.loads(out) == [{"name": "dev", "current": True, "in_progress": False,
                                "last_update": "2026-01-01T00:00:01", "resources": 3, "url": None}]
    code, out, err = run("cancel", "--yes")
    assert code == 0 and "cancel" in commands(cli())[-1]


def test_passphrase_from_the_environment_is_passed_through(cli, run, root, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-ci-secret")
    code, out, err = run("preview")
    assert code == 0, err
    assert not (root / ".deployer" / "passphrase").exists()
    preview = next(c for c in cli() if c["args"][0] == "preview")
    assert preview["passphrase_in_env"] and preview["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] is None
    assert "from-ci-secret" not in out + err


def test_cli_found_in_pulumi_home(cli, run, tmp_path, monkeypatch):
    home = tmp_path / "pulumi-home"
    fake_pulumi.install(home / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PULUMI_HOME", str(home))
    code, out, err = run("preview")
    assert code == 0, err


@pytest.mark.parametrize("command", [("preview",), ("up", "--yes"), ("destroy", "--yes"), ("outputs",),
                                     ("refresh",), ("stacks",), ("cancel", "--yes")])
def test_missing_cli_exits_3_with_install_instructions(cli, run, tmp_path, monkeypatch, command):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, out, err = run(*command)
    assert code == 3
    assert "needs 1 prerequisite this machine does not have" in err and "  - the pulumi CLI: " in err
    assert "https://www.pulumi.com/docs/install/" in err and "curl -fsSL https://get.pulumi.com | sh" in err
    assert cli.provider.packaged == []  # stopped before packaging anything


def test_a_new_stack_is_created_with_the_passphrase_secrets_provider(cli, run, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", "missing")
    code, out, err = run("preview")
    assert code == 0, err
    init = next(c["args"] for c in cli() if c["args"][:2] == ["stack", "init"])
    assert init[init.index("--secrets-provider") + 1] == "passphrase"


def test_ctrl_c_lets_pulumi_stop_cleanly_and_exits_130(cli, run, monkeypatch):
    monkeypatch.setenv("FAKE_PULUMI_SCENARIO", "interrupt")
    code, out, err = run("up", "--yes")
    assert code == 130
    assert "interrupting: Pulumi finishes the operations in flight" in err
    assert "error: interrupted: Pulumi stopped after the operations in flight and saved its state" in err
    assert "deployer refresh --cloud fakepulumi --stage dev" in err
