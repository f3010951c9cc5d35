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
import re
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger
from deployer.errors import UsageError
from deployer.runtime.messages import MAX_MESSAGE_BYTES
from providers.local import functions, logs, queues, state as local_state
from providers.local.workers import InvocationError, Pool


def pick_trigger(bp, function: str, index: int | None):
    triggers = bp.functions[function].triggers
    if not triggers:
        raise UsageError(f"function {function!r} has no trigger, so there is no event to invoke it with",
                         hint="add a trigger to it in the blueprint")
    index = 0 if index is None else index
    if not 0 <= index < len(triggers):
        raise UsageError(f"function {function!r} has {len(triggers)} trigger(s); --trigger must be 0..{len(triggers) - 1}")
    return triggers[index]


def fill_path(template: str, params: dict) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(params.get(m.group(1), m.group(0))), template)


def _field(request: dict, name: str, kind: type):
    """A field of a request given with --data, None when absent; a UsageError when of the wrong type."""
    value = request.get(name)
    if value is not None and not isinstance(value, kind):
        words = {str: "a string", dict: "an object"}
        raise UsageError(f"--data: the request's {name!r} must be {words[kind]}, not {json.dumps(value)}",
                         hint='e.g. {"method": "GET", "path": "/orders/1", "query": {"a": "1"}, '
                              '"headers": {"x-token": "t"}, "body": {...}}')
    return value


def http_payload(trigger: HttpTrigger, data) -> dict:
    request = data if isinstance(data, dict) and "method" in data else {"body": data}
    for name in ("method", "path"):
        _field(request, name, str)
    params = {k: str(v) for k, v in (_field(request, "params", dict) or {}).items()}
    body = request.get("body")
    if body is None:
        raw = b""
    elif isinstance(body, str) and request is data:  # a request's text body; a bare string is JSON
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    method = request.get("method") or (trigger.method if trigger.method != "ANY" else "POST")
    headers = {k: str(v) for k, v in (_field(request, "headers", dict) or {}).items()}
    if raw and not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"
    return {"method": method.upper(), "path": request.get("path") or fill_path(trigger.path, params),
            "params": params, "query": {k: str(v) for k, v in (_field(request, "query", dict) or {}).items()},
            "headers": list(headers.items()), "body": raw}


def _iso_time(value) -> bool:
    try:
        datetime.fromisoformat(value)
        return True
    except (TypeError, ValueError):
        return False


def build(trigger, data) -> tuple[str, dict]:
    """(worker kind, payload) of a portable event for this trigger."""
    match trigger:
        case HttpTrigger():
            return "http", http_payload(trigger, data)
        case QueueTrigger() | TopicTrigger():
            raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
            source = "queue" if isinstance(trigger, QueueTrigger) else "topic"
            if len(raw) > MAX_MESSAGE_BYTES:  # no cloud would ever deliver it (deployer/runtime/messages.py)
                raise UsageError(f"--data is {len(raw):,} bytes, more than {MAX_MESSAGE_BYTES:,} bytes, the largest "
                                 f"{source} message every cloud carries", hint="put the payload in a bucket")
            item = {"row": 0, "msg_id": uuid.uuid4().hex, "data": raw, "attributes": {}, "attempt": 1}
            return "messages", {"source": source, "items": [item]}
        case BucketTrigger(prefix=prefix, suffix=suffix, on=on, bucket=bucket):
            spec = data if isinstance(data, dict) else {}
            size = spec.get("size", 0)
            if not isinstance(spec.get("key", ""), str) or not isinstance(size, int) or size < 0:
                raise UsageError(f"--data of a bucket event is {{\"key\": \"<object key>\", \"size\": <bytes>}}, "
                                 f"not {json.dumps(data)}")
            event = {"store": bucket, "key": spec.get("key") or f"{prefix}example{suffix}",
                     "size": size, "type": on, "time": time.time()}
            item = {"row": 0, "msg_id": uuid.uuid4().hex, "data": json.dumps(event).encode(), "attributes": {},
                    "attempt": 1}
            return "messages", {"source": "bucket", "items": [item]}
        case ScheduleTrigger(schedule=schedule, timezone=tz):
            when = (data or {}).get("time") if isinstance(data, dict) else None
            if when and not _iso_time(when):
                raise UsageError(f"--data of a schedule event is {{\"time\": \"<ISO 8601 time>\"}}, not "
                                 f"{json.dumps(data)}", hint='e.g. {"time": "2026-01-01T03:00:00+01:00"}')
            when = when or datetime.now(ZoneInfo(tz)).isoformat()
            return "schedule", {"schedule": schedule, "time": when}
    raise UsageError(f"cannot invoke a {type(trigger).__name__}")


def invoke(bp, function: str, data=None, trigger_index: int | None = None) -> dict:
    """Run the function once; returns {"ok", "kind", ... result}."""
    if function not in bp.functions:
        import difflib

        close = difflib.get_close_matches(function, list(bp.functions), n=1)
        raise UsageError(f"no function {function!r} in {bp.source}",
                         hint=f"did you mean {close[0]!r}?" if close else f"functions: {', '.join(bp.functions)}")
    trigger = pick_trigger(bp, function, trigger_index)
    kind, payload = build(trigger, data)
    state = local_state.private(functions.state_dir(bp), bp)  # 0700 and 0600 files, as `up` makes them
    spec = functions.specs(bp, state, only=function)[function]
    logs.rotate(spec.log)  # no local cloud may be running to do it
    broker = queues.Broker(state)
    queues.register(broker.conn, bp)  # so what it publishes fans out as when the cloud runs
    return asyncio.run(_run(spec, kind, payload))


async def _run(spec, kind: str, payload: dict) -> dict:
    spec.max_workers = 1
    pool = Pool(spec)
    request_id = uuid.uuid4().hex
    start = time.monotonic()
    try:
        value = await pool.invoke(kind, payload, request_id)
    except InvocationError as exc:
        return {"ok": False, "error": str(exc), "status": exc.status, "request_id": request_id}
    finally:
        pool.stop()
    took = round((time.monotonic() - start) * 1000, 1)
    if kind == "http":
        status, headers, body = value
        try:
            shown = json.loads(body) if body else None
        except ValueError:
            shown = body.decode("utf-8", "replace")
        return {"ok": status < 500, "status": status, "headers": headers, "body": shown,
                "request_id": request_id, "ms": took}
    if kind == "messages":
        return {"ok": not value, "error": value[0][1] if value else None, "request_id": request_id, "ms": took}
    return {"ok": True, "result": value, "request_id": request_id, "ms": took}
