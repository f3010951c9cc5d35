"""`deployer invoke | logs --cloud gcp`: what the GCP shim recognises, and the real google-auth and
requests clients against recorded response shapes served on 127.0.0.1 (no network, no account).

Credentials: a service-account key file made in the test (a fresh RSA key) whose token_uri is the
test's server, so google-auth's own chain signs a JWT grant and fetches access and identity tokens
from it exactly as it would from oauth2.googleapis.com.
"""

from __future__ import annotations

import base64
import json
import signal
import time

import pytest
from fixtures.events.shimkit import build_package, set_env, store_env
from remote_support import Lines, Recorded, clean_env, deployed

from conftest import run_cli

functions_framework = pytest.importorskip("functions_framework")

TOPIC = "projects/portable-demo/topics/portable-dev-events"
STORES = {"uploads": "portable-uploads", "jobs": "projects/portable-demo/topics/portable-dev-jobs", "events": TOPIC}


def options(outputs=None):
    from deployer.remote import RemoteOptions

    return RemoteOptions(stage="dev", outputs=lambda: outputs or {"stores": STORES}, cloud="gcp")


@pytest.fixture(scope="module")
def google_keys():
    import gcp_oidc

    made = gcp_oidc.keys("google")
    with gcp_oidc.certs_server({"kid-google": made["google"][1]}) as url:
        yield made, url


@pytest.fixture
def through_shim(tmp_path, portable_bp, monkeypatch, google_keys):
    """(function, portable event) -> the portable result, through functions-framework and the real shim;
    queue pushes and schedule runs carry a token of the invoker account (as IAM would mint it)."""
    import gcp_oidc
    from providers.gcp import remote
    from providers.gcp.context import event_triggers

    keys, certs_url = google_keys
    set_env(monkeypatch, {**store_env("gcp", uploads="portable-uploads"), "DEPLOYER_GCP_PROJECT": "portable-demo",
                          "DEPLOYER_GCP_CERTS_URL": certs_url})

    def run(function, event):
        invoker = remote.invoker_email(portable_bp, function, "portable-demo")
        monkeypatch.setenv("DEPLOYER_GCP_INVOKER", invoker)
        target = "event_entry" if event_triggers(portable_bp.functions[function]) else "http_entry"
        package = build_package(tmp_path, function, "gcp", portable_bp)
        client = functions_framework.create_app(target=target, source=str(package / "deployer_shim.py")).test_client()
        path, headers, body = remote.request_for(portable_bp, function, event, options(), "a" * 32)
        headers["Authorization"] = gcp_oidc.sign(keys["google"][0], "kid-google", invoker)
        method = getattr(event, "method", "POST")
        answer = client.open(path, method=method, headers=headers, data=body)
        return remote.result_of(event, answer.status_code, tuple(answer.headers.items()), answer.get_data(), "a" * 32, 1.0)

    return run


def test_http_push_cloudevents_and_schedules_reach_their_handlers(through_shim, portable_bp, seen):
    from deployer.remote import build_event

    result = through_shim("api", build_event(portable_bp, "api", {"method": "POST", "body": {"a": 1},
                                                                  "query": {"q": "x y"}, "headers": {"X-Token": "t"}}))
    assert (result.status, result.body, result.request_id) == (201, {"created": {"a": 1}, "query": {"q": "x y"},
                                                                     "token": "t"}, "a" * 32)
    assert through_shim("api", build_event(portable_bp, "api", {"method": "GET", "params": {"id": "7"}}, 1)).body["id"] == "7"
    assert through_shim("worker", build_event(portable_bp, "worker", {"n": 1})).ok
    assert seen[-1]["data"] == {"n": 1} and seen[-1]["attempt"] == 1
    failed = through_shim("worker", build_event(portable_bp, "worker", {"poison": True}))
    assert (failed.ok, failed.status) == (False, 500) and failed.error.startswith("HTTP 500: message failed")
    assert through_shim("listener", build_event(portable_bp, "listener", ["a", 2])).ok
    assert seen[-1] == {"data": ["a", 2], "attributes": {}}
    assert through_shim("files", build_event(portable_bp, "files", {"key": "incoming/a b.jpg", "size": 5})).ok
    assert {k: seen[-1][k] for k in ("store", "key", "size", "type")} == \
        {"store": "uploads", "key": "incoming/a b.jpg", "size": 5, "type": "created"}
    assert through_shim("tick", build_event(portable_bp, "tick", {"time": "2026-01-01T03:00:00+01:00"})).ok
    assert seen[-1] == {"schedule": "0 3 * * *", "time": "2026-01-01T03:00:00+01:00", "cloud": "gcp"}


def test_the_platform_paths_are_the_shims():
    from providers.gcp import remote, shim

    assert (remote.PUSH_PATH, remote.SCHEDULE_PATH) == (shim.PUSH_PATH, shim.SCHEDULE_PATH)


def test_the_log_filter_names_the_functions_cloud_run_service(portable_bp):
    from providers.gcp import remote
    from providers.gcp.context import FUNCTION_NAME_MAX

    assert remote.service_name(portable_bp, "worker") == "portable-dev-worker"
    assert len(remote.service_name(portable_bp, "w" * 80)) <= FUNCTION_NAME_MAX
    assert remote.log_filter(portable_bp, "worker", "2026-01-01T00:00:00.000Z", 'say "hi"') == (
        'resource.type="cloud_run_revision" AND resource.labels.location="us-central1" AND '
        'resource.labels.service_name="portable-dev-worker" AND logName:"run.googleapis.com" AND '
        'timestamp>="2026-01-01T00:00:00.000Z" AND "say \\"hi\\""')


# ------------------------------------------------------------------------ real clients, recorded API
def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_endpoint(request):
    """oauth2.googleapis.com/token: an access token, or an identity token when the grant asks for one."""
    form = dict(pair.split("=", 1) for pair in request.body.decode().split("&"))
    claims = json.loads(base64.urlsafe_b64decode(form["assertion"].split(".")[1] + "=="))
    if "target_audience" in claims:
        token = ".".join([_b64({"alg": "RS256", "typ": "JWT"}),
                          _b64({"aud": claims["target_audience"], "exp": int(time.time()) + 3600, "iat": int(time.time()),
                                "iss": "https://accounts.google.com"}), _b64(b"signature")])
        return 200, {}, {"id_token": token}
    return 200, {}, {"access_token": "ya29.recorded", "expires_in": 3600, "token_type": "Bearer"}


def service_account_file(tmp_path, token_uri: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({"type": "service_account", "project_id": "portable-demo", "private_key_id": "k1",
                                "private_key": pem, "client_email": "ci@portable-demo.iam.gserviceaccount.com",
                                "client_id": "1", "token_uri": token_uri}))
    return path


ENTRIES = [  # Cloud Logging LogEntry shapes of a gen2 function (container and request logs)
    {"insertId": "e1", "timestamp": "2026-01-01T03:00:00.123456Z", "severity": "INFO",
     "textPayload": "handling job 1", "trace": "projects/portable-demo/traces/" + "b" * 32,
     "resource": {"type": "cloud_run_revision", "labels": {"service_name": "portable-dev-worker"}},
     "logName": "projects/portable-demo/logs/run.googleapis.com%2Fstdout"},
    {"insertId": "e2", "timestamp": "2026-01-01T03:00:00.200Z", "severity": "ERROR",
     "jsonPayload": {"message": "poison message 1"}, "trace": "projects/portable-demo/traces/" + "b" * 32,
     "logName": "projects/portable-demo/logs/run.googleapis.com%2Fstderr"},
    {"insertId": "e3", "timestamp": "2026-01-01T03:00:00.300Z", "severity": "ERROR",
     "httpRequest": {"requestMethod": "POST", "requestUrl": "https://portable-dev-worker-x.a.run.app/", "status": 500,
                     "latency": "0.2s"}, "trace": "projects/portable-demo/traces/" + "b" * 32,
     "logName": "projects/portable-demo/logs/run.googleapis.com%2Frequests"},
]


@pytest.fixture
def gcp(tmp_path):
    entries = list(ENTRIES)

    def entries_list(request):
        body = request.json()
        if "pageToken" not in body:
            return 200, {}, {"entries": entries[:1], "nextPageToken": "p2"}
        return 200, {}, {"entries": entries[1:]}

    def function(request):
        return 201, {"Content-Type": "application/json"}, {"created": request.json()}

    routes = {"POST /token": token_endpoint,
              "POST /v1/projects/-/serviceAccounts/*": lambda r: (200, {}, {"token": "invoker-id-token"}), "POST /v2/entries:list": entries_list, "POST /fn/api/*": function,
              "POST /fn/worker/*": (lambda r: (204, {}, b"")),
              "POST /fn/files/*": (lambda r: (404, {"Content-Type": "text/html"},  # Cloud Run's internal ingress
                                             b"<html><body><h1>Error: Page not found</h1></body></html>"))}
    with Recorded(routes) as server:
        outputs = {"functions": {"api": f"{server.url}/fn/api", "worker": f"{server.url}/fn/worker",
                                 "files": f"{server.url}/fn/files"}, "stores": STORES}
        file = deployed(tmp_path, "gcp", outputs)
        file.write_text(file.read_text().replace("defaults:", "clouds: {gcp: {project: portable-demo}}\ndefaults:"))
        env = clean_env(GOOGLE_APPLICATION_CREDENTIALS=str(service_account_file(tmp_path, f"{server.url}/token")),
                        DEPLOYER_GCP_LOGGING_ENDPOINT=server.url, DEPLOYER_GCP_IAM_ENDPOINT=server.url,
                        NO_GCE_CHECK="true", HOME=str(tmp_path),
                        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), DEPLOYER_LOGS_POLL="0.1")
        yield {"server": server, "file": str(file), "env": env, "entries": entries}


def test_invoke_calls_the_function_url_with_an_identity_token(gcp):
    r = run_cli("invoke", "api", "--cloud", "gcp", "-f", gcp["file"], "--data", '{"a": 1}', "--json", env=gcp["env"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["status"], out["body"]) == (201, {"created": {"a": 1}})
    call = gcp["server"].seen("POST", "/fn/api/items")[0]
    token = call.headers["authorization"].removeprefix("Bearer ")
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["aud"] == gcp["server"].url + "/fn/api"
    assert call.headers["traceparent"].split("-")[1] == out["request_id"]
    r = run_cli("invoke", "worker", "--cloud", "gcp", "-f", gcp["file"], "--data", '{"n": 2}', env=gcp["env"])
    assert r.returncode == 0 and "ok (" in r.stderr, r.stderr
    call = gcp["server"].seen("POST", "/fn/worker/_deployer/push")[0]
    assert call.headers["authorization"] == "Bearer invoker-id-token"  # the invoker account's, from IAM
    minted = gcp["server"].seen("POST", "/v1/projects/-/serviceAccounts/")[0]
    assert minted.path.endswith("/portable-dev-worker-inv@portable-demo.iam.gserviceaccount.com:generateIdToken")
    assert minted.json() == {"audience": gcp["server"].url + "/fn/worker", "includeEmail": True}
    push = call.json()
    assert base64.b64decode(push["message"]["data"]) == b'{"n": 2}' and push["deliveryAttempt"] == 1
    assert push["subscription"] == "projects/portable-demo/subscriptions/portable-dev-jobs-deployer-invoke"


def test_an_event_function_behind_internal_ingress_is_explained(gcp):
    r = run_cli("invoke", "files", "--cloud", "gcp", "-f", gcp["file"], "--data", '{"key": "incoming/a.jpg"}',
                env=gcp["env"])
    assert r.returncode == 1 and "internal ingress" in r.stderr, r.stderr
    event = gcp["server"].seen("POST", "/fn/files/")[0]
    assert event.headers["ce-type"] == "google.cloud.storage.object.v1.finalized"
    assert event.headers["ce-subject"] == "objects/incoming/a.jpg" and event.json()["bucket"] == "portable-uploads"


def test_logs_lists_cloud_logging_entries_as_portable_records(gcp):
    r = run_cli("logs", "worker", "--cloud", "gcp", "-f", gcp["file"], "--json", "--since", "2025-12-31T00:00:00Z",
                env=gcp["env"])
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert records == [
        {"time": "2026-01-01T03:00:00.123Z", "request_id": "b" * 32, "level": "INFO", "message": "handling job 1"},
        {"time": "2026-01-01T03:00:00.200Z", "request_id": "b" * 32, "level": "ERROR", "message": "poison message 1"},
        {"time": "2026-01-01T03:00:00.300Z", "request_id": "b" * 32, "level": "ERROR",
         "message": "POST https://portable-dev-worker-x.a.run.app/ 500 0.2s"}]
    first = gcp["server"].seen("POST", "/v2/entries:list")[0]
    assert first.headers["authorization"] == "Bearer ya29.recorded"
    assert first.json()["resourceNames"] == ["projects/portable-demo"] and first.json()["orderBy"] == "timestamp asc"
    assert 'timestamp>="2025-12-31T00:00:00.000Z"' in first.json()["filter"]


def test_logs_follow_polls_until_ctrl_c(gcp):
    follow = Lines(["logs", "worker", "--cloud", "gcp", "-f", gcp["file"], "--follow", "--since", "2025-12-31T00:00:00Z"], gcp["env"])
    try:
        follow.wait_for(lambda line: "POST https://portable-dev-worker" in line, what="the backlog")
        gcp["entries"].append({"insertId": "e4", "timestamp": "2026-01-01T03:00:01Z", "severity": "WARNING",
                               "textPayload": "late entry"})
        follow.wait_for(lambda line: line.endswith("late entry"), what="the new entry")
        follow.proc.send_signal(signal.SIGINT)
        assert follow.proc.wait(timeout=30) == 130
    finally:
        follow.stop()
    assert sum("handling job 1" in line for line in follow.lines) == 1


def test_missing_credentials_exit_3_naming_the_chain(gcp, tmp_path):
    env = {k: v for k, v in gcp["env"].items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    for args in (["invoke", "api"], ["logs", "worker"]):
        r = run_cli(*args, "--cloud", "gcp", "-f", gcp["file"], env=env)
        assert r.returncode == 3, r.stderr
        assert "no GCP credentials found" in r.stderr and "GOOGLE_APPLICATION_CREDENTIALS" in r.stderr


def test_a_function_the_stack_lacks_exits_2(gcp):
    r = run_cli("logs", "tick", "--cloud", "gcp", "-f", gcp["file"], env=gcp["env"])
    assert r.returncode == 2 and "has no function 'tick'" in r.stderr
