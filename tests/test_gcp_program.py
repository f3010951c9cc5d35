"""The GCP program under Pulumi's mock runtime: golden graphs of every example and the rules they encode.

Artifacts are stand-ins with a hash derived from the function name, so the golden files change when
the program changes, not when someone edits the runtime or an example's code. Examples without
`clouds.gcp.project` are planned with the project `demo-project` (check() rejects them as they are).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from deployer import plan, providers
from deployer.blueprint.load import load_blueprint
from deployer.providers import Artifact

from conftest import BLUEPRINTS, EXAMPLES

# pulumi_gcp.storage imports a deprecated alias of its own when the program uses it
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROJECT = "demo-project"
ENV = {k: v for k, v in os.environ.items() if k != "GCP_PROJECT"}  # orders: project defaults to orders-demo
PUBSUB_AGENT = "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
DOCUMENTED_PROJECT_ROLES = {"roles/datastore.user", "roles/datastore.viewer", "roles/eventarc.eventReceiver",
                            "roles/pubsub.publisher"}


def with_project(bp):
    if bp.clouds.gcp.project:
        return bp
    gcp = bp.clouds.gcp.model_copy(update={"project": PROJECT})
    return bp.model_copy(update={"clouds": bp.clouds.model_copy(update={"gcp": gcp})})


def fake_artifacts(bp, salt: str = "") -> dict[str, Artifact]:
    return {f: Artifact(f, Path(f"/build/{f}.zip"), hashlib.sha256((f + salt).encode()).hexdigest(), 1)
            for f in bp.functions}


def run_plan(bp, artifacts=None, config=None):
    provider = providers.get("gcp")
    if config:  # extra stack config (deployer:deleteData) for one run
        base = provider.stack_config
        provider.stack_config = lambda b: {**base(b), **config}
    return plan.run(provider, bp, artifacts or fake_artifacts(bp))


@functools.lru_cache(maxsize=None)
def example_plan(name: str):
    bp = with_project(load_blueprint(BLUEPRINTS / name / "deployer.yaml", env=ENV))
    return bp, run_plan(bp)


def by_name(p) -> dict:
    return {r.name: r.inputs for r in p.resources}


def of_type(p, typ: str) -> list:
    return [r for r in p.resources if r.type == typ]


def openapi_doc(p) -> dict:
    contents = by_name(p)["app-api-config"]["openapiDocuments"][0]["document"]["contents"]
    return yaml.safe_load(base64.b64decode(contents))


def readable(p) -> list[dict]:
    """The plan as golden JSON, with the OpenAPI document decoded so a diff shows the routes."""
    out = []
    for r in p.resources:
        item = r.to_json()
        if r.name == "app-api-config":
            item = json.loads(json.dumps(item))
            item["inputs"]["openapiDocuments"][0]["document"]["contents"] = openapi_doc(p)
        out.append(item)
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden_resource_graph(name, golden):
    _, p = example_plan(name)
    golden(f"gcp/{name}.json", readable(p))


def nulls(value, path=""):
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_input_is_resolved(name):
    """No None anywhere: each output the program reads (URLs, emails, names) was answered."""
    _, p = example_plan(name)
    assert [(r.name, n) for r in p.resources for n in nulls(r.inputs)] == []
    if name in ("iot", "orders"):  # a function with a secret env still has a readable URL in the gateway
        assert all(op["x-google-backend"]["address"].startswith("https://")
                   for ops in openapi_doc(p)["paths"].values() for op in ops.values())


# ----------------------------------------------------------------------------------------- functions

def test_source_object_name_carries_the_content_hash():
    bp, p = example_plan("orders")
    inputs = by_name(p)
    sha = "14c2529eb4498c5d1ffd6915d05bf58a91bdda796af59f41d480d11c099d0479"  # sha256(b"api"): fake_artifacts
    assert inputs["fn-api-source"]["name"] == f"functions/api/{sha}.zip"
    source = inputs["fn-api-function"]["buildConfig"]["source"]["storageSource"]
    assert source["object"] == f"functions/api/{sha}.zip"
    assert source["bucket"] == inputs["app-source"]["name"]


def test_only_the_changed_function_and_its_object_change():
    bp, before = example_plan("orders")
    artifacts = {**fake_artifacts(bp), "worker": fake_artifacts(bp, salt="v2")["worker"]}
    after = run_plan(bp, artifacts)
    old, new = by_name(before), by_name(after)
    assert old.keys() == new.keys()
    assert sorted(n for n in old if old[n] != new[n]) == ["fn-worker-function", "fn-worker-source"]


def test_function_settings_environment_and_identity():
    bp, p = example_plan("orders")
    fn = by_name(p)["fn-api-function"]
    assert fn["name"] == "orders-dev-api" and fn["location"] == "us-central1"
    assert fn["buildConfig"]["runtime"] == "python312"
    assert fn["buildConfig"]["entryPoint"] == "http_entry"
    assert fn["buildConfig"]["environmentVariables"] == {"GOOGLE_FUNCTION_SOURCE": "deployer_shim.py"}
    service = fn["serviceConfig"]
    assert service["availableMemory"] == "512M" and service["timeoutSeconds"] == 15
    account = by_name(p)["fn-api-account"]["accountId"]
    assert service["serviceAccountEmail"] == f"{account}@{bp.clouds.gcp.project}.iam.gserviceaccount.com"
    assert service["ingressSettings"] == "ALLOW_ALL"
    assert service["environmentVariables"] == {
        "DEPLOYER_APP": "orders-dev", "DEPLOYER_CLOUD": "gcp", "DEPLOYER_FUNCTION": "api",
        "DEPLOYER_GCP_DATABASE": "orders-dev-db", "DEPLOYER_GCP_PROJECT": "orders-demo",
        "DEPLOYER_KEY_ORDERS": "id",
        "DEPLOYER_STORE_EVENTS": "projects/orders-demo/topics/orders-dev-events",
        "DEPLOYER_STORE_FULFILMENT": "projects/orders-demo/topics/orders-dev-fulfilment",
        "DEPLOYER_STORE_ORDERS": "orders-dev-orders", "LOG_LEVEL": "info"}
    assert by_name(p)["fn-notify-function"]["serviceConfig"]["ingressSettings"] == "ALLOW_INTERNAL_ONLY"


def test_account_ids_fit_gcp_limits_and_every_function_has_its_own():
    for name in EXAMPLES:
        bp, p = example_plan(name)
        ids = [r.inputs["accountId"] for r in of_type(p, "gcp:serviceaccount/account:Account")]
        assert len(ids) == len(set(ids))
        assert all(6 <= len(i) <= 30 and i == i.lower() for i in ids), ids
        runtime = {r.name for r in of_type(p, "gcp:serviceaccount/account:Account") if r.name.endswith("-account")}
        assert {f"fn-{f}-account" for f in bp.functions} <= runtime


def test_secrets_are_masked_in_the_plan():
    _, p = example_plan("iot")
    env = by_name(p)["fn-ingest-function"]["serviceConfig"]["environmentVariables"]
    assert env["INGEST_TOKEN"] == "[secret]"
    assert "test-token" not in json.dumps([r.inputs for r in p.resources])


def test_apis_enabled_and_never_disabled_on_destroy():
    _, p = example_plan("orders")
    services = {r.inputs["service"]: r.inputs for r in of_type(p, "gcp:projects/service:Service")
                if r.name != "app-api-managed-service"}
    assert {"cloudfunctions.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com",
            "run.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com", "firestore.googleapis.com",
            "apigateway.googleapis.com", "servicemanagement.googleapis.com",
            "servicecontrol.googleapis.com"} <= set(services)
    assert "cloudscheduler.googleapis.com" not in services  # orders has no schedule
    for name in EXAMPLES:
        for r in of_type(example_plan(name)[1], "gcp:projects/service:Service"):
            assert r.inputs["disableOnDestroy"] is False, r.name


# -------------------------------------------------------------------------------------------- queues

def test_queue_push_subscription_dead_letter_wiring_and_agent_roles():
    _, p = example_plan("orders")
    res = by_name(p)
    topic, dlq = res["store-fulfilment-topic"], res["store-fulfilment-dlq"]
    push = res["store-fulfilment-push"]
    worker_uri = "https://orders-dev-worker-"
    assert push["topic"] == f"projects/orders-demo/topics/{topic['name']}"
    assert push["deadLetterPolicy"] == {"deadLetterTopic": f"projects/orders-demo/topics/{dlq['name']}",
                                        "maxDeliveryAttempts": 5}
    assert push["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert push["expirationPolicy"] == {"ttl": ""}
    assert push["ackDeadlineSeconds"] == 20  # the worker's timeout
    assert push["pushConfig"]["pushEndpoint"].startswith(worker_uri)
    oidc = push["pushConfig"]["oidcToken"]
    assert oidc["audience"] == push["pushConfig"]["pushEndpoint"]
    assert oidc["serviceAccountEmail"].startswith(res["fn-worker-invoker"]["accountId"] + "@")
    # the dead-letter topic keeps what it receives
    assert res["store-fulfilment-dlq-sub"]["topic"] == f"projects/orders-demo/topics/{dlq['name']}"
    assert "pushConfig" not in res["store-fulfilment-dlq-sub"]
    # the Pub/Sub service agent may forward failed messages, and mint the push token
    assert res["store-fulfilment-dlq-agent-publisher"] == {
        "topic": dlq["name"], "role": "roles/pubsub.publisher", "member": PUBSUB_AGENT, "project": "orders-demo"}
    assert res["store-fulfilment-push-agent-subscriber"] == {
        "subscription": push["name"], "role": "roles/pubsub.subscriber", "member": PUBSUB_AGENT,
        "project": "orders-demo"}
    creator = res["fn-worker-invoker-pubsub-token-creator"]
    assert creator["role"] == "roles/iam.serviceAccountTokenCreator" and creator["member"] == PUBSUB_AGENT
    invoker = res["fn-worker-invoker"]["accountId"]
    assert creator["serviceAccountId"].endswith(f"{invoker}@orders-demo.iam.gserviceaccount.com")


def test_delivery_attempts_follow_retries():
    _, p = example_plan("iot")  # retries: 3 is an error in check(); the program never goes below 5
    assert by_name(p)["store-readings-push"]["deadLetterPolicy"]["maxDeliveryAttempts"] == 5


# --------------------------------------------------------------------------------------- schedules

def test_scheduler_calls_with_oidc_of_an_account_that_may_invoke_that_function_only():
    _, p = example_plan("report")
    res = by_name(p)
    nightly, snapshot = res["fn-nightly-schedule-0"], res["fn-snapshot-schedule-0"]
    assert (nightly["schedule"], nightly["timeZone"]) == ("0 3 * * *", "Europe/Paris")
    assert (snapshot["schedule"], snapshot["timeZone"]) == ("0 * * * *", "UTC")
    target = nightly["httpTarget"]
    assert target["httpMethod"] == "POST" and target["headers"] == {"Content-Type": "application/json"}
    assert json.loads(base64.b64decode(target["body"]))["deployer"] == "schedule"
    assert json.loads(base64.b64decode(target["body"]))["schedule"] == "0 3 * * *"
    assert target["uri"].startswith("https://report-dev-nightly-")
    assert target["oidcToken"]["audience"] == target["uri"]
    email = target["oidcToken"]["serviceAccountEmail"]
    assert email.startswith(res["fn-nightly-invoker"]["accountId"] + "@")
    bindings = [r for r in p.resources if email in json.dumps(r.inputs) and r.name != "fn-nightly-schedule-0"]
    assert [(b.name, b.inputs["role"], b.inputs["name"]) for b in bindings] == [
        ("fn-nightly-invoker-run-invoker", "roles/run.invoker", "report-dev-nightly")]


# ---------------------------------------------------------------------------------- topics, buckets

def test_topic_consumer_has_an_eventarc_trigger_with_an_invoker_account():
    _, p = example_plan("orders")
    res = by_name(p)
    trigger = res["fn-notify-function"]["eventTrigger"]
    assert trigger["eventType"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert trigger["pubsubTopic"] == "projects/orders-demo/topics/orders-dev-events"
    assert trigger["retryPolicy"] == "RETRY_POLICY_RETRY" and trigger["triggerRegion"] == "us-central1"
    assert trigger["serviceAccountEmail"].startswith(res["fn-notify-invoker"]["accountId"] + "@")
    assert res["fn-notify-function"]["buildConfig"]["entryPoint"] == "event_entry"
    invoker = res["fn-notify-invoker-run-invoker"]
    assert (invoker["role"], invoker["name"], invoker["location"]) == ("roles/run.invoker", "orders-dev-notify",
                                                                       "us-central1")
    assert invoker["member"] == "serviceAccount:" + trigger["serviceAccountEmail"]


def test_buckets_are_private_and_triggers_filter_by_bucket_in_its_region():
    _, p = example_plan("images")
    res = by_name(p)
    uploads = res["store-uploads-bucket"]
    assert uploads["uniformBucketLevelAccess"] is True and uploads["publicAccessPrevention"] == "enforced"
    resize, cleanup = res["fn-resize-function"], res["fn-cleanup-function"]
    assert resize["eventTrigger"]["eventType"] == "google.cloud.storage.object.v1.finalized"
    assert cleanup["eventTrigger"]["eventType"] == "google.cloud.storage.object.v1.deleted"
    for fn in (resize, cleanup):
        assert fn["eventTrigger"]["eventFilters"] == [{"attribute": "bucket", "value": uploads["name"]}]
        assert fn["eventTrigger"]["triggerRegion"] == fn["location"] == uploads["location"].lower()
        # prefix/suffix are filtered by the shim, and the plan says so
        assert fn["labels"]["deployer-filter"] == "in-function"
        assert "filters applied in the function" in fn["description"] and "incoming/" in fn["description"]
    assert res["app-gcs-agent-pubsub-publisher"]["member"] == (
        "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com")
    assert res["fn-resize-invoker-eventarc-eventreceiver"]["role"] == "roles/eventarc.eventReceiver"


def test_more_event_sources_become_eventarc_triggers_on_the_same_service(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n")
    (tmp_path / "deployer.yaml").write_text(
        "name: multi\nclouds: {gcp: {project: p1}}\nstores: {t: {kind: topic}, b: {kind: bucket}}\n"
        "functions:\n  f: {code: code, handler: main.run, triggers: [{topic: t}, {bucket: b, on: created},"
        " {bucket: b, on: deleted}]}\n")
    bp = load_blueprint(tmp_path / "deployer.yaml", env=ENV)
    res = by_name(run_plan(bp))
    assert res["fn-f-function"]["eventTrigger"]["eventType"] == "google.cloud.pubsub.topic.v1.messagePublished"
    invoker = res["fn-f-function"]["eventTrigger"]["serviceAccountEmail"]
    created, deleted = res["fn-f-event-1"], res["fn-f-event-2"]
    assert created["matchingCriterias"] == [
        {"attribute": "type", "value": "google.cloud.storage.object.v1.finalized"},
        {"attribute": "bucket", "value": res["store-b-bucket"]["name"]}]
    assert deleted["matchingCriterias"][0]["value"] == "google.cloud.storage.object.v1.deleted"
    for trigger in (created, deleted):
        assert trigger["destination"] == {"cloudRunService": {"service": "multi-dev-f", "region": "us-central1"}}
        assert trigger["serviceAccount"] == invoker and trigger["location"] == "us-central1"
    assert res["fn-f-invoker-eventarc-eventreceiver"]["role"] == "roles/eventarc.eventReceiver"


# ------------------------------------------------------------------------------------------------ IAM

def test_store_roles_are_granted_on_the_store_itself():
    _, p = example_plan("images")
    res = by_name(p)
    assert res["fn-resize-uploads-storage-objectviewer"]["bucket"] == res["store-uploads-bucket"]["name"]
    assert res["fn-resize-uploads-storage-objectviewer"]["role"] == "roles/storage.objectViewer"
    assert res["fn-resize-thumbnails-storage-objectuser"]["bucket"] == res["store-thumbnails-bucket"]["name"]
    _, p = example_plan("orders")
    res = by_name(p)
    assert res["fn-api-events-pubsub-publisher"]["topic"] == "orders-dev-events"
    assert res["fn-api-events-pubsub-publisher"]["role"] == "roles/pubsub.publisher"


def test_no_project_level_binding_beyond_the_documented_ones():
    for name in EXAMPLES:
        _, p = example_plan(name)
        for r in of_type(p, "gcp:projects/iAMMember:IAMMember"):
            assert r.inputs["role"] in DOCUMENTED_PROJECT_ROLES, (name, r.name)
            if r.inputs["role"].startswith("roles/datastore."):
                database = f"projects/{r.inputs['project']}/databases/{p.app}-db"
                assert r.inputs["condition"]["expression"] == f'resource.name == "{database}"'
            if r.inputs["role"] == "roles/pubsub.publisher":
                assert "gs-project-accounts" in r.inputs["member"]
        assert "allUsers" not in json.dumps([r.inputs for r in p.resources])
        assert not [r for r in p.resources if r.type.startswith("gcp:projects/iAM") and "Member" not in r.type]


def test_firestore_database_per_app_and_read_only_tables():
    _, p = example_plan("report")
    res = by_name(p)
    assert res["app-firestore"]["name"] == "report-dev-db" and res["app-firestore"]["type"] == "FIRESTORE_NATIVE"
    assert res["app-firestore"]["deletionPolicy"] == "ABANDON"
    assert res["fn-nightly-sales-datastore-viewer"]["role"] == "roles/datastore.viewer"
    assert res["fn-record-sales-datastore-user"]["role"] == "roles/datastore.user"


# ----------------------------------------------------------------------------------------------- HTTP

def test_api_gateway_routes_every_route_to_its_function():
    _, p = example_plan("orders")
    res = by_name(p)
    doc = openapi_doc(p)
    assert doc["swagger"] == "2.0"
    assert sorted((path, verb) for path, ops in doc["paths"].items() for verb in ops) == [
        ("/orders", "get"), ("/orders", "options"), ("/orders", "post"), ("/orders/{id}", "get"),
        ("/orders/{id}", "options")]  # orders sets http.cors: preflight requests go to the function
    assert doc["paths"]["/orders"]["options"]["x-google-backend"] == doc["paths"]["/orders"]["post"]["x-google-backend"]
    op = doc["paths"]["/orders/{id}"]["get"]
    assert op["parameters"] == [{"name": "id", "in": "path", "required": True, "type": "string"}]
    backend = op["x-google-backend"]
    assert backend["path_translation"] == "APPEND_PATH_TO_ADDRESS"
    assert backend["address"].startswith("https://orders-dev-api-") and backend["jwt_audience"] == backend["address"]
    assert doc["x-google-endpoints"][0]["allowCors"] is True  # orders sets http.cors
    gateway_sa = res["app-api-config"]["gatewayConfig"]["backendConfig"]["googleServiceAccount"]
    assert gateway_sa.startswith(res["app-gateway-account"]["accountId"] + "@")
    assert res["fn-api-gateway-invoker"] == {"name": "orders-dev-api", "location": "us-central1",
                                             "project": "orders-demo", "role": "roles/run.invoker",
                                             "member": "serviceAccount:" + gateway_sa}
    assert res["app-api-gateway"]["region"] == "us-central1"
    assert res["app-api-managed-service"]["service"].endswith(".apigateway.orders-demo.cloud.goog")


def test_any_method_and_several_functions_in_one_document():
    from providers.gcp.http import openapi

    doc = yaml.safe_load(openapi("t", [("ANY", "/a/{rest}", "f"), ("GET", "/b", "g")],
                                 {"f": "https://f", "g": "https://g"}, {"f": 10, "g": 20}, None))
    assert sorted(doc["paths"]["/a/{rest}"]) == ["delete", "get", "head", "options", "patch", "post", "put"]
    assert doc["paths"]["/b"]["get"]["x-google-backend"]["address"] == "https://g"
    assert doc["paths"]["/b"]["get"]["x-google-backend"]["deadline"] == 20.0
    assert "x-google-endpoints" not in doc
    text = openapi("t", [("ANY", "/a/{rest}", "f")], {"f": "https://f"}, {"f": 10}, "svc.example")
    assert "&id" not in text and "*id" not in text  # every operation spelled out, no YAML aliases


# --------------------------------------------------------------------------------- stateful stores

def test_stores_are_retained_unless_delete_data(monkeypatch):
    import pulumi

    seen: dict[str, bool | None] = {}

    def record(args):
        seen[args.name] = args.opts.retain_on_delete
        return None

    provider = providers.get("gcp")
    original = provider.program

    def program(bp, artifacts):
        inner = original(bp, artifacts)

        def run():
            pulumi.runtime.register_stack_transformation(record)
            inner()
        return run

    monkeypatch.setattr(provider, "program", program)
    bp = with_project(load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml", env=ENV))
    plan.run(provider, bp, fake_artifacts(bp))
    stateful = {"app-firestore", "store-fulfilment-topic", "store-fulfilment-dlq", "store-fulfilment-dlq-sub"}
    assert {n for n, keep in seen.items() if keep} == stateful
    seen.clear()
    base = provider.stack_config
    monkeypatch.setattr(provider, "stack_config", lambda b: {**base(b), "deployer:deleteData": "true"})
    deleted = plan.run(provider, bp, fake_artifacts(bp))
    assert not any(seen.values())
    assert by_name(deleted)["app-firestore"]["deletionPolicy"] == "DELETE"


def test_stack_outputs(monkeypatch):
    import pulumi

    outputs: dict = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: pulumi.Output.from_input(value).apply(
        lambda v: outputs.__setitem__(name, v)))
    bp = with_project(load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml", env=ENV))
    run_plan(bp)
    assert outputs["api_url"].startswith("https://orders-dev-gw-") and outputs["api_url"].endswith(".gateway.dev")
    assert sorted(outputs["functions"]) == ["api", "notify", "worker"]
    assert outputs["functions"]["api"].startswith("https://orders-dev-api-")
    assert outputs["stores"] == {"events": "projects/orders-demo/topics/orders-dev-events",
                                 "fulfilment": "projects/orders-demo/topics/orders-dev-fulfilment",
                                 "notifications": "orders-dev-notifications", "orders": "orders-dev-orders"}


def test_stack_config_and_mock_answers():
    provider = providers.get("gcp")
    bp = load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml", env=ENV)
    assert provider.stack_config(bp) == {"gcp:project": "orders-demo", "gcp:region": "us-central1"}
    assert provider.mock_call("gcp:organizations/getProject:getProject", {"projectId": "p"})["number"] == "123456789012"
