"""The local cloud's logs: rotated by size while writers keep appending, read from the end."""

from __future__ import annotations

import io
import json
import os

import httpx
import pytest
from test_local_helpers import Stage, wait_for, write_blueprint

from conftest import run_cli
from providers.local import logs


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_tail_reads_the_end_of_a_large_log_only():
    body = b"".join(b"line %d of a long log\n" % i for i in range(1_000_000))  # ~25 MB
    fh = CountingFile(body)
    lines, end = logs.tail_of(fh, 2)
    assert lines == ["line 999998 of a long log", "line 999999 of a long log"] and end == len(body)
    assert fh.read_bytes <= logs.BLOCK
    lines, _ = logs.tail_of(CountingFile(b"a\nb\nc"), 5)
    assert lines == ["a", "b", "c"]
    assert logs.tail_of(CountingFile(b""), 3) == ([], 0)


def test_rotation_keeps_what_was_written_and_writers_go_on_at_the_start(tmp_path):
    path = tmp_path / "fn.log"
    writer = open(path, "ab")  # as a worker's stdout: O_APPEND, never reopened
    writer.write(b"old\n" * 100)
    writer.flush()
    assert logs.rotate(path, limit=1000) is False  # 400 bytes: under the limit
    writer.write(b"old\n" * 300)
    writer.flush()
    assert logs.rotate(path, limit=1000) is True
    writer.write(b"new\n")
    writer.flush()
    writer.close()
    assert path.read_bytes() == b"new\n"
    assert (tmp_path / "fn.log.1").read_bytes() == b"old\n" * 400


def test_logs_cli_shows_the_tail_of_a_large_file(tmp_path):
    text = "name: big\nfunctions:\n  f: {code: fn, handler: main.run, triggers: [{http: GET /x}]}\n"
    file = write_blueprint(tmp_path, text, {"fn/main.py": "def run(request):\n    return 'x'\n"})
    log = tmp_path / ".deployer/local/big/dev/logs/f.log"
    log.parent.mkdir(parents=True)
    with open(log, "wb") as fh:
        fh.write(b"filler line\n" * 2_000_000)  # 24 MB
        fh.write(b"second to last\nlast\n")
    r = run_cli("logs", "f", "-f", str(file), "-n", "2", "--json")  # portable records, as on every cloud
    assert r.returncode == 0 and [json.loads(line)["message"] for line in r.stdout.splitlines()] == \
        ["second to last", "last"]


BLUEPRINT = """name: chatty
functions:
  talk:
    code: fn
    handler: main.talk
    triggers: [{http: GET /talk}]
"""
CODE = """def talk(request):
    print("x" * 1000, flush=True)
    return "said"
"""


@pytest.mark.slow
def test_the_local_cloud_rotates_a_function_log_by_size(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LOCAL_LOG_MAX_BYTES", "20000")
    monkeypatch.setenv("DEPLOYER_LOCAL_LOG_CHECK_S", "0.1")
    stage = Stage(write_blueprint(tmp_path, BLUEPRINT, {"fn/main.py": CODE})).start()
    try:
        log = stage.state / "logs/talk.log"
        for _ in range(25):  # 25 KB: one rotation, and what follows stays under the limit
            assert httpx.get(f"{stage.url}/talk").text == "said"
        wait_for(lambda: (stage.state / "logs/talk.log.1").exists() and log.stat().st_size < 20000,
                 what="the rotation")
        rotated = (stage.state / "logs/talk.log.1").stat().st_size
        assert rotated > 20000
        for _ in range(3):
            httpx.get(f"{stage.url}/talk")
        wait_for(lambda: log.read_text().count("x" * 1000) >= 3, what="lines after the rotation")
        assert os.path.getsize(log) < 20000
    finally:
        stage.stop()
