"""`deployer invoke | logs --cloud gcp`: the function's URL with an identity token, and Cloud Logging.

Invoke posts to the function's URL (stack output `functions`) what its shim (providers/gcp/shim.py)
recognises: functions served by `http_entry` get the HTTP request itself, a queue message as the
documented Pub/Sub push envelope at `/_deployer/push`, a schedule tick as Cloud Scheduler's marker body
with its X-CloudScheduler-ScheduleTime header at `/_deployer/schedule` (those two paths accept only the
function's invoker account: its token is minted with IAM Credentials `generateIdToken`); functions served by `event_entry` (topic and bucket triggers,
delivered by Eventarc) get a CloudEvent in binary content mode (ce-* headers, the event data as body),
as functions-framework reads it. Every call carries a Google identity token for the URL (the
functions are never public) and a W3C `traceparent` whose trace id is the request id: the shim uses
it as the context's request id and Cloud Logging files the function's entries under that trace.

Logs: Cloud Logging `entries:list` (REST) with the filter `gcloud functions logs read` uses for a gen2
function (its Cloud Run service), in time order; an entry's request id is its trace id.

google-auth (the `gcp` extra) is imported here only: its default chain finds the credentials.
`DEPLOYER_GCP_LOGGING_ENDPOINT` replaces https://logging.googleapis.com (private endpoints, tests).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any, Iterator

from deployer.remote import (
    follow_reads,
    event_kind,
    HttpEvent, InvokeResult, LogRecord, MessageEvent, ObjectEvent, RemoteOptions, ScheduleEvent, decode_body,
    iso_utc, level_of, missing_credentials, needs_function, since_window, Window,
)

SIGN_IN = "sign in with `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
CHAIN = ("google-auth's default chain: GOOGLE_APPLICATION_CREDENTIALS, the gcloud application default "
         "credentials (gcloud auth application-default login) and the metadata server")
LOGGING_URL = "https://logging.googleapis.com"
READ_SCOPE = "https://www.googleapis.com/auth/logging.read"
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_TYPES = {"created": "google.cloud.storage.object.v1.finalized", "deleted": "google.cloud.storage.object.v1.deleted"}
PAGE_SIZE = 1000
PUSH_PATH = "/_deployer/push"          # the shim's platform paths (providers/gcp/shim.py): they accept only
SCHEDULE_PATH = "/_deployer/schedule"  # an identity token of the function's invoker account
IAM_URL = "https://iamcredentials.googleapis.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
LAG = 60.0  # seconds a followed read goes back: Cloud Logging makes some entries visible late


def _auth() -> Any:
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        from deployer.errors import PrerequisiteError

        raise PrerequisiteError("google-auth is not installed", hint="pip install 'deployer[gcp]'") from None
    return google.auth


def id_token(audience: str) -> str:
    """An identity token for `audience`: a service account's or the metadata server's (google-auth's
    fetch_id_token), else the one a user's gcloud credentials carry; exit 3 when there is none."""
    google_auth = _auth()
    import google.oauth2.id_token
    from google.auth import exceptions
    from google.auth.transport.requests import Request

    try:
        return google.oauth2.id_token.fetch_id_token(Request(), audience)
    except exceptions.DefaultCredentialsError:
        pass
    except exceptions.GoogleAuthError as exc:
        raise missing_credentials("GCP", CHAIN, sign_in=SIGN_IN, detail=str(exc)) from None
    try:
        credentials, _ = google_auth.default()
        credentials.refresh(Request())
    except exceptions.GoogleAuthError as exc:
        raise missing_credentials("GCP", CHAIN, sign_in=SIGN_IN, detail=str(exc).split("\n")[0]) from None
    token = getattr(credentials, "id_token", None)
    if not token:
        raise missing_credentials("GCP", CHAIN, "these credentials cannot mint an identity token", sign_in=SIGN_IN)
    return token


def invoker_email(bp, function: str, project: str) -> str:
    """The function's invoker account (providers/gcp/functions.py), the only caller its shim accepts
    queue pushes and schedule runs from."""
    from deployer import naming
    from providers.gcp.context import ACCOUNT_ID_MAX

    account = naming.physical_name(bp.name, bp.stage, function, "inv", max_length=ACCOUNT_ID_MAX)
    return f"{account}@{project}.iam.gserviceaccount.com"


def invoker_token(bp, function: str, audience: str, options: RemoteOptions) -> str:
    """An identity token of the invoker account, minted by IAM Credentials `generateIdToken` for the
    caller (who needs roles/iam.serviceAccountTokenCreator on that account), as Pub/Sub and Cloud
    Scheduler present one. `DEPLOYER_GCP_IAM_ENDPOINT` replaces the public endpoint."""
    http, default_project = session(CLOUD_PLATFORM)
    project = bp.clouds.gcp.project or default_project
    email = invoker_email(bp, function, project)
    endpoint = (options.env.get("DEPLOYER_GCP_IAM_ENDPOINT") or IAM_URL).rstrip("/")
    response = http.post(f"{endpoint}/v1/projects/-/serviceAccounts/{email}:generateIdToken",
                         json={"audience": audience, "includeEmail": True}, timeout=60)
    if response.status_code in (401, 403):
        raise missing_credentials("GCP", CHAIN, sign_in=SIGN_IN, detail=(
            f"IAM refused an identity token of {email} ({response.status_code}): {_error_text(response)}; "
            "roles/iam.serviceAccountTokenCreator on that account is needed"))
    if response.status_code >= 400:
        from deployer.errors import DeploymentError

        raise DeploymentError(f"generateIdToken for {email} failed ({response.status_code}): {_error_text(response)}")
    return response.json()["token"]


def session(scope: str) -> tuple[Any, str | None]:
    """(an authorised requests session, the credentials' project) from the default chain."""
    google_auth = _auth()
    from google.auth import exceptions
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, project = google_auth.default(scopes=[scope])
    except exceptions.GoogleAuthError as exc:
        raise missing_credentials("GCP", CHAIN, sign_in=SIGN_IN, detail=str(exc).split("\n")[0]) from None
    return AuthorizedSession(credentials), project


# ------------------------------------------------------------------------------------------- invoke
def request_for(bp, function: str, event: Any, options: RemoteOptions, trace: str) -> tuple[str, dict, bytes]:
    """(path, headers, body) of the POST (or the HTTP request) the shim recognises for this event."""
    headers = {"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"}
    match event:
        case HttpEvent():
            return _http(event, headers)
        case MessageEvent(source="queue"):
            body = json.dumps(push_envelope(event, options)).encode()
            return PUSH_PATH, {**headers, "Content-Type": "application/json"}, body
        case MessageEvent() | ObjectEvent():
            return "/", {**headers, **cloud_event_headers(event, options)}, json.dumps(event_data(event, options)).encode()
        case ScheduleEvent():
            body = {"deployer": "schedule", "function": function, "trigger": event.trigger,
                    "schedule": event.schedule, "timezone": event.timezone}
            return SCHEDULE_PATH, {**headers, "Content-Type": "application/json",
                         "X-CloudScheduler": "true", "X-CloudScheduler-ScheduleTime": event.time}, json.dumps(body).encode()
    raise TypeError(f"unsupported event {type(event).__name__}")


def _http(event: HttpEvent, headers: dict) -> tuple[str, dict, bytes]:
    from urllib.parse import urlencode

    query = f"?{urlencode(event.query)}" if event.query else ""
    return f"{event.path}{query}", {**dict(event.headers), **headers}, event.body


def _message(event: MessageEvent) -> dict:
    published = iso_utc(time.time())
    return {"data": base64.b64encode(event.data).decode("ascii"), "attributes": dict(event.attributes),
            "messageId": event.id, "message_id": event.id, "publishTime": published, "publish_time": published}


def _topic_path(options: RemoteOptions, store: str) -> str:
    return str((options.outputs().get("stores") or {}).get(store) or store)


def push_envelope(event: MessageEvent, options: RemoteOptions) -> dict:
    """The documented Pub/Sub push body (wrapped message, subscription, delivery attempt)."""
    topic = _topic_path(options, event.store)
    subscription = topic.replace("/topics/", "/subscriptions/") + "-deployer-invoke"
    return {"message": _message(event), "subscription": subscription, "deliveryAttempt": 1}


def cloud_event_headers(event: Any, options: RemoteOptions) -> dict[str, str]:
    """Binary content mode: the CloudEvent's attributes as ce-* headers."""
    headers = {"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": secrets.token_hex(8),
               "ce-time": iso_utc(time.time())}
    if isinstance(event, MessageEvent):
        return {**headers, "ce-type": PUBSUB_PUBLISHED,
                "ce-source": f"//pubsub.googleapis.com/{_topic_path(options, event.store)}"}
    bucket = options.deployed("stores", event.store, "store")
    return {**headers, "ce-type": STORAGE_TYPES[event.type], "ce-time": event.time,
            "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}", "ce-subject": f"objects/{event.key}"}


def event_data(event: Any, options: RemoteOptions) -> dict:
    if isinstance(event, MessageEvent):
        topic = _topic_path(options, event.store)
        return {"message": _message(event), "subscription": topic.replace("/topics/", "/subscriptions/")}
    bucket = options.deployed("stores", event.store, "store")
    return {"bucket": bucket, "name": event.key, "size": str(event.size), "timeCreated": event.time,
            "updated": event.time, "kind": "storage#object", "id": f"{bucket}/{event.key}"}


def invoke(bp, function: str, event: Any, options: RemoteOptions) -> InvokeResult:
    import requests

    url = options.deployed("functions", function).rstrip("/")
    trace = secrets.token_hex(16)
    path, headers, body = request_for(bp, function, event, options, trace)
    platform = isinstance(event, ScheduleEvent) or isinstance(event, MessageEvent) and event.source == "queue"
    token = invoker_token(bp, function, url, options) if platform else id_token(url)
    headers["Authorization"] = f"Bearer {token}"
    method = event.method if isinstance(event, HttpEvent) else "POST"
    start = time.monotonic()
    try:
        response = requests.request(method, url + path, headers=headers, data=body,
                                    timeout=bp.functions[function].timeout + 30)
    except requests.RequestException as exc:
        from deployer.errors import DeploymentError

        raise DeploymentError(f"cannot reach function {function} at {url}: {exc}") from None
    took = round((time.monotonic() - start) * 1000, 1)
    return result_of(event, response.status_code, tuple(response.headers.items()), response.content, trace, took)


def result_of(event: Any, status: int, headers: tuple, raw: bytes, trace: str, took: float | None) -> InvokeResult:
    kind = event_kind(event)
    if status in (401, 403):
        from deployer.errors import PrerequisiteError

        raise PrerequisiteError(f"the function refused the identity token (HTTP {status})",
                                hint="your account needs roles/run.invoker on the function's Cloud Run service")
    if kind == "http":
        return InvokeResult(status < 500, kind, trace, status=status, headers=headers, body=decode_body(raw), ms=took)
    if status == 404 and b"<html" in raw[:200].lower():
        return InvokeResult(False, kind, trace, status=status, ms=took,
                            error="the function is not reachable from here: deployer deploys topic and bucket "
                                  "functions with internal ingress (only Eventarc's delivery reaches them); "
                                  "invoke from inside the project's network, or send/publish/upload to its store")
    ok = 200 <= status < 300
    answer = decode_body(raw)
    error = None if ok else f"HTTP {status}: {answer.get('error') if isinstance(answer, dict) else answer}"
    return InvokeResult(ok, kind, trace, status=status, result=answer, error=error, ms=took)



# ------------------------------------------------------------------------------------------- logs
def service_name(bp, function: str) -> str:
    """The Cloud Run service of a gen2 function: its id lower-cased, `_` as `-` (gcloud's rule)."""
    from deployer import naming
    from providers.gcp.context import FUNCTION_NAME_MAX

    return naming.physical_name(bp.name, bp.stage, function, max_length=FUNCTION_NAME_MAX).lower().replace("_", "-")


def log_filter(bp, function: str, start: str, text: str | None) -> str:
    parts = ['resource.type="cloud_run_revision"', f'resource.labels.location="{bp.clouds.gcp.region}"',
             f'resource.labels.service_name="{service_name(bp, function)}"', 'logName:"run.googleapis.com"',
             f'timestamp>="{start}"']
    if text:
        parts.append(json.dumps(text))  # a bare quoted string: entries whose fields contain it
    return " AND ".join(parts)


def record_of(entry: dict) -> LogRecord:
    payload = entry.get("jsonPayload") or {}
    message = entry.get("textPayload")
    if message is None:
        message = payload.get("message") if isinstance(payload, dict) and "message" in payload else None
    if message is None and entry.get("httpRequest"):
        req = entry["httpRequest"]
        message = " ".join(str(req.get(k, "")) for k in ("requestMethod", "requestUrl", "status", "latency"))
    if message is None:
        message = json.dumps(payload or entry.get("protoPayload") or {})
    trace = (entry.get("trace") or "").rsplit("/", 1)[-1] or (entry.get("labels") or {}).get("execution_id")
    stamp = entry.get("timestamp") or entry.get("receiveTimestamp") or ""
    return LogRecord(_utc(stamp), trace or None, level_of(entry.get("severity")), str(message).rstrip("\n"))


def _utc(stamp: str) -> str:
    from deployer.runtime.invoke import parse_time

    return iso_utc(parse_time(stamp)) if stamp else ""


def logs(bp, function: str, since: float | None, follow: bool, text: str | None,
         options: RemoteOptions) -> Iterator[LogRecord | None]:
    needs_function(bp, function)
    options.deployed("functions", function)  # the stack has it (else exit 2 with a did-you-mean)
    http, default_project = session(READ_SCOPE)
    project = bp.clouds.gcp.project or default_project
    if not project:
        from deployer.errors import UsageError

        raise UsageError("no GCP project: set clouds.gcp.project in the blueprint or a default project in gcloud")
    endpoint = (options.env.get("DEPLOYER_GCP_LOGGING_ENDPOINT") or LOGGING_URL).rstrip("/")

    def read(window: Window) -> Iterator[LogRecord]:
        for entry in _entries(http, endpoint, project, log_filter(bp, function, iso_utc(window.start), text)):
            record = record_of(entry)
            key = entry.get("insertId") or json.dumps(entry, sort_keys=True)
            fresh = window.fresh(key, _epoch(record.time) if record.time else window.newest)
            if fresh and (not text or text in record.message):  # the query's text search spans every field
                yield record

    return follow_reads(Window(since_window(since), LAG), read, follow, options.poll)


def _epoch(stamp: str) -> float:
    from deployer.runtime.invoke import parse_time

    return parse_time(stamp).timestamp()


def _entries(http: Any, endpoint: str, project: str, filter_: str) -> list[dict]:
    from deployer.errors import DeploymentError

    body = {"resourceNames": [f"projects/{project}"], "filter": filter_, "orderBy": "timestamp asc",
            "pageSize": PAGE_SIZE}
    entries: list[dict] = []
    while True:
        response = http.post(f"{endpoint}/v2/entries:list", json=body, timeout=60)
        if response.status_code in (401, 403):
            raise missing_credentials("GCP", CHAIN, sign_in=SIGN_IN, detail=f"Cloud Logging answered {response.status_code}: "
                                                    f"{_error_text(response)}; roles/logging.viewer is needed")
        if response.status_code >= 400:
            raise DeploymentError(f"Cloud Logging entries:list failed ({response.status_code}): {_error_text(response)}")
        page = response.json()
        entries.extend(page.get("entries", []))
        if not page.get("nextPageToken"):
            return entries
        body["pageToken"] = page["nextPageToken"]


def _error_text(response: Any) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
