"""Helpers of the local-cloud tests (no tests here): start a stage from a copy of a blueprint, wait for things.

Every test runs the real thing: the LocalEngine starts the local cloud as a daemon process, requests go
through real HTTP, functions run in worker processes, state is real files and SQLite databases.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"


def copy_example(name: str, tmp: Path) -> Path:
    target = tmp / name
    shutil.copytree(BLUEPRINTS / name, target, ignore=shutil.ignore_patterns(".deployer", "__pycache__"))
    return target / "deployer.yaml"


def write_blueprint(tmp: Path, yaml_text: str, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp / "deployer.yaml").write_text(yaml_text)
    return tmp / "deployer.yaml"


class Stage:
    """A running local cloud of one blueprint; `stop()` in a finally."""

    def __init__(self, file: Path, stage: str = "dev", port: int | None = None):
        from deployer.blueprint.load import load_blueprint
        from deployer.providers import EngineOptions
        from providers.local.lifecycle import LocalEngine

        self.bp = load_blueprint(file, stage=stage)
        self.engine = LocalEngine(self.bp, EngineOptions(port=port))
        self.state = self.engine.state

    def start(self) -> "Stage":
        self.result = self.engine.up()
        self.url = self.result.outputs.get("api_url")
        self.info = json.loads((self.state / "cloud.json").read_text())
        return self

    def stop(self, delete_data: bool = False) -> None:
        self.engine.destroy(delete_data=delete_data)

    def db(self, name: str) -> sqlite3.Connection:
        return sqlite3.connect(self.state / name, timeout=30)

    def table(self, table: str) -> dict:
        with self.db("tables.db") as conn:
            rows = conn.execute("SELECT key, item FROM items WHERE tbl = ?", (table,)).fetchall()
        return {k: json.loads(v) for k, v in rows}

    def pending(self) -> int:
        with self.db("queues.db") as conn:
            return conn.execute("SELECT count(*) FROM messages").fetchone()[0]

    def dead_letters(self) -> list[tuple]:
        with self.db("queues.db") as conn:
            return conn.execute("SELECT queue, msg_id, attempts, error, data FROM dead_letters").fetchall()

    def log(self, function: str) -> str:
        path = self.state / "logs" / f"{function}.log"
        return path.read_text() if path.exists() else ""


def objects(state: Path, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """A bucket's objects under `prefix`, read from its folder (files named by encoded keys)."""
    import os

    from deployer.runtime.clients.local import path_key

    root = state / "buckets" / bucket
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.startswith("."):
                key = path_key(root, Path(folder, name))
                if key.startswith(prefix):
                    found[key] = Path(folder, name).read_bytes()
    return found


def wait_for(check, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def tiny_png(width: int = 300, height: int = 200) -> bytes:
    """A real RGB PNG made with the standard library (the test process has no Pillow)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x % 256, y % 256, 128))
                    for y in range(height))
    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
