"""The GCP shim served by Google's functions-framework (its Flask app and test client).

HTTP calls reach `http_entry` (push and scheduler deliveries: test_shim_gcp_events.py); Eventarc
CloudEvents (structured and binary content modes) reach `event_entry`. The bucket behind the HTTP
function is gcp-storage-emulator. Event bodies: tests/fixtures/events/gcp (shapes from Google's
Eventarc and Pub/Sub documentation).
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from fixtures.events.shimkit import HERE, build_package, gcs_emulator, set_env
from fixtures.events.shimkit import store_env

functions_framework = pytest.importorskip("functions_framework")
GCP = HERE / "gcp"


@pytest.fixture
def app(tmp_path, portable_bp, monkeypatch):
    set_env(monkeypatch, {**store_env("gcp", uploads="portable-uploads"), "DEPLOYER_GCP_PROJECT": "portable-demo"})

    def make(function: str, target: str):
        package = build_package(tmp_path, function, "gcp", portable_bp)
        flask_app = functions_framework.create_app(target=target, source=str(package / "deployer_shim.py"))
        return flask_app.test_client()

    return make


def event_body(name: str) -> dict:
    return json.loads((GCP / name).read_text())


def test_http_routes_several_paths_and_methods(app):
    client = app("api", "http_entry")
    created = client.post("/items?a=1&a=2", json={"name": "lamp"}, headers={"X-Token": "t0k"})
    assert created.status_code == 201 and created.headers["Location"] == "/items/1"
    assert created.get_json() == {"created": {"name": "lamp"}, "query": {"a": "1,2"}, "token": "t0k"}
    client.set_cookie("session", "abc")
    got = client.get("/items/42")
    assert got.get_json() == {"id": "42", "query": {}, "cookie": "session=abc", "function": "api",
                              "has_deadline": True}
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/items/42").status_code == 405


def test_http_exception_is_a_500_with_request_id_and_no_trace(app, caplog):
    client = app("api", "http_entry")
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with caplog.at_level(logging.ERROR, logger="deployer.runtime"):
        answer = client.get("/boom", headers={"traceparent": trace})
    assert answer.status_code == 500
    assert answer.get_json() == {"error": "internal error", "request_id": "0af7651916cd43dd8448eb211c80319c"}
    assert b"secret" not in answer.data and "secret detail that must not leak" in caplog.text


def test_http_binary_round_trip_through_the_gcs_emulator(app, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator())
    from google.cloud import storage

    from deployer.runtime.clients import gcp

    gcp.reset()
    storage.Client(project="portable-demo").create_bucket("portable-uploads")
    client = app("api", "http_entry")
    data = bytes(range(256))
    put = client.put("/files/a.bin", data=data, content_type="application/octet-stream")
    assert put.status_code == 201 and put.get_json() == {"stored": "a.bin", "keys": ["files/a.bin"]}
    got = client.get("/files/a.bin")
    assert got.data == data and got.headers["Content-Type"] == "application/octet-stream"
    assert client.get("/files/missing").status_code == 404


# Pub/Sub push and Cloud Scheduler deliveries (their own paths, OIDC-verified callers, retries):
# tests/test_shim_gcp_events.py


def structured(client, event: dict):
    return client.post("/", data=json.dumps(event), headers={"Content-Type": "application/cloudevents+json"})


def binary(client, event: dict):
    headers = {f"ce-{k}": v for k, v in event.items() if k not in ("data", "datacontenttype")}
    headers["Content-Type"] = event.get("datacontenttype", "application/json")
    return client.post("/", data=json.dumps(event["data"]), headers=headers)


@pytest.mark.parametrize("mode", [structured, binary])
def test_pubsub_cloudevent(app, seen, mode):
    client = app("listener", "event_entry")
    assert mode(client, event_body("pubsub_published.json")).status_code == 200
    assert seen == [{"data": {"order": 7}, "attributes": {"origin": "api"}}]


def test_pubsub_cloudevent_failure_is_not_2xx(app):
    client = app("listener", "event_entry")
    event = event_body("pubsub_published.json")
    event["data"]["message"]["data"] = base64.b64encode(b'{"poison": true}').decode()
    assert binary(client, event).status_code == 500


def test_storage_cloudevents_with_prefix_and_suffix_filters(app, seen):
    client = app("files", "event_entry")
    finalized = event_body("storage_finalized.json")
    assert structured(client, finalized).status_code == 200
    other = json.loads(json.dumps(finalized))
    other["data"]["name"] = "incoming/notes.txt"  # suffix .jpg does not match: filtered by the shim
    assert binary(client, other).status_code == 200
    deleted = json.loads(json.dumps(finalized))
    deleted["type"] = "google.cloud.storage.object.v1.deleted"
    deleted["data"]["name"] = "incoming/old.png"
    assert binary(client, deleted).status_code == 200
    assert seen == [
        {"store": "uploads", "key": "incoming/cat photo.jpg", "size": 4154, "type": "created",
         "time": "2026-11-23T07:43:02.791775+00:00"},
        {"store": "uploads", "key": "incoming/old.png", "size": 4154, "type": "deleted",
         "time": "2026-11-23T07:43:02.791775+00:00"},
    ]
