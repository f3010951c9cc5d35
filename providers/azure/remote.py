"""`deployer invoke | logs --cloud azure`: the Function App's endpoints, and Log Analytics.

Each blueprint function is its own Function App (providers/azure/functions.py) whose URL is the stack
output `functions`. An HTTP event is sent to `<app>/api/<path>` (routes matched by the shim; they
need a key, so the call carries the master key like the admin calls below). Any other event runs the trigger's function inside the app through the host's admin endpoint
`POST <app>/admin/functions/<folder>` with `{"input": ...}`, which needs the app's master key: it is
fetched for this call only through the management API (`host/default/listkeys`) and never shown. The
host answers 202 and runs the function asynchronously, so the result is "accepted": its outcome is in
`deployer logs`. The folder of a trigger is its binding folder in the package (`queue0`, `timer1`...).

Every call carries a W3C `traceparent`; the host files the invocation's telemetry under its trace id
(Application Insights' operation id), which is the request id shown by both commands.

Logs: the stage's Application Insights is workspace-based; the workspace (found through the
management API) is queried with the Log Analytics query API for the app's AppTraces and
AppExceptions. Credentials come from azure-identity's DefaultAzureCredential (the `azure` extra).
`DEPLOYER_AZURE_MANAGEMENT_ENDPOINT` / `DEPLOYER_AZURE_LOGS_ENDPOINT` replace the public endpoints
(sovereign clouds, tests); the subscription is AZURE_SUBSCRIPTION_ID (or ARM_SUBSCRIPTION_ID), else
the only one the credentials see.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any, Iterator
from urllib.parse import urlencode

from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger
from deployer.errors import DeploymentError, PrerequisiteError, UsageError
from deployer.runtime.invoke import parse_time
from deployer.remote import (
    follow_reads,
    HttpEvent, InvokeResult, LogRecord, MessageEvent, ObjectEvent, RemoteOptions, ScheduleEvent, decode_body,
    iso_utc, missing_credentials, needs_function, since_window, Window,
)
from providers.azure import names

SIGN_IN = "sign in with `az login` or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET"
CHAIN = ("azure-identity's DefaultAzureCredential: AZURE_CLIENT_ID with AZURE_TENANT_ID and a secret or "
         "certificate, workload identity, managed identity, the Azure CLI (az login), the Azure Developer "
         "CLI and Azure PowerShell")
MANAGEMENT = "https://management.azure.com"
LOGS = "https://api.loganalytics.io"
ROUTE_PREFIX = "api"  # host.json routePrefix (providers/azure/http.py)
WEB_API = "2023-12-01"
WORKSPACE_API = "2022-10-01"
SUBSCRIPTIONS_API = "2022-12-01"
LAG = 300.0  # seconds a followed read goes back: Application Insights ingests with minutes of delay
LEVELS = {0: "DEBUG", 1: "INFO", 2: "WARNING", 3: "ERROR", 4: "CRITICAL"}


class Azure:
    """Tokens from the default chain and the endpoints of this run."""

    def __init__(self, options: RemoteOptions):
        self.env = options.env
        self.management = (self.env.get("DEPLOYER_AZURE_MANAGEMENT_ENDPOINT") or MANAGEMENT).rstrip("/")
        self.logs = (self.env.get("DEPLOYER_AZURE_LOGS_ENDPOINT") or LOGS).rstrip("/")
        self._credential: Any = None

    def token(self, resource: str) -> str:
        try:
            from azure.core.exceptions import ClientAuthenticationError
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise PrerequisiteError("azure-identity is not installed", hint="pip install 'deployer[azure]'") from None
        # the chain logs each failed credential as a warning; the error below says it once (--debug: all)
        logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
        try:
            self._credential = self._credential or DefaultAzureCredential()
            return self._credential.get_token(f"{resource}/.default").token
        except ClientAuthenticationError as exc:
            raise missing_credentials("Azure", CHAIN, sign_in=SIGN_IN, detail=str(exc).split("\n")[0][:300]) from None

    def call(self, method: str, url: str, resource: str, what: str, **kwargs) -> Any:
        import requests

        headers = {"Authorization": f"Bearer {self.token(resource)}", **kwargs.pop("headers", {})}
        try:
            response = requests.request(method, url, headers=headers, timeout=60, **kwargs)
        except requests.RequestException as exc:
            raise DeploymentError(f"{what}: cannot reach {url.split('?')[0]}: {exc}") from None
        if response.status_code in (401, 403):
            refused = f"{what} was refused ({response.status_code}): {_error(response)}"
            raise missing_credentials("Azure", CHAIN, sign_in=SIGN_IN, detail=refused)
        if response.status_code == 404:
            raise UsageError(f"{what}: not found in Azure ({_error(response)})",
                             hint="deploy the stage with `deployer up --cloud azure` (the outputs file may be stale)")
        if response.status_code >= 400:
            raise DeploymentError(f"{what} failed ({response.status_code}): {_error(response)}")
        return response.json() if response.content else {}

    def subscription(self) -> str:
        found = self.env.get("AZURE_SUBSCRIPTION_ID") or self.env.get("ARM_SUBSCRIPTION_ID")
        if found:
            return found
        listed = self.call("GET", f"{self.management}/subscriptions?api-version={SUBSCRIPTIONS_API}", self.management,
                           "listing subscriptions").get("value", [])
        if len(listed) != 1:
            raise UsageError(f"the credentials see {len(listed)} subscriptions; say which one holds the stack",
                             hint="set AZURE_SUBSCRIPTION_ID (or ARM_SUBSCRIPTION_ID, as for `deployer up`)")
        return listed[0]["subscriptionId"]

    def group_url(self, bp) -> str:
        group = names.resource_group(bp.name, bp.stage)
        return f"{self.management}/subscriptions/{self.subscription()}/resourceGroups/{group}"


def _error(response: Any) -> str:
    try:
        body = response.json()
        return body.get("error", {}).get("message") or body.get("message") or response.text[:200]
    except ValueError:
        return response.text[:200]


# ------------------------------------------------------------------------------------------- invoke
def folder(index: int, trigger: Any) -> str:
    """The function (folder) of a trigger inside its app, as providers/azure/package.py names it."""
    match trigger:
        case HttpTrigger():
            return f"http{index}"
        case BucketTrigger():
            return f"bucket{index}"
        case QueueTrigger():
            return f"queue{index}"
        case TopicTrigger():
            return f"topic{index}"
        case ScheduleTrigger():
            return f"timer{index}"
    raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def admin_input(event: Any, options: RemoteOptions) -> str:
    """The `input` the host hands the trigger's binding: a message's text, for a bucket event the Event
    Grid event its queue carries (providers/azure/buckets.py), nothing for a timer."""
    match event:
        case MessageEvent():
            return event.data.decode("utf-8", "replace")
        case ObjectEvent():
            container = options.deployed("stores", event.store, "store")
            kind = "Created" if event.type == "created" else "Deleted"
            return json.dumps({"id": secrets.token_hex(8), "eventType": f"Microsoft.Storage.Blob{kind}",
                               "subject": f"/blobServices/default/containers/{container}/blobs/{event.key}",
                               "eventTime": event.time, "data": {"contentLength": event.size}, "dataVersion": "",
                               "metadataVersion": "1"})
        case ScheduleEvent():
            return ""
    raise TypeError(f"unsupported event {type(event).__name__}")


def site_name(azure: Azure, bp, function: str) -> str:
    """The function's site: worldwide names carry the subscription's tag (providers/azure/names.py)."""
    return names.site(azure.subscription().lower(), bp.name, bp.stage, function)


def master_key(azure: Azure, bp, function: str) -> str:
    site = site_name(azure, bp, function)
    url = f"{azure.group_url(bp)}/providers/Microsoft.Web/sites/{site}/host/default/listkeys?api-version={WEB_API}"
    keys = azure.call("POST", url, azure.management, f"the keys of Function App {site}")
    if not keys.get("masterKey"):
        raise DeploymentError(f"the management API returned no master key for Function App {site}")
    return keys["masterKey"]


def invoke(bp, function: str, event: Any, options: RemoteOptions) -> InvokeResult:
    import requests

    base = options.deployed("functions", function).rstrip("/")
    trace = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace}-{secrets.token_hex(8)}-01"}
    if isinstance(event, HttpEvent):
        query = f"?{urlencode(event.query)}" if event.query else ""
        method, url, body = event.method, f"{base}/{ROUTE_PREFIX}{event.path}{query}", event.body
        headers.update(dict(event.headers))  # the routes need a key (authLevel function): the master key
        headers["x-functions-key"] = master_key(Azure(options), bp, function)
    else:
        name = folder(event.trigger, bp.functions[function].triggers[event.trigger])
        method, url = "POST", f"{base}/admin/functions/{name}"
        body = json.dumps({"input": admin_input(event, options)}).encode()
        headers.update({"Content-Type": "application/json", "x-functions-key": master_key(Azure(options), bp, function)})
    start = time.monotonic()
    try:
        response = requests.request(method, url, headers=headers, data=body, timeout=bp.functions[function].timeout + 30)
    except requests.RequestException as exc:
        raise DeploymentError(f"cannot reach function {function} at {base}: {exc}") from None
    took = round((time.monotonic() - start) * 1000, 1)
    return result_of(event, response.status_code, tuple(response.headers.items()), response.content, trace, took)


def result_of(event: Any, status: int, headers: tuple, raw: bytes, trace: str, took: float | None) -> InvokeResult:
    if isinstance(event, HttpEvent):
        return InvokeResult(status < 500, "http", trace, status=status, headers=headers, body=decode_body(raw), ms=took)
    kind = event.source if isinstance(event, MessageEvent) else "bucket" if isinstance(event, ObjectEvent) else "schedule"
    if status == 202:
        return InvokeResult(True, kind, trace, status=status, accepted=True, ms=took)
    return InvokeResult(False, kind, trace, status=status, error=f"the host answered HTTP {status}: {decode_body(raw)}",
                        ms=took)


# ------------------------------------------------------------------------------------------- logs
def query(site: str, start: str, text: str | None) -> str:
    """KQL over the app's traces and exceptions, oldest first."""
    contains = f"\n| where Message contains_cs {json.dumps(text)}" if text else ""
    return (
        "union isfuzzy=true\n"
        " (AppTraces | project TimeGenerated, OperationId, SeverityLevel, Message, AppRoleName, Properties),\n"
        " (AppExceptions | project TimeGenerated, OperationId, SeverityLevel, AppRoleName, Properties,\n"
        "    Message = strcat(ExceptionType, \": \", OuterMessage))\n"
        f"| where AppRoleName =~ {json.dumps(site)} and TimeGenerated >= datetime({start}){contains}\n"
        "| extend InvocationId = tostring(Properties.InvocationId)\n"
        "| project TimeGenerated, OperationId, InvocationId, SeverityLevel, Message\n"
        "| order by TimeGenerated asc\n| take 5000"
    )


def rows(result: dict) -> list[dict]:
    """The PrimaryResult table of a Log Analytics answer as dicts."""
    tables = result.get("tables") or []
    if not tables:
        return []
    columns = [c["name"] for c in tables[0]["columns"]]
    return [dict(zip(columns, row)) for row in tables[0]["rows"]]


def record_of(row: dict) -> LogRecord:
    level = LEVELS.get(row.get("SeverityLevel") if isinstance(row.get("SeverityLevel"), int) else -1, "INFO")
    stamp = iso_utc(parse_time(row["TimeGenerated"])) if row.get("TimeGenerated") else ""
    rid = row.get("OperationId") or row.get("InvocationId") or None
    return LogRecord(stamp, rid, level, str(row.get("Message") or "").rstrip("\n"))


def workspace_id(azure: Azure, bp) -> str:
    name = names.workspace(bp.name, bp.stage)
    url = f"{azure.group_url(bp)}/providers/Microsoft.OperationalInsights/workspaces/{name}?api-version={WORKSPACE_API}"
    found = azure.call("GET", url, azure.management, f"the Log Analytics workspace {name}")
    return found["properties"]["customerId"]


def logs(bp, function: str, since: float | None, follow: bool, text: str | None,
         options: RemoteOptions) -> Iterator[LogRecord | None]:
    needs_function(bp, function)
    options.deployed("functions", function)
    azure = Azure(options)
    site = site_name(azure, bp, function)
    url = f"{azure.logs}/v1/workspaces/{workspace_id(azure, bp)}/query"

    def read(window: Window) -> Iterator[LogRecord]:
        answer = azure.call("POST", url, azure.logs, "the Log Analytics query",
                            json={"query": query(site, iso_utc(window.start), text)})
        for row in rows(answer):
            record = record_of(row)
            when = parse_time(record.time).timestamp() if record.time else window.newest
            if window.fresh(json.dumps(row, sort_keys=True, default=str), when):
                yield record

    return follow_reads(Window(since_window(since), LAG), read, follow, options.poll)
