"""Pending topic and bucket deliveries survive blueprint edits: delivery queues are named by what they
deliver, and on start the local cloud moves pending rows to the trigger that now takes them, or keeps
them, logs them and shows them in `deployer status`. Real CLI, real daemon, real SQLite."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from test_local_helpers import wait_for, write_blueprint

from conftest import run_cli

pytestmark = pytest.mark.slow

BLUEPRINT = """name: deliv
stores:
  events: {{kind: topic}}
  files: {{kind: bucket}}
  seen: {{kind: table}}
functions:
  pub:
    code: fn
    handler: main.pub
    uses: {{events: publish, files: write}}
    triggers: [{{http: POST /pub}}]
  notify:
    code: fn
    handler: main.notify
    uses: {{seen: write}}
    triggers:
{triggers}
"""
CODE = """from deployer.runtime import stores
from deployer.runtime.types import Message

def pub(request):
    body = request.json()
    for ident in body.get("publish", []):
        stores.topic("events").publish({"id": ident})
    for key in body.get("put", []):
        stores.bucket("files").put(key, b"x")
    return "ok"

def notify(event):
    key = event.data["id"] if isinstance(event, Message) else event.key
    stores.table("seen").put(key, {"how": type(event).__name__})
"""


def app(tmp: Path, *triggers: str) -> str:
    text = BLUEPRINT.format(triggers="".join(f"      - {t}\n" for t in triggers))
    return str(write_blueprint(tmp, text, {"fn/main.py": CODE}))


def produce(file: str, **body) -> None:
    """Publish/put through `deployer invoke` while no local cloud runs: the deliveries wait in queues.db."""
    r = run_cli("invoke", "pub", "-f", file, "--data", json.dumps(body))
    assert r.returncode == 0, r.stderr


def seen(tmp: Path) -> set[str]:
    db = tmp / ".deployer/local/deliv/dev/tables.db"
    if not db.exists():
        return set()
    with sqlite3.connect(db, timeout=30) as conn:
        return {k for (k,) in conn.execute("SELECT key FROM items WHERE tbl = 'seen'")}


def status(file: str) -> dict:
    r = run_cli("status", "-f", file, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_pending_topic_message_is_delivered_after_its_trigger_moved(tmp_path):
    file = app(tmp_path, "topic: events")
    produce(file, publish=["m1"])
    assert status(file)["deliveries"][0]["pending"] >= 1
    app(tmp_path, "http: GET /n", "topic: events")  # the topic trigger moves from index 0 to 1
    try:
        assert run_cli("up", "-f", file).returncode == 0
        wait_for(lambda: "m1" in seen(tmp_path), timeout=30, what="the moved trigger's delivery")
    finally:
        run_cli("down", "-f", file)


def test_a_pending_message_of_the_index_named_layout_is_adopted(tmp_path):
    file = app(tmp_path, "http: GET /n", "topic: events")
    produce(file, publish=[])  # creates the state folder and queues.db
    db = tmp_path / ".deployer/local/deliv/dev/queues.db"
    with sqlite3.connect(db) as conn:  # a row as an earlier deployer named it: t:<topic>:<fn>:<index>
        conn.execute("INSERT INTO messages (queue, msg_id, data, created) VALUES (?, ?, ?, ?)",
                     ("t:events:notify:0", "old", json.dumps({"id": "from-before"}).encode(), time.time()))
    try:
        assert run_cli("up", "-f", file).returncode == 0
        wait_for(lambda: "from-before" in seen(tmp_path), timeout=30, what="the adopted delivery")
        assert "moved 1 pending message(s)" in (db.parent / "cloud.log").read_text()
    finally:
        run_cli("down", "-f", file)


def test_what_no_trigger_takes_is_kept_logged_and_shown_by_status(tmp_path):
    file = app(tmp_path, "topic: events", "bucket: files")
    produce(file, publish=["t1"], put=["a/x", "b/y"])
    app(tmp_path, "{bucket: files, prefix: b/}")  # topic trigger gone, bucket filter narrowed
    try:
        assert run_cli("up", "-f", file).returncode == 0
        wait_for(lambda: "b/y" in seen(tmp_path), timeout=30, what="the event the new filter takes")
        state = status(file)
        assert state["running"] is True
        stranded = {d["queue"]: d["pending"] for d in state["deliveries"] if d["consumer"] is None}
        assert stranded == {"t:events:notify": 1, "b:files:notify:created::": 1}
        log = (tmp_path / ".deployer/local/deliv/dev/cloud.log").read_text()
        assert "1 pending message(s) of topic 'events' in delivery queue 't:events:notify' have no consumer" in log
        assert seen(tmp_path) == {"b/y"}
        text = run_cli("status", "-f", file)
        assert "none (kept, no trigger takes it)" in text.stdout
    finally:
        run_cli("down", "-f", file)
    app(tmp_path, "topic: events", "{bucket: files, prefix: b/}")  # the topic trigger comes back
    try:
        assert run_cli("up", "-f", file).returncode == 0
        wait_for(lambda: "t1" in seen(tmp_path), timeout=30, what="the delivery kept for a returning trigger")
    finally:
        run_cli("down", "-f", file)
