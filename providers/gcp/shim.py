"""Cloud Functions (gen2) shim for functions-framework, packaged as `deployer_shim.py`.

Entry points (build env GOOGLE_FUNCTION_SOURCE=deployer_shim.py):
- `http_entry(request)` (a Flask request) serves every HTTP request that reaches the function:
  * POST `/_deployer/push`: a Pub/Sub push envelope `{"message": {...}, "subscription": ...,
    "deliveryAttempt": n}` -> Message; 204 when handled, 500 when the handler raised so Pub/Sub
    redelivers. Where the queue's `retries` is below Pub/Sub's minimum of 5 (DEPLOYER_GCP_QUEUES), the
    shim dead-letters the message itself on its last attempt: it publishes it, with its error and
    attempt count, to the dead-letter topic and acknowledges (204);
  * POST `/_deployer/schedule`: a Cloud Scheduler job -> ScheduleEvent; 204 or 500;
    both paths answer 403 unless the caller's OIDC token (Authorization) is signed by Google, unexpired,
    and issued to the function's invoker account (DEPLOYER_GCP_INVOKER): the API Gateway never routes
    these paths, and a forged envelope sent anywhere else is an ordinary HTTP request;
  * anything else is an HTTP call, routed by method and path against the function's HTTP triggers
    (one function URL may serve several routes) to fill `params`; no route -> 404/405. API Gateway
    replaces the client's `Authorization` with its own token and forwards the client's as
    `X-Forwarded-Authorization`: the handler sees the client's header as `Authorization` (and never the
    gateway's token). API Gateway has no CORS of its own and passes preflight OPTIONS requests here, so
    the blueprint's `http.cors` is applied here (`Function.serve_http(..., cors=True)`).
- `event_entry(cloud_event)` receives Eventarc CloudEvents: Pub/Sub messagePublished (topics) and
  Cloud Storage object finalized/deleted, filtered here by the blueprint's prefix/suffix because the
  trigger cannot filter; a handler exception propagates so the event is retried.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import time
import urllib.request

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

PUSH_PATH = "/_deployer/push"          # providers/gcp/context.py: never routed by the API Gateway
SCHEDULE_PATH = "/_deployer/schedule"
PUBSUB_MIN_ATTEMPTS = 5                 # Pub/Sub's lowest max_delivery_attempts
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
log = logging.getLogger("deployer.runtime")
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
    if request.path in (PUSH_PATH, SCHEDULE_PATH):
        return _platform_call(fn, request, ctx)
    portable = Request(method=request.method.upper(), path=request.path, query=parse_query(request.query_string),
                       headers=Headers(client_headers(request.headers.items())), body=request.get_data())
    return _native(fn.serve_http(portable, ctx, cors=True))  # API Gateway has no CORS: answered here


def client_headers(items) -> list[tuple[str, str]]:
    """The client's headers: `X-Forwarded-Authorization` (set by API Gateway) becomes `Authorization`,
    and the token Cloud Run authenticated the gateway with is never shown to the handler."""
    items = list(items)
    forwarded = [v for k, v in items if k.lower() == "x-forwarded-authorization"]
    kept = [(k, v) for k, v in items if k.lower() not in ("authorization", "x-forwarded-authorization")]
    return kept + [("Authorization", forwarded[0])] if forwarded else kept


def _platform_call(fn: Function, request, ctx):
    """A Pub/Sub push or a Cloud Scheduler run: only from the invoker account, only as POST."""
    if request.method != "POST":
        return "", 405, {"Allow": "POST"}
    if not caller_verified(request.headers.get("Authorization", "")):
        return json.dumps({"error": "forbidden"}), 403, {"Content-Type": "application/json"}
    envelope = _json_or_none(request.get_data())
    if request.path == PUSH_PATH and is_push_envelope(envelope) and fn.triggers_of("queue"):
        return _push(fn, envelope, ctx)
    if request.path == SCHEDULE_PATH and is_schedule_marker(envelope) and fn.triggers_of("schedule"):
        time_ = request.headers.get("X-CloudScheduler-ScheduleTime")
        fn.call_event(ScheduleEvent(fn.schedule_for(envelope.get("schedule")), parse_time(time_)), ctx)
        return "", 204
    return json.dumps({"error": "not an event this function receives"}), 400, {"Content-Type": "application/json"}


class _CertsRequest:
    """google-auth's transport interface over urllib, caching Google's public certificates for an hour
    (refetched when a token names a key id they do not hold)."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[float, bytes]] = {}

    class Response:
        def __init__(self, data: bytes) -> None:
            self.status, self.headers, self.data = 200, {}, data

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        fetched, data = self.cache.get(url, (None, b""))
        if fetched is None or time.monotonic() - fetched > 3600:
            with urllib.request.urlopen(url, timeout=timeout or 10) as answer:  # noqa: S310 (https in production)
                data = answer.read()
            self.cache[url] = (time.monotonic(), data)
        return self.Response(data)


_certs = _CertsRequest()


def _verify(token: str, certs_url: str) -> dict:
    from google.oauth2 import id_token

    try:
        return id_token.verify_token(token, _certs, audience=None, certs_url=certs_url)
    except ValueError as exc:
        if "Certificate for key id" not in str(exc):
            raise
        _certs.cache.pop(certs_url, None)  # Google rotated its keys: fetch the certificates once more
        return id_token.verify_token(token, _certs, audience=None, certs_url=certs_url)


def caller_verified(authorization: str) -> bool:
    """True for a Google-signed, unexpired OIDC token of the function's invoker account (google-auth's
    id_token verification: signature against Google's certificates, expiry, issuer, then the account)."""
    expected = os.environ.get("DEPLOYER_GCP_INVOKER")
    scheme, _, token = authorization.partition(" ")
    if not expected or scheme.lower() != "bearer" or not token:
        return False
    certs_url = os.environ.get("DEPLOYER_GCP_CERTS_URL", GOOGLE_CERTS)
    try:
        claims = _verify(token, certs_url)
    except Exception:  # noqa: BLE001 - a bad signature, an expired token, garbage: a refusal
        return False
    return (claims.get("iss") in GOOGLE_ISSUERS and claims.get("email") == expected
            and claims.get("email_verified") is True)


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
    message = to_message(envelope)
    try:
        fn.call(message, ctx)
        return "", 204
    except Exception as exc:  # noqa: BLE001 - the message failed; the trace goes to the log
        log.exception("function %s failed on message %s (attempt %s, request %s)", fn.name, message.id,
                      message.attempt, ctx.request_id)
        queue = queue_settings(envelope.get("subscription"))
        if queue and queue.get("dead_letter") and queue["retries"] < PUBSUB_MIN_ATTEMPTS \
                and message.attempt >= queue["retries"]:
            dead_letter(queue, envelope["message"], exc, message.attempt)
            return "", 204  # acknowledged: it now lives in the dead-letter topic
        return (json.dumps({"error": "message failed", "request_id": ctx.request_id}), 500,
                {"Content-Type": "application/json"})


def queue_settings(subscription: str | None) -> dict | None:
    """DEPLOYER_GCP_QUEUES[<push subscription name>]: the queue, its `retries` and dead-letter topic."""
    queues = json.loads(os.environ.get("DEPLOYER_GCP_QUEUES") or "{}")
    return queues.get((subscription or "").rsplit("/", 1)[-1])


def dead_letter(queue: dict, raw: dict, exc: Exception, attempt: int) -> None:
    """Publish the failed message as it came, with why and after how many deliveries it failed."""
    from deployer.runtime.clients import gcp

    attributes = {**(raw.get("attributes") or {}), "deployer_error": f"{type(exc).__name__}: {exc}"[:1024],
                  "deployer_attempts": str(attempt), "deployer_queue": queue.get("queue", "")}
    data = base64.b64decode(raw.get("data") or "")
    gcp.publisher().publish(queue["dead_letter"], data, **attributes).result(timeout=30)


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
