"""The engine commands through the real CLI (in process) with a scripted engine.

Everything but the engine is real: argument parsing, the pipeline (load, check, package), the
confirmation rules, the progress display, the summary, the outputs file, the JSON document and the
error boundary with its exit codes. The engine is `tests/fakes.FakeEngine`, registered in process
through `deployer.providers.register`.
"""

from __future__ import annotations

import io
import json

import pytest

from deployer import providers, state
from deployer.cli.app import main
from deployer.errors import DeploymentError, PrerequisiteError
from deployer.providers import Result
from fakes import OUTPUTS, FakeProvider, MinimalEngine, changed, resource, write_blueprint


class Stdin(io.StringIO):
    """A stdin that is (or is not) a terminal, with the user's answers in it."""

    def __init__(self, text: str = "", tty: bool = False):
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DEPLOYER_BACKEND", raising=False)
    monkeypatch.setattr("sys.stdin", Stdin())
    provider = FakeProvider()
    undo = providers.register(provider)
    yield provider
    undo()


@pytest.fixture
def blueprint(tmp_path):
    return write_blueprint(tmp_path)


@pytest.fixture
def run(capsys, blueprint):
    def invoke(*args: str, file=True) -> tuple[int, str, str]:
        argv = [*args, "--cloud", "fake", *(["-f", str(blueprint)] if file else [])]
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        captured = capsys.readouterr()
        return exit_.value.code, captured.out, captured.err

    return invoke


def up_result(**kw) -> Result:
    return Result("up", changes={"create": 2, "same": 1}, outputs=OUTPUTS, duration=1.5, **kw)


# -- up ---------------------------------------------------------------------------------------------

def test_up_yes_deploys_prints_outputs_and_writes_the_outputs_file(fake, run, blueprint):
    fake.script["up"] = (changed("create", "fn-api-function", "store-orders-table"), up_result())
    code, out, err = run("up", "--yes")
    assert code == 0
    assert [c[0] for c in fake.calls] == ["up"]
    assert "created fn-api-function" in err and "created store-orders-table" in err
    assert "up done in 1.5s: create 2" in err
    assert "api_url  https://api.example.test" in out and "orders" in out
    saved = json.loads((blueprint.parent / ".deployer/outputs/shop/fake-dev.json").read_text())
    assert saved == OUTPUTS
    assert set(fake.engines[0].options.artifacts) == {"api"}  # the pipeline's packages reach the engine


def test_up_json_prints_one_document_and_nothing_else(fake, run, blueprint):
    fake.script["up"] = (changed("create", "fn-api-function"), up_result())
    code, out, err = run("up", "--yes", "--json", "--stage", "prod")
    assert code == 0
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert doc == {"operation": "up", "changes": {"create": 2, "same": 1}, "outputs": OUTPUTS, "duration": 1.5,
                   "kept": [], "message": "", "cloud": "fake", "stage": "prod", "app": "shop", "changed": True,
                   "outputs_file": str(blueprint.parent / ".deployer/outputs/shop/fake-prod.json")}
    assert "created" not in err  # no human progress with --json


def test_up_with_no_changes_exits_0_and_says_so(fake, run):
    fake.script["up"] = ([], Result("up", changes={"same": 3}, outputs=OUTPUTS))
    code, out, err = run("up", "--yes")
    assert code == 0
    assert "no changes: shop · fake · stage dev is up to date" in err


@pytest.mark.parametrize("command", ["up", "destroy", "down", "cancel"])
def test_no_prompt_under_ci_without_yes_stops_with_exit_2(fake, run, monkeypatch, command):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr("sys.stdin", Stdin("y\n", tty=True))  # even on a terminal: CI never prompts
    code, out, err = run(command)
    assert code == 2
    named = "destroy" if command == "down" else command
    assert f"`deployer {named}` needs --yes when CI is set" in err
    assert "hint: add --yes" in err
    assert fake.calls == [] and out == ""


def test_no_prompt_without_a_terminal_stops_with_exit_2(fake, run):
    code, out, err = run("up")
    assert code == 2
    assert "`deployer up` needs --yes when stdin is not a terminal (nobody can answer)" in err
    assert fake.calls == []


def test_up_on_a_terminal_previews_then_asks(fake, run, monkeypatch):
    monkeypatch.setattr("sys.stdin", Stdin("y\n", tty=True))
    fake.script["preview"] = (changed("create", "fn-api-function"), Result("preview", changes={"create": 1}))
    fake.script["up"] = ([], up_result())
    code, out, err = run("up")
    assert code == 0
    assert [c[0] for c in fake.calls] == ["preview", "up"]
    assert "changes: create 1" in err and "Deploy these changes to fake (stage dev)? [y/N]" in err


def test_up_on_a_terminal_declined_changes_nothing(fake, run, monkeypatch):
    monkeypatch.setattr("sys.stdin", Stdin("n\n", tty=True))
    fake.script["preview"] = ([], Result("preview", changes={"update": 1}))
    code, out, err = run("up")
    assert code == 1
    assert [c[0] for c in fake.calls] == ["preview"]
    assert "cancelled; nothing was changed" in err


def test_up_on_a_terminal_with_nothing_to_change_does_not_ask(fake, run, monkeypatch):
    monkeypatch.setattr("sys.stdin", Stdin("", tty=True))
    fake.script["preview"] = ([], Result("preview", changes={"same": 4}))
    code, out, err = run("up")
    assert code == 0
    assert [c[0] for c in fake.calls] == ["preview"]
    assert "no changes" in err and "[y/N]" not in err


def test_an_engine_without_confirmation_never_asks(fake, run):
    fake.confirm = False  # the local cloud's engine
    code, out, err = run("up")
    assert code == 0 and [c[0] for c in fake.calls] == ["up"]


def test_a_failed_resource_is_shown_and_exits_1(fake, run):
    failure = DeploymentError("stack shop/dev (fake): error: creating table: AccessDenied", hint="check the role")
    fake.script["up"] = failure
    code, out, err = run("up", "--yes", "--json")
    assert code == 1
    assert out == ""
    assert "error: stack shop/dev (fake): error: creating table: AccessDenied" in err and "hint: check the role" in err


def test_progress_shows_failures_and_warnings(fake, run):
    events = [resource("start", "create", "fn-api-function"), resource("failed", "create", "fn-api-function"),
              {"kind": "log", "severity": "warning", "message": "deprecated runtime", "name": "fn-api-function"}]
    fake.script["up"] = (events, up_result())
    code, out, err = run("up", "--yes")
    assert "x failed creating fn-api-function" in err
    assert "warning fn-api-function: deprecated runtime" in err


def test_a_locked_stack_exits_1_with_the_cancel_remedy(fake, run):
    fake.script["up"] = DeploymentError("stack shop/dev is locked by another update",
                                        hint="run `deployer cancel --cloud fake --stage dev`")
    code, out, err = run("up", "--yes")
    assert code == 1 and "deployer cancel --cloud fake --stage dev" in err


def test_missing_prerequisite_exits_3(fake, run):
    fake.script["preview"] = PrerequisiteError("the pulumi CLI is not installed", hint="install it")
    code, out, err = run("preview")
    assert code == 3 and "the pulumi CLI is not installed" in err


def test_ctrl_c_exits_130(fake, run):
    fake.script["up"] = KeyboardInterrupt()
    code, out, err = run("up", "--yes")
    assert code == 130
    assert "error: up interrupted" in err and "run `deployer up` again to converge" in err


# -- preview, destroy ---------------------------------------------------------------------------------

def test_preview_json(fake, run):
    fake.script["preview"] = ([], Result("preview", changes={"create": 5}, duration=0.25))
    code, out, err = run("preview", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["operation"] == "preview" and doc["changes"] == {"create": 5} and doc["changed"] is True


def test_destroy_lists_the_kept_stores_and_removes_the_outputs_file(fake, run, blueprint):
    state.write_outputs(blueprint.parent, "fake", "dev", OUTPUTS, "shop")
    fake.script["destroy"] = (changed("delete", "fn-api-function"),
                              Result("destroy", changes={"delete": 6}, kept=["jobs", "orders", "uploads"]))
    code, out, err = run("down", "--yes")
    assert code == 0
    assert fake.calls == [("destroy", {"delete_data": False})]
    assert "kept (with their data): jobs, orders, uploads; the next `deployer up` adopts them, `deployer destroy --delete-data` removes them" in err
    assert state.read_outputs(blueprint.parent, "fake", "dev", "shop") is None


def test_destroy_delete_data_json(fake, run):
    fake.script["destroy"] = ([], Result("destroy", changes={"delete": 9}))
    code, out, err = run("destroy", "--yes", "--delete-data", "--json")
    assert code == 0
    assert fake.calls == [("destroy", {"delete_data": True})]
    doc = json.loads(out)
    assert doc["kept"] == [] and doc["operation"] == "destroy"


def test_destroy_on_a_terminal_asks(fake, run, monkeypatch):
    monkeypatch.setattr("sys.stdin", Stdin("n\n", tty=True))
    code, out, err = run("destroy")
    assert code == 1 and fake.calls == []
    assert "Destroy shop on fake (stage dev), keeping buckets, tables and queues? [y/N]" in err


# -- refresh, outputs, stacks, cancel -------------------------------------------------------------------

def test_refresh_stacks_cancel(fake, run):
    fake.script["refresh"] = ([], Result("refresh", changes={"same": 3}))
    fake.script["stacks"] = [{"name": "dev", "current": True, "in_progress": False,
                              "last_update": "2026-01-01T00:00:00", "resources": 7, "url": None}]
    assert run("refresh")[0] == 0
    code, out, _ = run("stacks", "--json")
    assert code == 0 and json.loads(out)[0]["name"] == "dev"
    code, out, err = run("cancel", "--yes")
    assert code == 0 and "unlocked" in err
    assert [c[0] for c in fake.calls] == ["refresh", "stacks", "cancel"]


@pytest.mark.parametrize("command", ["refresh", "stacks", "cancel"])
def test_optional_commands_on_an_engine_without_them(run, monkeypatch, command):
    monkeypatch.delenv("CI", raising=False)
    undo = providers.register(FakeProvider(engine_class=MinimalEngine))
    try:
        code, out, err = run(command, "--yes") if command == "cancel" else run(command)
    finally:
        undo()
    assert code == 2
    assert f"`deployer {command}` is not supported by the 'fake' cloud's engine" in err


def test_outputs_from_the_engine(fake, run):
    fake.script["outputs"] = OUTPUTS
    code, out, err = run("outputs", "--json")
    assert code == 0 and json.loads(out) == OUTPUTS


def test_outputs_fall_back_to_the_file(fake, run, blueprint):
    fake.script["outputs"] = PrerequisiteError("the pulumi CLI is not installed")
    code, out, err = run("outputs")
    assert code == 3  # no file yet: the engine's error stands
    state.write_outputs(blueprint.parent, "fake", "dev", OUTPUTS, "shop")
    code, out, err = run("outputs")
    assert code == 0 and "https://api.example.test" in out
    assert "showing the outputs saved by the last `up`" in err


# -- state backend warning -------------------------------------------------------------------------------

def test_ci_with_a_local_backend_warns(fake, run, monkeypatch):
    monkeypatch.setenv("CI", "1")
    fake.script["preview"] = ([], Result("preview"))
    code, out, err = run("preview")
    assert code == 0 and "CI is set but the state is kept on this machine" in err
    code, out, err = run("preview", "--backend", "s3://bucket/state")
    assert code == 0 and "CI is set" not in err


def test_bad_backend_is_a_usage_error(fake, run):
    code, out, err = run("preview", "--backend", "ftp://nope")
    assert code == 2 and "unsupported backend 'ftp://nope'" in err


def test_preview_rows_say_what_would_happen(fake, run):
    fake.script["preview"] = (changed("create", "fn-api-function") + changed("delete", "store-old-bucket"),
                              Result("preview", changes={"create": 1, "delete": 1}))
    code, out, err = run("preview")
    assert "+ create fn-api-function (fake:index:Thing)\n" in err and "- delete store-old-bucket" in err
    assert "created" not in err
    assert "preview done: create 1, delete 1" in err


def test_engine_notes_are_shown_but_not_with_json(fake, run):
    note = {"kind": "log", "severity": "info", "message": "starting the local cloud (pid 42)", "name": None}
    fake.script["up"] = ([note], up_result())
    assert "starting the local cloud (pid 42)" in run("up", "--yes")[2]
    code, out, err = run("up", "--yes", "--json")
    assert "starting the local cloud" not in out + err and json.loads(out)["operation"] == "up"


# -- secrets ----------------------------------------------------------------------------------------
def test_up_without_a_secret_value_stops_with_exit_2_before_the_engine(fake, run, blueprint, monkeypatch):
    text = blueprint.read_text().replace("handler: main.handle\n", "handler: main.handle\n    secrets: [API_KEY]\n")
    blueprint.write_text(text + "secrets:\n  API_KEY: {from: env}\n")
    monkeypatch.delenv("API_KEY", raising=False)
    code, out, err = run("up", "--yes")
    assert code == 2 and out == ""
    assert "secret API_KEY has no value: set the environment variable API_KEY" in err
    assert f"{blueprint}:16:12: error" in err  # at the secret's declaration
    assert fake.engines == [] and fake.packaged == []
