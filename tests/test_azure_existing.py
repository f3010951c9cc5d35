"""Azure: stores that already exist (`existing:`, their ARM resource id; providers/azure/existing.py).

An existing store is read (never created, changed, kept, adopted or deleted), every grant is scoped to
its own id, its functions reach it by URL with their identity, queue and topic triggers connect to its
account or namespace, and `validate --cloud azure` refuses a wrong form and what Azure cannot wire
(bucket events on another account, a subscription in another Azure subscription) at the field.
"""

from __future__ import annotations

import pytest

from conftest import run_cli, tiny_blueprint
from deployer import plan, secrets
from deployer.resources import lifecycle
from graph_support import assert_executor_matches_plan
from providers.azure import package
from providers.azure.provider import AzureProvider
from test_azure_plan import fake_artifacts

PROVIDER = AzureProvider()
STAGE_SUB = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
DATA_SUB = "9b2d7c1a-5e4f-4a3b-8c6d-2f1e0a9b8c7d"
ACCOUNT = f"/subscriptions/{DATA_SUB}/resourceGroups/shared-data/providers/Microsoft.Storage/storageAccounts/companydata"
UPLOADS = f"{ACCOUNT}/blobServices/default/containers/company-uploads"
CUSTOMERS = f"{ACCOUNT}/tableServices/default/tables/customers"
JOBS = f"{ACCOUNT}/queueServices/default/queues/billing-jobs"
EVENTS = (f"/subscriptions/{STAGE_SUB}/resourceGroups/shared-bus/providers/Microsoft.ServiceBus/namespaces/"
          "company-bus/topics/company-events")
BLUEPRINT = f"""\
name: shop
stores:
  uploads: {{kind: bucket, existing: "{UPLOADS}"}}
  customers: {{kind: table, key: id}}
  jobs: {{kind: queue}}
  events: {{kind: topic}}
  own: {{kind: queue}}
clouds:
  azure:
    existing:
      customers: "{CUSTOMERS}"
      jobs: "{JOBS}"
      events: "{EVENTS}"
functions:
  f:
    code: fn
    handler: main.run
    uses: {{uploads: read-write, customers: read, events: publish, own: publish}}
    triggers: [{{queue: jobs, batch: 4}}, {{topic: events}}]
  g: {{code: fn, handler: main.run, triggers: [{{queue: own}}]}}
"""
READ = {"store-uploads-container": UPLOADS, "store-customers-table": CUSTOMERS, "store-jobs-queue": JOBS,
        "store-jobs-poison": JOBS + "-poison", "store-events-topic": EVENTS}


@pytest.fixture(autouse=True)
def subscription(monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", STAGE_SUB)


@pytest.fixture
def shop(tmp_path):
    return tiny_blueprint(tmp_path, BLUEPRINT)


@pytest.fixture
def planned(shop) -> dict[str, plan.PlannedResource]:
    with secrets.placeholders():
        return {r.name: r for r in plan.run(PROVIDER, shop, fake_artifacts(shop)).resources}


def settings(app: plan.PlannedResource) -> dict[str, object]:
    return {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}


def test_golden_graph(shop, golden):
    with secrets.placeholders():
        p = plan.run(PROVIDER, shop, fake_artifacts(shop))
    graph = sorted((r.to_json() for r in p.resources), key=lambda r: (r["group"], r["name"]))
    golden("azure/existing.json", {"resources": graph, "outputs": p.outputs})


def test_existing_stores_are_read_by_id_and_never_in_the_created_set(shop, planned):
    assert {name: r.options["read"] for name, r in planned.items() if "read" in r.options} == READ
    assert all(planned[name].inputs == {} and set(planned[name].options) == {"read"} for name in READ)
    store_types = {planned[name].type for name in READ}
    created = [r for r in planned.values() if r.type in store_types and "read" not in r.options]
    assert sorted(r.name for r in created) == [  # stores of the stage's own only, none declared anew
        "app-azure-webjobs-hosts", "app-azure-webjobs-secrets", "fn-f-deployment", "fn-g-deployment",
        "store-own-poison", "store-own-queue"]
    names = {v for r in created for k, v in r.inputs.items() if k.endswith("Name") and isinstance(v, str)}
    assert not names & {"company-uploads", "customers", "billing-jobs", "billing-jobs-poison", "company-events"}
    assert "app-servicebus" not in planned  # no namespace of the stage's own: its one topic exists
    assert planned["store-own-queue"].options == {"retain_on_delete": True}  # a store of its own is unchanged
    assert_executor_matches_plan(PROVIDER, shop, fake_artifacts(shop))


def test_grants_are_scoped_to_the_existing_resources_themselves(planned):
    roles = {name.removeprefix("fn-f-role-"): (r.inputs["scope"], r.inputs["roleDefinitionId"].split("/")[2])
             for name, r in planned.items() if name.startswith("fn-f-role-") and "webjobs" not in name
             and "deployment" not in name}
    subscription = EVENTS + "/subscriptions/shop-dev-f"
    assert roles == {
        "uploads-blob-contributor": (UPLOADS, DATA_SUB), "customers-table-reader": (CUSTOMERS, DATA_SUB),
        "jobs-queue-reader": (JOBS, DATA_SUB), "jobs-queue-processor": (JOBS, DATA_SUB),
        "jobs-poison-queue-contributor": (JOBS + "-poison", DATA_SUB), "events-bus-sender": (EVENTS, STAGE_SUB),
        "events-subscription-bus-receiver": (subscription, STAGE_SUB),
        "events-subscription-bus-owner": (subscription, STAGE_SUB),
        "own-queue-sender": (planned["fn-f-role-own-queue-sender"].inputs["scope"], STAGE_SUB)}
    assert planned["fn-f-role-uploads-blob-contributor"].options["depends_on"] == ["store-uploads-container"]


def test_the_subscription_on_an_existing_topic_is_this_stages_own(planned):
    sub = planned["fn-f-subscription-events"]
    assert "read" not in sub.options and "retain_on_delete" not in sub.options
    assert sub.inputs == {"subscriptionName": "shop-dev-f", "namespaceName": "company-bus",
                          "resourceGroupName": "shared-bus", "topicName": "company-events", "maxDeliveryCount": 10,
                          "deadLetteringOnMessageExpiration": True}


def test_functions_reach_existing_stores_by_url_through_connections_of_their_own(planned):
    f, g = settings(planned["fn-f-app"]), settings(planned["fn-g-app"])
    assert {k: v for k, v in f.items() if k.startswith("DEPLOYER_STORE_")} == {
        "DEPLOYER_STORE_UPLOADS": "https://companydata.blob.core.windows.net/company-uploads",
        "DEPLOYER_STORE_CUSTOMERS": "https://companydata.table.core.windows.net/customers",
        "DEPLOYER_STORE_JOBS": "https://companydata.queue.core.windows.net/billing-jobs",
        "DEPLOYER_STORE_EVENTS": "https://company-bus.servicebus.windows.net/company-events",
        "DEPLOYER_STORE_OWN": "shop-dev-own"}
    assert {k: v for k, v in f.items() if k.startswith("Deployer") and k.endswith(("Uri", "Namespace"))} == {
        "DeployerStorage_companydata__queueServiceUri": "https://companydata.queue.core.windows.net",
        "DeployerServiceBus_company_bus__fullyQualifiedNamespace": "company-bus.servicebus.windows.net"}
    assert "DEPLOYER_AZURE_SERVICEBUS" not in f and "DeployerStorage__queueServiceUri" not in f
    assert g["DeployerStorage__queueServiceUri"].endswith(".queue.core.windows.net")  # the stage's own queue
    assert not any(k.startswith("DeployerStorage_companydata") for k in g)


def test_trigger_bindings_name_the_existing_queue_and_topic(shop):
    queue, topic = shop.functions["f"].triggers
    assert package.trigger_binding(shop, "f", 0, queue)[1]["bindings"] == [
        {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": "billing-jobs",
         "connection": "DeployerStorage_companydata"}]
    assert package.trigger_binding(shop, "f", 1, topic)[1]["bindings"] == [
        {"type": "serviceBusTrigger", "direction": "in", "name": "msg", "topicName": "company-events",
         "subscriptionName": "shop-dev-f", "connection": "DeployerServiceBus_company_bus"}]


def test_existing_stores_are_never_kept_adopted_or_replaced(shop):
    graph = PROVIDER.compile(shop, fake_artifacts(shop), keep_data=True)
    assert not [r.name for r in graph.retained() if r.name in READ]
    record = {r.name: {"type": r.type, "id": f"id-of-{r.name}"} for r in graph.resources}  # as if all were kept
    adopted = lifecycle.adopt(graph, record, PROVIDER.graph_rules().not_adopted)
    assert {r.name for r in adopted.resources if r.options.import_id} == {r.name for r in graph.retained()}
    assert all(adopted.by_name()[name].options.read_id == READ[name] for name in READ)


def test_the_ejected_program_reads_the_existing_stores(shop, tmp_path):
    from deployer.resources import eject
    from graph_support import run_ejected

    graph = PROVIDER.compile(shop, fake_artifacts(shop))
    out = tmp_path / "infra"
    eject.eject(graph, PROVIDER.sdk_index(), out, blueprint="deployer.yaml", pulumi_version="3")
    assert f'.get("store-uploads-container", "{UPLOADS}")' in (out / "__main__.py").read_text()
    registered, _ = run_ejected(PROVIDER, graph, out)
    assert registered == {(r.type, r.name): r.inputs for r in plan.render(PROVIDER, shop, graph).resources}


# -- validate --cloud azure ------------------------------------------------------------------------------

def diagnostics(tmp_path, text: str) -> list[tuple[str, str, str, str | None]]:
    bp = tiny_blueprint(tmp_path, text)
    return [(d.severity, d.location.path, d.message, d.hint) for d in PROVIDER.check(bp)
            if "memory" not in d.location.path]


def test_an_existing_store_must_be_named_by_the_id_of_its_kind(tmp_path):
    found = diagnostics(tmp_path, "name: old\nstores:\n  files: {kind: bucket, existing: legacy-files}\n"
                                  f"  jobs: {{kind: queue}}\nclouds:\n  azure:\n    existing: {{jobs: \"{CUSTOMERS}\"}}\n")
    assert found == [
        ("error", "stores.files.existing", "store 'files': Azure names an existing bucket by its resource id, and "
         "'legacy-files' is not the id of one", "give its id (the portal's \"Resource ID\"): /subscriptions/"
         "<subscription id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>/"
         "blobServices/default/containers/<container>"),
        ("error", "clouds.azure.existing.jobs", f"store 'jobs': Azure names an existing queue by its resource id, "
         f"and '{CUSTOMERS}' is not the id of one", "give its id (the portal's \"Resource ID\"): /subscriptions/"
         "<subscription id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>/"
         "queueServices/default/queues/<queue>")]


def test_ids_are_matched_as_arm_matches_them(tmp_path):
    from providers.azure import existing

    assert existing.parse("bucket", UPLOADS.lower()).name == "company-uploads"  # fixed segments: any case
    assert existing.parse("bucket", UPLOADS.replace("company-uploads", "Company-Uploads")) is None  # names: not
    assert existing.parse("queue", JOBS.replace("billing-jobs", "billing--jobs")) is None
    assert existing.parse("table", CUSTOMERS.replace("customers", "cust-omers")) is None
    assert existing.parse("topic", EVENTS).host == "company-bus.servicebus.windows.net"


def test_bucket_events_on_an_existing_container_are_refused_at_the_trigger(tmp_path):
    found = diagnostics(tmp_path, f"name: old\nstores:\n  files: {{kind: bucket, existing: \"{UPLOADS}\"}}\n"
                                  "functions:\n  f: {code: fn, handler: main.run, triggers: [{bucket: files}]}\n")
    assert [(severity, path) for severity, path, _, _ in found] == [("error", "functions.f.triggers[0]")]
    assert "an account has at most one" in found[0][2] and "existing queue" in found[0][3]


def test_a_topic_trigger_needs_the_topic_in_the_stages_subscription(tmp_path, monkeypatch):
    text = (f"name: old\nstores:\n  news: {{kind: topic, existing: \"{EVENTS}\"}}\n"
            "functions:\n  f: {code: fn, handler: main.run, triggers: [{topic: news}]}\n")
    assert diagnostics(tmp_path, text) == []
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", DATA_SUB)
    found = diagnostics(tmp_path, text)
    assert [(severity, path) for severity, path, _, _ in found] == [("error", "functions.f.triggers[0]")]
    assert found[0][2] == (f"function 'f': topic 'news' is in Azure subscription {STAGE_SUB}, and deployer creates "
                           f"the function's subscription to it through the stage's subscription {DATA_SUB}")


def test_validate_stops_with_exit_2_at_the_field(tmp_path):
    tiny_blueprint(tmp_path, "name: old\nstores:\n  files: {kind: bucket, existing: legacy-files}\n"
                             "functions:\n  f: {code: fn, handler: main.run, uses: {files: read}}\n")
    done = run_cli("validate", "--cloud", "azure", "-f", str(tmp_path / "deployer.yaml"))
    assert done.returncode == 2, done.stderr
    assert "deployer.yaml:3:" in done.stderr and "[stores.files.existing]" in done.stderr
    assert "Traceback" not in done.stderr


def test_plan_says_what_it_creates_and_what_it_references(shop, tmp_path):
    done = run_cli("plan", "--cloud", "azure", "-f", str(tmp_path / "deployer.yaml"),
                   env={"ARM_SUBSCRIPTION_ID": STAGE_SUB}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "  = storage.BlobContainer  store-uploads-container" in done.stdout
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("35 resources to create and 5 existing referenced in 8 groups (azure, shop-dev,")


def test_the_connections_of_existing_stores_are_reserved_app_settings(tmp_path):
    found = diagnostics(tmp_path, "name: old\nfunctions:\n  f: {code: fn, handler: main.run, env: "
                                  "{DeployerStorage_companydata__queueServiceUri: x, DeployerServiceBus_bus__clientId: y}}\n")
    assert [path for _, path, _, _ in found] == ["functions.f.env.DeployerStorage_companydata__queueServiceUri",
                                                 "functions.f.env.DeployerServiceBus_bus__clientId"]


def test_an_existing_store_is_not_named_by_deployer_so_never_collides(tmp_path):
    found = diagnostics(tmp_path, f"name: clash\nstores:\n  a-b: {{kind: table, existing: \"{CUSTOMERS}\"}}\n"
                                  "  ab: {kind: table}\n")
    assert found == []
