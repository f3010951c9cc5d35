"""End to end on the local cloud, for every example blueprint: real HTTP, real processes, real files."""

from __future__ import annotations

import json
import os
from datetime import datetime

import httpx
import pytest
from test_local_helpers import Stage, copy_example, objects, tiny_png, wait_for

from conftest import run_cli

pytestmark = pytest.mark.slow
os.environ.setdefault("INGEST_TOKEN", "test-token")


@pytest.fixture
def stage(tmp_path, fast_retries):
    started = []

    def start(example: str) -> Stage:
        s = Stage(copy_example(example, tmp_path)).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_orders_order_lands_in_table_reaches_notifier_and_is_fulfilled(stage):
    s = stage("orders")
    r = httpx.post(f"{s.url}/orders", json={"items": ["book"], "customer": "ada", "id": "o-1"})
    assert r.status_code == 201 and r.headers["location"] == "/orders/o-1"
    assert httpx.get(f"{s.url}/orders/o-1").json()["customer"] == "ada"
    notes = wait_for(lambda: s.table("notifications"), what="the notifier")
    assert [n["order"] for n in notes.values()] == ["o-1"]
    assert "confirmed" in next(iter(notes.values()))["text"]
    wait_for(lambda: s.table("orders")["o-1"]["status"] == "fulfilled", what="fulfilment")
    listed = httpx.get(f"{s.url}/orders").json()["orders"]
    assert [o["id"] for o in listed] == ["o-1"]
    assert httpx.get(f"{s.url}/orders/missing").status_code == 404
    assert httpx.delete(f"{s.url}/orders/o-1").status_code == 405
    assert httpx.post(f"{s.url}/orders", json={"items": []}).status_code == 400


def test_orders_poison_message_is_dead_lettered_after_exactly_retries_attempts(stage):
    s = stage("orders")
    assert httpx.post(f"{s.url}/orders", json={"items": ["x"], "id": "bad", "poison": True}).status_code == 201
    assert httpx.post(f"{s.url}/orders", json={"items": ["y"], "id": "good"}).status_code == 201
    dead = wait_for(s.dead_letters, timeout=30, what="the dead-letter queue")
    assert len(dead) == 1
    queue, _, attempts, error, data = dead[0]
    assert (queue, attempts) == ("q:fulfilment", 5)  # retries: 5 in the blueprint
    assert json.loads(data) == {"order": "bad", "poison": True} and "PoisonMessage" in error
    log = s.log("worker")
    assert [f"attempt {n})" in log for n in range(1, 6)] == [True] * 5 and "attempt 6)" not in log
    assert "DEAD-LETTER" in log
    wait_for(lambda: s.table("orders")["good"]["status"] == "fulfilled", what="the good order")
    wait_for(lambda: s.pending() == 0, what="an empty queue")


def test_images_upload_produces_a_thumbnail_and_delete_removes_it(stage):
    s = stage("images")
    image = tiny_png(300, 200)
    r = httpx.put(f"{s.url}/images/cat.png", content=image)
    assert r.status_code == 202, r.text
    thumb = wait_for(lambda: (t := httpx.get(f"{s.url}/thumbnails/cat.png")).status_code == 200 and t,
                     timeout=30, what="the thumbnail")
    assert thumb.content.startswith(b"\x89PNG") and thumb.headers["content-type"] == "image/png"
    width, height = int.from_bytes(thumb.content[16:20], "big"), int.from_bytes(thumb.content[20:24], "big")
    assert (width, height) == (128, 85)
    assert objects(s.state, "uploads") == {"incoming/cat.png": image}
    assert httpx.delete(f"{s.url}/images/cat.png").status_code == 204
    wait_for(lambda: httpx.get(f"{s.url}/thumbnails/cat.png").status_code == 404, what="the cleanup")
    # suffix filter: a .txt upload raises no resize
    httpx.put(f"{s.url}/images/notes.txt", content=b"hello")
    wait_for(lambda: s.pending() == 0, what="deliveries")
    assert "thumbs/notes.png" not in objects(s.state, "thumbnails")


def test_iot_ingest_analyse_alert_archive(stage):
    s = stage("iot")
    token = {"x-device-token": os.environ["INGEST_TOKEN"]}
    assert httpx.post(f"{s.url}/readings", json={"device": "d1", "temperature": 20}).status_code == 401
    assert httpx.post(f"{s.url}/readings", json={"device": "d1"}, headers=token).status_code == 400
    for t in (20, 95, 30):
        assert httpx.post(f"{s.url}/readings", json={"device": "d1", "temperature": t}, headers=token).status_code == 202
    metrics = wait_for(lambda: (m := s.table("metrics").get("d1")) and m["count"] == 3 and m, what="metrics")
    assert metrics["max"] == 95
    files = wait_for(lambda: list(objects(s.state, "archive", "alerts/d1/").values()), what="the archived alert")
    assert len(files) == 1 and json.loads(files[0]) == {"device": "d1", "temperature": 95}


def test_report_schedule_invoked_on_demand(stage, tmp_path):
    s = stage("report")
    for product, amount in (("tea", 3), ("tea", 4), ("cake", 5)):
        assert httpx.post(f"{s.url}/sales", json={"product": product, "amount": amount}).status_code == 201
    when = "2026-03-01T03:00:00+01:00"
    r = run_cli("invoke", "nightly", "-f", str(s.bp.source), "--data", json.dumps({"time": when}), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["result"] == "nightly-2026-03-01.json"
    report = httpx.get(f"{s.url}/reports/nightly-2026-03-01.json").json()
    assert report["count"] == 3 and report["by_product"] == {"tea": 7, "cake": 5}
    assert report["time"] == datetime.fromisoformat(when).isoformat() and report["schedule"] == "0 3 * * *"
    r = run_cli("invoke", "snapshot", "-f", str(s.bp.source))
    assert r.returncode == 0, r.stderr
    assert httpx.get(f"{s.url}/reports/latest.json").json()["total"] == 12
