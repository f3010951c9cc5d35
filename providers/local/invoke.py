"""`deployer invoke`: run one function once with a portable event, on this machine.

The function runs in a fresh worker process with exactly the environment the local cloud gives it
(same state folder, same stores), whether or not the local cloud of the stage is running: what it
writes lands in the same files and databases, and what it sends or publishes is delivered by the
running local cloud (or waits, durably, for the next `deployer up`). The event depends on the chosen
trigger (`--trigger N`, default the first):

- http: `--data` is the JSON body, or a request `{"method", "path", "params", "query", "headers", "body"}`;
- queue / topic: `--data` is the message payload;
- bucket: `--data` is `{"key": ..., "size": ...}` (default key: the trigger's prefix + "example" + suffix);
- schedule: the event of a firing now (`--data '{"time": "2026-01-01T03:00:00+01:00"}'` to pick the time).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime

from deployer.remote import (
    event_kind,
    Event, HttpEvent, InvokeResult, MessageEvent, ObjectEvent, ScheduleEvent, decode_body, event_for, http_event,
)
from providers.local import functions, logs, queues, state as local_state
from providers.local.workers import InvocationError, Pool


def http_payload(trigger, data) -> dict:
    return payload(http_event(trigger, data, 0))[1]


def build(trigger, data) -> tuple[str, dict]:
    """(worker kind, payload) of the portable event of this trigger."""
    return payload(event_for(trigger, data))


def payload(event: Event) -> tuple[str, dict]:
    """(worker kind, payload) of a portable event, as the local cloud's worker takes it."""
    match event:
        case HttpEvent():
            return "http", {"method": event.method, "path": event.path, "params": dict(event.params),
                            "query": dict(event.query), "headers": list(event.headers), "body": event.body}
        case MessageEvent():
            item = {"row": 0, "msg_id": event.id, "data": event.data, "attributes": dict(event.attributes),
                    "attempt": 1}
            return "messages", {"source": event.source, "items": [item]}
        case ObjectEvent():
            data = {"store": event.store, "key": event.key, "size": event.size, "type": event.type,
                    "time": datetime.fromisoformat(event.time.replace("Z", "+00:00")).timestamp()}
            item = {"row": 0, "msg_id": uuid.uuid4().hex, "data": json.dumps(data).encode(), "attributes": {},
                    "attempt": 1}
            return "messages", {"source": "bucket", "items": [item]}
        case ScheduleEvent():
            return "schedule", {"schedule": event.schedule, "time": event.time}
    raise TypeError(f"unsupported event {type(event).__name__}")


def invoke(bp, function: str, event: Event) -> InvokeResult:
    """Run the function once with the portable event, in a fresh worker of the local cloud."""
    kind, body = payload(event)
    state = local_state.private(functions.state_dir(bp), bp)  # 0700 and 0600 files, as `up` makes them
    spec = functions.specs(bp, state, only=function)[function]
    logs.rotate(spec.log)  # no local cloud may be running to do it
    queues.open_brokers(bp, state)  # registered, so what it publishes fans out as when the cloud runs
    return asyncio.run(_run(spec, kind, body, event_kind(event)))



async def _run(spec, kind: str, payload: dict, event_kind: str) -> InvokeResult:
    spec.max_workers = 1
    pool = Pool(spec)
    request_id = uuid.uuid4().hex
    start = time.monotonic()
    try:
        value = await pool.invoke(kind, payload, request_id)
    except InvocationError as exc:
        return InvokeResult(ok=False, kind=event_kind, request_id=request_id, status=exc.status, error=str(exc))
    finally:
        pool.stop()
    took = round((time.monotonic() - start) * 1000, 1)
    if kind == "http":
        status, headers, body = value
        return InvokeResult(ok=status < 500, kind="http", request_id=request_id, status=status,
                            headers=tuple(tuple(h) for h in headers), body=decode_body(body), ms=took)
    if kind == "messages":
        return InvokeResult(ok=not value, kind=event_kind, request_id=request_id,
                            error=value[0][1] if value else None, ms=took)
    return InvokeResult(ok=True, kind=event_kind, request_id=request_id, result=value, ms=took)
