"""`deployer invoke | logs --cloud aws`: Lambda Invoke and CloudWatch Logs, through boto3.

Invoke sends the event the shim (providers/aws/shim.py) recognises for the trigger: an HTTP API
payload 2.0 request, an SQS or SNS record, an S3 record, or the schedule marker, synchronously with
`LogType=Tail`, so the answer carries the request id and the last 4 KB of the function's own log,
shown as `sam remote invoke` does. Logs come from FilterLogEvents on the function's log group
(`/aws/lambda/<name>`); Lambda's text lines are parsed into records: `[LEVEL]\\t<time>\\t<request id>\\t
message` from the runtime's logging, `START/END/REPORT RequestId: <id>`, and untagged lines (print
output) take the request id of the invocation running in their log stream.

boto3 is imported here only (the `aws` extra), and credentials come from boto3's own chain.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any, Iterator
from urllib.parse import quote_plus, urlsplit

from deployer.remote import (
    follow_reads,
    event_kind,
    HttpEvent, InvokeResult, LogRecord, MessageEvent, ObjectEvent, RemoteOptions, ScheduleEvent, decode_body,
    iso_utc, level_of, missing_credentials, needs_function, since_window, Window,
)

SIGN_IN = "sign in with `aws configure`, `aws sso login` or AWS_PROFILE"
CHAIN = ("boto3's chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/credentials or "
         "~/.aws/config (incl. SSO), web identity, container and instance roles")
TAGGED = re.compile(r"^\[(\w+)\]\t(\S+)\t([0-9a-f-]{36}|\S+)\t(.*)$", re.S)
BOUNDARY = re.compile(r"^(START|END|REPORT) RequestId: ([0-9a-zA-Z-]+)")
LAG = 30.0  # seconds a followed read goes back: CloudWatch makes some events visible late
TIMED_OUT = re.compile(r"^\S+ ([0-9a-f-]{36}) (Task timed out.*)$", re.S)


def client(service: str, region: str) -> Any:
    """A boto3 client; exit 3 when boto3 is missing or finds no credentials."""
    try:
        import boto3
    except ImportError:
        from deployer.errors import PrerequisiteError

        raise PrerequisiteError("boto3 is not installed", hint="pip install 'deployer[aws]'") from None
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise missing_credentials("AWS", CHAIN, sign_in=SIGN_IN)
    return session.client(service)


# ------------------------------------------------------------------------------------------- invoke
def native_event(event: Any, options: RemoteOptions, region: str) -> dict:
    """The Lambda event the shim recognises for this portable event."""
    match event:
        case HttpEvent():
            return http_event(event)
        case MessageEvent(source="queue"):
            return sqs_event(event, options, region)
        case MessageEvent():
            return sns_event(event, options)
        case ObjectEvent():
            return s3_event(event, options, region)
        case ScheduleEvent():
            return {"deployer": "schedule", "schedule": event.schedule, "time": event.time}
    raise TypeError(f"unsupported event {type(event).__name__}")


def http_event(event: HttpEvent) -> dict:
    """An API Gateway HTTP API request, payload format 2.0."""
    query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in event.query.items())
    route = f"{event.method} {event.route}"
    return {
        "version": "2.0", "routeKey": route, "rawPath": event.path, "rawQueryString": query,
        "headers": {k.lower(): v for k, v in event.headers}, "queryStringParameters": dict(event.query) or None,
        "pathParameters": dict(event.params) or None,
        "requestContext": {"http": {"method": event.method, "path": event.path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "deployer-invoke"},
                           "requestId": uuid.uuid4().hex, "routeKey": route, "stage": "$default",
                           "timeEpoch": int(time.time() * 1000)},
        "body": base64.b64encode(event.body).decode("ascii"), "isBase64Encoded": True,
    }


def _wire(event: MessageEvent) -> tuple[str, dict[str, str]]:
    """SQS and SNS carry text: a payload that is not UTF-8 travels base64 (the AWS client's rule)."""
    try:
        return event.data.decode("utf-8"), dict(event.attributes)
    except UnicodeDecodeError:
        return base64.b64encode(event.data).decode("ascii"), {**event.attributes, "deployer-encoding": "base64"}


def _stored(options: RemoteOptions, store: str) -> str:
    return str((options.outputs().get("stores") or {}).get(store) or store)


def sqs_event(event: MessageEvent, options: RemoteOptions, region: str) -> dict:
    body, attributes = _wire(event)
    url = _stored(options, event.store)
    parts = urlsplit(url).path.strip("/").split("/")
    arn = f"arn:aws:sqs:{region}:{parts[0]}:{parts[-1]}" if len(parts) == 2 else url
    return {"Records": [{
        "messageId": event.id, "receiptHandle": "deployer-invoke", "body": body, "eventSource": "aws:sqs",
        "eventSourceARN": arn, "awsRegion": region, "md5OfBody": "",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {k: {"stringValue": v, "dataType": "String"} for k, v in attributes.items()}}]}


def sns_event(event: MessageEvent, options: RemoteOptions) -> dict:
    body, attributes = _wire(event)
    arn = _stored(options, event.store)
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": f"{arn}:deployer-invoke",
        "Sns": {"Type": "Notification", "MessageId": event.id, "TopicArn": arn, "Message": body,
                "Timestamp": iso_utc(time.time()),
                "MessageAttributes": {k: {"Type": "String", "Value": v} for k, v in attributes.items()}}}]}


def s3_event(event: ObjectEvent, options: RemoteOptions, region: str) -> dict:
    bucket = options.deployed("stores", event.store, "store")
    name = "ObjectCreated:Put" if event.type == "created" else "ObjectRemoved:Delete"
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region, "eventTime": event.time,
        "eventName": name, "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                  "object": {"key": quote_plus(event.key, safe="/"), "size": event.size}}}]}


def invoke(bp, function: str, event: Any, options: RemoteOptions) -> InvokeResult:
    region = bp.clouds.aws.region
    name = options.deployed("functions", function)
    payload = json.dumps(native_event(event, options, region)).encode()
    lam = client("lambda", region)
    start = time.monotonic()
    response = call(lambda: lam.invoke(FunctionName=name, Payload=payload, LogType="Tail"), f"Lambda {name}")
    took = round((time.monotonic() - start) * 1000, 1)
    return result_of(event, response, took)


def call(fn, what: str) -> Any:
    """Run a boto3 call; credentials refused or a missing resource become clear errors."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from deployer.errors import DeploymentError, UsageError

    try:
        return fn()
    except NoCredentialsError:
        raise missing_credentials("AWS", CHAIN, sign_in=SIGN_IN) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        text = exc.response.get("Error", {}).get("Message", str(exc))
        if code in ("ResourceNotFoundException",):
            raise UsageError(f"{what} does not exist in AWS: {text}",
                             hint="deploy it with `deployer up --cloud aws` (the outputs file may be stale)") from None
        if code in ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
                    "AccessDeniedException", "AccessDenied"):
            raise missing_credentials("AWS", CHAIN, f"{code}: {text}", sign_in=SIGN_IN) from None
        raise DeploymentError(f"{what}: {code}: {text}") from None
    except BotoCoreError as exc:
        raise DeploymentError(f"{what}: {exc}") from None


def result_of(event: Any, response: dict, took: float | None = None) -> InvokeResult:
    """The portable result of a Lambda Invoke answer (RequestResponse, LogType Tail)."""
    raw = response["Payload"].read() if hasattr(response.get("Payload"), "read") else response.get("Payload") or b""
    request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    log = base64.b64decode(response["LogResult"]).decode("utf-8", "replace") if response.get("LogResult") else ""
    answer = decode_body(raw)
    kind = event_kind(event)
    if response.get("FunctionError"):
        error = f"{answer.get('errorType')}: {answer.get('errorMessage')}" if isinstance(answer, dict) else str(answer)
        return InvokeResult(False, kind, request_id, status=502 if kind == "http" else None, error=error,
                            log=log, ms=took)
    if kind == "http":
        return _http_result(answer, request_id, log, took)
    if kind == "queue" and isinstance(answer, dict) and answer.get("batchItemFailures"):
        return InvokeResult(False, kind, request_id, error="the message failed (reported in batchItemFailures)",
                            result=answer, log=log, ms=took)
    return InvokeResult(True, kind, request_id, result=answer, log=log, ms=took)


def _http_result(answer: Any, request_id: str | None, log: str, took: float | None) -> InvokeResult:
    if not (isinstance(answer, dict) and "statusCode" in answer):
        return InvokeResult(False, "http", request_id, error=f"not an HTTP answer: {str(answer)[:200]}",
                            log=log, ms=took)
    body = answer.get("body") or ""
    raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode("utf-8")
    status = int(answer["statusCode"])
    headers = tuple((str(k), str(v)) for k, v in (answer.get("headers") or {}).items())
    return InvokeResult(status < 500, "http", request_id, status=status, headers=headers, body=decode_body(raw),
                        log=log, ms=took)



# ------------------------------------------------------------------------------------------- logs
def log_group(options: RemoteOptions, function: str) -> str:
    return f"/aws/lambda/{options.deployed('functions', function)}"


class Parser:
    """CloudWatch events of a Lambda log group -> LogRecords (request ids tracked per log stream)."""

    def __init__(self) -> None:
        self.running: dict[str, str | None] = {}

    def record(self, event: dict) -> LogRecord:
        stream, text = event.get("logStreamName", ""), event.get("message", "").rstrip("\n")
        when = iso_utc(event["timestamp"] / 1000)
        if found := TAGGED.match(text):
            level, _, rid, message = found.groups()
            return LogRecord(when, rid, level_of(level), message)
        if found := BOUNDARY.match(text):
            self.running[stream] = found.group(2) if found.group(1) == "START" else None
            return LogRecord(when, found.group(2), "INFO", text)
        if found := TIMED_OUT.match(text):
            return LogRecord(when, found.group(1), "ERROR", found.group(2))
        level = "ERROR" if text.startswith(("[ERROR]", "Traceback")) else "INFO"
        return LogRecord(when, self.running.get(stream), level, text)


def logs(bp, function: str, since: float | None, follow: bool, text: str | None,
         options: RemoteOptions) -> Iterator[LogRecord | None]:
    needs_function(bp, function)
    group = log_group(options, function)
    cw = client("logs", bp.clouds.aws.region)
    parser = Parser()
    args = {"logGroupName": group, **({"filterPattern": json.dumps(text)} if text else {})}

    def read(window: Window) -> Iterator[LogRecord]:
        for event in _events(cw, args, int(window.start * 1000), group):
            if not window.fresh(event["eventId"], event["timestamp"] / 1000):
                continue
            record = parser.record(event)
            if not text or text in record.message:
                yield record

    return follow_reads(Window(since_window(since), LAG), read, follow, options.poll)


def _events(cw: Any, args: dict, start: int, group: str) -> list[dict]:
    """Every event of the window, oldest first (pages hold several streams)."""
    events, token = [], None
    while True:
        page = call(lambda: cw.filter_log_events(**args, startTime=start, **({"nextToken": token} if token else {})),
                    f"log group {group}")
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            return sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))
