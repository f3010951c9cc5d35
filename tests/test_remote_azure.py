"""`deployer invoke | logs --cloud azure`: what the Azure shim receives, and the real azure-identity and
requests clients against recorded response shapes (management API, Functions host, Log Analytics)
served on 127.0.0.1.

Credentials: azure-identity's DefaultAzureCredential finds the App Service managed identity endpoint
(IDENTITY_ENDPOINT / IDENTITY_HEADER) of the test's server, as it would inside Azure.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from fixtures.events.shimkit import build_package, load_shim, set_env, store_env
from remote_support import Lines, Recorded, clean_env, deployed

from conftest import run_cli

func = pytest.importorskip("azure.functions")
from test_shim_azure import WorkerContext, http_request, queue_message  # noqa: E402

SUB = "00000000-1111-2222-3333-444444444444"


def test_trigger_folders_and_route_prefix_match_the_package(portable_bp):
    from providers.azure import http, package, remote

    assert remote.ROUTE_PREFIX == http.ROUTE_PREFIX
    for name, fn in portable_bp.functions.items():
        folders = {f"{remote.folder(i, t)}/function.json" for i, t in enumerate(fn.triggers)}
        assert folders == {k for k in package.generated(portable_bp, name) if k.endswith("/function.json")}, name


def test_http_and_admin_inputs_reach_the_handlers(tmp_path, portable_bp, monkeypatch, seen):
    from deployer.remote import RemoteOptions, build_event
    from providers.azure import remote

    set_env(monkeypatch, store_env("azure", uploads="portable-uploads"))
    event = build_event(portable_bp, "api", {"method": "POST", "body": {"a": 1}, "headers": {"X-Token": "t"}})
    api = load_shim(build_package(tmp_path, "api", "azure", portable_bp))
    answer = api.http(http_request("POST", f"https://app.azurewebsites.net/{remote.ROUTE_PREFIX}{event.path}",
                                   body=event.body, headers=dict(event.headers)), WorkerContext())
    assert answer.status_code == 201 and json.loads(answer.get_body())["created"] == {"a": 1}
    options = RemoteOptions(stage="dev", outputs=lambda: {"stores": {"uploads": "portable-uploads"}})
    worker = load_shim(build_package(tmp_path, "worker", "azure", portable_bp))
    text = remote.admin_input(build_event(portable_bp, "worker", {"n": 1}), options)
    worker.queue(queue_message(text, 1), WorkerContext("queue0"))  # the host hands `input` to the binding
    assert seen[-1]["data"] == {"n": 1}
    files = load_shim(build_package(tmp_path, "files", "azure", portable_bp))
    created = remote.admin_input(build_event(portable_bp, "files", {"key": "incoming/a.jpg"}), options)
    files.bucketevent(queue_message(created, 1), WorkerContext("bucket0"))
    assert (seen[-1]["type"], seen[-1]["key"]) == ("created", "incoming/a.jpg")
    deleted = json.loads(remote.admin_input(build_event(portable_bp, "files", {"key": "incoming/a"}, 1), options))
    assert deleted["subject"] == "/blobServices/default/containers/portable-uploads/blobs/incoming/a"
    assert deleted["eventType"] == "Microsoft.Storage.BlobDeleted"


# ------------------------------------------------------------------------ real clients, recorded API
def managed_identity(request):
    assert request.headers.get("x-identity-header") == "h3ader"
    return 200, {}, {"access_token": "eyJ.recorded", "expires_on": str(int(time.time()) + 3600),
                     "resource": "https://management.azure.com", "token_type": "Bearer"}


ROWS = [["2026-01-01T03:00:00.1234567Z", "c" * 32, "inv-1", 1, "Executing 'Functions.queue0'"],
        ["2026-01-01T03:00:00.2Z", "c" * 32, "inv-1", 3, "ValueError: poison message 1"]]


@pytest.fixture
def azure(tmp_path, portable_bp):
    from providers.azure import names

    rows = list(ROWS)
    rg = f"/subscriptions/{SUB}/resourceGroups/{names.resource_group('portable', 'dev')}/providers"
    worker_site = names.site(SUB, "portable", "dev", "worker")
    api_site = names.site(SUB, "portable", "dev", "api")
    routes = {
        "GET /msi/token": managed_identity,
        f"POST {rg}/Microsoft.Web/sites/{worker_site}/host/default/listkeys":
            {"masterKey": "m4st3r-s3cret", "functionKeys": {"default": "k"}, "systemKeys": {}},
        f"POST {rg}/Microsoft.Web/sites/{api_site}/host/default/listkeys":
            {"masterKey": "api-m4st3r", "functionKeys": {"default": "k"}, "systemKeys": {}},
        "POST /fn/worker/admin/functions/queue0": lambda r: (202, {}, b""),
        "POST /fn/api/api/items": lambda r: (201, {}, {"created": r.json()}),
        f"GET {rg}/Microsoft.OperationalInsights/workspaces/{names.workspace('portable', 'dev')}":
            {"properties": {"customerId": "ws-1"}},
        "POST /v1/workspaces/ws-1/query": lambda r: (200, {}, {"tables": [{"name": "PrimaryResult", "columns": [
            {"name": "TimeGenerated", "type": "datetime"}, {"name": "OperationId", "type": "string"},
            {"name": "InvocationId", "type": "string"}, {"name": "SeverityLevel", "type": "int"},
            {"name": "Message", "type": "string"}], "rows": rows}]}),
    }
    with Recorded(routes) as server:
        outputs = {"functions": {"api": f"{server.url}/fn/api", "worker": f"{server.url}/fn/worker"},
                   "stores": {"uploads": "portable-uploads"}}
        file = deployed(tmp_path, "azure", outputs)
        env = clean_env(IDENTITY_ENDPOINT=f"{server.url}/msi/token", IDENTITY_HEADER="h3ader", HOME=str(tmp_path),
                        AZURE_SUBSCRIPTION_ID=SUB, DEPLOYER_AZURE_MANAGEMENT_ENDPOINT=server.url,
                        DEPLOYER_AZURE_LOGS_ENDPOINT=server.url, DEPLOYER_LOGS_POLL="0.1")
        yield {"server": server, "file": str(file), "env": env, "rows": rows, "site": worker_site}


def test_invoke_http_and_admin_endpoint_with_the_master_key_from_listkeys(azure):
    r = run_cli("invoke", "api", "--cloud", "azure", "-f", azure["file"], "--data", '{"a": 1}', "--json", env=azure["env"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["status"], out["body"]) == (201, {"created": {"a": 1}})
    call = azure["server"].seen("POST", "/fn/api/api/items")[0]
    assert call.headers["traceparent"].split("-")[1] == out["request_id"]
    assert call.headers["x-functions-key"] == "api-m4st3r"  # the routes need a key (authLevel function)
    r = run_cli("invoke", "worker", "--cloud", "azure", "-f", azure["file"], "--data", '{"n": 2}', env=azure["env"])
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stderr and "deployer logs worker --cloud azure" in r.stderr
    admin = azure["server"].seen("POST", "/fn/worker/admin/functions/queue0")[0]
    assert admin.headers["x-functions-key"] == "m4st3r-s3cret" and admin.json() == {"input": '{"n": 2}'}
    keys = azure["server"].seen("POST", f"/subscriptions/{SUB}/")[0]
    assert keys.headers["authorization"] == "Bearer eyJ.recorded" and "api-version=" in keys.path
    assert "m4st3r" not in r.stdout + r.stderr  # the key is used, never shown


def test_logs_query_log_analytics_as_portable_records(azure):
    r = run_cli("logs", "worker", "--cloud", "azure", "-f", azure["file"], "--json", "--filter", "poison",
                env=azure["env"])
    assert r.returncode == 0, r.stderr
    assert [json.loads(line) for line in r.stdout.splitlines()] == [
        {"time": "2026-01-01T03:00:00.123Z", "request_id": "c" * 32, "level": "INFO",
         "message": "Executing 'Functions.queue0'"},
        {"time": "2026-01-01T03:00:00.200Z", "request_id": "c" * 32, "level": "ERROR",
         "message": "ValueError: poison message 1"}]
    kql = azure["server"].seen("POST", "/v1/workspaces/ws-1/query")[0].json()["query"]
    assert f'AppRoleName =~ "{azure["site"]}"' in kql and 'Message contains_cs "poison"' in kql


def test_logs_follow_until_ctrl_c(azure):
    follow = Lines(["logs", "worker", "--cloud", "azure", "-f", azure["file"], "--follow", "--since", "2025-12-31T00:00:00Z"], azure["env"])
    try:
        follow.wait_for(lambda line: line.endswith("poison message 1"), what="the backlog")
        azure["rows"].append(["2026-01-01T03:00:01Z", "d" * 32, "inv-2", 2, "retrying"])
        follow.wait_for(lambda line: line.endswith("retrying"), what="the new row")
        follow.proc.send_signal(signal.SIGINT)
        assert follow.proc.wait(timeout=30) == 130
    finally:
        follow.stop()
    assert sum("poison message 1" in line for line in follow.lines) == 1


def test_missing_credentials_exit_3_naming_the_chain(azure):
    env = {k: v for k, v in azure["env"].items() if not k.startswith("IDENTITY_")}
    r = run_cli("invoke", "worker", "--cloud", "azure", "-f", azure["file"], env=env, timeout=180)
    assert r.returncode == 3, r.stderr
    assert "no Azure credentials found" in r.stderr and "DefaultAzureCredential" in r.stderr
    assert "Attempted credentials" not in r.stderr  # the chain's own warnings are not dumped
