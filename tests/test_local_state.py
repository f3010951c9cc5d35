"""The local cloud's state folder: one per app and stage, private to the user, found by `down` even when
the blueprint no longer loads, and an old single-folder layout carried over. Real CLI, real daemons."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from test_local_helpers import wait_for

from conftest import run_cli

pytestmark = pytest.mark.slow

APP = """name: {name}
stores:
  files: {{kind: bucket}}
functions:
  web:
    code: fn
    handler: main.web
    uses: {{files: read-write}}
    triggers:
      - http: GET /who
      - http: "PUT /files/{{key}}"
      - http: "GET /files/{{key}}"
"""
CODE = """import os
from deployer.runtime import stores

def web(request):
    if request.path == "/who":
        return os.environ["DEPLOYER_APP"]
    files = stores.bucket("files")
    if request.method == "PUT":
        files.put(request.params["key"], request.body)
        return "stored"
    return files.get(request.params["key"]) or b"missing"
"""


def two_apps(tmp: Path) -> tuple[str, str]:
    (tmp / "fn").mkdir()
    (tmp / "fn" / "main.py").write_text(CODE)
    (tmp / "probe.yaml").write_text(APP.format(name="probe"))
    (tmp / "other.yaml").write_text(APP.format(name="other"))
    return str(tmp / "probe.yaml"), str(tmp / "other.yaml")


def url_of(file: str) -> str:
    r = run_cli("outputs", "-f", file, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["api_url"]


def test_two_blueprints_in_one_folder_never_share_state(tmp_path):
    probe, other = two_apps(tmp_path)
    try:
        assert run_cli("up", "-f", probe).returncode == 0
        r = run_cli("up", "-f", other)
        assert r.returncode == 0, r.stderr
        assert "already running" not in r.stderr
        probe_url, other_url = url_of(probe), url_of(other)
        assert probe_url != other_url
        assert httpx.get(f"{probe_url}/who").text == "probe-dev"
        assert httpx.get(f"{other_url}/who").text == "other-dev"
        assert httpx.put(f"{probe_url}/files/k", content=b"probe data").text == "stored"
        saved = {p.relative_to(tmp_path / ".deployer/outputs").as_posix()
                 for p in (tmp_path / ".deployer/outputs").rglob("*.json")}
        assert saved == {"probe/local-dev.json", "other/local-dev.json"}

        down = run_cli("down", "--delete-data", "-f", other)
        assert down.returncode == 0, down.stderr
        assert httpx.get(f"{probe_url}/who").text == "probe-dev"  # still running
        assert httpx.get(f"{probe_url}/files/k").content == b"probe data"  # its data untouched
        assert (tmp_path / ".deployer/local/probe/dev/buckets/files/k").read_bytes() == b"probe data"
        assert not (tmp_path / ".deployer/local/other").exists()
    finally:
        run_cli("down", "-f", other)
        run_cli("down", "-f", probe)


def test_down_works_from_the_state_folder_when_the_blueprint_is_broken(tmp_path):
    probe, _ = two_apps(tmp_path)
    text = Path(probe).read_text()
    Path(probe).write_text(text + "secrets:\n  TOKEN: {from: env}\n")
    r = run_cli("up", "-f", probe, env={"TOKEN": "t"})
    assert r.returncode == 0, r.stderr
    url = url_of(probe)
    try:
        env = {k: v for k, v in os.environ.items() if k != "TOKEN"}
        Path(probe).write_text(text.replace("functions:", "functions: [oops"))  # a YAML error now
        down = subprocess.run([sys.executable, "-m", "deployer.cli", "down", "-f", probe], env=env,
                              capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        assert "without the blueprint" in down.stderr and "the local cloud was stopped" in down.stderr
        assert "Traceback" not in down.stderr
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/who", timeout=2)
    finally:
        Path(probe).write_text(text)
        run_cli("down", "-f", probe, env={"TOKEN": "t"})


def test_down_with_a_missing_secret_stops_the_cloud(tmp_path):
    probe, _ = two_apps(tmp_path)
    Path(probe).write_text(Path(probe).read_text() + "secrets:\n  TOKEN: {from: env}\n")
    assert run_cli("up", "-f", probe, env={"TOKEN": "t"}).returncode == 0
    url = url_of(probe)
    env = {k: v for k, v in os.environ.items() if k != "TOKEN"}
    down = subprocess.run([sys.executable, "-m", "deployer.cli", "down", "-f", probe], env=env,
                          capture_output=True, text=True, timeout=120)
    try:
        assert down.returncode == 0, down.stderr
        assert "secret TOKEN has no value" in down.stderr  # said, and yet the cloud is stopped
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{url}/who", timeout=2)
    finally:
        run_cli("down", "-f", probe, env={"TOKEN": "t"})


def test_a_broken_blueprint_without_state_still_reports_its_error(tmp_path):
    (tmp_path / "deployer.yaml").write_text("name: x\nfunctions: [oops\n")
    r = run_cli("down", "-f", str(tmp_path / "deployer.yaml"))
    assert r.returncode == 2 and "deployer.yaml" in r.stderr and "Traceback" not in r.stderr


def private(folder: Path) -> list[str]:
    """Paths under `folder` (itself included) that another user could read."""
    bad = []
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            bad.append(f"{path.relative_to(folder)} {oct(mode)}")
    return bad


def test_invoke_creates_the_state_private_like_up(tmp_path):
    probe, _ = two_apps(tmp_path)
    r = run_cli("invoke", "web", "-f", probe, "--trigger", "1", "--data",
                json.dumps({"method": "PUT", "path": "/files/a", "params": {"key": "a"}, "body": "x"}))
    assert r.returncode == 0, r.stderr
    state = tmp_path / ".deployer/local/probe/dev"
    assert (state / "buckets/files/a").exists() and (state / "queues.db").exists()
    assert private(state) == []


def test_dev_creates_the_state_private_like_up(tmp_path):
    probe, _ = two_apps(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "deployer.cli", "dev", "-f", probe], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    state = tmp_path / ".deployer/local/probe/dev"
    try:
        info = wait_for(lambda: (state / "cloud.json").exists() and json.loads((state / "cloud.json").read_text()),
                        timeout=60, what="dev")
        assert httpx.put(f"{info['url']}/files/b", content=b"y").text == "stored"
        assert private(state) == []
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_state_folder_of_the_old_layout_is_moved_to_its_app(tmp_path):
    probe, _ = two_apps(tmp_path)
    old = tmp_path / ".deployer/local/dev"
    (old / "buckets/files").mkdir(parents=True)
    (old / "buckets/files/kept").write_bytes(b"from before")
    (old / "logs").mkdir()
    (old / "logs/web.log").write_text("old line\n")
    sqlite3.connect(old / "queues.db").close()
    try:
        assert run_cli("up", "-f", probe).returncode == 0
        assert httpx.get(f"{url_of(probe)}/files/kept").content == b"from before"
        assert not old.exists()
        assert "old line" in (tmp_path / ".deployer/local/probe/dev/logs/web.log").read_text()
    finally:
        run_cli("down", "-f", probe)


def test_an_old_folder_with_another_apps_data_is_left_alone(tmp_path):
    probe, _ = two_apps(tmp_path)
    old = tmp_path / ".deployer/local/dev"
    (old / "logs").mkdir(parents=True)
    (old / "logs/someone-else.log").write_text("not probe's\n")
    sqlite3.connect(old / "queues.db").close()
    r = run_cli("invoke", "web", "-f", probe, "--data", "{}")
    assert r.returncode == 0, r.stderr
    assert (old / "logs/someone-else.log").exists() and (tmp_path / ".deployer/local/probe/dev").is_dir()


OLD_CLOUD = """
import fcntl, json, os, sys, http.server, threading
state = sys.argv[1]
lock = open(os.path.join(state, "cloud.lock"), "a+")
fcntl.flock(lock, fcntl.LOCK_EX)

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Health)
port = server.server_address[1]
info = {"app": "probe-dev", "pid": os.getpid(), "url": f"http://127.0.0.1:{port}", "port": port, "stage": "dev"}
open(os.path.join(state, "cloud.json"), "w").write(json.dumps(info))
server.serve_forever()
"""


def old_cloud(tmp: Path) -> tuple[Path, subprocess.Popen]:
    """A local cloud an earlier deployer started from `.deployer/local/<stage>/`: a stand-in holding its
    lock and answering its health check, with an object in the old folder."""
    old = tmp / ".deployer/local/dev"
    (old / "buckets/files").mkdir(parents=True)
    (old / "buckets/files/kept").write_bytes(b"from the old cloud")
    proc = subprocess.Popen([sys.executable, "-c", OLD_CLOUD, str(old)], start_new_session=True)
    wait_for(lambda: (old / "cloud.json").exists(), timeout=30, what="the old cloud")
    return old, proc


def test_down_stops_a_cloud_running_from_the_old_layout(tmp_path):
    probe, _ = two_apps(tmp_path)
    old, proc = old_cloud(tmp_path)
    try:
        down = run_cli("down", "-f", probe)
        assert down.returncode == 0 and "the local cloud was stopped" in down.stderr, down.stderr
        assert proc.wait(timeout=30) is not None
        up = run_cli("up", "-f", probe)  # now it is stopped, its folder moves to the app
        assert up.returncode == 0, up.stderr
        assert httpx.get(f"{url_of(probe)}/files/kept").content == b"from the old cloud"
        assert not old.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        run_cli("down", "-f", probe)


def test_up_replaces_a_cloud_running_from_the_old_layout(tmp_path):
    probe, _ = two_apps(tmp_path)
    old, proc = old_cloud(tmp_path)
    try:
        up = run_cli("up", "-f", probe)
        assert up.returncode == 0, up.stderr
        assert "started by an earlier deployer: restarting" in up.stderr
        assert proc.wait(timeout=30) is not None
        assert httpx.get(f"{url_of(probe)}/files/kept").content == b"from the old cloud"
        assert not old.exists() and (tmp_path / ".deployer/local/probe/dev/cloud.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        run_cli("down", "-f", probe)


def test_outputs_files_are_per_app_and_an_older_shared_file_is_read_until_replaced(tmp_path):
    from deployer import state

    legacy = tmp_path / ".deployer/outputs/local-dev.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"api_url": "from before"}')
    assert state.read_outputs(tmp_path, "local", "dev", "probe") == {"api_url": "from before"}
    path = state.write_outputs(tmp_path, "local", "dev", {"api_url": "probe's"}, "probe")
    assert path == tmp_path / ".deployer/outputs/probe/local-dev.json"
    assert state.read_outputs(tmp_path, "local", "dev", "probe") == {"api_url": "probe's"}
    state.write_outputs(tmp_path, "local", "dev", {"api_url": "other's"}, "other")
    assert state.read_outputs(tmp_path, "local", "dev", "probe") == {"api_url": "probe's"}
