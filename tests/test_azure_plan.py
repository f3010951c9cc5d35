"""Azure provider: the resource graph of every example (golden), Flex Consumption apps, names, identity,
secrets, bucket events, the gateway, outputs and what the executor registers.

The graph is compiled with fixed fake artifacts and a fixed subscription, so it depends on the
blueprint and the provider only. Regenerate goldens with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from deployer import plan, secrets
from deployer.blueprint.load import load_blueprint
from deployer.errors import PrerequisiteError
from deployer.providers import Artifact
from conftest import example_copy
from graph_support import assert_executor_matches_plan
from providers.azure.provider import AzureProvider, subscription_warning

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = AzureProvider()
SUBSCRIPTION = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
OTHER_SUBSCRIPTION = "9b2d7c1a-5e4f-4a3b-8c6d-2f1e0a9b8c7d"
ROLE = "azure-native:authorization:RoleAssignment"
_PLANS: dict[tuple[str, str], plan.Plan] = {}


@pytest.fixture(autouse=True)
def subscription(monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)


def fake_artifacts(bp) -> dict[str, Artifact]:
    return {f: Artifact(f, Path(f"/build/{f}.zip"), f"{len(f):02d}" * 32, 1000) for f in bp.functions}


def load(example: str):
    return load_blueprint(ROOT / "blueprints" / example / "deployer.yaml")


def planned(example: str, subscription: str = SUBSCRIPTION) -> plan.Plan:
    key = (example, subscription)
    if key not in _PLANS:
        bp = load(example)
        with secrets.placeholders():
            _PLANS[key] = plan.run(PROVIDER, bp, fake_artifacts(bp))
    return _PLANS[key]


def by_name(p: plan.Plan) -> dict[str, plan.PlannedResource]:
    return {r.name: r for r in p.resources}


def settings(app: plan.PlannedResource) -> dict[str, object]:
    return {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}


def write_blueprint(tmp_path: Path, text: str):
    (tmp_path / "deployer.yaml").write_text(text)
    (tmp_path / "functions" / "f").mkdir(parents=True)
    (tmp_path / "functions" / "f" / "main.py").write_text("def run(event):\n    return None\n")
    return load_blueprint(tmp_path / "deployer.yaml")


def test_golden_graph(example, golden):
    p = planned(example.parent.name)
    graph = sorted((r.to_json() for r in p.resources), key=lambda r: (r["group"], r["name"]))
    golden(f"azure/{example.parent.name}.json", {"resources": graph, "outputs": p.outputs})


def test_executor_registers_exactly_the_plan(example):
    bp = load_blueprint(example)
    with secrets.placeholders():
        assert_executor_matches_plan(PROVIDER, bp, fake_artifacts(bp))


def test_plan_imports_no_pulumi():
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from deployer import plan, secrets;"
            "from deployer.blueprint.load import load_blueprint; from deployer.providers import Artifact;"
            "from providers.azure.provider import AzureProvider;"
            "bp = load_blueprint(Path('blueprints/orders/deployer.yaml'));"
            "arts = {f: Artifact(f, Path(f'/b/{f}.zip'), 'a' * 64, 1) for f in bp.functions};"
            "secrets.placeholders().__enter__(); p = plan.run(AzureProvider(), bp, arts);"
            "print(len(p.resources), any(m.startswith('pulumi') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, imported = done.stdout.split()
    assert int(count) > 40 and imported == "False"


def test_apps_run_on_flex_consumption_with_identity_based_deployment():
    res = by_name(planned("orders"))
    for fn, memory in (("api", 512), ("worker", 512), ("notify", 512)):
        assert res[f"fn-{fn}-plan"].inputs["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
        app = res[f"fn-{fn}-app"].inputs
        assert app["serverFarmId"] == f"${{fn-{fn}-plan.id}}" and app["kind"] == "functionapp,linux"
        identity = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-orders-dev/providers/"
                    f"Microsoft.ManagedIdentity/userAssignedIdentities/orders-dev-{fn}-identity")
        assert app["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
        config = app["functionAppConfig"]
        assert config["runtime"] == {"name": "python", "version": "3.12"}
        assert config["scaleAndConcurrency"] == {"instanceMemoryMB": memory, "maximumInstanceCount": 100}
        storage = config["deployment"]["storage"]
        container = res[f"fn-{fn}-deployment"].inputs["containerName"]
        assert storage == {"type": "blobContainer",
                           "value": f"https://{res['app-storage'].inputs['accountName']}.blob.core.windows.net/{container}",
                           "authentication": {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": identity}}
        values = settings(res[f"fn-{fn}-app"])
        assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"} & set(values)
        assert values["AzureWebJobsStorage__credential"] == "managedidentity"
        assert values["AzureWebJobsStorage__clientId"] == f"${{fn-{fn}-identity.client_id}}" == values["AZURE_CLIENT_ID"]


def test_memory_rounds_up_and_max_instances_carry_over(tmp_path):
    bp = write_blueprint(tmp_path, "name: sizes\nfunctions:\n"
                         "  small: {code: functions/f, handler: main.run, memory: 128, triggers: [{http: GET /a}]}\n"
                         "  mid: {code: functions/f, handler: main.run, memory: 1536, max_instances: 250,"
                         " triggers: [{http: GET /b}]}\n"
                         "  big: {code: functions/f, handler: main.run, memory: 4096, max_instances: 40,"
                         " triggers: [{http: GET /c}]}\n")
    res = by_name(plan.run(PROVIDER, bp, fake_artifacts(bp)))
    scale = {fn: res[f"fn-{fn}-app"].inputs["functionAppConfig"]["scaleAndConcurrency"] for fn in ("small", "mid", "big")}
    assert scale == {"small": {"instanceMemoryMB": 512, "maximumInstanceCount": 100},
                     "mid": {"instanceMemoryMB": 2048, "maximumInstanceCount": 250},
                     "big": {"instanceMemoryMB": 4096, "maximumInstanceCount": 40}}


def test_no_account_key_no_sas_and_shared_keys_off(example):
    p = planned(example.parent.name)
    account = by_name(p)["app-storage"].inputs
    assert account["allowSharedKeyAccess"] is False and account["defaultToOAuthAuthentication"] is True
    text = json.dumps([r.to_json() for r in p.resources])
    for forbidden in ("AccountKey", "sig=", "SharedAccessSignature", "listStorageAccount", "WEBSITE_RUN_FROM_PACKAGE"):
        assert forbidden not in text
    assert not [r for r in p.resources if r.type == "azure-native:storage:Blob"]


WORLDWIDE = {"azure-native:storage:StorageAccount": "accountName", "azure-native:web:WebApp": "name",
             "azure-native:servicebus:Namespace": "namespaceName",
             "azure-native:apimanagement:ApiManagementService": "serviceName",
             "azure-native:keyvault:Vault": "vaultName"}


def worldwide_names(p: plan.Plan) -> dict[str, str]:
    return {r.name: r.inputs[WORLDWIDE[r.type]] for r in p.resources if r.type in WORLDWIDE}


def test_worldwide_names_differ_per_subscription(monkeypatch):
    mine = worldwide_names(planned("iot"))
    assert set(mine) >= {"app-storage", "fn-ingest-app", "app-servicebus", "app-gateway", "app-vault"}
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", OTHER_SUBSCRIPTION)
    theirs = worldwide_names(planned("iot", OTHER_SUBSCRIPTION))
    assert set(mine) == set(theirs)
    for name in mine:
        assert mine[name] != theirs[name], name
    # sha256("subscription/<id>")[:6] = 9aec69, then sha256("iot/dev")[:4] = 8478
    assert mine["app-storage"] == "iotdev9aec698478" and len(mine["fn-ingest-app"]) <= 32
    assert mine["fn-ingest-app"].startswith("iot-dev-ingest-9aec69")


def test_a_worldwide_name_without_the_subscription_tag_is_a_located_error(monkeypatch):
    from deployer.resources import checks

    bp = load("orders")
    graph = PROVIDER.compile(bp, fake_artifacts(bp))
    assert checks.check(graph, PROVIDER.sdk_index(), PROVIDER.graph_rules(), bp) == []
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", OTHER_SUBSCRIPTION)  # rules of another subscription
    found = checks.check(graph, PROVIDER.sdk_index(), PROVIDER.graph_rules(), bp)
    assert {d.message.split(":")[0] for d in found} == {
        "app-storage", "app-servicebus", "app-gateway", "fn-api-app", "fn-notify-app", "fn-worker-app"}
    assert all("must be unique worldwide but holds nothing specific to this account" in d.message for d in found)
    assert next(d for d in found if d.message.startswith("fn-api-app")).location.path == "functions.api"


def test_log_analytics_workspace_name_fits_63(tmp_path):
    write_blueprint(tmp_path, "name: a-long-application-name1\n"
                    "functions:\n  f: {code: functions/f, handler: main.run, triggers: [{http: GET /a}]}\n")
    stage = "production-west-europe-one-two-three"
    bp = load_blueprint(tmp_path / "deployer.yaml", stage=stage)
    graph = PROVIDER.compile(bp, fake_artifacts(bp))
    name = graph.by_name()["app-logs"].inputs["workspace_name"]
    assert len("a-long-application-name1-" + stage + "-logs") > 63
    assert len(name) <= 63 and name.startswith("a-long-application-name1-production-west-europe-one-two")
    plan.check_graph(PROVIDER, bp, graph)


def test_role_assignment_names_come_from_scope_principal_and_role(example):
    p = planned(example.parent.name)
    roles = [r.inputs for r in p.resources if r.type == ROLE]
    namespace = uuid.UUID("5f1f4e4e-9a59-4d8e-9d0e-6d6570c0ae01")
    identities = {r.inputs["resourceName"]: r.name for r in p.resources
                  if r.type == "azure-native:managedidentity:UserAssignedIdentity"}
    for role in roles:
        principal = role["principalId"].removeprefix("${").removesuffix(".principal_id}")
        identity_name = next(n for n, logical in identities.items() if logical == principal)
        identity_id = (f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-{example.parent.name}-dev/providers/"
                       f"microsoft.managedidentity/userassignedidentities/{identity_name}").lower()
        role_id = role["roleDefinitionId"].rsplit("/", 1)[-1]
        assert role["roleAssignmentName"] == str(uuid.uuid5(namespace, f"{role['scope'].lower()}|{identity_id}|{role_id}"))
        assert role["scope"].startswith(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/")
    assert len({r["roleAssignmentName"] for r in roles}) == len(roles)


def test_host_keys_are_readable_by_their_own_app_only():
    res = by_name(planned("orders"))
    for fn in ("api", "worker", "notify"):
        role = res[f"fn-{fn}-role-azure-webjobs-secrets-blob-owner"].inputs
        host_id = res[f"fn-{fn}-app"].inputs["name"]
        assert role["scope"].endswith("/blobServices/default/containers/azure-webjobs-secrets")
        assert role["conditionVersion"] == "2.0"
        assert role["condition"].endswith(
            "OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] "
            f"StringStartsWith '{host_id}/'))")
        for action in ("read", "write", "delete"):
            assert f"blobs/{action}'}})" in role["condition"]
    assert "condition" not in res["fn-api-role-azure-webjobs-hosts-blob-owner"].inputs


def test_secrets_live_in_key_vault_readable_by_granted_functions_only():
    res = by_name(planned("iot"))
    vault = res["app-vault"].inputs
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert vault["properties"]["tenantId"] == "${getClientConfig.tenant_id}"
    assert res["app-secret-INGEST_TOKEN"].inputs["properties"] == {"value": "[secret]"}
    reference = (f"@Microsoft.KeyVault(SecretUri=https://{vault['vaultName']}.vault.azure.net/secrets/"
                 "INGEST-TOKEN/)")
    assert settings(res["fn-ingest-app"])["INGEST_TOKEN"] == reference
    assert res["fn-ingest-app"].inputs["keyVaultReferenceIdentity"].endswith("/iot-dev-ingest-identity")
    readers = {r.name: r.inputs for r in res.values() if r.type == ROLE
               and r.inputs["roleDefinitionId"].endswith("4633458b-17de-408a-b874-0445c86b69e6")}
    assert list(readers) == ["fn-ingest-role-secret-INGEST_TOKEN-secrets-user"]
    only = readers["fn-ingest-role-secret-INGEST_TOKEN-secrets-user"]
    assert only["scope"].endswith(f"/providers/Microsoft.KeyVault/vaults/{vault['vaultName']}/secrets/INGEST-TOKEN")
    for fn in ("analyse", "alert"):
        assert "INGEST_TOKEN" not in settings(res[f"fn-{fn}-app"])


def test_bucket_events_go_through_event_grid_to_a_queue():
    res = by_name(planned("images"))
    created = res["fn-resize-events0-subscription"].inputs
    assert created["filter"] == {"includedEventTypes": ["Microsoft.Storage.BlobCreated"],
                                 "subjectBeginsWith": "/blobServices/default/containers/images-dev-uploads/blobs/incoming/",
                                 "subjectEndsWith": ".jpg", "isSubjectCaseSensitive": True}
    delivery = created["deliveryWithResourceIdentity"]
    assert delivery["destination"]["endpointType"] == "StorageQueue"
    assert delivery["destination"]["queueName"] == res["fn-resize-events0-queue"].inputs["queueName"]
    assert delivery["identity"]["userAssignedIdentity"].endswith("/userAssignedIdentities/"
                                                                  + res["app-storage-events-identity"].inputs["resourceName"])
    deleted = res["fn-cleanup-events0-subscription"].inputs
    assert deleted["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobDeleted"]
    sender = res["fn-resize-events0-role-eventgrid-queue-sender"].inputs
    assert sender["principalId"] == "${app-storage-events-identity.principal_id}"
    assert sender["scope"].endswith("/queueServices/default/queues/images-dev-resize-events0")
    assert res["fn-resize-events0-subscription"].options["depends_on"] == ["fn-resize-events0-role-eventgrid-queue-sender"]
    assert res["app-storage-events"].inputs["topicType"] == "Microsoft.Storage.StorageAccounts"


def test_gateway_routes_with_a_function_key_and_greedy_wildcards(tmp_path):
    bp = write_blueprint(tmp_path, "name: files\nfunctions:\n  api:\n    code: functions/f\n    handler: main.run\n"
                         "    triggers:\n      - http: GET /files/{rest+}\n      - http: PUT /items/{id}\n")
    res = by_name(plan.run(PROVIDER, bp, fake_artifacts(bp)))
    ops = {r.inputs["urlTemplate"]: r for r in res.values() if r.type == "azure-native:apimanagement:ApiOperation"}
    assert set(ops) == {"/files/{*rest}", "/items/{id}"}
    assert ops["/files/{*rest}"].inputs["templateParameters"] == [{"name": "rest", "type": "string", "required": True}]
    key = res["fn-api-key"]
    assert key.inputs["secret"] is True and key.options["ignore_changes"] == ["value"]
    policy = res[f"{ops['/files/{*rest}'].name}-policy"].inputs["value"]
    assert 'base-url="https://${fn-api-app.default_host_name}/api"' in policy
    assert '<set-header name="x-functions-key" exists-action="override"><value>{{fn-api-key}}</value>' in policy
    assert res["app-gateway"].inputs["sku"] == {"name": "Consumption", "capacity": 0}


def test_outputs_follow_the_contract():
    p = planned("orders")
    assert {k: v for k, v in p.outputs.items() if k != "deployer_stores"} == {
        "api_url": "${app-gateway.gateway_url}/api",
        "functions": {f: f"https://${{fn-{f}-app.default_host_name}}" for f in ("api", "worker", "notify")},
        "stores": {"orders": "ordersdevorders", "notifications": "ordersdevnotifications",
                   "events": "orders-dev-events", "fulfilment": "orders-dev-fulfilment"}}


def test_stack_config_pins_the_subscription(monkeypatch):
    bp = load("orders")
    assert PROVIDER.stack_config(bp) == {"azure-native:location": "westeurope",
                                         "azure-native:subscriptionId": SUBSCRIPTION}


def test_up_needs_a_subscription(monkeypatch):
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID")
    with pytest.raises(PrerequisiteError) as err:
        PROVIDER.program(load("orders"), {})
    assert err.value.exit_code == 3 and "ARM_SUBSCRIPTION_ID" in err.value.hint


def test_stateful_stores_are_kept_unless_delete_data():
    bp = load("orders")
    kept = {r.name for r in PROVIDER.compile(bp, fake_artifacts(bp)).retained()}
    assert kept == {"app-rg", "app-storage", "store-orders-table", "store-notifications-table",
                    "store-fulfilment-queue", "store-fulfilment-poison",
                    "app-gateway"}  # soft-deleted for 48 h when deleted: kept too (test_azure_review.py)
    assert PROVIDER.compile(bp, fake_artifacts(bp), keep_data=False).retained() == []


def test_reserved_env_is_refused_before_compiling(tmp_path):
    bp = write_blueprint(tmp_path, "name: env\nfunctions:\n  f:\n    code: functions/f\n    handler: main.run\n"
                         "    env: {AzureWebJobsStorage__accountName: other}\n    triggers: [{http: GET /a}]\n")
    found = [d for d in PROVIDER.check(bp) if d.severity == "error"]
    assert [(d.severity, d.location.path, d.location.line) for d in found] == [
        ("error", "functions.f.env.AzureWebJobsStorage__accountName", 6)]


def test_engine_installs_the_azure_native_plugin_of_the_installed_sdk():
    from importlib import metadata

    from deployer import engine

    version = metadata.version("pulumi-azure-native")
    assert engine.plugins_for(PROVIDER) == [("azure-native", f"v{version}")]


@pytest.mark.parametrize("example", ["orders", "images", "report", "iot"])
def test_the_ejected_program_registers_exactly_the_plan(example, tmp_path):
    from deployer.resources import eject
    from graph_support import run_ejected

    bp = load(example)
    graph = PROVIDER.compile(bp, fake_artifacts(bp))
    eject.eject(graph, PROVIDER.sdk_index(), tmp_path, blueprint="deployer.yaml", pulumi_version="3")
    registered, urns = run_ejected(PROVIDER, graph, tmp_path)
    expected = plan.render(PROVIDER, bp, graph).resources
    assert registered == {(r.type, r.name): r.inputs for r in expected}
    assert urns == {f"urn:pulumi:dev::{example}::pulumi:pulumi:Stack${r.type}::{r.name}" for r in expected}


def test_plan_without_a_subscription_warns_that_its_names_are_the_placeholder_s(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID")
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    result = cli("plan", "--file", str(example_copy("orders")), "--cloud", "azure", "--json")
    assert result.returncode == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert [w["path"] for w in warnings if "subscription" in w["message"]] == ["clouds.azure"]
    assert "00000000-0000-0000-0000-000000000000" in warnings[-1]["message"]
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)
    assert subscription_warning(load("orders")) == []
