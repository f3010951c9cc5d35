"""Cloud Functions (gen2) shim for functions-framework, packaged as `deployer_shim.py`.

Entry points (build env GOOGLE_FUNCTION_SOURCE=deployer_shim.py):
- `http_entry(request)` (a Flask request) serves every HTTP POST that reaches the function:
  * a Pub/Sub push envelope `{"message": {"data": <base64>, "attributes", "messageId", "publishTime"},
    "subscription": ..., "deliveryAttempt": n}` (queues use push subscriptions so they can dead-letter)
    -> Message; 204 when handled, 500 when the handler raised so Pub/Sub redelivers;
  * a Cloud Scheduler job whose body is `{"deployer": "schedule", "schedule": "<expression>"}`
    -> ScheduleEvent (time from the X-CloudScheduler-ScheduleTime header); 204 or 500;
  * anything else is an HTTP call, routed by method and path against the function's HTTP triggers
    (one function URL may serve several routes) to fill `params`; no route -> 404/405. API Gateway has
    no CORS of its own and passes preflight OPTIONS requests here, so the blueprint's `http.cors` is
    applied here (`Function.serve_http(..., cors=True)`): preflight -> 204 with Access-Control-Allow-*,
    and Access-Control-Allow-Origin on the answers to an allowed Origin.
- `event_entry(cloud_event)` receives Eventarc CloudEvents: Pub/Sub messagePublished (topics) and
  Cloud Storage object finalized/deleted, filtered here by the blueprint's prefix/suffix because the
  trigger cannot filter; a handler exception propagates so the event is retried.
"""

from __future__ import annotations

import base64
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the runtime ships beside this file
    sys.path.insert(0, _HERE)

from deployer.runtime.invoke import EventNotRecognised, Function, is_schedule_marker  # noqa: E402
from deployer.runtime.invoke import parse_query, parse_time  # noqa: E402
from deployer.runtime.types import Headers, Message, ObjectEvent, Request, ScheduleEvent, decode_data  # noqa: E402

try:  # present wherever functions-framework serves this file; decorators pin the signature types
    import functions_framework as _ff
except ImportError:  # pragma: no cover - imported outside a functions-framework runtime
    _ff = None

PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_EVENTS = {"google.cloud.storage.object.v1.finalized": "created",
                  "google.cloud.storage.object.v1.deleted": "deleted"}


function = Function.lazy(_HERE)  # the package beside this file, loaded on the first event


def _request_id(headers) -> str | None:
    trace = headers.get("traceparent", "")
    if trace.count("-") >= 2:
        return trace.split("-")[1]
    return headers.get("Function-Execution-Id") or headers.get("X-Cloud-Trace-Context", "").split("/")[0] or None


def http_entry(request):
    fn = function()
    ctx = fn.context(_request_id(request.headers))
    body = request.get_data()
    if request.method == "POST":
        envelope = _json_or_none(body)
        if is_push_envelope(envelope) and (fn.triggers_of("queue") or fn.triggers_of("topic")):
            return _push(fn, envelope, ctx)
        if is_schedule_marker(envelope) and fn.triggers_of("schedule"):
            time = request.headers.get("X-CloudScheduler-ScheduleTime")
            fn.call_event(ScheduleEvent(fn.schedule_for(envelope.get("schedule")), parse_time(time)), ctx)
            return "", 204
    portable = Request(method=request.method.upper(), path=request.path, query=parse_query(request.query_string),
                       headers=Headers(list(request.headers.items())), body=body)
    return _native(fn.serve_http(portable, ctx, cors=True))  # API Gateway has no CORS: answered here


def _native(response):
    status, headers, data = response.encode()
    return data, status, headers


def _json_or_none(body: bytes):
    try:
        return json.loads(body) if body[:1] == b"{" else None
    except ValueError:
        return None


def is_push_envelope(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("message"), dict) and "subscription" in value


def to_message(envelope: dict) -> Message:
    """A Pub/Sub push body or messagePublished event data -> Message."""
    raw = envelope["message"]
    attempt = envelope.get("deliveryAttempt") or raw.get("deliveryAttempt") or 1
    return Message(id=str(raw.get("messageId") or raw.get("message_id") or ""),
                   data=decode_data(base64.b64decode(raw.get("data") or "")),
                   attributes=dict(raw.get("attributes") or {}), attempt=int(attempt))


def _push(fn: Function, envelope: dict, ctx):
    ok = fn.call_message(to_message(envelope), ctx)
    return ("", 204) if ok else (json.dumps({"error": "message failed", "request_id": ctx.request_id}), 500,
                                 {"Content-Type": "application/json"})


def event_entry(cloud_event):
    fn = function()
    ctx = fn.context(cloud_event["id"])
    kind, data = cloud_event["type"], cloud_event.data
    if isinstance(data, (bytes, str)):
        data = json.loads(data)
    if kind == PUBSUB_PUBLISHED:
        if not fn.call_message(to_message(data), ctx):
            raise RuntimeError(f"message {data['message'].get('messageId')} failed; see the log above")
        return None
    if kind in STORAGE_EVENTS:
        return _object_event(fn, STORAGE_EVENTS[kind], data, cloud_event, ctx)
    raise EventNotRecognised(f"unexpected CloudEvent type {kind!r}")


def _object_event(fn: Function, kind: str, data: dict, cloud_event, ctx):
    store, key = fn.bucket_store(data["bucket"]), data["name"]
    if not fn.object_matches(store, key, kind):  # Eventarc cannot filter by prefix or suffix
        return None
    when = cloud_event.get("time") or data.get("updated") or data.get("timeCreated")
    event = ObjectEvent(store=store or data["bucket"], key=key, size=int(data.get("size") or 0), type=kind,
                        time=parse_time(when))
    fn.call_event(event, ctx)
    return None


if _ff is not None:
    http_entry = _ff.http(http_entry)
    event_entry = _ff.cloud_event(event_entry)
