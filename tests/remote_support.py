"""Test kit for `deployer invoke | logs` against the clouds, without a cloud account or network.

- `deployed(tmp, cloud, outputs)`: a copy of the portable blueprint with an outputs file, as the last
  `deployer up --cloud <cloud>` leaves it (physical names and URLs that the test's servers answer).
- `Recorded`: a local HTTP server on 127.0.0.1 answering each (method, path) with a recorded response
  shape of the real API (a dict, or a function of the request); it keeps every request it received so
  a test asserts on what the client really sent (URL, headers, body).
- `Lines`: the stdout of a running `deployer logs --follow`, read line by line on a thread, so a test
  waits on "this line arrived" (with a generous timeout) instead of sleeping.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from fixtures.events.shimkit import PORTABLE


def deployed(tmp: Path, cloud: str, outputs: dict, stage: str = "dev") -> Path:
    """The portable blueprint copied to tmp with `.deployer/outputs/<cloud>-<stage>.json`; its path."""
    target = tmp / "app"
    shutil.copytree(PORTABLE.parent, target, dirs_exist_ok=True)
    out = target / ".deployer" / "outputs" / "portable" / f"{cloud}-{stage}.json"  # per app, as `up` writes it
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outputs))
    return target / "deployer.yaml"


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any cloud credential or configuration, plus `extra`."""
    drop = ("AWS_", "GOOGLE_", "GCLOUD", "CLOUDSDK", "AZURE_", "ARM_", "IDENTITY_", "MSI_", "IMDS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    home = extra.pop("HOME", None)
    if home:
        env["HOME"] = home
    env.update({"AWS_EC2_METADATA_DISABLED": "true", "NO_COLOR": "1", **extra})
    return env


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = dict | Callable[[Request], tuple[int, dict, Any]]


@dataclass
class Recorded:
    """routes: {"POST /v2/entries:list": answer}, where an answer is a JSON body (status 200) or
    a function of the Request returning (status, headers, body)."""

    routes: dict[str, Answer]
    requests: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "Recorded":
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length))
                recorded.requests.append(request)
                status, headers, body = recorded.answer(request)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: Request) -> tuple[int, dict, Any]:
        path = request.path.split("?", 1)[0]
        for route, answer in self.routes.items():
            method, _, pattern = route.partition(" ")
            if method == request.method and (path == pattern or pattern.endswith("*") and path.startswith(pattern[:-1])):
                return answer(request) if callable(answer) else (200, {}, answer)
        return 404, {}, {"error": {"code": 404, "message": f"no recorded answer for {request.method} {path}"}}

    def seen(self, method: str, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]


class Lines:
    """A `deployer` subprocess whose stdout lines are collected by a reader thread."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen([sys.executable, "-m", "deployer.cli", *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, check: Callable[[str], bool], timeout: float = 60.0, what: str = "a line") -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the command ended before {what}: {self.lines}; "
                                     f"stderr: {self.proc.stderr.read()}")
            self.lines.append(line)
            if check(line):
                return line
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; got {self.lines}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
