"""The cloud-neutral part of `deployer invoke | logs` (deployer/remote.py, deployer/cli/remote.py) and the
local cloud behind the same commands (`--cloud local`, accepted like every other command's)."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime, timezone

import pytest
from remote_support import Lines, clean_env
from test_local_helpers import copy_example

from conftest import run_cli


def test_since_accepts_durations_and_times():
    from deployer.errors import UsageError
    from deployer.remote import parse_since

    now = 1_800_000_000.0
    assert parse_since("10m", now) == now - 600 and parse_since("2h", now) == now - 7200
    assert parse_since("1.5d", now) == now - 129600 and parse_since(None, now) is None
    assert parse_since("2026-01-01T03:00:00Z", now) == datetime(2026, 1, 1, 3, tzinfo=timezone.utc).timestamp()
    with pytest.raises(UsageError, match="--since 'yesterday' is neither a duration nor a time"):
        parse_since("yesterday", now)


def test_trigger_is_chosen_by_index_or_kind(portable_bp):
    from deployer.errors import UsageError
    from deployer.remote import pick_trigger

    assert pick_trigger(portable_bp, "files", None) == 0 and pick_trigger(portable_bp, "files", "1") == 1
    assert pick_trigger(portable_bp, "api", "http") == 0 and pick_trigger(portable_bp, "tick", "schedule") == 0
    with pytest.raises(UsageError, match="has no 'queue' trigger") as bad:
        pick_trigger(portable_bp, "files", "queue")
    assert bad.value.hint == "its triggers: 0=bucket, 1=bucket"
    with pytest.raises(UsageError, match=r"--trigger must be 0\.\.1 or one of: bucket"):
        pick_trigger(portable_bp, "files", 2)


def test_events_of_every_kind(portable_bp):
    from deployer.remote import HttpEvent, MessageEvent, ObjectEvent, ScheduleEvent, build_event

    http = build_event(portable_bp, "api", {"method": "GET", "params": {"id": "7"}, "query": {"a": 1}}, 1)
    assert http == HttpEvent("GET", "/items/7", "/items/{id}", {"id": "7"}, {"a": "1"}, (), b"", 1)
    message = build_event(portable_bp, "listener", "plain text")
    assert isinstance(message, MessageEvent) and (message.source, message.store, message.data) == \
        ("topic", "events", b"plain text")
    obj = build_event(portable_bp, "files", None)
    assert isinstance(obj, ObjectEvent) and (obj.key, obj.type, obj.time[-1]) == ("incoming/example.jpg", "created", "Z")
    tick = build_event(portable_bp, "tick", None, 1)
    assert isinstance(tick, ScheduleEvent) and tick.schedule == "every 5 minutes" and tick.trigger == 1


def test_a_request_chooses_the_route_it_matches(portable_bp):
    from deployer.remote import build_event

    event = build_event(portable_bp, "api", {"method": "GET", "path": "/items/7"})
    assert (event.trigger, event.route, event.params, event.path) == (1, "/items/{id}", {"id": "7"}, "/items/7")
    event = build_event(portable_bp, "api", {"method": "PUT", "path": "/files/a.txt", "body": "x"})
    assert (event.trigger, event.params) == (2, {"name": "a.txt"})
    assert build_event(portable_bp, "api", {"method": "GET", "path": "/items/7"}, 0).trigger == 0  # --trigger wins


def test_data_from_a_file_and_a_missing_file(tmp_path):
    from deployer.errors import UsageError
    from deployer.remote import read_data

    (tmp_path / "d.json").write_text('{"n": 1}')
    assert read_data(f"@{tmp_path / 'd.json'}") == {"n": 1} and read_data("text") == "text"
    with pytest.raises(UsageError, match="--data: cannot read"):
        read_data(f"@{tmp_path / 'none.json'}")


def test_the_last_lines_of_the_backlog_then_every_followed_record(capsys):
    from deployer.cli.remote import print_records
    from deployer.remote import LogRecord

    def record(n):
        return LogRecord(f"2026-01-01T00:00:0{n}.000Z", None, "INFO", f"m{n}")

    assert print_records(iter([record(1), record(2), record(3), None, record(4), record(5)]), 2, True) == 4
    shown = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines()]
    assert shown == ["m2", "m3", "m4", "m5"]


def test_a_followed_window_goes_back_and_shows_each_record_once():
    from deployer.remote import Window

    window = Window(start=100.0, lag=30.0)
    assert window.fresh("a", 150.0) and not window.fresh("a", 150.0) and window.start == 120.0
    window.fresh("b", 200.0)
    window.forget_old()
    assert set(window.shown) == {"b"} and window.start == 170.0


def test_a_provider_without_remote_operations_says_so():
    from deployer.errors import UsageError
    from deployer.providers import Provider

    class Bare(Provider):
        name = "bare"

    with pytest.raises(UsageError, match="`deployer invoke` is not supported by the 'bare' cloud"):
        Bare().invoke(None, "f", None, None)
    with pytest.raises(UsageError, match="`deployer logs` is not supported by the 'bare' cloud"):
        Bare().logs(None, "f", None, False, None, None)


# ------------------------------------------------------------------------------- the local cloud
@pytest.mark.slow
def test_invoke_and_logs_accept_cloud_local(tmp_path):
    file = str(copy_example("orders", tmp_path))
    r = run_cli("invoke", "worker", "--cloud", "local", "-f", file, "--data", '{"order": "x", "poison": true}', "--json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is False and "PoisonMessage" in out["error"]
    r = run_cli("logs", "worker", "--cloud", "local", "-f", file, "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    errors = [x for x in records if x["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == out["request_id"] and errors[0]["time"].endswith("Z")
    assert any("main.PoisonMessage: order x cannot be fulfilled" in x["message"] for x in errors)
    r = run_cli("logs", "worker", "--cloud", "local", "-f", file, "--filter", "main.PoisonMessage: order x", "-n", "0")
    assert r.returncode == 0 and r.stdout.count("\n") == 1 and "cannot be fulfilled" in r.stdout
    r = run_cli("logs", "worker", "--cloud", "local", "-f", file, "--since", "2000-01-01T00:00:00Z")
    assert r.returncode == 0 and "PoisonMessage" in r.stdout


@pytest.mark.slow
def test_local_logs_follow_ends_with_130_on_ctrl_c(tmp_path):
    file = str(copy_example("orders", tmp_path))
    log = tmp_path / "orders" / ".deployer" / "local" / "orders" / "dev" / "logs" / "worker.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} DEAD-LETTER {'a' * 32} from q:jobs after 3 attempts\n")
    follow = Lines(["logs", "worker", "-f", file, "--follow"], clean_env(DEPLOYER_LOGS_POLL="0.05"))
    try:
        line = follow.wait_for(lambda text: "DEAD-LETTER" in text, what="the backlog")
        assert " WARNING " in line and "a" * 32 in line
        with open(log, "a") as fh:
            fh.write("printed by the handler\n")
        follow.wait_for(lambda text: text.endswith("printed by the handler"), what="the appended line")
        follow.proc.send_signal(signal.SIGINT)
        assert follow.proc.wait(timeout=30) == 130
    finally:
        follow.stop()


def test_local_log_tail_is_read_from_the_end(tmp_path):
    from providers.local import records

    log = tmp_path / "big.log"
    with open(log, "w") as fh:
        for n in range(200_000):
            fh.write(f"2026-01-01T00:00:00 line {n}\n")
    lines = records.tail_lines(log, 3, None)
    assert lines == ["2026-01-01T00:00:00 line 199997", "2026-01-01T00:00:00 line 199998",
                     "2026-01-01T00:00:00 line 199999"]
    shown = [r.message for r in records.read(log, None, False, None, lines=3) if r is not None]
    assert shown[-3:] == ["line 199997", "line 199998", "line 199999"] and len(shown) < 100


# ------------------------------------------------------------------- where the physical names come from
class Operated:
    """A fake Pulumi provider whose invoke answers with the function's physical name from the outputs."""

    @staticmethod
    def make():
        from deployer.remote import InvokeResult
        from fakes import FakeProvider

        class Provider(FakeProvider):
            def invoke(self, bp, function, event, options):
                return InvokeResult(True, "http", "r1", status=200, body={"physical": options.deployed("functions", function)})

        return Provider()


def _invoke(file, capsys, *extra):
    from deployer.cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main(["invoke", "api", "--cloud", "fake", "-f", str(file), "--json", *extra])
    return exit_info.value.code, capsys.readouterr()


def test_outputs_come_from_the_last_up_then_from_the_stack(tmp_path, capsys):
    from deployer import providers, state
    from deployer.errors import DeploymentError
    from fakes import OUTPUTS, write_blueprint

    provider = Operated.make()
    undo = providers.register(provider)
    try:
        file = write_blueprint(tmp_path)
        provider.script["outputs"] = OUTPUTS  # the stack, read when this machine has no outputs file
        code, out = _invoke(file, capsys)
        assert code in (0, None) and json.loads(out.out)["body"] == {"physical": "shop-dev-api"}
        assert [c[0] for c in provider.calls] == ["outputs"]
        state.write_outputs(tmp_path, "fake", "dev", {"functions": {"api": "from-the-file"}}, "shop")
        code, out = _invoke(file, capsys)
        assert json.loads(out.out)["body"] == {"physical": "from-the-file"} and len(provider.calls) == 1
        state.remove_outputs(tmp_path, "fake", "dev", "shop")
        provider.script["outputs"] = DeploymentError("no stack named 'dev'")
        code, out = _invoke(file, capsys)
        assert code == 1 and "cannot read the stack outputs of shop on fake (stage dev): no stack named 'dev'" in out.err
        assert "deployer up --cloud fake --stage dev" in out.err
    finally:
        undo()
