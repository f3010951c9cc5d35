"""Stores that already exist, on the local cloud: a local store of that name in the machine's folder of
existing stores (DEPLOYER_LOCAL_EXISTING; conftest points it at a private temporary folder), shared by
every app and stage that names it, reached by functions and triggers, never deleted or replaced."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest
from test_local_helpers import Stage, objects, wait_for, write_blueprint

from conftest import run_cli, tiny_blueprint
from deployer.errors import BlueprintError

# -- the form, the locator, the delivery queues (no process) ---------------------------------------------

BAD_NAME = """\
name: shop
stores:
  uploads: {kind: bucket, existing: company-uploads}
  jobs: {kind: queue, existing: "../escape"}
clouds:
  local:
    existing: {uploads: "a/b"}
functions:
  w: {code: fn, handler: main.run, triggers: [{queue: jobs}], uses: {uploads: read}}
"""


def test_validate_cloud_local_refuses_an_existing_name_it_cannot_keep_with_located_errors(tmp_path):
    tiny_blueprint(tmp_path, BAD_NAME)
    result = run_cli("validate", "--cloud", "local", "--json", "-f", str(tmp_path / "deployer.yaml"))
    assert result.returncode == 2, result.stderr
    found = {d["path"]: d for d in json.loads(result.stdout)["diagnostics"]}
    assert set(found) == {"clouds.local.existing.uploads", "stores.jobs.existing"}  # the per-cloud form wins
    assert found["clouds.local.existing.uploads"]["line"] == 7 and found["stores.jobs.existing"]["line"] == 4
    assert "'a/b' cannot be one" in found["clouds.local.existing.uploads"]["message"]
    assert found["stores.jobs.existing"]["cloud"] == "local" and "letters, digits" in found["stores.jobs.existing"]["hint"]
    plain = run_cli("validate", "--cloud", "local", "-f", str(tmp_path / "deployer.yaml"))
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and "deployer.yaml:4" in plain.stderr
    (tmp_path / "deployer.yaml").write_text(BAD_NAME.replace('"../escape"', "billing.jobs_v2").replace('"a/b"', "c-1"))
    assert run_cli("validate", "--cloud", "local", "-f", str(tmp_path / "deployer.yaml")).returncode == 0


SHARED = """\
name: shop
stores:
  uploads: {kind: bucket, existing: "arn:aws:s3:::not-a-local-name"}
  jobs: {kind: queue, existing: company-jobs}
  news: {kind: topic, existing: company-news}
  own: {kind: table}
clouds:
  local:
    existing: {uploads: company-uploads}
functions:
  w:
    code: fn
    handler: main.run
    uses: {uploads: read, own: read-write}
    triggers: [{queue: jobs}, {topic: news}, {bucket: uploads, prefix: in/}]
"""


def test_an_existing_store_is_located_by_its_existing_name_and_delivered_from_the_shared_queues_db(tmp_path):
    from providers.local import existing, functions, queues, server

    bp = tiny_blueprint(tmp_path, SHARED)
    env = functions.function_env(bp, "w", tmp_path / "state", {"DEPLOYER_LOCAL_EXISTING": "/x/existing"})
    assert env["DEPLOYER_STORE_UPLOADS"] == "existing:company-uploads"  # clouds.local.existing wins
    assert env["DEPLOYER_STORE_JOBS"] == "existing:company-jobs" and env["DEPLOYER_STORE_OWN"] == "own"
    assert env["DEPLOYER_LOCAL_EXISTING"] == "/x/existing"
    assert server.outputs(bp, None, tmp_path)["stores"] == {
        "uploads": "existing:company-uploads", "jobs": "existing:company-jobs", "news": "existing:company-news",
        "own": "own"}
    owner = existing.owner_of(bp)
    by_source = {c.source: c for c in queues.consumers(bp)}
    assert by_source["queue"].queue == "q:company-jobs"  # one queue: every app's consumers compete
    assert by_source["topic"].queue == f"t:company-news:{owner}/w"
    assert by_source["bucket"].queue == f"b:company-uploads:{owner}/w:created:in/:"
    assert all(c.owner == owner for c in by_source.values())


def test_registering_in_the_shared_queues_db_touches_only_this_app_and_stages_rows(tmp_path):
    from deployer.runtime.clients import local as client
    from providers.local import existing, queues

    bp = tiny_blueprint(tmp_path, SHARED)
    conn = client.connect(tmp_path / "shared" / "queues.db", client.SCHEMA)
    other = "other.dev.00000000"
    conn.execute("INSERT INTO subscriptions VALUES ('company-news', ?)", (f"t:company-news:{other}/f",))
    conn.execute("INSERT INTO bucket_triggers VALUES ('company-uploads', 'created', '', '', ?)",
                 (f"b:company-uploads:{other}/f:created::",))
    queues.register(conn, bp, existing.owner_of(bp))
    queues.register(conn, bp, existing.owner_of(bp))  # idempotent
    subs = sorted(q for (q,) in conn.execute("SELECT queue FROM subscriptions"))
    assert subs == sorted([f"t:company-news:{other}/f", f"t:company-news:{existing.owner_of(bp)}/w"])
    assert conn.execute("SELECT count(*) FROM bucket_triggers").fetchone()[0] == 2


def test_replace_data_refuses_an_existing_store_and_its_key_is_not_the_apps_to_guard(tmp_path):
    from deployer.providers import EngineOptions
    from providers.local.lifecycle import STORES_FILE, LocalEngine

    yaml = SHARED.replace("own: {kind: table}", "own: {kind: table}\n  people: {kind: table, key: id, existing: crm}")
    bp = tiny_blueprint(tmp_path, yaml)
    engine = LocalEngine(bp, EngineOptions(extra={"replace_data": ("people",)}))
    with pytest.raises(BlueprintError) as refused:
        engine.preview()
    [diag] = refused.value.diagnostics
    assert "existing store 'crm'" in diag.message and diag.location.path == "stores.people.existing"
    assert diag.location.line == 7
    # the last up saw `people` with key id; a key change of an existing table replaces nothing of the app's
    engine.state.mkdir(parents=True)
    (engine.state / STORES_FILE).write_text(json.dumps({"people": {"kind": "table", "key": "id"},
                                                        "own": {"kind": "table", "key": "id"}}))
    rekeyed = tiny_blueprint(tmp_path, yaml.replace("key: id, existing: crm", "key: sku, existing: crm"))
    preview = LocalEngine(rekeyed, EngineOptions()).preview()  # no refusal; shown as referenced
    assert "existing store(s) referenced, not created: jobs -> company-jobs, news -> company-news, people -> crm, " \
           "uploads -> company-uploads" in preview.message
    assert LocalEngine(rekeyed, EngineOptions()).own_stores() == {"own": {"kind": "table", "key": "id"}}
    own_rekeyed = tiny_blueprint(tmp_path, yaml.replace("own: {kind: table}", "own: {kind: table, key: sku}"))
    with pytest.raises(BlueprintError):  # the app's own table is still guarded
        LocalEngine(own_rekeyed, EngineOptions()).preview()


def test_destroy_reports_only_the_apps_own_stores_as_kept(tmp_path):
    from deployer.providers import EngineOptions
    from providers.local.lifecycle import LocalEngine

    result = LocalEngine(tiny_blueprint(tmp_path, SHARED), EngineOptions()).destroy()
    assert result.kept == ["own"]
    assert "existing stores left as they are: jobs (company-jobs), news (company-news), uploads (company-uploads)" \
        in result.message


# -- two apps share existing stores, end to end -----------------------------------------------------------

WRITER = """\
name: alpha
stores:
  files: {kind: bucket, existing: BUCKET}
  people: {kind: table, existing: "arn:aws:dynamodb:us-east-1:123456789012:table/crm"}
  work: {kind: queue, existing: QUEUE}
  news: {kind: topic, existing: TOPIC}
clouds:
  local: {existing: {people: TABLE}}
functions:
  api:
    code: fn
    handler: main.api
    uses: {files: read-write, people: read-write, work: publish, news: publish}
    triggers: [{http: POST /put}]
"""
WRITER_CODE = """\
from deployer.runtime import stores


def api(request):
    stores.bucket("files").put("in/a.txt", b"hello")
    stores.table("people").put("p1", {"name": "Ada"})
    stores.queue("work").send({"job": 1})
    stores.topic("news").publish({"news": 2})
    return {"ok": True}
"""
READER = """\
name: beta
stores:
  uploads: {kind: bucket, existing: BUCKET}
  contacts: {kind: table, existing: TABLE}
  tasks: {kind: queue, existing: QUEUE}
  events: {kind: topic, existing: TOPIC}
  seen: {kind: table}
functions:
  api:
    code: fn
    handler: main.api
    uses: {uploads: read, contacts: read, seen: read}
    triggers: [{http: GET /get}]
  worker: {code: fn, handler: main.worker, uses: {seen: write}, triggers: [{queue: tasks}]}
  listener: {code: fn, handler: main.listener, uses: {seen: write}, triggers: [{topic: events}]}
  watcher: {code: fn, handler: main.watcher, uses: {seen: write}, triggers: [{bucket: uploads, prefix: in/}]}
"""
READER_CODE = """\
from deployer.runtime import stores


def api(request):
    found = stores.bucket("uploads").get("in/a.txt")
    return {"object": found.decode() if found else None, "row": stores.table("contacts").get("p1"),
            "seen": {item["id"]: item for item in stores.table("seen").scan()}}


def worker(message):
    stores.table("seen").put("queue", {"data": message.data})


def listener(message):
    stores.table("seen").put("topic", {"data": message.data})


def watcher(event):
    stores.table("seen").put("bucket", {"store": event.store, "key": event.key})
"""


def _names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]  # the folder of existing stores is shared by this run's tests
    return {"BUCKET": f"company-files-{tag}", "TABLE": f"crm-{tag}", "QUEUE": f"work-{tag}", "TOPIC": f"news-{tag}"}


def _write(folder: Path, text: str, code: str, names: dict[str, str]) -> Path:
    for placeholder, name in names.items():
        text = text.replace(placeholder, name)
    return write_blueprint(folder, text, {"fn/main.py": code})


def _shared_rows(db: str, sql: str, *args) -> list[tuple]:
    from providers.local import existing

    with sqlite3.connect(existing.home() / db) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.mark.slow
def test_two_apps_share_existing_stores_triggers_fire_across_them_and_delete_data_never_deletes_them(tmp_path):
    from providers.local import existing

    names = _names()
    reader = Stage(_write(tmp_path / "b", READER, READER_CODE, names))
    writer = Stage(_write(tmp_path / "a", WRITER, WRITER_CODE, names))
    try:
        reader.start()
        writer.start()
        assert httpx.post(f"{writer.url}/put", timeout=30).status_code == 200
        got = httpx.get(f"{reader.url}/get", timeout=30).json()
        assert got["object"] == "hello" and got["row"] == {"id": "p1", "name": "Ada"}
        seen = wait_for(lambda: (lambda s: s if len(s) == 3 else None)(
            httpx.get(f"{reader.url}/get", timeout=30).json()["seen"]), what="the reader's three triggers")
        assert seen["queue"]["data"] == {"job": 1} and seen["topic"]["data"] == {"news": 2}
        assert seen["bucket"] == {"id": "bucket", "store": "uploads", "key": "in/a.txt"}  # the reader's name
        # the data is the machine's, in the folder of existing stores; neither app's folder has it
        assert objects(existing.home(), names["BUCKET"]) == {"in/a.txt": b"hello"}
        assert not (writer.state / "buckets").exists() and not (reader.state / "buckets").exists()
        assert writer.result.outputs["stores"]["files"] == f"existing:{names['BUCKET']}"
        status = run_cli("status", "--json", "-f", str(reader.bp.source))
        stores = {s["name"]: s for s in json.loads(status.stdout)["stores"]}
        assert stores["uploads"]["existing"] == names["BUCKET"] and stores["seen"]["existing"] is None
        text = run_cli("status", "-f", str(reader.bp.source)).stdout
        assert f"existing '{names['TOPIC']}' (referenced, not created" in text
    finally:
        writer.stop(delete_data=True)
        reader.stop(delete_data=True)
    assert not writer.state.exists() and not reader.state.exists()
    assert objects(existing.home(), names["BUCKET"]) == {"in/a.txt": b"hello"}  # never deleted
    assert _shared_rows("tables.db", "SELECT key FROM items WHERE tbl = ?", names["TABLE"]) == [("p1",)]
    # what deployer made for the reader in the shared queues.db went with its data
    assert _shared_rows("queues.db", "SELECT * FROM subscriptions WHERE topic = ?", names["TOPIC"]) == []
    assert _shared_rows("queues.db", "SELECT * FROM bucket_triggers WHERE bucket = ?", names["BUCKET"]) == []


@pytest.mark.slow
def test_an_existing_queue_keeps_its_messages_through_down_delete_data_and_up(tmp_path):
    """`deployer invoke` (no local cloud running) writes to the existing stores too; a message it sends to
    an existing queue outlives the writer's stage (`down --delete-data`) and waits there until a consumer's
    `up` takes it."""
    names = _names()
    writer = _write(tmp_path / "a", WRITER, WRITER_CODE, names)
    invoked = run_cli("invoke", "api", "--data", "{}", "-f", str(writer))
    assert invoked.returncode == 0, invoked.stderr
    assert run_cli("down", "--delete-data", "-f", str(writer)).returncode == 0
    assert not (tmp_path / "a" / ".deployer" / "local" / "alpha").exists()
    assert _shared_rows("queues.db", "SELECT count(*) FROM messages WHERE queue = ?", f"q:{names['QUEUE']}") == [(1,)]
    reader = Stage(_write(tmp_path / "b", READER, READER_CODE, names))
    try:
        reader.start()
        got = httpx.get(f"{reader.url}/get", timeout=30).json()
        assert got["object"] == "hello" and got["row"] == {"id": "p1", "name": "Ada"}
        seen = wait_for(lambda: httpx.get(f"{reader.url}/get", timeout=30).json()["seen"].get("queue"),
                        what="the queued message")
        assert seen["data"] == {"job": 1}
    finally:
        reader.stop(delete_data=True)
    assert _shared_rows("queues.db", "SELECT count(*) FROM messages WHERE queue = ?", f"q:{names['QUEUE']}") == [(0,)]
