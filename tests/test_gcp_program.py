"""The GCP resource graph: golden graphs of every example, the executor under mocks, and the rules they encode.

Artifacts are stand-ins with a hash derived from the function name, so the golden files change when
the graph changes, not when someone edits the runtime or an example's code. Examples without
`clouds.gcp.project` are planned with the project `demo-project`. Outputs known only after deploy show
as references (`${fn-api-function.url}`). IAM and secrets: tests/test_gcp_iam.py.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from pathlib import Path

import pytest
from graph_support import assert_executor_matches_plan

from deployer import plan, providers
from deployer.blueprint.load import load_blueprint
from deployer.providers import Artifact

from conftest import BLUEPRINTS, EXAMPLES

# pulumi_gcp.storage imports a deprecated alias of its own when the executor uses it
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROJECT = "demo-project"
ENV = {k: v for k, v in os.environ.items() if k != "GCP_PROJECT"}  # orders: project defaults to orders-demo


def with_project(bp, project: str = PROJECT):
    if bp.clouds.gcp.project:
        return bp
    gcp = bp.clouds.gcp.model_copy(update={"project": project})
    return bp.model_copy(update={"clouds": bp.clouds.model_copy(update={"gcp": gcp})})


def fake_artifacts(bp, salt: str = "") -> dict[str, Artifact]:
    return {f: Artifact(f, Path(f"/build/{f}.zip"), hashlib.sha256((f + salt).encode()).hexdigest(), 1)
            for f in bp.functions}


def run_plan(bp, artifacts=None):
    return plan.run(providers.get("gcp"), bp, artifacts or fake_artifacts(bp))


@functools.lru_cache(maxsize=None)
def example_plan(name: str):
    bp = with_project(load_blueprint(BLUEPRINTS / name / "deployer.yaml", env=ENV))
    return bp, run_plan(bp)


def tiny(tmp_path, body: str):
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "main.py").write_text("def run(event):\n    return None\n")
    (tmp_path / "deployer.yaml").write_text(body)
    return load_blueprint(tmp_path / "deployer.yaml", env=ENV)


def by_name(p) -> dict:
    return {r.name: r.inputs for r in p.resources}


def options(p) -> dict:
    return {r.name: r.options for r in p.resources}


def of_type(p, typ: str) -> list:
    return [r for r in p.resources if r.type == typ]


def openapi_doc(p) -> dict:
    contents = by_name(p)["app-api-config"]["openapiDocuments"][0]["document"]["contents"]
    return json.loads(base64.b64decode(contents))


def readable(p) -> list[dict]:
    """The plan as golden JSON, with the OpenAPI document decoded so a diff shows the routes."""
    out = []
    for r in p.resources:
        item = json.loads(json.dumps(r.to_json()))
        if r.name == "app-api-config":
            item["inputs"]["openapiDocuments"][0]["document"]["contents"] = openapi_doc(p)
        out.append(item)
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden_resource_graph(name, golden):
    _, p = example_plan(name)
    golden(f"gcp/{name}.json", {"resources": readable(p), "outputs": p.outputs})


DEFAULT_QUEUE = """\
name: defaults
clouds: {gcp: {project: p-123456}}
stores:
  jobs: {kind: queue}
functions:
  work: {code: code, handler: main.run, triggers: [{queue: jobs}]}
"""


@pytest.mark.parametrize("name", [*EXAMPLES, "default-queue"])
def test_executor_registers_exactly_the_plan(name, tmp_path):
    """The executor (up's program) under Pulumi's mocks registers the plan: every resource, input and option."""
    bp = tiny(tmp_path, DEFAULT_QUEUE) if name == "default-queue" else example_plan(name)[0]
    planned = assert_executor_matches_plan(providers.get("gcp"), bp, fake_artifacts(bp))
    assert planned.resources


def test_no_pulumi_in_provider_modules_and_no_mocks():
    folder = Path(providers.get("gcp").__module__.replace(".", "/")).parent
    root = Path(__file__).resolve().parent.parent / folder
    assert not (root / "mocks.py").exists()
    for module in root.glob("*.py"):
        text = module.read_text()
        assert "import pulumi" not in text and "from pulumi" not in text, module.name


# ----------------------------------------------------------------------------------------- project

def test_plan_without_a_project_uses_a_placeholder_and_warns(cli, tmp_path):
    tiny(tmp_path, DEFAULT_QUEUE.replace("clouds: {gcp: {project: p-123456}}\n", ""))
    result = cli("plan", "--file", str(tmp_path / "deployer.yaml"), "--cloud", "gcp", "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)
    assert [w["path"] for w in planned["warnings"]] == ["clouds.gcp.project"]
    source = next(r for r in planned["resources"] if r["name"] == "app-source")
    assert source["inputs"]["name"] == "defaults-dev-source-gcp-project-not-set"


def test_up_without_a_project_is_a_usage_error(cli, tmp_path):
    tiny(tmp_path, DEFAULT_QUEUE.replace("clouds: {gcp: {project: p-123456}}\n", ""))
    result = cli("up", "--file", str(tmp_path / "deployer.yaml"), "--cloud", "gcp", "--yes", env=ENV)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "clouds.gcp.project is not set" in result.stdout + result.stderr


def test_bucket_names_carry_the_project_id_and_the_check_demands_it():
    from deployer.resources.checks import check

    bp, p = example_plan("images")
    assert by_name(p)["store-uploads-bucket"]["name"] == "images-dev-uploads-images-demo"
    graph = p.graph
    provider = providers.get("gcp")
    assert check(graph, provider.sdk_index(), provider.graph_rules(), bp) == []
    other = type(graph)(graph.cloud, graph.project, graph.stack, graph.resources, graph.calls, graph.outputs,
                        {**graph.config, "gcp:project": "someone-else"})
    found = [d.message for d in check(other, provider.sdk_index(), provider.graph_rules(), bp)]
    assert "store-uploads-bucket: bucket name 'images-dev-uploads-images-demo' must be unique worldwide but " \
           "holds nothing specific to this account" in found


# ----------------------------------------------------------------------------------------- functions

def test_source_object_name_carries_the_content_hash():
    bp, p = example_plan("orders")
    inputs = by_name(p)
    sha = "14c2529eb4498c5d1ffd6915d05bf58a91bdda796af59f41d480d11c099d0479"  # sha256(b"api"): fake_artifacts
    assert inputs["fn-api-source"]["name"] == f"functions/api/{sha}.zip"
    source = inputs["fn-api-function"]["buildConfig"]["source"]["storageSource"]
    assert source == {"bucket": "${app-source.name}", "object": "${fn-api-source.name}"}


def test_only_the_changed_function_and_its_object_change():
    bp, before = example_plan("orders")
    artifacts = {**fake_artifacts(bp), "worker": fake_artifacts(bp, salt="v2")["worker"]}
    after = run_plan(bp, artifacts)
    old, new = by_name(before), by_name(after)
    assert old.keys() == new.keys()
    assert sorted(n for n in old if old[n] != new[n]) == ["fn-worker-source"]  # the function reads its name


def test_function_settings_environment_identity_and_build_account():
    _, p = example_plan("orders")
    fn = by_name(p)["fn-api-function"]
    assert fn["name"] == "orders-dev-api" and fn["location"] == "us-central1"
    build = fn["buildConfig"]
    assert (build["runtime"], build["entryPoint"]) == ("python312", "http_entry")
    assert build["environmentVariables"] == {"GOOGLE_FUNCTION_SOURCE": "deployer_shim.py"}
    assert build["serviceAccount"] == "${app-build-account.name}"
    service = fn["serviceConfig"]
    assert service["availableMemory"] == "512M" and service["timeoutSeconds"] == 15
    assert service["serviceAccountEmail"] == "${fn-api-account.email}"
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
        assert {f"fn-{f}-account" for f in bp.functions} | {"app-build-account"} <= runtime


def test_apis_enabled_never_disabled_and_each_resource_waits_for_its_own():
    _, p = example_plan("orders")
    services = {r.inputs["service"] for r in of_type(p, "gcp:projects/service:Service")
                if r.name != "app-api-managed-service"}
    assert services == {f"{api}.googleapis.com" for api in (
        "apigateway", "artifactregistry", "cloudbuild", "cloudfunctions", "cloudresourcemanager", "eventarc",
        "firestore", "iam", "logging", "pubsub", "run", "servicecontrol", "servicemanagement", "storage")}
    assert "secretmanager.googleapis.com" in {r.inputs["service"] for r in
                                              of_type(example_plan("iot")[1], "gcp:projects/service:Service")}
    for name in EXAMPLES:
        for r in of_type(example_plan(name)[1], "gcp:projects/service:Service"):
            assert r.inputs["disableOnDestroy"] is False, r.name
    deps = options(p)
    assert "app-api-cloudresourcemanager" in deps["fn-api-datastore-user"]["depends_on"]
    assert {"app-api-pubsub"} <= set(deps["app-pubsub-agent"]["depends_on"])
    assert {"app-api-cloudfunctions", "app-api-cloudbuild", "app-api-run"} <= set(deps["fn-api-function"]["depends_on"])
    assert "app-api-pubsub" not in deps["fn-api-account"]["depends_on"]


# -------------------------------------------------------------------------------------------- queues

def test_a_consumed_queue_has_one_kept_subscription_pushing_to_a_private_path():
    _, p = example_plan("orders")
    res = by_name(p)
    push = res["store-fulfilment-sub"]
    assert not {"store-fulfilment-push", "store-fulfilment-pull"} & set(res)
    subscriptions = [r.name for r in of_type(p, "gcp:pubsub/subscription:Subscription")
                     if r.name.startswith("store-fulfilment-") and r.name != "store-fulfilment-dlq-sub"]
    assert subscriptions == ["store-fulfilment-sub"]
    assert push["name"] == "orders-dev-fulfilment-sub"
    assert options(p)["store-fulfilment-sub"]["retain_on_delete"] is True  # kept by destroy, with its backlog
    assert push["topic"] == "projects/orders-demo/topics/orders-dev-fulfilment"
    assert push["deadLetterPolicy"] == {"deadLetterTopic": "${store-fulfilment-dlq.id}", "maxDeliveryAttempts": 5}
    assert push["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert push["expirationPolicy"] == {"ttl": ""} and push["ackDeadlineSeconds"] == 20  # the worker's timeout
    assert push["pushConfig"] == {"pushEndpoint": "${fn-worker-function.url}/_deployer/push",
                                  "oidcToken": {"serviceAccountEmail": "${fn-worker-invoker.email}",
                                                "audience": "${fn-worker-function.url}"}}
    assert "/_deployer" not in json.dumps(openapi_doc(p))  # the gateway never routes the push path
    assert res["store-fulfilment-dlq-sub"]["topic"] == "${store-fulfilment-dlq.id}"
    agent = "${app-pubsub-agent.member}"
    assert res["store-fulfilment-dlq-agent-publisher"] == {
        "topic": "${store-fulfilment-dlq.name}", "role": "roles/pubsub.publisher", "member": agent,
        "project": "orders-demo"}
    assert res["store-fulfilment-sub-agent-subscriber"] == {
        "subscription": "${store-fulfilment-sub.name}", "role": "roles/pubsub.subscriber", "member": agent,
        "project": "orders-demo"}
    assert res["app-pubsub-agent"] == {"project": "orders-demo", "service": "pubsub.googleapis.com"}
    creator = res["fn-worker-invoker-pubsub-token-creator"]
    assert creator == {"serviceAccountId": "${fn-worker-invoker.name}", "role": "roles/iam.serviceAccountTokenCreator",
                       "member": agent}
    assert {"fn-worker-invoker-run-invoker", "fn-worker-invoker-pubsub-token-creator",
            "store-fulfilment-dlq-agent-publisher"} <= set(options(p)["store-fulfilment-sub"]["depends_on"])


RETRIES = """\
name: tries
clouds: {gcp: {project: p-123456}}
stores:
  jobs: {kind: queue, retries: RETRIES}
functions:
  work: {code: code, handler: main.run, triggers: [{queue: jobs}]}
"""


@pytest.mark.parametrize("retries, attempts, shim", [(1, 5, True), (3, 5, True), (4, 5, True), (5, 5, False),
                                                      (7, 7, False), (100, 100, False)])
def test_retries_are_honoured_exactly(tmp_path, retries, attempts, shim):
    """Pub/Sub's policy holds `retries` (at least its minimum of 5); below 5 the shim is told the real number
    and may publish to the dead-letter topic (tests/test_shim_gcp_events.py runs it)."""
    bp = tiny(tmp_path, RETRIES.replace("RETRIES", str(retries)))
    res = by_name(run_plan(bp))
    assert res["store-jobs-sub"]["deadLetterPolicy"]["maxDeliveryAttempts"] == attempts
    env = res["fn-work-function"]["serviceConfig"]["environmentVariables"]
    assert json.loads(env["DEPLOYER_GCP_QUEUES"]) == {
        "tries-dev-jobs-sub": {"queue": "jobs", "retries": retries,
                                "dead_letter": "projects/p-123456/topics/tries-dev-jobs-dlq"}}
    # the shim finds a queue by the subscription name of a push envelope: the subscription's own name
    assert set(json.loads(env["DEPLOYER_GCP_QUEUES"])) == {res["store-jobs-sub"]["name"]}
    assert env["DEPLOYER_GCP_INVOKER"] == "${fn-work-invoker.email}"
    publisher = res.get("fn-work-jobs-dlq-publisher")
    assert (publisher is not None) == shim
    if shim:
        assert publisher == {"topic": "${store-jobs-dlq.name}", "project": "p-123456", "role": "roles/pubsub.publisher",
                             "member": "${fn-work-account.member}"}


def test_a_queue_without_a_consumer_has_the_same_subscription_pulling(tmp_path):
    """The same logical and physical subscription as with a consumer, without push config: gaining or
    losing a consumer updates it in place (its backlog stays), nothing is left behind in the cloud."""
    bp = tiny(tmp_path, RETRIES.replace("RETRIES", "5"))
    consumed = run_plan(bp)
    bp = tiny(tmp_path, RETRIES.replace("RETRIES", "5").replace("triggers: [{queue: jobs}]", "uses: {jobs: publish}"))
    unconsumed = run_plan(bp)
    pushing, pulling = by_name(consumed)["store-jobs-sub"], by_name(unconsumed)["store-jobs-sub"]
    assert "pushConfig" in pushing and "pushConfig" not in pulling
    assert pulling == {"name": "tries-dev-jobs-sub", "topic": "projects/p-123456/topics/tries-dev-jobs",
                       "project": "p-123456", "ackDeadlineSeconds": 60, "messageRetentionDuration": "604800s",
                       "expirationPolicy": {"ttl": ""},
                       "retryPolicy": {"minimumBackoff": "10s", "maximumBackoff": "600s"},
                       "deadLetterPolicy": {"deadLetterTopic": "${store-jobs-dlq.id}", "maxDeliveryAttempts": 5},
                       "labels": {"deployer-app": "tries-dev", "deployer-store": "jobs"}}
    assert {k: v for k, v in pushing.items() if k not in ("pushConfig", "ackDeadlineSeconds", "labels")} == \
        {k: v for k, v in pulling.items() if k not in ("ackDeadlineSeconds", "labels")}
    assert options(unconsumed)["store-jobs-sub"]["retain_on_delete"] is True
    for p in (consumed, unconsumed):
        subscriptions = {r.name for r in of_type(p, "gcp:pubsub/subscription:Subscription")}
        assert subscriptions == {"store-jobs-sub", "store-jobs-dlq-sub"}
    assert "store-jobs-sub-agent-subscriber" in by_name(unconsumed)


def test_the_detached_graph_pushes_nowhere():
    """A keeping destroy's first update (engine._destroy_keeping): every queue subscription pulls, so none
    calls a function this destroy deletes; everything else is the graph of `up`, and it passes the checks."""
    bp, attached = example_plan("orders")
    gcp = providers.get("gcp")
    graph = gcp.compile(bp, fake_artifacts(bp), detach=True)
    plan.check_graph(gcp, bp, graph)  # raises on any graph error
    detached = plan.run(gcp, bp, fake_artifacts(bp), graph=graph)
    pulling, pushing = by_name(detached)["store-fulfilment-sub"], by_name(attached)["store-fulfilment-sub"]
    assert "pushConfig" not in pulling and "pushConfig" in pushing
    assert pulling == {k: v for k, v in pushing.items() if k != "pushConfig"}
    assert options(detached)["store-fulfilment-sub"]["retain_on_delete"] is True
    assert [r.name for r in detached.resources] == [r.name for r in attached.resources]
    assert not [r for r in detached.resources if "pushConfig" in r.inputs]
    assert gcp.detaches_on_keep and not providers.get("aws").detaches_on_keep
    assert not providers.get("azure").detaches_on_keep


# --------------------------------------------------------------------------------------- schedules

def test_scheduler_calls_a_private_path_as_an_account_that_may_invoke_that_function_only():
    _, p = example_plan("report")
    res = by_name(p)
    nightly, snapshot = res["fn-nightly-schedule-0"], res["fn-snapshot-schedule-0"]
    assert (nightly["schedule"], nightly["timeZone"]) == ("0 3 * * *", "Europe/Paris")
    assert (snapshot["schedule"], snapshot["timeZone"]) == ("0 * * * *", "UTC")
    target = nightly["httpTarget"]
    assert target["httpMethod"] == "POST" and target["headers"] == {"Content-Type": "application/json"}
    assert json.loads(base64.b64decode(target["body"]))["schedule"] == "0 3 * * *"
    assert target["uri"] == "${fn-nightly-function.url}/_deployer/schedule"
    assert target["oidcToken"] == {"serviceAccountEmail": "${fn-nightly-invoker.email}",
                                   "audience": "${fn-nightly-function.url}"}
    bindings = [r for r in p.resources if "${fn-nightly-invoker.member}" in json.dumps(r.inputs)]
    assert [(b.name, b.inputs["role"], b.inputs["name"]) for b in bindings] == [
        ("fn-nightly-invoker-run-invoker", "roles/run.invoker", "report-dev-nightly")]
    assert "fn-nightly-invoker-run-invoker" in options(p)["fn-nightly-schedule-0"]["depends_on"]


# ---------------------------------------------------------------------------------- topics, buckets

def test_topic_consumer_has_an_eventarc_trigger_with_an_invoker_account():
    _, p = example_plan("orders")
    res = by_name(p)
    trigger = res["fn-notify-function"]["eventTrigger"]
    assert trigger == {"eventType": "google.cloud.pubsub.topic.v1.messagePublished",
                       "pubsubTopic": "projects/orders-demo/topics/orders-dev-events", "triggerRegion": "us-central1",
                       "retryPolicy": "RETRY_POLICY_RETRY", "serviceAccountEmail": "${fn-notify-invoker.email}"}
    assert res["fn-notify-function"]["buildConfig"]["entryPoint"] == "event_entry"
    assert res["fn-notify-invoker-run-invoker"] == {"name": "orders-dev-notify", "location": "us-central1",
                                                    "project": "orders-demo", "role": "roles/run.invoker",
                                                    "member": "${fn-notify-invoker.member}"}
    # older projects: the Pub/Sub agent must mint the trigger's tokens, before the trigger exists
    assert "fn-notify-invoker-pubsub-token-creator" in options(p)["fn-notify-function"]["depends_on"]


def test_bucket_triggers_wait_for_the_grants_they_need():
    _, p = example_plan("images")
    res, deps = by_name(p), options(p)
    uploads = res["store-uploads-bucket"]
    assert uploads["uniformBucketLevelAccess"] is True and uploads["publicAccessPrevention"] == "enforced"
    resize, cleanup = res["fn-resize-function"], res["fn-cleanup-function"]
    assert resize["eventTrigger"]["eventType"] == "google.cloud.storage.object.v1.finalized"
    assert cleanup["eventTrigger"]["eventType"] == "google.cloud.storage.object.v1.deleted"
    for name, fn in (("resize", resize), ("cleanup", cleanup)):
        assert fn["eventTrigger"]["eventFilters"] == [{"attribute": "bucket", "value": "${store-uploads-bucket.name}"}]
        assert fn["eventTrigger"]["triggerRegion"] == fn["location"] == uploads["location"].lower()
        assert fn["labels"]["deployer-filter"] == "in-function"
        assert {"app-gcs-agent-pubsub-publisher", f"fn-{name}-invoker-eventarc-eventreceiver",
                f"fn-{name}-invoker-pubsub-token-creator"} <= set(deps[f"fn-{name}-function"]["depends_on"])
    assert res["app-gcs-agent-pubsub-publisher"]["member"] == "${getProjectServiceAccount.member}"


def test_more_event_sources_become_eventarc_triggers_on_the_same_service(tmp_path):
    bp = tiny(tmp_path, "name: multi\nclouds: {gcp: {project: p1-abc}}\nstores: {t: {kind: topic}, b: {kind: bucket}}\n"
                        "functions:\n  f: {code: code, handler: main.run, triggers: [{topic: t}, {bucket: b, on: created},"
                        " {bucket: b, on: deleted}]}\n")
    p = run_plan(bp)
    res = by_name(p)
    assert res["fn-f-function"]["eventTrigger"]["eventType"] == "google.cloud.pubsub.topic.v1.messagePublished"
    created, deleted = res["fn-f-event-1"], res["fn-f-event-2"]
    assert created["matchingCriterias"] == [
        {"attribute": "type", "value": "google.cloud.storage.object.v1.finalized"},
        {"attribute": "bucket", "value": "${store-b-bucket.name}"}]
    assert deleted["matchingCriterias"][0]["value"] == "google.cloud.storage.object.v1.deleted"
    for name, trigger in (("fn-f-event-1", created), ("fn-f-event-2", deleted)):
        assert trigger["destination"] == {"cloudRunService": {"service": "multi-dev-f", "region": "us-central1"}}
        assert trigger["serviceAccount"] == "${fn-f-invoker.email}" and trigger["location"] == "us-central1"
        assert {"fn-f-function", "fn-f-invoker-run-invoker"} <= set(options(p)[name]["depends_on"])


# ----------------------------------------------------------------------------------------------- HTTP

def test_api_gateway_routes_every_route_to_its_function():
    _, p = example_plan("orders")
    res = by_name(p)
    doc = openapi_doc(p)
    assert doc["swagger"] == "2.0"
    assert sorted((path, verb) for path, ops in doc["paths"].items() for verb in ops) == [
        ("/orders", "get"), ("/orders", "head"), ("/orders", "options"), ("/orders", "post"),
        ("/orders/{id}", "get"), ("/orders/{id}", "head"), ("/orders/{id}", "options")]
    op = doc["paths"]["/orders/{id}"]["get"]
    assert op["parameters"] == [{"name": "id", "in": "path", "required": True, "type": "string"}]
    assert op["x-google-backend"] == {"address": "${fn-api-function.url}", "path_translation": "APPEND_PATH_TO_ADDRESS",
                                      "jwt_audience": "${fn-api-function.url}", "deadline": 15}
    assert doc["x-google-endpoints"] == [{"name": "${app-api.managed_service}", "allowCors": True}]
    assert res["app-api-config"]["gatewayConfig"] == {"backendConfig": {"googleServiceAccount": "${app-gateway-account.email}"}}
    assert res["fn-api-gateway-invoker"] == {"name": "orders-dev-api", "location": "us-central1",
                                             "project": "orders-demo", "role": "roles/run.invoker",
                                             "member": "${app-gateway-account.member}"}
    assert res["app-api-managed-service"]["service"] == "${app-api.managed_service}"
    assert p.outputs["api_url"] == "https://${app-api-gateway.default_hostname}"


def test_greedy_paths_unique_operation_ids_and_head():
    from providers.gcp.http import openapi

    routes = [("GET", "/files/{path+}", "f"), ("GET", "/orders/{id}", "f"), ("GET", "/orders/id", "g"),
              ("ANY", "/a/{rest}", "g")]
    doc = openapi("t", routes, {"f": "https://f", "g": "https://g"}, {"f": 10, "g": 20})
    assert "/files/{path=**}" in doc["paths"]  # one segment would be {path}: /files/a/b a 404
    assert doc["paths"]["/files/{path=**}"]["get"]["parameters"][0]["name"] == "path"
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), ids
    assert sorted(doc["paths"]["/orders/{id}"]) == ["get", "head"]
    assert sorted(doc["paths"]["/a/{rest}"]) == ["delete", "get", "head", "options", "patch", "post", "put"]
    assert doc["paths"]["/orders/id"]["get"]["x-google-backend"]["deadline"] == 20
    assert "x-google-endpoints" not in doc


# --------------------------------------------------------------------------------- stateful stores

def test_stores_are_retained_unless_delete_data():
    bp, p = example_plan("orders")
    kept = {r.name for r in p.resources if r.options.get("retain_on_delete")}
    assert kept == {"app-firestore", "store-fulfilment-topic", "store-fulfilment-sub", "store-fulfilment-dlq",
                    "store-fulfilment-dlq-sub",
                    "app-eventarc-agent-serviceagent"}  # the Eventarc agent's role: every stack's identical grant
    graph = providers.get("gcp").compile(bp, fake_artifacts(bp), keep_data=False)
    assert {r.name for r in graph.retained()} == {"app-eventarc-agent-serviceagent"}
    assert graph.by_name()["app-firestore"].inputs["deletion_policy"] == "DELETE"
    images = example_plan("images")[0]
    shared = providers.get("gcp").compile(images, fake_artifacts(images), keep_data=False)
    assert {r.name for r in shared.retained()} == {"app-gcs-agent-pubsub-publisher",  # shared by every stack
                                                   "app-eventarc-agent-serviceagent"}


def test_stack_outputs():
    _, p = example_plan("orders")
    assert p.outputs == {
        "api_url": "https://${app-api-gateway.default_hostname}",
        "functions": {"api": "${fn-api-function.url}", "notify": "${fn-notify-function.url}",
                      "worker": "${fn-worker-function.url}"},
        "stores": {"orders": "orders-dev-orders", "notifications": "orders-dev-notifications",
                   "events": "projects/orders-demo/topics/orders-dev-events",
                   "fulfilment": "projects/orders-demo/topics/orders-dev-fulfilment"},
        "deployer_stores": {"events": {"kind": "topic"}, "fulfilment": {"kind": "queue"},
                            "notifications": {"kind": "table", "key": "id"}, "orders": {"kind": "table", "key": "id"}}}


def test_stack_config():
    provider = providers.get("gcp")
    bp = load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml", env=ENV)
    assert provider.stack_config(bp) == {"gcp:project": "orders-demo", "gcp:region": "us-central1"}


EXISTING = """\
name: ex
clouds: {gcp: {project: p-123456, existing: {jobs: projects/shared-proj/topics/jobs}}}
stores:
  uploads: {kind: bucket, existing: company-uploads}
  events: {kind: topic, existing: events-topic}
  jobs: {kind: queue}
functions:
  f:
    code: code
    handler: main.run
    uses: {uploads: read, events: publish}
    triggers: [{queue: jobs}]
"""


def test_existing_stores_are_read_never_created_and_grants_name_them(tmp_path):
    bp = tiny(tmp_path, EXISTING)
    p = assert_executor_matches_plan(providers.get("gcp"), bp, fake_artifacts(bp))
    read = {r.name: r.options["read"] for r in p.resources if "read" in r.options}
    assert read == {"store-uploads-bucket": "company-uploads", "store-events-topic": "projects/p-123456/topics/events-topic",
                    "store-jobs-topic": "projects/shared-proj/topics/jobs"}
    res = by_name(p)
    assert all(res[name] == {} for name in read)
    assert res["fn-f-uploads-storage-objectviewer"]["bucket"] == "${store-uploads-bucket.name}"
    assert res["fn-f-events-pubsub-publisher"]["topic"] == "${store-events-topic.name}"
    assert res["store-jobs-sub"]["topic"] == "projects/shared-proj/topics/jobs"
    assert options(p)["store-jobs-sub"]["retain_on_delete"] is True  # the subscription is this app's own, kept
    assert "store-jobs-dlq" in res  # the dead-letter topic is this app's own
    assert p.outputs["stores"]["jobs"] == "projects/shared-proj/topics/jobs"
