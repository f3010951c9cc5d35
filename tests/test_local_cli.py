"""The local cloud through the real `deployer` command: up/outputs/down, invoke, logs, dev with reload."""

from __future__ import annotations

import json
from pathlib import Path
import re
import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest
from test_local_helpers import copy_example, objects, wait_for, write_blueprint

from conftest import run_cli

pytestmark = pytest.mark.slow


def test_up_outputs_logs_down_through_the_cli(tmp_path):
    file = str(copy_example("orders", tmp_path))
    r = run_cli("up", "-f", file)  # --cloud defaults to local
    try:
        assert r.returncode == 0, r.stderr
        assert "local cloud running at http://127.0.0.1:" in r.stderr
        state = Path(file).parent / ".deployer" / "local" / "orders" / "dev"
        assert state.stat().st_mode & 0o777 == 0o700  # stores' data readable by the user only
        out = json.loads(run_cli("outputs", "-f", file, "--json").stdout)
        assert set(out) >= {"api_url", "functions", "stores"} and out["stores"]["fulfilment"] == "fulfilment"
        assert httpx.post(f"{out['api_url']}/orders", json={"items": [1], "id": "c1"}).status_code == 201
        logs = run_cli("logs", "-f", file)
        assert "listening on" in logs.stdout
        bad = run_cli("logs", "nope", "-f", file)
        assert bad.returncode == 2 and "no function 'nope'" in bad.stderr
    finally:
        down = run_cli("down", "-f", file)
    assert down.returncode == 0 and "the local cloud was stopped" in down.stderr
    again = run_cli("down", "-f", file)
    assert again.returncode == 0 and "was not running" in again.stderr
    assert run_cli("outputs", "-f", file).returncode == 1


def test_invoke_without_a_running_cloud_uses_the_same_state(tmp_path):
    file = str(copy_example("report", tmp_path))
    r = run_cli("invoke", "record", "-f", file, "--data", '{"id": "s1", "amount": 9, "product": "tea"}', "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == 201
    r = run_cli("invoke", "nightly", "-f", file, "--json", "--data", '{"time": "2026-05-01T03:00:00+02:00"}')
    assert r.returncode == 0 and json.loads(r.stdout)["result"] == "nightly-2026-05-01.json"
    report = objects(tmp_path / "report/.deployer/local/report/dev", "reports")["reports/nightly-2026-05-01.json"]
    assert json.loads(report)["total"] == 9
    r = run_cli("invoke", "read-report", "-f", file, "--data",
                json.dumps({"method": "GET", "params": {"name": "nightly-2026-05-01.json"}}), "--json")
    assert json.loads(r.stdout)["body"]["by_product"] == {"tea": 9}
    bad = run_cli("invoke", "nightly", "-f", file, "--trigger", "3")
    assert bad.returncode == 2 and "--trigger must be 0..0" in bad.stderr
    bad = run_cli("invoke", "nightly", "-f", file, "--data", "@/nonexistent.json")
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_invoke_reports_a_failing_message_handler_and_logs_follow_shows_it(tmp_path):
    file = str(copy_example("orders", tmp_path))
    r = run_cli("invoke", "worker", "-f", file, "--data", '{"order": "x", "poison": true}')
    assert r.returncode == 1 and "PoisonMessage" in r.stderr
    assert "PoisonMessage" in run_cli("logs", "worker", "-f", file).stdout
    follow = subprocess.Popen([sys.executable, "-m", "deployer.cli", "logs", "worker", "-f", file, "--follow"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(follow.stdout), daemon=True)  # line by line, as printed
    reader.start()
    try:
        wait_for(lambda: any("order x cannot" in line for line in seen), timeout=30, what="the recent lines")
        r = run_cli("invoke", "worker", "-f", file, "--data", '{"order": "y", "poison": true}')
        assert r.returncode == 1
        # only a follower still reading the file prints a line written after it started
        wait_for(lambda: any("order y cannot" in line for line in seen), timeout=30, what="the followed line")
        assert follow.poll() is None, "logs --follow exited"
    finally:
        follow.terminate()
        follow.wait(timeout=10)
        reader.join(timeout=10)
    assert any("main.PoisonMessage: order y cannot be fulfilled (attempt 1)" in line for line in seen), seen


def _get(url: str) -> str | None:
    try:
        return httpx.get(url).text
    except httpx.TransportError:
        return None


def test_dev_reloads_changed_code_and_streams_logs(tmp_path):
    file = write_blueprint(tmp_path, "name: devapp\nfunctions:\n  hi:\n    code: fn\n    handler: main.hi\n"
                                     "    triggers: [{http: GET /hi}]\n",
                           {"fn/main.py": "def hi(request):\n    print('said v1')\n    return 'v1'\n"})
    proc = subprocess.Popen([sys.executable, "-m", "deployer.cli", "dev", "-f", str(file)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    info_path = tmp_path / ".deployer/local/devapp/dev/cloud.json"
    try:
        info = wait_for(lambda: info_path.exists() and json.loads(info_path.read_text()), timeout=30, what="dev")
        assert info["dev"] is True
        assert httpx.get(f"{info['url']}/hi").text == "v1"

        def reloaded() -> bool:
            if httpx.get(f"{info['url']}/hi").text == "v2":
                return True
            (tmp_path / "fn/main.py").write_text("def hi(request):\n    return 'v2'\n")  # again, should the
            return False                                                                 # watcher start late
        wait_for(reloaded, timeout=30, interval=0.5, what="the reload")
        file.write_text(file.read_text().replace("GET /hi}", "GET /hi}, {http: GET /bye}"))
        wait_for(lambda: _get(f"{info['url']}/bye") == "v2", timeout=30, what="the restart on a blueprint change")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "reloaded hi (code changed)" in out and "[hi] said v1" in out and "blueprint changed: restarting" in out
    assert not info_path.exists() and not os.path.exists(tmp_path / ".deployer/local/devapp/dev/cloud.json")


def test_invoke_prints_a_failure_verbatim_even_with_brackets(tmp_path):
    file = write_blueprint(tmp_path, "name: mk\nstores: {jobs: {kind: queue}}\nfunctions:\n"
                           "  w: {code: fn, handler: main.run, triggers: [{queue: jobs}]}\n",
                           {"fn/main.py": "def run(message):\n    raise ValueError('bad [/x] thing [bold]')\n"})
    r = run_cli("invoke", "w", "-f", str(file), "--data", "1")
    assert r.returncode == 1 and "failed: ValueError: bad [/x] thing [bold] (request " in r.stderr
    assert "internal error" not in r.stderr


def test_invoke_refuses_malformed_data_for_each_event_kind(tmp_path):
    from deployer.blueprint.load import load_blueprint
    from deployer.errors import UsageError
    from providers.local.invoke import build

    file = copy_example("report", tmp_path)
    bp = load_blueprint(file)
    http = bp.functions["record"].triggers[0]
    for data, message in [({"method": 5}, "'method' must be a string, not 5"),
                          ({"method": "GET", "params": [1]}, "'params' must be an object, not [1]"),
                          ({"method": "GET", "headers": "x"}, "'headers' must be an object, not \"x\""),
                          ({"method": "GET", "query": 3}, "'query' must be an object, not 3")]:
        with pytest.raises(UsageError, match=re.escape(message)):
            build(http, data)
    schedule = bp.functions["nightly"].triggers[0]
    for data in ({"time": "nope"}, {"time": 5}):
        with pytest.raises(UsageError, match="--data of a schedule event is"):
            build(schedule, data)
    bucket = load_blueprint(copy_example("images", tmp_path)).functions["resize"].triggers[0]
    for data in ({"size": "x"}, {"key": 5}, {"size": -1}):
        with pytest.raises(UsageError, match="--data of a bucket event is"):
            build(bucket, data)
    bad = run_cli("invoke", "record", "-f", str(file), "--data", '{"method": "GET", "params": [1]}')
    assert bad.returncode == 2 and "'params' must be an object" in bad.stderr and "Traceback" not in bad.stderr


def test_invoke_sends_a_bare_string_as_json_whatever_it_contains():
    from deployer.blueprint.model import HttpTrigger
    from providers.local.invoke import http_payload

    trigger = HttpTrigger(http="POST /echo")
    assert http_payload(trigger, "the method")["body"] == b'"the method"'
    assert http_payload(trigger, "plain")["body"] == b'"plain"'
    assert http_payload(trigger, {"method": "POST", "body": "raw text"})["body"] == b"raw text"


def test_a_port_out_of_range_is_a_usage_error(tmp_path):
    file = str(copy_example("orders", tmp_path))
    for command in (["up", "--cloud", "local"], ["dev"]):
        r = run_cli(*command, "-f", file, "--port", "99999")
        assert r.returncode == 2 and "--port" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "orders" / ".deployer" / "local" / "dev" / "cloud.json").exists()
