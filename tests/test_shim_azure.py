"""The Azure Functions shim fed real azure.functions objects.

The objects are built by the azure.functions converters the Python worker itself uses
(HttpRequestConverter, QueueMessageInConverter, TimerRequestConverter, ServiceBusMessageInConverter) from the host's datum and trigger metadata,
so they carry the same fields a deployed function sees.
"""

from __future__ import annotations

import json
import logging

import pytest
from fixtures.events.shimkit import build_package, load_shim, set_env, store_env

func = pytest.importorskip("azure.functions")
from azure.functions import meta  # noqa: E402
from azure.functions.http import HttpRequestConverter  # noqa: E402
from azure.functions.queue import QueueMessageInConverter  # noqa: E402
from azure.functions.servicebus import ServiceBusMessageInConverter  # noqa: E402
from azure.functions.timer import TimerRequestConverter  # noqa: E402


class WorkerContext:
    """The attributes of the worker's func.Context that the shim reads."""

    def __init__(self, function_name="api", invocation_id="5f1a0c2e-8a47-4d1e-9d3c-0c1b2a3d4e5f"):
        self.invocation_id = invocation_id
        self.function_name = function_name
        self.function_directory = f"/home/site/wwwroot/{function_name}"


def s(value):
    return meta.Datum(value, "string")


def http_request(method, url, body=b"", headers=None, route_params=None):
    value = {"method": s(method), "url": s(url), "headers": {k: s(v) for k, v in (headers or {}).items()},
             "query": {}, "params": {k: s(v) for k, v in (route_params or {}).items()},
             "body": meta.Datum(body, "bytes")}
    return HttpRequestConverter.decode(meta.Datum(value, "http"), trigger_metadata={})


def queue_message(body: str, dequeue_count: int, message_id="9b5c6c47-1b23-4d8e-a1c6-3f3a6b2e4d11"):
    metadata = {"Id": s(message_id), "DequeueCount": meta.Datum(dequeue_count, "int"),
                "InsertionTime": s("2026-11-23T08:00:00+00:00"), "PopReceipt": s("AgAAAAMAAAAAAAAA")}
    return QueueMessageInConverter.decode(s(body), trigger_metadata=metadata)


@pytest.fixture
def shim(tmp_path, portable_bp, monkeypatch):
    set_env(monkeypatch, store_env("azure", uploads="portable-uploads"))
    return lambda function: load_shim(build_package(tmp_path, function, "azure", portable_bp))


def test_http_with_route_params_and_api_prefix(shim):
    module = shim("api")
    req = http_request("POST", "https://portable.azurewebsites.net/api/items?a=1&a=2",
                       body=b'{"name": "lamp"}', headers={"content-type": "application/json", "x-token": "t0k"})
    answer = module.http(req, WorkerContext())
    assert isinstance(answer, func.HttpResponse) and answer.status_code == 201
    assert answer.headers["Location"] == "/items/1" and answer.mimetype == "application/json"
    assert json.loads(answer.get_body()) == {"created": {"name": "lamp"}, "query": {"a": "1,2"}, "token": "t0k"}
    got = module.http(http_request("GET", "https://portable.azurewebsites.net/api/items/42",
                                   headers={"cookie": "session=abc"}, route_params={"id": "42"}), WorkerContext())
    assert json.loads(got.get_body()) == {"id": "42", "query": {}, "cookie": "session=abc", "function": "api",
                                          "has_deadline": True}


def test_http_exception_is_a_500_with_invocation_id_and_no_trace(shim, caplog):
    with caplog.at_level(logging.ERROR, logger="deployer.runtime"):
        answer = shim("api").http(http_request("GET", "https://h/api/boom"), WorkerContext(invocation_id="inv-9"))
    assert answer.status_code == 500
    assert json.loads(answer.get_body()) == {"error": "internal error", "request_id": "inv-9"}
    assert b"secret" not in answer.get_body() and "secret detail that must not leak" in caplog.text


def test_queue_message_dequeue_count_and_failure(shim, seen):
    module = shim("worker")
    module.queue(queue_message('{"n": 1}', 1), WorkerContext("worker"))
    with pytest.raises(RuntimeError, match="attempt 4"):
        module.queue(queue_message('{"poison": true}', 4, "m-2"), WorkerContext("worker"))
    assert seen == [{"id": "9b5c6c47-1b23-4d8e-a1c6-3f3a6b2e4d11", "data": {"n": 1}, "attempt": 1},
                    {"id": "m-2", "data": {"poison": True}, "attempt": 4}]


def test_servicebus_topic_message(shim, seen):
    metadata = {"MessageId": s("sb-1"), "DeliveryCount": meta.Datum(2, "int"), "ContentType": s("application/json"),
                "UserProperties": meta.Datum('{"origin": "api"}', "json"),
                "ApplicationProperties": meta.Datum('{"origin": "api"}', "json"),
                "EnqueuedTimeUtc": s("2026-11-23T08:00:00")}
    msg = ServiceBusMessageInConverter.decode(meta.Datum('{"order": 7}', "string"), trigger_metadata=metadata)
    module = shim("listener")
    module.servicebus(msg, WorkerContext("listener"))
    assert seen == [{"data": {"order": 7}, "attributes": {"origin": "api"}}]
    poison = ServiceBusMessageInConverter.decode(meta.Datum('{"poison": true}', "string"), trigger_metadata=metadata)
    with pytest.raises(RuntimeError):
        module.servicebus(poison, WorkerContext("listener"))


def blob_event(kind: str, key: str, size: int | None, when: str) -> str:
    """A storage event as Event Grid writes it to a storage queue (Event Grid schema)."""
    data = {"api": "PutBlob" if kind == "Created" else "DeleteBlob", "contentType": "image/jpeg",
            "blobType": "BlockBlob", "url": f"https://portable.blob.core.windows.net/portable-uploads/{key}"}
    if size is not None:
        data["contentLength"] = size
    return json.dumps({"id": "831e1650-001e-001b-66ab-eeb76e069631", "topic": "/subscriptions/s/resourceGroups/g/"
                       "providers/Microsoft.Storage/storageAccounts/portable", "subject": "/blobServices/default/"
                       f"containers/portable-uploads/blobs/{key}", "eventType": f"Microsoft.Storage.Blob{kind}",
                       "eventTime": when, "dataVersion": "", "metadataVersion": "1", "data": data})


def test_bucket_events_arrive_as_event_grid_events_on_a_queue(shim, seen):
    module = shim("files")
    module.bucketevent(queue_message(blob_event("Created", "incoming/cat photo.jpg", 12, "2026-11-23T07:43:02Z"), 1),
                       WorkerContext("bucket0"))
    module.bucketevent(queue_message(blob_event("Created", "incoming/notes.txt", 3, "2026-11-23T07:44:00Z"), 1),
                       WorkerContext("bucket0"))  # filtered by the blueprint's suffix
    module.bucketevent(queue_message(blob_event("Deleted", "incoming/old.png", None, "2026-11-23T07:50:00.000Z"), 1),
                       WorkerContext("bucket1"))
    assert seen == [
        {"store": "uploads", "key": "incoming/cat photo.jpg", "size": 12, "type": "created",
         "time": "2026-11-23T07:43:02+00:00"},
        {"store": "uploads", "key": "incoming/old.png", "size": 0, "type": "deleted",
         "time": "2026-11-23T07:50:00+00:00"},
    ]


def test_an_unexpected_queue_message_is_not_lost(shim, seen):
    module = shim("files")
    with pytest.raises(Exception, match="not an Event Grid event|unexpected Event Grid event type"):
        module.bucketevent(queue_message('"just text"', 1), WorkerContext("bucket0"))
    with pytest.raises(Exception, match="unexpected Event Grid event type"):
        module.bucketevent(queue_message(json.dumps({"eventType": "Microsoft.Storage.BlobTierChanged"}), 1),
                           WorkerContext("bucket0"))
    assert seen == []


def test_timer_picks_the_schedule_named_by_the_folder(shim, seen):
    info = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": {"Last": "2026-11-23T02:55:00+00:00",
            "Next": "2026-11-23T03:05:00+00:00", "LastUpdated": "2026-11-23T02:55:00+00:00"}, "IsPastDue": False}
    timer = TimerRequestConverter.decode(meta.Datum(json.dumps(info), "json"), trigger_metadata={})
    module = shim("tick")
    module.timer(timer, WorkerContext("tick-1"))
    module.timer(timer, WorkerContext("tick"))
    assert [(e["schedule"], e["cloud"]) for e in seen] == [("every 5 minutes", "azure"), ("0 3 * * *", "azure")]
