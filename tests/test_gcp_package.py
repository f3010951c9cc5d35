"""The GCP package, served by Google's functions-framework as Cloud Functions would serve it.

Each function's zip (built by GcpProvider.package) is unzipped into a folder and served in a fresh
interpreter (a clean sys.modules, like an instance) by `functions_framework.create_app(<entry point>,
source=deployer_shim.py)` through Flask's test client. The entry point, the environment variables,
the scheduler body and the push endpoint all come from the plan the provider compiled for the same
blueprint, so this checks the wiring end to end: what the program declares is what the shim expects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import gcp_oidc
import pytest

from deployer import plan
from deployer.blueprint.load import load_blueprint
from providers.gcp.provider import GcpProvider

# pulumi_gcp.storage imports a deprecated alias of its own when the program uses it
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BLUEPRINT = """
name: ffdemo
clouds: {gcp: {project: demo-project, region: europe-west1}}
http:
  cors: {origins: ["https://app.example"], methods: [GET, POST], headers: [content-type], max_age: 300}
stores:
  uploads: {kind: bucket}
  events: {kind: topic}
  jobs: {kind: queue, retries: 5}
functions:
  web:
    code: app
    handler: main.web
    triggers: [{http: "GET /items/{id}"}, {http: POST /items}, {queue: jobs}]
  nightly: {code: app, handler: main.nightly, triggers: [{schedule: "0 3 * * *", timezone: Europe/Paris}]}
  on-event: {code: app, handler: main.on_event, triggers: [{topic: events}]}
  on-upload: {code: app, handler: main.on_upload, triggers: [{bucket: uploads, prefix: incoming/, suffix: .jpg}]}
"""

HANDLERS = '''
import json, os
from deployer.runtime import Response


def _record(kind, **value):
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"kind": kind, **value}) + "\\n")


def web(event):
    if hasattr(event, "method"):
        if event.method == "POST":
            return Response(201, {"got": event.json()})
        return {"id": event.params["id"], "query": dict(event.query)}
    if event.data == {"fail": True}:
        raise RuntimeError("this message fails")
    _record("message", data=event.data, attributes=dict(event.attributes), attempt=event.attempt)


def nightly(event):
    _record("schedule", schedule=event.schedule)


def on_event(message):
    _record("topic", id=message.id, data=message.data)


def on_upload(event):
    _record("object", store=event.store, key=event.key, type=event.type, size=event.size)
'''

# Runs inside the unzipped package: serves the entry point and replays the given requests.
DRIVER = '''
import json, sys
import functions_framework

target, signature, requests = sys.argv[1], sys.argv[2], json.loads(sys.stdin.read())
client = functions_framework.create_app(target, "deployer_shim.py", signature).test_client()
out = []
for req in requests:
    r = client.open(req["path"], method=req["method"], headers=req.get("headers", {}), data=req.get("data", ""))
    out.append([r.status_code, r.get_data(as_text=True), dict(r.headers)])
runtime = sys.modules["deployer.runtime"].__file__  # the package's own copy, not the project's
print(json.dumps({"responses": out, "runtime": runtime}))
'''


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("ffdemo")
    (root / "app").mkdir()
    (root / "app" / "main.py").write_text(HANDLERS)
    (root / "deployer.yaml").write_text(BLUEPRINT)
    bp = load_blueprint(root / "deployer.yaml")
    provider = GcpProvider()
    assert [d for d in provider.check(bp) if d.severity == "error"] == []
    artifacts = {name: provider.package(bp, name) for name in bp.functions}
    planned = {r.name: r.inputs for r in plan.run(provider, bp, artifacts).resources}
    return root, bp, artifacts, planned


@pytest.fixture(scope="module")
def google():
    """A stand-in for Google's token certificates; (private key, certs URL)."""
    key, cert = gcp_oidc.keys("google")["google"]
    with gcp_oidc.certs_server({"k1": cert}) as url:
        yield key, url


def serve(compiled, function: str, requests: list[dict], certs_url: str = "") -> tuple[list, list]:
    root, _, artifacts, planned = compiled
    folder = root / "served" / function
    with zipfile.ZipFile(artifacts[function].path) as z:
        z.extractall(folder)
    fn = planned[f"fn-{function}-function"]
    record = folder / "record.jsonl"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DEPLOYER_")},
           **fn["serviceConfig"]["environmentVariables"], "RECORD_FILE": str(record),
           **({"DEPLOYER_GCP_CERTS_URL": certs_url} if certs_url else {})}
    entry = fn["buildConfig"]["entryPoint"]
    signature = {"http_entry": "http", "event_entry": "cloudevent"}[entry]
    done = subprocess.run([sys.executable, "-c", DRIVER, entry, signature], input=json.dumps(requests), cwd=folder,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    recorded = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["runtime"]).resolve().is_relative_to(folder.resolve()), result["runtime"]
    return result["responses"], recorded


def cloud_event(event_type: str, source: str, data: dict, event_id: str = "e-1") -> dict:
    """A binary-mode CloudEvent as Eventarc delivers it to a gen2 function."""
    return {"method": "POST", "path": "/", "data": json.dumps(data),
            "headers": {"ce-id": event_id, "ce-specversion": "1.0", "ce-type": event_type, "ce-source": source,
                        "ce-time": "2026-01-02T03:04:05Z", "Content-Type": "application/json"}}


def b64json(value) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def test_package_holds_code_runtime_shim_and_requirements(compiled):
    _, _, artifacts, planned = compiled
    with zipfile.ZipFile(artifacts["web"].path) as z:
        names = set(z.namelist())
        requirements = z.read("requirements.txt").decode()
        config = json.loads(z.read("deployer_function.json"))
    assert {"main.py", "deployer_shim.py", "deployer/__init__.py", "deployer/runtime/__init__.py"} <= names
    assert "functions-framework" in requirements
    assert config["function"] == "web" and config["cloud"] == "gcp"
    sha = hashlib.sha256(artifacts["web"].path.read_bytes()).hexdigest()  # of the zip, not the artifact's word
    assert planned["fn-web-source"]["name"] == f"functions/web/{sha}.zip"


def test_http_routes_through_the_served_package(compiled):
    responses, _ = serve(compiled, "web", [
        {"method": "GET", "path": "/items/42?color=red"},
        {"method": "POST", "path": "/items", "data": json.dumps({"a": 1}),
         "headers": {"Content-Type": "application/json"}},
        {"method": "DELETE", "path": "/items/42"},
        {"method": "GET", "path": "/nowhere"},
    ])
    assert responses[0][0] == 200 and json.loads(responses[0][1]) == {"id": "42", "query": {"color": "red"}}
    assert responses[1][0] == 201 and json.loads(responses[1][1]) == {"got": {"a": 1}}
    assert [r[0] for r in responses[2:]] == [405, 404]


def test_cors_preflight_and_allow_origin_are_answered_by_the_shim(compiled):
    """API Gateway passes preflights to the function (x-google-endpoints.allowCors): the shim answers them."""
    _, _, _, planned = compiled
    document = json.loads(base64.b64decode(planned["app-api-config"]["openapiDocuments"][0]["document"]["contents"]))
    assert document["x-google-endpoints"][0]["allowCors"] is True
    assert document["paths"]["/items/{id}"]["options"]["operationId"] == "options_items_id"
    ask = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type"}
    responses, _ = serve(compiled, "web", [
        {"method": "OPTIONS", "path": "/items", "headers": ask},
        {"method": "OPTIONS", "path": "/items/42", "headers": {**ask, "Access-Control-Request-Method": "GET"}},
        {"method": "OPTIONS", "path": "/nowhere", "headers": ask},
        {"method": "OPTIONS", "path": "/items", "headers": {**ask, "Origin": "https://evil.example"}},
        {"method": "GET", "path": "/items/42", "headers": {"Origin": "https://app.example"}},
        {"method": "GET", "path": "/items/42", "headers": {"Origin": "https://evil.example"}},
    ])
    status, body, headers = responses[0]
    assert (status, body) == (204, "")
    assert {k: v for k, v in headers.items() if k.startswith("Access-Control") or k == "Vary"} == {
        "Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "content-type", "Access-Control-Max-Age": "300", "Vary": "Origin"}
    assert responses[1][0] == 204 and responses[1][2]["Access-Control-Allow-Origin"] == "https://app.example"
    assert responses[2][0] == 404
    assert responses[3][0] == 204 and "Access-Control-Allow-Origin" not in responses[3][2]
    assert responses[4][0] == 200 and json.loads(responses[4][1])["id"] == "42"
    allowed = responses[4][2]
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example" and allowed["Vary"] == "Origin"
    assert responses[5][0] == 200 and "Access-Control-Allow-Origin" not in responses[5][2]


def path_of(url: str) -> str:
    """`${fn-web-function.url}/_deployer/push` -> `/_deployer/push` (the function's URL is its root)."""
    return url.split("}", 1)[1]


def test_pubsub_push_delivery_acks_and_nacks(compiled, google):
    _, _, _, planned = compiled
    push_config = planned["store-jobs-sub"]["pushConfig"]
    endpoint = push_config["pushEndpoint"]
    assert endpoint == "${fn-web-function.url}/_deployer/push" and push_config["oidcToken"]["audience"] == \
        "${fn-web-function.url}"
    # the token Pub/Sub sends is of the account the plan names, which the function's env names too
    account = push_config["oidcToken"]["serviceAccountEmail"]
    assert planned["fn-web-function"]["serviceConfig"]["environmentVariables"]["DEPLOYER_GCP_INVOKER"] == account
    key, certs_url = google
    headers = {"Content-Type": "application/json", "Authorization": gcp_oidc.sign(key, "k1", account)}
    push = {"message": {"data": b64json({"order": 7}), "messageId": "m-1", "attributes": {"k": "v"}},
            "subscription": "projects/demo-project/subscriptions/ffdemo-dev-jobs-sub", "deliveryAttempt": 2}
    failing = {**push, "message": {**push["message"], "data": b64json({"fail": True}), "messageId": "m-2"}}
    responses, recorded = serve(compiled, "web", [
        {"method": "POST", "path": path_of(endpoint), "data": json.dumps(push), "headers": headers},
        {"method": "POST", "path": path_of(endpoint), "data": json.dumps(failing), "headers": headers},
        {"method": "POST", "path": "/", "data": json.dumps(push), "headers": headers},  # the public root
    ], certs_url)
    assert [r[0] for r in responses] == [204, 500, 404]  # 2xx acks; 500 makes Pub/Sub redeliver (retries: 5)
    assert recorded == [{"kind": "message", "data": {"order": 7}, "attributes": {"k": "v"}, "attempt": 2}]


def test_scheduler_job_body_reaches_the_handler(compiled, google):
    _, _, _, planned = compiled
    target = planned["fn-nightly-schedule-0"]["httpTarget"]
    assert target["uri"] == "${fn-nightly-function.url}/_deployer/schedule"
    key, certs_url = google
    token = gcp_oidc.sign(key, "k1", target["oidcToken"]["serviceAccountEmail"])
    request = {"method": "POST", "path": path_of(target["uri"]), "data": base64.b64decode(target["body"]).decode(),
               "headers": {**target["headers"], "X-CloudScheduler": "true", "Authorization": token,
                           "X-CloudScheduler-ScheduleTime": "2026-01-02T02:00:00Z"}}
    forged = {**request, "headers": {**request["headers"], "Authorization": ""}}
    responses, recorded = serve(compiled, "nightly", [request, forged], certs_url)
    assert [r[0] for r in responses] == [204, 403]
    assert recorded == [{"kind": "schedule", "schedule": "0 3 * * *"}]


def test_topic_cloudevent_reaches_the_handler(compiled):
    _, _, _, planned = compiled
    trigger = planned["fn-on-event-function"]["eventTrigger"]
    data = {"message": {"data": b64json({"hello": "world"}), "messageId": "m-9", "attributes": {}},
            "subscription": "projects/demo-project/subscriptions/eventarc-sub"}
    responses, recorded = serve(compiled, "on-event", [
        cloud_event(trigger["eventType"], f"//pubsub.googleapis.com/{trigger['pubsubTopic']}", data)])
    assert responses[0][0] == 200, responses
    assert recorded == [{"kind": "topic", "id": "m-9", "data": {"hello": "world"}}]


def test_storage_cloudevent_is_filtered_by_the_shim(compiled):
    _, _, _, planned = compiled
    trigger = planned["fn-on-upload-function"]["eventTrigger"]
    bucket = trigger["eventFilters"][0]["value"]
    source = f"//storage.googleapis.com/projects/_/buckets/{bucket}"

    def obj(name: str, event_id: str) -> dict:
        return cloud_event(trigger["eventType"], source, {"bucket": bucket, "name": name, "size": "12",
                                                          "timeCreated": "2026-01-02T03:04:05Z"}, event_id)

    responses, recorded = serve(compiled, "on-upload", [obj("incoming/a.jpg", "e-1"), obj("other/b.jpg", "e-2"),
                                                        obj("incoming/c.png", "e-3")])
    assert [r[0] for r in responses] == [200, 200, 200]
    assert recorded == [{"kind": "object", "store": "uploads", "key": "incoming/a.jpg", "type": "created", "size": 12}]
