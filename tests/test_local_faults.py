"""Faults on the local cloud: hung and crashing handlers, malformed requests, kill -9 with messages in
flight, a full disk, a second `up`. Real daemon, real workers, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess

import httpx
import pytest
from test_local_helpers import Stage, wait_for, write_blueprint

from conftest import run_cli

pytestmark = pytest.mark.slow

BLUEPRINT = """
name: faults
stores:
  jobs: {kind: queue, retries: 3}
  done: {kind: table, key: n}
  files: {kind: bucket}
functions:
  web:
    code: fn
    handler: main.web
    timeout: 1
    uses: {files: read-write, jobs: publish}
    triggers:
      - http: GET /echo/{word}
      - http: POST /echo/{word}
      - http: GET /hang
      - http: GET /exit
      - http: GET /segv
      - http: PUT /files/{name}
  work:
    code: fn
    handler: main.work
    timeout: 1
    uses: {done: read-write}
    triggers: [{queue: jobs, batch: 10}]
"""

CODE = '''
import ctypes, os, time
from deployer.runtime import Response, stores

def web(request):
    if request.path == "/hang":
        open(os.path.join(os.environ["DEPLOYER_LOCAL_STATE"], "hang.pid"), "w").write(str(os.getpid()))
        time.sleep(60)
    if request.path == "/exit":
        os._exit(3)
    if request.path == "/segv":
        ctypes.string_at(0)
    if request.path.startswith("/files/"):
        stores.bucket("files").put(request.params["name"], request.body)
        return Response(201, {"stored": len(request.body)})
    if request.method == "POST":
        return {"word": request.params["word"], "json": request.json()}
    return {"word": request.params["word"], "pid": os.getpid()}

def work(message):
    if message.data.get("hang"):
        time.sleep(60)
    if message.data.get("fail"):
        raise RuntimeError("bad message " + str(message.data["n"]))
    time.sleep(0.004)
    stores.table("done").put(str(message.data["n"]), {"n": str(message.data["n"]), "attempt": message.attempt})
'''


@pytest.fixture
def faults(tmp_path, fast_retries):
    file = write_blueprint(tmp_path, BLUEPRINT, {"fn/main.py": CODE})
    s = Stage(file).start()
    yield s
    s.stop()


def test_a_hung_handler_answers_504_and_its_worker_is_replaced(faults):
    r = httpx.get(f"{faults.url}/hang", timeout=30)  # the handler sleeps 60 s: an answer means it was cut
    assert r.status_code == 504 and "timed out after 1s" in r.json()["error"]
    pid = int((faults.state / "hang.pid").read_text())  # written by the handler: it ran before the 504
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(),
             what="the hung worker to be killed")
    assert httpx.get(f"{faults.url}/echo/hi").json()["word"] == "hi"
    assert "TIMEOUT" in faults.log("web")


@pytest.mark.parametrize("path", ["/exit", "/segv"])
def test_a_crashing_worker_answers_502_and_the_cloud_keeps_serving(faults, path):
    r = httpx.get(f"{faults.url}{path}")
    assert r.status_code == 502 and "crashed" in r.json()["error"]
    for _ in range(5):
        assert httpx.get(f"{faults.url}/echo/ok").status_code == 200
    assert "CRASH" in faults.log("web")


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def test_malformed_requests_are_rejected_and_do_not_hurt_the_gateway(faults):
    port = faults.info["port"]
    assert raw(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw(port, b"GET /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n").startswith(b"HTTP/1.1 400")
    r = httpx.post(f"{faults.url}/echo/x", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    big = httpx.post(f"{faults.url}/echo/x", content=b"x" * (6 * 1024 * 1024 + 1))
    assert big.status_code == 413
    assert httpx.put(f"{faults.url}/files/big.bin", content=b"y" * (5 * 1024 * 1024)).json() == {"stored": 5 << 20}
    assert httpx.get(f"{faults.url}/nowhere").status_code == 404
    r = httpx.delete(f"{faults.url}/echo/x")
    assert r.status_code == 405 and set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert httpx.get(f"{faults.url}/echo/%C3%A9t%C3%A9?q=1").json()["word"] == "été"
    assert httpx.get(f"{faults.url}/_deployer/health").json()["ok"] is True


def test_kill_9_with_1000_messages_in_flight_loses_none(faults, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LOCAL_STATE", str(faults.state))
    from deployer.runtime.clients.local import Queue

    queue = Queue("jobs", "jobs")
    for n in range(1000):
        queue.send({"n": n})
    wait_for(lambda: len(faults.table("done")) >= 100, what="the first deliveries")
    assert faults.pending() > 0, "everything was processed before the kill; the test proves nothing"
    os.kill(faults.info["pid"], signal.SIGKILL)
    wait_for(lambda: not faults.engine.is_running(), what="the dead cloud to release its lock")
    before = len(faults.table("done"))
    assert before < 1000
    faults.start()  # a new process on the same state
    wait_for(lambda: len(faults.table("done")) == 1000, timeout=60, what="all 1000 messages")
    wait_for(lambda: faults.pending() == 0, what="an empty queue")
    assert sorted(int(k) for k in faults.table("done")) == list(range(1000))
    assert faults.dead_letters() == []


def test_a_second_up_says_it_is_running_and_exits_0(faults):
    r = run_cli("up", "--cloud", "local", "-f", str(faults.bp.source))
    assert r.returncode == 0, r.stderr
    assert f"already running at {faults.url}" in r.stderr
    r = run_cli("outputs", "--cloud", "local", "-f", str(faults.bp.source), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["api_url"] == faults.url


def test_a_full_disk_is_reported(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root; CI runs as root, where this skip fails); "
                    "tests/test_local_client.py covers ENOSPC through the seam")
    try:
        s = Stage(write_blueprint(mount, BLUEPRINT, {"fn/main.py": CODE})).start()
        try:
            r = httpx.put(f"{s.url}/files/big.bin", content=b"x" * (2 * 1024 * 1024))
            assert r.status_code == 500 and r.json()["error"] == "internal error"  # as on a cloud: no text
            assert "no space left on the local cloud's disk" in s.log("web")
            assert httpx.put(f"{s.url}/files/small.bin", content=b"ok").status_code == 201
        finally:
            s.stop()
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_in_a_batch_only_the_failed_message_is_retried_and_a_hung_one_fails(faults, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LOCAL_STATE", str(faults.state))
    from deployer.runtime.clients.local import Queue

    queue = Queue("jobs", "jobs")
    for n in range(10):
        queue.send({"n": n, "fail": n == 4})
    dead = wait_for(faults.dead_letters, what="the failed message to be dead-lettered")
    assert [(json.loads(d[4])["n"], d[2]) for d in dead] == [(4, 3)] and "RuntimeError: bad message 4" in dead[0][3]
    done = faults.table("done")
    assert sorted(int(k) for k in done) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert {item["attempt"] for item in done.values()} == {1}  # the good ones were not redelivered
    queue.send({"n": "h", "hang": True})
    dead = wait_for(lambda: len(faults.dead_letters()) == 2 and faults.dead_letters(), timeout=30, what="the hung one")
    assert dead[1][2] == 3 and "timed out after 1s" in dead[1][3]
    assert faults.log("work").count("TIMEOUT") == 3


def test_up_on_a_busy_port_fails_with_the_reason(tmp_path):
    file = write_blueprint(tmp_path, BLUEPRINT, {"fn/main.py": CODE})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = run_cli("up", "-f", str(file), "--port", str(port))
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr and "--port" in r.stderr
