"""`deployer down` on the local cloud keeps the stores' data; `down --delete-data` removes it.

The README promises both. Everything here goes through the `deployer` command and the functions' own
store clients (`deployer.runtime.stores`), never through the state folder's files, so the test holds
whatever layout the local cloud keeps its data in.

A queued message is the hard case: a running consumer would take it at once. So the first version of the
blueprint has a queue nobody consumes yet (a producer deployed before its consumer); the consumer is
added after `down`, and the message it receives after `up` is the one queued before `down`.
"""

from __future__ import annotations

import json

import httpx
import pytest
from test_local_helpers import wait_for, write_blueprint

from conftest import run_cli

pytestmark = pytest.mark.slow

BLUEPRINT = """\
name: keep
stores:
  files: {kind: bucket}
  items: {kind: table}
  jobs: {kind: queue}
  seen: {kind: table}
functions:
  put:
    code: fn
    handler: main.put
    uses: {files: write, items: write, jobs: publish}
    triggers: [{http: POST /put}]
  get:
    code: fn
    handler: main.get
    uses: {files: read, items: read, seen: read}
    triggers: [{http: GET /get}]
"""
CONSUMER = """\
  worker:
    code: fn
    handler: main.work
    uses: {seen: write}
    triggers: [{queue: jobs, batch: 10}]
"""
CODE = """\
from deployer.runtime import stores


def put(request):
    body = request.json()
    stores.bucket("files").put(body["key"], body["text"].encode())
    stores.table("items").put(body["key"], {"text": body["text"]})
    stores.queue("jobs").send({"key": body["key"]})
    return {"stored": body["key"]}


def get(request):
    key = request.query["key"]
    data = stores.bucket("files").get(key)
    return {"file": data.decode() if data is not None else None, "item": stores.table("items").get(key),
            "seen": [item["id"] for item in stores.table("seen").scan()]}


def work(message):
    stores.table("seen").put(message.data["key"], {"text": "received"})
"""


def up(file) -> str:
    r = run_cli("up", "-f", str(file), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["outputs"]["api_url"]


def down(file, *flags: str) -> str:
    r = run_cli("down", "-f", str(file), *flags)
    assert r.returncode == 0, r.stderr
    return r.stderr


def read(url: str, key: str) -> dict:
    return httpx.get(f"{url}/get", params={"key": key}, timeout=30).json()


def test_down_keeps_the_data_and_down_delete_data_removes_it(tmp_path):
    file = write_blueprint(tmp_path, BLUEPRINT, {"fn/main.py": CODE})
    try:
        url = up(file)
        assert httpx.post(f"{url}/put", json={"key": "a", "text": "one"}, timeout=30).json() == {"stored": "a"}
        assert read(url, "a") == {"file": "one", "item": {"text": "one", "id": "a"}, "seen": []}
        said = down(file)
        assert "kept (with their data): files, items, jobs, seen" in " ".join(said.split())

        file.write_text(BLUEPRINT + CONSUMER)  # the consumer arrives; the message queued before `down` waits
        url = up(file)
        assert read(url, "a")["file"] == "one" and read(url, "a")["item"] == {"text": "one", "id": "a"}
        wait_for(lambda: read(url, "a")["seen"] == ["a"], timeout=60, what="the message queued before `down`")

        down(file)
        r = run_cli("invoke", "put", "-f", str(file), "--data", '{"key": "b", "text": "two"}')
        assert r.returncode == 0, r.stderr  # with the cloud stopped: b's message waits in the queue
        assert "its data was deleted" in down(file, "--delete-data")

        url = up(file)
        assert read(url, "a") == {"file": None, "item": None, "seen": []}
        assert read(url, "b") == {"file": None, "item": None, "seen": []}
        httpx.post(f"{url}/put", json={"key": "c", "text": "three"}, timeout=30)
        # messages are delivered in the order they were queued: had b's survived, it would come before c's
        wait_for(lambda: read(url, "c")["seen"], timeout=60, what="the message sent after `up`")
        assert read(url, "c")["seen"] == ["c"]
    finally:
        run_cli("down", "-f", str(file), "--delete-data")


def test_delete_data_tolerates_sqlite_files_vanishing_while_it_deletes(tmp_path, monkeypatch):
    """A worker of the stopped cloud may close the last SQLite connection while the folder is deleted, and
    SQLite then removes `tables.db-wal` itself: what is already gone is not an error (CI met this race)."""
    import os
    import sqlite3

    from providers.local.lifecycle import remove_tree

    state = tmp_path / "stage"
    (state / "buckets" / "b").mkdir(parents=True)
    (state / "buckets" / "b" / "k").write_bytes(b"x")
    held = sqlite3.connect(state / "tables.db")
    held.execute("PRAGMA journal_mode=WAL")
    held.execute("CREATE TABLE t (k)")
    held.commit()
    assert (state / "tables.db-wal").exists()
    real_unlink = os.unlink

    def closing_first(name, *args, **kwargs):  # the other process closes just before this unlink
        if str(name).endswith("tables.db-wal"):
            held.close()
        return real_unlink(name, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", closing_first)
    remove_tree(state)
    assert not state.exists()
    (tmp_path / "file").write_text("x")  # any other error still stops the deletion
    with pytest.raises(NotADirectoryError):
        remove_tree(tmp_path / "file")
