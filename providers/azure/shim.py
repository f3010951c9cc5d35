"""Azure Functions shim (Python v1 programming model), packaged as `deployer_shim.py` at the app root.

Each function folder's `function.json` says `"scriptFile": "../deployer_shim.py"` and an `entryPoint`
below; the binding names must match these parameter names (`context` is passed by the worker):

    entryPoint  trigger binding (name)                 out binding
    http        httpTrigger (req)                       http (name "$return")
    queue       queueTrigger (msg)                      -
    bucketevent queueTrigger (msg) on a bucket trigger's event queue: the message is the Event Grid
                event (Microsoft.Storage.BlobCreated / BlobDeleted, Event Grid schema) that Event
                Grid delivered to the queue
    timer       timerTrigger (timer)                    -
    servicebus  serviceBusTrigger (msg), topic subscription

Which blueprint trigger fired: HTTP routes are matched against all the function's HTTP triggers; a
blob's container is matched against the DEPLOYER_STORE_* locators plus each trigger's prefix/suffix;
a timer uses the schedule trigger whose index (in deployer_function.json `triggers`) ends the function
folder's name (`nightly-0`), else the function's first schedule; its time is the current minute (the
timer binding does not say when it was due; blueprint schedules have minute granularity). Raising makes the host retry a queue
message (dequeue_count -> attempt) and finally move it to `<queue>-poison`; Service Bus likewise
(delivery_count -> attempt, then the subscription's dead-letter queue).
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import unquote, urlsplit

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the runtime ships beside this file
    sys.path.insert(0, _HERE)

from deployer.runtime.invoke import EventNotRecognised, Function, not_routed, parse_query, parse_time  # noqa: E402
from deployer.runtime.types import Headers, Message, ObjectEvent, Request, ScheduleEvent, decode_data  # noqa: E402

BLOB_EVENTS = {"Microsoft.Storage.BlobCreated": "created", "Microsoft.Storage.BlobDeleted": "deleted"}


function = Function.lazy(_HERE)  # the package beside this file, loaded on the first event


def _ctx(fn: Function, context):
    return fn.context(getattr(context, "invocation_id", None))


def http(req, context=None):
    import azure.functions as func

    fn = function()
    ctx = _ctx(fn, context)
    url = urlsplit(req.url)
    path, status, params = _route(fn, req.method, unquote(url.path) or "/")
    if status != 200 and fn.routes():
        response = not_routed(status, req.method, path)
    else:
        params.update(dict(req.route_params or {}))
        request = Request(method=req.method.upper(), path=path, params=params, query=parse_query(url.query),
                          headers=Headers(list(req.headers.items())), body=req.get_body() or b"")
        response = fn.call_http(request, ctx)
    code, headers, data = response.encode()
    mimetype = Headers(headers).get("content-type")
    return func.HttpResponse(data, status_code=code, headers=headers,
                             mimetype=mimetype.split(";")[0].strip() if mimetype else None)


def _route(fn: Function, method: str, path: str) -> tuple[str, int, dict]:
    """Match the path as is, then without the host's route prefix (`/api` by default)."""
    status, params = fn.route(method, path)
    if status == 200:
        return path, status, params
    stripped = "/" + path.lstrip("/").partition("/")[2]
    status2, params2 = fn.route(method, stripped)
    if status2 == 200 or status2 > status:
        return stripped, status2, params2
    return path, status, params


def queue(msg, context=None) -> None:
    fn = function()
    message = Message(id=str(msg.id or ""), data=decode_data(msg.get_body()), attributes={},
                      attempt=int(getattr(msg, "dequeue_count", None) or 1))
    _deliver(fn, message, _ctx(fn, context))


def servicebus(msg, context=None) -> None:
    fn = function()
    props = getattr(msg, "application_properties", None) or getattr(msg, "user_properties", None) or {}
    message = Message(id=str(msg.message_id or ""), data=decode_data(msg.get_body()),
                      attributes={str(k): str(v) for k, v in props.items()},
                      attempt=int(getattr(msg, "delivery_count", None) or 1))
    _deliver(fn, message, _ctx(fn, context))


def _deliver(fn: Function, message: Message, ctx) -> None:
    if not fn.call_message(message, ctx):
        raise RuntimeError(f"message {message.id} failed (attempt {message.attempt}); see the log above")


def bucketevent(msg, context=None) -> None:
    """A blob created/deleted event that Event Grid wrote to the trigger's queue (Event Grid schema).
    An unexpected event raises, so the message is retried and ends in the poison queue, not lost."""
    fn = function()
    event = decode_data(msg.get_body())
    if isinstance(event, list) and len(event) == 1:  # the schema allows a one-event array
        event = event[0]
    if not isinstance(event, dict):
        raise EventNotRecognised(f"queue message {msg.id} is not an Event Grid event")
    kind = BLOB_EVENTS.get(event.get("eventType") or event.get("type"))
    if kind is None:
        raise EventNotRecognised(f"unexpected Event Grid event type {event.get('eventType')!r}")
    found = re.match(r"^/blobServices/default/containers/([^/]+)/blobs/(.+)$", event.get("subject") or "")
    if not found:
        raise EventNotRecognised(f"unexpected blob event subject {event.get('subject')!r}")
    data = event.get("data") or {}
    _object(fn, found.group(1), found.group(2), kind, int(data.get("contentLength") or 0),
            event.get("eventTime") or event.get("time"), _ctx(fn, context))


def _object(fn: Function, container: str, key: str, kind: str, size: int, when, ctx) -> None:
    store = fn.bucket_store(container)
    if not fn.object_matches(store, key, kind):
        return
    fn.call_event(ObjectEvent(store=store or container, key=key, size=size, type=kind, time=parse_time(when)), ctx)


def timer(timer, context=None) -> None:
    fn = function()
    fired = parse_time(None).replace(second=0, microsecond=0)  # the trigger carries no fire time
    fn.call_event(ScheduleEvent(schedule=_schedule(fn, getattr(context, "function_name", "")), time=fired),
                  _ctx(fn, context))


def _schedule(fn: Function, folder: str) -> str:
    found = re.search(r"(\d+)$", folder or "")
    if found and int(found.group(1)) < len(fn.triggers) and "schedule" in fn.triggers[int(found.group(1))]:
        return fn.triggers[int(found.group(1))]["schedule"]
    return fn.schedule_for(None)
