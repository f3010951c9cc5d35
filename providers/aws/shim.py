"""AWS Lambda shim, packaged as `deployer_shim.py`; the Lambda handler is `deployer_shim.handler`.

One entry point for every trigger, because a function may have several: the event's own shape says
what it is.
- API Gateway HTTP API, payload format 2.0 -> Request; the Response becomes the 2.0 answer
  (`statusCode`, `headers`, `body`, `isBase64Encoded`). An exception becomes a 500 without the trace.
- SQS batch -> one Message per record (attempt = ApproximateReceiveCount); the answer is
  `{"batchItemFailures": [...]}` naming the records that raised, so only those are retried (the event
  source mapping is configured with ReportBatchItemFailures).
- SNS records -> Message (attempt 1: SNS invokes asynchronously, Lambda's retries follow a raise).
- S3 records -> ObjectEvent (keys arrive URL-encoded with `+` for spaces: unquote_plus); the bucket's
  logical name comes from the DEPLOYER_STORE_* variables.
- EventBridge Scheduler -> ScheduleEvent. The provider sets the schedule target's input to
  `{"deployer": "schedule", "schedule": "<blueprint expression>", "time": "<aws.scheduler.scheduled-time>"}`
  (Scheduler fills the context attribute). An EventBridge rule's "Scheduled Event" is accepted too.

Secrets: the Lambda environment holds only the names of the SSM SecureString parameters of the
function's secrets (`DEPLOYER_SECRET_PARAMETERS`, comma-separated, each ending in the secret's name). On
the first event, before the user's module is imported, the shim reads them (GetParameters, decrypted,
10 at a time) and sets each as an environment variable of its own name, so handlers see secrets as on
every other cloud. A parameter that cannot be read stops the invocation with its name (never a value).

Cookies: payload 2.0 carries response cookies in a `cookies` list, and API Gateway would fold several
`Set-Cookie` headers into one; every `Set-Cookie` the handler returns goes into that list.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from dataclasses import replace
from urllib.parse import unquote_plus

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # the runtime ships beside this file
    sys.path.insert(0, _HERE)

from deployer.runtime.clients.aws import unwire_body  # noqa: E402
from deployer.runtime.invoke import EventNotRecognised, Function, not_routed, parse_query, parse_time  # noqa: E402
from deployer.runtime.invoke import is_schedule_marker, text_or_base64  # noqa: E402
from deployer.runtime.types import Headers, Message, ObjectEvent, Request, ScheduleEvent, decode_data  # noqa: E402


function = Function.lazy(_HERE)  # the package beside this file, loaded on the first event
SECRETS_ENV = "DEPLOYER_SECRET_PARAMETERS"
_secrets_loaded = False


def load_secrets(client=None) -> None:
    """Set each granted secret as an environment variable, from its SSM parameter (once per instance)."""
    global _secrets_loaded
    if _secrets_loaded:
        return
    wanted = [name for name in os.environ.get(SECRETS_ENV, "").split(",") if name]
    if wanted:
        if client is None:
            import boto3

            client = boto3.client("ssm")
        for start in range(0, len(wanted), 10):  # GetParameters takes at most 10 names
            answer = client.get_parameters(Names=wanted[start:start + 10], WithDecryption=True)
            if answer.get("InvalidParameters"):
                raise RuntimeError(f"cannot read secret parameter(s) {', '.join(answer['InvalidParameters'])}")
            for parameter in answer["Parameters"]:
                os.environ[parameter["Name"].rsplit("/", 1)[-1]] = parameter["Value"]
    _secrets_loaded = True


def handler(event, context):
    load_secrets()
    fn = function()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    ctx = fn.context(getattr(context, "aws_request_id", None),
                     time.time() + remaining() / 1000 if remaining else None)
    kind = event_kind(event)
    if kind == "http":
        return http(fn, event, ctx)
    if kind == "sqs":
        return sqs(fn, event, ctx)
    if kind == "sns":
        return sns(fn, event, ctx)
    if kind == "s3":
        return s3(fn, event, ctx)
    return schedule(fn, event, ctx)


def event_kind(event) -> str:
    if not isinstance(event, dict):
        raise EventNotRecognised(f"unexpected Lambda event of type {type(event).__name__}")
    if event.get("version") == "2.0" and "http" in event.get("requestContext", {}):
        return "http"
    records = event.get("Records")
    if records:
        source = records[0].get("eventSource") or records[0].get("EventSource")
        kinds = {"aws:sqs": "sqs", "aws:sns": "sns", "aws:s3": "s3"}
        if source in kinds:
            return kinds[source]
    if is_schedule_marker(event) or event.get("detail-type") == "Scheduled Event":
        return "schedule"
    raise EventNotRecognised(f"unrecognised Lambda event with keys {sorted(event)[:8]}")


def to_request(event) -> Request:
    http_ctx = event["requestContext"]["http"]
    headers = list((event.get("headers") or {}).items())
    if event.get("cookies"):  # payload 2.0 moves the Cookie header into this list
        headers.append(("cookie", "; ".join(event["cookies"])))
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    return Request(method=http_ctx["method"].upper(), path=event.get("rawPath") or http_ctx["path"],
                   params=dict(event.get("pathParameters") or {}),
                   query=parse_query(event.get("rawQueryString", "")), headers=Headers(headers), body=raw)


def http(fn: Function, event, ctx) -> dict:
    request = to_request(event)
    if not request.params and fn.routes():  # `$default` or a parameterless route: route like the blueprint
        status, params = fn.route(request.method, request.path)
        if status != 200 and event.get("routeKey") in (None, "$default"):
            return from_response(not_routed(status, request.method, request.path))
        request = replace(request, params=params)
    return from_response(fn.call_http(request, ctx))


def from_response(response) -> dict:
    status, headers, data = response.encode()
    body, is_b64 = text_or_base64(data, Headers(headers).get("content-type"))
    cookies = response.headers.get_all("set-cookie")
    headers = {k: v for k, v in headers.items() if k.lower() != "set-cookie"}
    answer = {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": is_b64}
    return {**answer, "cookies": cookies} if cookies else answer


def _attributes(raw: dict, value_key: str) -> dict[str, str]:
    out = {}
    for name, attr in (raw or {}).items():
        value = attr.get(value_key)
        if value is not None and str(attr.get("dataType", attr.get("Type", "String"))).startswith(("String", "Number")):
            out[name] = str(value)
    return out


def sqs(fn: Function, event, ctx) -> dict:
    failures = []
    for record in event["Records"]:
        attributes = _attributes(record.get("messageAttributes"), "stringValue")
        message = Message(id=record["messageId"], data=decode_data(unwire_body(record["body"], attributes)),
                          attributes=attributes,
                          attempt=int(record.get("attributes", {}).get("ApproximateReceiveCount", 1)))
        if not fn.call_message(message, ctx):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def sns(fn: Function, event, ctx) -> None:
    failed = []
    for record in event["Records"]:
        note = record["Sns"]
        attributes = _attributes(note.get("MessageAttributes"), "Value")
        message = Message(id=note["MessageId"], data=decode_data(unwire_body(note["Message"], attributes)),
                          attributes=attributes, attempt=1)
        if not fn.call_message(message, ctx):
            failed.append(note["MessageId"])
    if failed:  # Lambda retries the asynchronous invocation, then sends it to the failure destination
        raise RuntimeError(f"message(s) {', '.join(failed)} failed; see the log above")


def s3(fn: Function, event, ctx) -> None:
    for record in event["Records"]:
        obj, bucket = record["s3"]["object"], record["s3"]["bucket"]["name"]
        kind = "deleted" if record.get("eventName", "").startswith("ObjectRemoved") else "created"
        key = unquote_plus(obj["key"])
        store = fn.bucket_store(bucket)
        if not fn.object_matches(store, key, kind):
            continue
        event_obj = ObjectEvent(store=store or bucket, key=key, size=int(obj.get("size", 0)), type=kind,
                                time=parse_time(record.get("eventTime")))
        fn.call_event(event_obj, ctx)


def schedule(fn: Function, event, ctx):
    hint = event.get("schedule") if is_schedule_marker(event) else None
    time_value = event.get("time")
    if isinstance(time_value, str) and time_value.startswith("<"):  # an unfilled context attribute
        time_value = None
    fn.call_event(ScheduleEvent(schedule=fn.schedule_for(hint), time=parse_time(time_value)), ctx)
    return None
