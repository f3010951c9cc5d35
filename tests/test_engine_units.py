"""The pieces around the engine: state locations, the passphrase file, outputs files, event translation,
error mapping, plugin versions, finding the CLI, and `deployer doctor` (names, never values)."""

from __future__ import annotations

import json
import os
import stat
from importlib import metadata

import pytest
from pulumi.automation import CommandResult, EngineEvent
from pulumi.automation.errors import create_command_error

from deployer import engine, state
from deployer.blueprint.load import load_blueprint
from deployer.cli.app import main
from deployer.errors import DeploymentError, PrerequisiteError, UsageError
from deployer.providers import Provider
from fakes import write_blueprint


# -- state ------------------------------------------------------------------------------------------

def test_default_backend_is_a_file_backend_per_cloud_created_on_first_use(tmp_path):
    be = state.backend(tmp_path, "aws", env={}, create=False)
    assert be.url == (tmp_path / ".deployer/state/aws").as_uri() and be.local
    assert not (tmp_path / ".deployer").exists()
    state.backend(tmp_path, "aws", env={})
    assert (tmp_path / ".deployer/state/aws").is_dir()


@pytest.mark.parametrize("url", ["s3://b/state", "gs://b", "azblob://c", "https://api.pulumi.com"])
def test_remote_backends_from_the_option_or_the_environment(tmp_path, url):
    assert state.backend(tmp_path, "aws", url, env={}).url == url
    be = state.backend(tmp_path, "aws", env={"DEPLOYER_BACKEND": url})
    assert be.url == url and not be.local and state.writable(be) is None
    assert state.ci_warning(be, {"CI": "true"}) is None


def test_explicit_file_backend_and_bad_scheme(tmp_path):
    be = state.backend(tmp_path, "aws", f"file://{tmp_path}/shared", env={})
    assert be.local_path == tmp_path / "shared" and (tmp_path / "shared").is_dir() and state.writable(be)
    with pytest.raises(UsageError, match="unsupported backend 'ftp://x'"):
        state.backend(tmp_path, "aws", "ftp://x", env={})


def test_ci_warning_for_a_local_backend(tmp_path):
    be = state.backend(tmp_path, "gcp", env={}, create=False)
    assert state.ci_warning(be, {}) is None
    assert "it is lost with the runner" in state.ci_warning(be, {"CI": "1"})


def test_generated_passphrase_is_0600_created_once(tmp_path):
    first = state.passphrase(tmp_path, env={})
    path = tmp_path / ".deployer/passphrase"
    assert first.env == {"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    value = path.read_text()
    assert len(value.strip()) >= 32
    state.passphrase(tmp_path, env={})
    assert path.read_text() == value  # O_EXCL: never overwritten


def test_passphrase_from_the_environment(tmp_path):
    assert state.passphrase(tmp_path, env={"PULUMI_CONFIG_PASSPHRASE": ""}).source == "PULUMI_CONFIG_PASSPHRASE"
    got = state.passphrase(tmp_path, env={"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secret"})
    assert got.source == "PULUMI_CONFIG_PASSPHRASE_FILE" and got.env == {}
    assert not (tmp_path / ".deployer").exists()


def test_outputs_file_round_trip_is_atomic(tmp_path):
    path = state.write_outputs(tmp_path, "aws", "prod", {"api_url": "u"})
    assert path == tmp_path / ".deployer/outputs/aws-prod.json"
    assert state.read_outputs(tmp_path, "aws", "prod") == {"api_url": "u"}
    assert os.listdir(path.parent) == ["aws-prod.json"]  # no temporary file left
    state.remove_outputs(tmp_path, "aws", "prod")
    assert state.read_outputs(tmp_path, "aws", "prod") is None


# -- events -----------------------------------------------------------------------------------------

def event(**data) -> EngineEvent:
    return EngineEvent.from_json({"sequence": 1, "timestamp": 0, **data})


def meta(op: str, name: str, retain: bool | None = None) -> dict:
    urn = f"urn:pulumi:dev::shop::aws:s3/bucket:Bucket::{name}"
    out = {"op": op, "urn": urn, "type": "aws:s3/bucket:Bucket", "provider": ""}
    if retain is not None:
        out["old"] = {"type": "aws:s3/bucket:Bucket", "urn": urn, "id": "x", "parent": "", "provider": "",
                      **({"retainOnDelete": True} if retain else {})}
    return {"metadata": out}


@pytest.fixture
def bp(tmp_path):
    return load_blueprint(write_blueprint(tmp_path))


def test_translator_turns_engine_events_into_portable_dicts(bp):
    seen: list[dict] = []
    tr = engine.EventTranslator(seen.append, bp)
    tr(event(resourcePreEvent=meta("create", "store-uploads-bucket")))
    tr(event(resOutputsEvent=meta("create", "store-uploads-bucket")))
    tr(event(resOpFailedEvent={**meta("update", "fn-api-function"), "status": 1, "steps": 1}))
    tr(event(diagnosticEvent={"message": "boom\n", "severity": "error", "urn": "urn:x::fn-api-function"}))
    tr(event(diagnosticEvent={"message": "tick", "severity": "info", "ephemeral": True}))
    tr(event(summaryEvent={"resourceChanges": {"create": 1, "update": 1}}))
    assert seen == [
        {"kind": "resource", "phase": "start", "op": "create", "name": "store-uploads-bucket",
         "type": "aws:s3/bucket:Bucket"},
        {"kind": "resource", "phase": "done", "op": "create", "name": "store-uploads-bucket",
         "type": "aws:s3/bucket:Bucket"},
        {"kind": "resource", "phase": "failed", "op": "update", "name": "fn-api-function",
         "type": "aws:s3/bucket:Bucket"},
        {"kind": "log", "severity": "error", "message": "boom", "name": "fn-api-function"},
    ]
    assert tr.changes == {"create": 1, "update": 1} and tr.errors == ["boom"]


def test_kept_stores_are_only_those_deleted_with_retain_on_delete(bp):
    tr = engine.EventTranslator(None, bp)
    tr(event(resourcePreEvent=meta("delete", "store-uploads-bucket", retain=True)))
    tr(event(resourcePreEvent=meta("delete", "store-orders-table", retain=False)))  # really deleted: not kept
    tr(event(resourcePreEvent=meta("delete", "store-events-topic", retain=False)))
    tr(event(resourcePreEvent=meta("delete", "fn-api-function", retain=False)))
    assert tr.kept_stores() == ["uploads"]


def test_kept_stores_use_the_graphs_owners(bp):
    owners = {"shared-data": "orders"}  # a logical name the naming convention cannot place
    tr = engine.EventTranslator(None, bp, owners)
    tr(event(resourcePreEvent=meta("delete", "shared-data", retain=True)))
    tr(event(resourcePreEvent=meta("delete", "store-uploads-bucket", retain=True)))  # not in the graph
    assert tr.kept_stores() == ["orders"]


def test_secret_outputs_are_masked():
    from pulumi.automation import OutputValue

    got = engine.plain_outputs({"url": OutputValue("u", False), "token": OutputValue("t0ken", True)})
    assert got == {"url": "u", "token": "[secret]"}


# -- errors -----------------------------------------------------------------------------------------

class _Engine:
    bp = type("BP", (), {"name": "shop"})()
    stage, cloud = "prod", "aws"
    backend = state.Backend("s3://b")


def mapped(stderr: str = "", stdout: str = "") -> Exception:
    return engine._map_error(create_command_error(CommandResult(stdout, stderr, 255)), _Engine())


def test_locked_stack_maps_to_exit_1_with_cancel_remedy():
    err = mapped("error: the stack is currently locked by 1 lock(s). Either wait or `pulumi cancel`.")
    assert isinstance(err, DeploymentError) and err.exit_code == 1
    assert err.message == "stack shop/prod (aws, s3://b) is locked by another update"
    assert "`deployer cancel --cloud aws --stage prod`" in err.hint
    assert "[409] Conflict" not in err.message
    assert isinstance(mapped("[409] Conflict: Another update is currently in progress."), DeploymentError)


def test_other_mappings():
    missing = mapped("error: no stack named 'prod' found")
    assert isinstance(missing, UsageError) and missing.exit_code == 2
    wrong = mapped("error: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE")
    assert "passphrase is wrong or missing" in wrong.message
    failed = mapped(stdout="Updating...\n  error: creating Lambda: AccessDenied\nmore")
    assert failed.message.endswith("error: creating Lambda: AccessDenied") and failed.exit_code == 1
    no_cli = engine._map_error(FileNotFoundError(2, "No such file", "pulumi"), _Engine())
    assert isinstance(no_cli, PrerequisiteError) and no_cli.exit_code == 3


# -- plugins, CLI -------------------------------------------------------------------------------------

def test_plugins_match_the_installed_sdk_versions():
    from deployer import providers

    class Named(Provider):  # the core knows no cloud by name: a provider declares what it needs
        name = "aws"

    class Custom(Provider):
        name = "custom"
        requirements = ("pulumi", "pulumi-aws")
        plugins = ("pulumi-gcp",)

    assert engine.plugins_for(providers.get("aws")) == [("aws", f"v{metadata.version('pulumi-aws')}")]
    assert engine.plugins_for(providers.get("azure")) == [
        ("azure-native", f"v{metadata.version('pulumi-azure-native')}")]
    assert engine.plugins_for(Named()) == []
    assert engine.plugins_for(Custom()) == [("gcp", f"v{metadata.version('pulumi-gcp')}")]
    Custom.plugins = ()
    assert engine.plugins_for(Custom()) == [("aws", f"v{metadata.version('pulumi-aws')}")]
    Custom.plugins = ("pulumi-nonexistent-sdk",)
    with pytest.raises(PrerequisiteError, match="pulumi-nonexistent-sdk is not installed"):
        engine.plugins_for(Custom())


def test_find_cli_on_path_then_pulumi_home(tmp_path):
    home = tmp_path / "ph"
    (home / "bin").mkdir(parents=True)
    assert engine.find_cli({"PATH": str(tmp_path), "PULUMI_HOME": str(home), "HOME": str(tmp_path)}) is None
    exe = home / "bin" / "pulumi"
    exe.write_text("#!/bin/sh\necho v3.200.0\n")
    exe.chmod(0o755)
    assert engine.find_cli({"PATH": str(tmp_path), "PULUMI_HOME": str(home)}) == str(exe)
    assert engine.find_cli({"PATH": str(home / "bin")}) == str(exe)
    assert engine.cli_version(str(exe)) == "v3.200.0"


# -- doctor -------------------------------------------------------------------------------------------

def test_doctor_reports_names_never_values(tmp_path, monkeypatch, capsys):
    path = write_blueprint(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAVALUE-NEVER-SHOWN")
    monkeypatch.setenv("ARM_CLIENT_SECRET", "azure-value-never-shown")
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--json", "-f", str(path)])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    report = json.loads(out)
    assert report["pulumi_cli"]["path"] is None and "get.pulumi.com" in report["pulumi_cli"]["install"]
    assert "AWS_ACCESS_KEY_ID" in report["credentials"]["aws"]
    assert "ARM_CLIENT_SECRET" in report["credentials"]["azure"]
    assert report["backend"]["url"] == (tmp_path / ".deployer/state/aws").as_uri() and report["backend"]["writable"]
    assert report["sdks"]["pulumi-aws"] == metadata.version("pulumi-aws")
    assert report["passphrase"] == {"source": str(tmp_path / ".deployer/passphrase"), "exists": False}
    assert "NEVER-SHOWN" not in out and "never-shown" not in out
    with pytest.raises(SystemExit):
        main(["doctor", "-f", str(path)])
    text = capsys.readouterr().out
    assert "not installed" in text and "AWS_ACCESS_KEY_ID" in text and "NEVER-SHOWN" not in text


def test_doctor_takes_a_blueprint_folder_and_refuses_an_unknown_cloud(tmp_path, capsys):
    write_blueprint(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "--json", "-f", str(tmp_path)])  # -f DIR, as every command takes it
    assert exit_.value.code == 0
    assert json.loads(capsys.readouterr().out)["backend"]["url"] == (tmp_path / ".deployer/state/aws").as_uri()
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", "-f", str(tmp_path), "--cloud", "awz"])
    assert exit_.value.code == 2 and "unknown cloud 'awz'" in capsys.readouterr().err
