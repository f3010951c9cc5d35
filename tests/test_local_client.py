"""The local store client (files + SQLite) and the local cloud's pure parts, in-process and fast."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from deployer.blueprint.model import ScheduleTrigger
from deployer.runtime.clients import local


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPLOYER_LOCAL_STATE", str(tmp_path))
    local._local.conns = {}
    return tmp_path


def test_client_imports_only_the_standard_library_and_deployer_runtime():
    code = ("import sys; before = set(sys.modules); import deployer.runtime.clients.local; "
            "extra = {m.split('.')[0] for m in set(sys.modules) - before}; print(sorted(extra))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    allowed = set(sys.stdlib_module_names) | {"deployer", "_sqlite3", "sqlite3"}
    assert set(eval(out)) <= allowed, out


def test_bucket_put_get_list_delete_and_events(state):
    conn = local.queues_db()
    conn.execute("INSERT INTO bucket_triggers VALUES ('up', 'created', 'in/', '.jpg', 'b:up:f:0')")
    conn.execute("INSERT INTO bucket_triggers VALUES ('up', 'deleted', '', '', 'b:up:g:1')")
    bucket = local.Bucket("up", "up")
    bucket.put("in/a.jpg", b"123")
    bucket.put("in/b.png", b"x")
    bucket.put("other/c.jpg", "text")
    assert bucket.get("in/a.jpg") == b"123" and bucket.get("nope") is None
    assert bucket.list() == ["in/a.jpg", "in/b.png", "other/c.jpg"] and bucket.list("in/") == ["in/a.jpg", "in/b.png"]
    bucket.delete("in/a.jpg")
    bucket.delete("in/a.jpg")  # deleting what is not there raises no event
    rows = conn.execute("SELECT queue, data FROM messages ORDER BY id").fetchall()
    assert [(q, json.loads(d)["key"], json.loads(d)["type"]) for q, d in rows] == [
        ("b:up:f:0", "in/a.jpg", "created"), ("b:up:g:1", "in/a.jpg", "deleted")]
    assert json.loads(rows[0][1])["size"] == 3


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "", "a//b", "a\\b"])
def test_bucket_keys_cannot_escape_the_bucket(state, key):
    with pytest.raises(ValueError, match="bad object key"):
        local.Bucket("up", "up").put(key, b"x")


def test_a_bucket_written_with_keys_as_paths_is_converted_once_and_nothing_is_lost(state):
    old = state / "buckets" / "up"
    files = {"incoming/a.jpg": b"A", "top": b"T", "deep/er/x.txt": b"X", ".dot": b"D", "100%.txt": b"P"}
    for key, data in files.items():
        (old / key).parent.mkdir(parents=True, exist_ok=True)
        (old / key).write_bytes(data)
    (old / ".top.0a1b2c3d.tmp").write_bytes(b"an interrupted write")  # not an object: left alone
    bucket = local.Bucket("up", "up")
    assert bucket.list() == sorted(files)
    assert {key: bucket.get(key) for key in files} == files
    assert not (old / "incoming").exists() and (old / local.LAYOUT).exists()
    assert local.migrate_bucket(old) == 0  # once only: encoded names are never taken for old keys
    assert local.Bucket("up", "up").list() == sorted(files)


def test_table_put_get_scan_delete(state):
    table = local.Table("orders", "orders", "id")
    table.put("b2", {"total": 2})
    table.put("a1", {"id": "a1", "total": 1})
    assert table.get("b2") == {"total": 2, "id": "b2"}
    assert [i["id"] for i in table.scan()] == ["a1", "b2"] and [i["id"] for i in table.scan("b")] == ["b2"]
    table.delete("a1")
    assert table.get("a1") is None


def test_queue_send_and_topic_fan_out_are_durable_rows(state):
    conn = local.queues_db()
    conn.executemany("INSERT INTO subscriptions VALUES (?, ?)", [("ev", "t:ev:a:0"), ("ev", "t:ev:b:0")])
    msg = local.Queue("jobs", "jobs").send({"n": 1})
    pub = local.Topic("ev", "ev").publish(b"raw")
    rows = conn.execute("SELECT queue, msg_id, data FROM messages ORDER BY id").fetchall()
    assert rows == [("q:jobs", msg, b'{"n": 1}'), ("t:ev:a:0", pub, b"raw"), ("t:ev:b:0", pub, b"raw")]


def test_a_full_disk_is_reported_by_the_store_client(state, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(local, "write_file", full)
    with pytest.raises(local.StoreError) as caught:
        local.Bucket("up", "up").put("a", b"x")
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == (f"[Errno 28] no space left on the local cloud's disk while writing 'a' to bucket "
                                 f"'up' (state folder {state})")


def test_without_a_state_folder_the_client_says_why(monkeypatch):
    monkeypatch.delenv("DEPLOYER_LOCAL_STATE", raising=False)
    with pytest.raises(local.StoreError, match="not running in the local cloud"):
        local.Bucket("up", "up")


def test_cron_fires_in_its_time_zone_and_rates_every_n():
    from providers.local.scheduler import next_fire

    paris = ScheduleTrigger(schedule="0 3 * * *", timezone="Europe/Paris")
    at = next_fire(paris, datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc))
    assert at.astimezone(timezone.utc) == datetime(2026, 7, 2, 1, 0, tzinfo=timezone.utc)  # CEST = UTC+2
    winter = next_fire(paris, datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc))
    assert winter.astimezone(timezone.utc) == datetime(2026, 1, 11, 2, 0, tzinfo=timezone.utc)
    rate = next_fire(ScheduleTrigger(schedule="every 2 hours"), datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert rate == datetime(2026, 1, 1, 2, tzinfo=timezone.utc)


def test_invoke_builds_portable_events_for_every_trigger_kind():
    from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger
    from providers.local.invoke import build

    kind, p = build(HttpTrigger(http="GET /orders/{id}"), {"method": "GET", "params": {"id": "7"}})
    assert (kind, p["method"], p["path"], p["params"], p["body"]) == ("http", "GET", "/orders/7", {"id": "7"}, b"")
    kind, p = build(HttpTrigger(http="POST /orders"), {"items": [1]})
    assert (p["method"], p["body"]) == ("POST", b'{"items": [1]}')
    kind, p = build(QueueTrigger(queue="jobs"), {"n": 1})
    assert kind == "messages" and p["source"] == "queue" and p["items"][0]["data"] == b'{"n": 1}'
    kind, p = build(BucketTrigger(bucket="up", prefix="in/", suffix=".jpg"), None)
    assert json.loads(p["items"][0]["data"])["key"] == "in/example.jpg"


def test_the_scheduler_fires_each_schedule_with_its_event(monkeypatch):
    import asyncio
    from datetime import timedelta

    from deployer.blueprint.load import load_blueprint
    from providers.local import scheduler
    from test_local_helpers import BLUEPRINTS

    bp = load_blueprint(BLUEPRINTS / "report" / "deployer.yaml")
    monkeypatch.setattr(scheduler, "next_fire", lambda trigger, after: after + timedelta(seconds=0.02))
    fired = []

    class FakePool:
        def __init__(self, name):
            self.name, self.spec = name, None

        async def invoke(self, kind, payload):
            fired.append((self.name, kind, payload["schedule"], datetime.fromisoformat(payload["time"])))

    monkeypatch.setattr(scheduler, "log_line", lambda spec, text: None)

    def twice_each() -> bool:
        counts = [sum(1 for n, *_ in fired if n == name) for name in ("nightly", "snapshot")]
        return min(counts) >= 2  # each schedule fired again after its first event: it keeps firing

    async def run():
        s = scheduler.Scheduler(bp, {name: FakePool(name) for name in bp.functions})
        s.start()
        try:
            async with asyncio.timeout(30):
                while not twice_each():
                    await asyncio.sleep(0.01)
        finally:
            await s.stop()

    asyncio.run(run())
    names = {(n, k, sch) for n, k, sch, _ in fired}
    assert names == {("nightly", "schedule", "0 3 * * *"), ("snapshot", "schedule", "every 1 hours")}
    assert all(t.tzinfo is not None for *_, t in fired) and twice_each()


def test_the_worker_shim_passes_a_context_when_the_handler_takes_two_arguments():
    import importlib.util
    import time as _time
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "providers" / "local" / "worker.py"
    spec = importlib.util.spec_from_file_location("local_worker_shim", path)
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)

    def handler(request, context):
        return {"function": context.function, "cloud": context.cloud, "id": context.request_id,
                "left": 0 < context.remaining() <= 5, "q": request.query["q"], "h": request.headers["X-A"]}

    from deployer.runtime.invoke import Function

    fn = Function({"function": "api", "cloud": "local"})
    fn.set_handler(handler)
    runner = shim.Runner(fn)
    payload = {"method": "GET", "path": "/x", "params": {}, "query": {"q": "1"}, "headers": [("x-a", "b")],
               "body": b""}
    status, headers, body = runner.http(payload, "rid-1", _time.time() + 5)
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == {"function": "api", "cloud": "local", "id": "rid-1", "left": True, "q": "1", "h": "b"}
