"""Messages that must not mislead: `up` after an edit applies it, `outputs` of a stopped cloud exits 1,
405 answers JSON, Ctrl-C in `dev` and a client leaving mid-body leave no traceback in the logs.
Real CLI, real daemon, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_local_helpers import wait_for, write_blueprint

from conftest import run_cli

pytestmark = pytest.mark.slow

BLUEPRINT = """name: edits
functions:
  web:
    code: fn
    handler: main.web
    triggers:
      - http: GET /a
"""
CODE = "def web(request):\n    return 'v1 ' + request.path\n"


def app(tmp: Path) -> str:
    return str(write_blueprint(tmp, BLUEPRINT, {"fn/main.py": CODE}))


def url_of(file: str) -> str:
    return json.loads(run_cli("outputs", "-f", file, "--json").stdout)["api_url"]


def test_up_after_an_edit_restarts_with_the_change_on_the_same_url(tmp_path):
    file = app(tmp_path)
    try:
        assert run_cli("up", "-f", file).returncode == 0
        url = url_of(file)
        same = run_cli("up", "-f", file)
        assert same.returncode == 0 and "no changes" in same.stderr and "already running" in same.stderr
        Path(file).write_text(BLUEPRINT + "      - http: GET /b\n")  # a new route
        r = run_cli("up", "-f", file)
        assert r.returncode == 0, r.stderr
        assert "no changes" not in r.stderr and "restarted with the changes" in r.stderr
        assert url_of(file) == url
        assert httpx.get(f"{url}/b").text == "v1 /b"
        (tmp_path / "fn/main.py").write_text(CODE.replace("v1", "v2"))  # new code
        r = run_cli("up", "-f", file)
        assert r.returncode == 0 and "restarted with the changes" in r.stderr
        assert httpx.get(f"{url}/a").text == "v2 /a"
        preview = run_cli("preview", "-f", file)
        assert preview.returncode == 0 and "no changes" in preview.stderr
    finally:
        run_cli("down", "-f", file)


def test_outputs_exits_1_when_the_local_cloud_is_not_running(tmp_path):
    file = app(tmp_path)
    assert run_cli("up", "-f", file).returncode == 0
    info = json.loads((tmp_path / ".deployer/local/edits/dev/cloud.json").read_text())
    try:
        os.kill(info["pid"], signal.SIGKILL)  # it died: the saved outputs remain
        wait_for(lambda: run_cli("status", "-f", file, "--json").stdout.count('"running": false'),
                 timeout=30, what="the local cloud to be gone")
        r = run_cli("outputs", "-f", file)
        assert r.returncode == 1
        assert "not running" in r.stderr and info["url"] in r.stdout  # the last `up`'s outputs, shown
    finally:
        run_cli("down", "-f", file)


def test_405_is_json_with_allow_like_404(tmp_path):
    file = app(tmp_path)
    try:
        assert run_cli("up", "-f", file).returncode == 0
        url = url_of(file)
        wrong = httpx.post(f"{url}/a")
        assert wrong.status_code == 405 and wrong.headers["content-type"] == "application/json"
        assert wrong.json() == {"error": "method POST not allowed for /a", "allow": ["GET", "HEAD"]}
        assert wrong.headers["allow"] == "GET, HEAD"
        missing = httpx.get(f"{url}/nope")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    finally:
        run_cli("down", "-f", file)


def test_a_client_leaving_mid_body_leaves_no_traceback(tmp_path):
    file = app(tmp_path)
    Path(file).write_text(BLUEPRINT + "      - http: POST /a\n")
    try:
        assert run_cli("up", "-f", file).returncode == 0
        url = url_of(file)
        port = int(url.rsplit(":", 1)[1])
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"y" * 1000)
                time.sleep(0.05)  # let the gateway start reading the body before the client leaves
        assert httpx.post(f"{url}/a", content=b"whole").text == "v1 /a"  # it still serves
    finally:
        run_cli("down", "-f", file)
    log = (tmp_path / ".deployer/local/edits/dev/cloud.log").read_text()  # complete: the cloud has exited
    assert "Traceback" not in log and "Exception in ASGI" not in log


def test_ctrl_c_in_dev_leaves_no_traceback_in_function_logs(tmp_path):
    file = app(tmp_path)
    state = tmp_path / ".deployer/local/edits/dev"
    proc = subprocess.Popen([sys.executable, "-m", "deployer.cli", "dev", "-f", file], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        info = wait_for(lambda: (state / "cloud.json").exists() and json.loads((state / "cloud.json").read_text()),
                        timeout=60, what="dev")
        assert httpx.get(f"{info['url']}/a").text == "v1 /a"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, out
    logs = "".join(p.read_text() for p in (state / "logs").glob("*.log"))
    assert "KeyboardInterrupt" not in logs and "Traceback" not in logs
    assert "KeyboardInterrupt" not in out
