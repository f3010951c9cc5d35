"""Azure provider: golden resource graphs of every example, scoped roles, outputs, app settings, diagnostics.

The program runs under Pulumi's mock runtime (deployer.plan) with fixed fake artifacts, so the graphs
depend on the blueprint and the provider only. Regenerate with `pytest --update-golden`.
"""

from __future__ import annotations

import re
from pathlib import Path


from deployer import plan, plan_mocks, secrets
from deployer.blueprint.load import load_blueprint
from deployer.providers import Artifact
from providers.azure.provider import AzureProvider

PROVIDER = AzureProvider()
_PLANS: dict[str, plan.Plan] = {}


def fake_artifacts(bp) -> dict[str, Artifact]:
    return {f: Artifact(f, Path(f"/build/{f}.zip"), f"{len(f):02d}" * 32, 1000) for f in bp.functions}


def planned(example: str) -> tuple[object, plan.Plan]:
    bp = load_blueprint(Path(__file__).parent.parent / "blueprints" / example / "deployer.yaml")
    if example not in _PLANS:
        with secrets.placeholders():
            _PLANS[example] = plan.run(PROVIDER, bp, fake_artifacts(bp))
    return bp, _PLANS[example]


def by_name(p: plan.Plan) -> dict[str, plan.PlannedResource]:
    return {r.name: r for r in p.resources}


def test_golden_graph(example, golden):
    _, p = planned(example.parent.name)
    graph = sorted((r.to_json() for r in p.resources), key=lambda r: (r["group"], r["name"]))
    golden(f"azure/{example.parent.name}.json", graph)


def test_golden_app_settings(example, golden, monkeypatch):
    """The app settings, which the plan masks whole (they hold the package's SAS URL, a secret)."""
    monkeypatch.setenv("INGEST_TOKEN", "token-value")
    every = app_settings(example.parent.name)
    shown = {fn: {k: ("[secret]" if isinstance(v, tuple) else v) for k, v in values.items()}
             for fn, values in every.items()}
    golden(f"azure/{example.parent.name}-settings.json", shown)


SCOPE = re.compile(r"/storageAccounts/[a-z0-9]+/(blobServices/default/containers|queueServices/default/queues|"
                   r"tableServices/default/tables)/[a-z0-9-]+$|/namespaces/[a-z0-9-]+/topics/[a-z0-9-]+"
                   r"(/subscriptions/[a-z0-9-]+)?$")


def test_every_role_assignment_is_scoped_to_one_store(example):
    _, p = planned(example.parent.name)
    roles = [r for r in p.resources if r.type == "azure-native:authorization:RoleAssignment"]
    assert roles
    for role in roles:
        scope = role.inputs["scope"]
        assert SCOPE.search(scope), f"{role.name}: scope {scope} is not a container, queue, table or topic"
        assert role.inputs["principalType"] == "ServicePrincipal"


def test_roles_of_orders_are_least_privilege():
    _, p = planned("orders")
    roles = {r.name: (r.inputs["scope"].rsplit("/", 2)[-2:], r.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
             for r in p.resources if r.type == "azure-native:authorization:RoleAssignment"}
    worker = {k: v for k, v in roles.items() if k.startswith("fn-worker-") and "webjobs" not in k}
    assert worker == {
        "fn-worker-role-fulfilment-queue-reader": (["queues", "orders-dev-fulfilment"], "19e7f393-937e-4f77-808e-94535e297925"),
        "fn-worker-role-fulfilment-queue-processor": (["queues", "orders-dev-fulfilment"], "8a0f0c08-91a1-4084-bc3d-661d67233fed"),
        "fn-worker-role-fulfilment-poison-queue-contributor": (["queues", "orders-dev-fulfilment-poison"], "974c5e8b-45b9-4653-ba55-5f855dd0fb88"),
        "fn-worker-role-orders-table-contributor": (["tables", "ordersdevorders"], "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"),
    }
    assert roles["fn-api-role-events-bus-sender"] == (["topics", "orders-dev-events"], "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39")
    assert roles["fn-api-role-fulfilment-queue-sender"][1] == "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
    assert roles["fn-notify-role-events-subscription-bus-receiver"] == (
        ["subscriptions", "notify"], "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0")
    assert roles["fn-notify-role-events-subscription-bus-owner"] == (  # the trigger's documented pair
        ["subscriptions", "notify"], "090c5cfd-751d-490a-894a-3ce6f1109419")


def test_bucket_roles_of_images():
    _, p = planned("images")
    roles = {r.name: r.inputs for r in p.resources if r.type == "azure-native:authorization:RoleAssignment"}
    assert roles["fn-resize-role-uploads-blob-owner"]["scope"].endswith("/containers/images-dev-uploads")
    assert roles["fn-resize-role-thumbnails-blob-contributor"]["scope"].endswith("/containers/images-dev-thumbnails")
    assert roles["fn-api-role-thumbnails-blob-reader"]["roleDefinitionId"].endswith("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    # the polling blob trigger's scan queue of this app, in the host storage
    assert roles["fn-resize-role-blobscan-queue-contributor"]["scope"].endswith(
        "/queues/azure-webjobs-blobtrigger-images-dev-resize-" + roles["fn-resize-role-blobscan-queue-contributor"]["scope"][-6:])


def test_deleted_trigger_is_an_event_grid_subscription_to_the_function():
    _, p = planned("images")
    res = by_name(p)
    sub = res["fn-cleanup-deleted0-events"].inputs
    assert sub["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobDeleted"]
    assert sub["filter"]["subjectBeginsWith"] == "/blobServices/default/containers/images-dev-uploads/blobs/incoming/"
    site = res["fn-cleanup-app"].inputs["name"]
    assert sub["destination"]["endpointType"] == "AzureFunction"
    assert sub["destination"]["resourceId"].endswith(f"/Microsoft.Web/sites/{site}/functions/deleted0")
    assert res["app-storage-events"].inputs["topicType"] == "Microsoft.Storage.StorageAccounts"


class Unmasked(AzureProvider):
    """Records the raw inputs (secrets unwrapped) of each Function App: what Azure receives."""

    def __init__(self):
        self.apps: dict[str, dict] = {}

    def mock_resource(self, typ, name, inputs):
        if typ == "azure-native:web:WebAppApplicationSettings":
            self.apps[name] = unwrap(inputs)
        return super().mock_resource(typ, name, inputs)


def unwrap(value):
    """Secret values become ("secret", value); the settings map itself is unwrapped once."""
    if isinstance(value, dict):
        if value.get(plan_mocks.SECRET_SIG_KEY) == plan_mocks.SECRET_SIG:
            return ("secret", unwrap(value["value"]))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def app_settings(example: str) -> dict[str, dict[str, str]]:
    bp = load_blueprint(Path(__file__).parent.parent / "blueprints" / example / "deployer.yaml")
    provider = Unmasked()
    with secrets.placeholders():
        plan.run(provider, bp, fake_artifacts(bp))
    out = {}
    for name, resource in provider.apps.items():
        props = resource["properties"]
        props = props[1] if isinstance(props, tuple) else props
        out[name.removeprefix("fn-").removesuffix("-settings")] = props
    return out


def test_app_settings_follow_the_runtime_contract(monkeypatch):
    monkeypatch.setenv("INGEST_TOKEN", "token-value")
    every = app_settings("iot")
    ingest, analyse, alert = every["ingest"], every["analyse"], every["alert"]
    assert ingest["DEPLOYER_CLOUD"] == "azure" and ingest["DEPLOYER_APP"] == "iot-dev"
    assert ingest["DEPLOYER_STORE_READINGS"] == "iot-dev-readings"
    assert ingest["INGEST_TOKEN"] in (("secret", "token-value"), "token-value")
    assert analyse["DEPLOYER_STORE_METRICS"] == "iotdevmetrics" and analyse["DEPLOYER_KEY_METRICS"] == "device"
    assert analyse["DEPLOYER_STORE_ALERTS"] == "iot-dev-alerts"
    assert analyse["DEPLOYER_AZURE_SERVICEBUS"].endswith(".servicebus.windows.net")
    assert analyse["ALERT_THRESHOLD"] == "80" and "INGEST_TOKEN" not in analyse
    assert alert["DeployerServiceBus__fullyQualifiedNamespace"] == analyse["DEPLOYER_AZURE_SERVICEBUS"]
    for values in (ingest, analyse, alert):
        assert values["AzureWebJobsStorage__accountName"] == values["DEPLOYER_AZURE_STORAGE_ACCOUNT"]
        assert not any("AccountKey" in str(v) for v in values.values()), "no account keys in app settings"
        url = values["WEBSITE_RUN_FROM_PACKAGE"]
        url = url[1] if isinstance(url, tuple) else url
        assert re.match(r"https://[a-z0-9]+\.blob\.core\.windows\.net/deployer-packages/\w+-[0-9]{16}\.zip\?", url)
        assert "sp=r&sr=b" in url  # read-only, one blob


def test_apps_hosting_and_storage_are_locked_down():
    _, p = planned("orders")
    res = by_name(p)
    account = res["app-storage"].inputs
    assert re.fullmatch(r"[a-z0-9]{3,24}", account["accountName"])
    assert account["minimumTlsVersion"] == "TLS1_2" and account["enableHttpsTrafficOnly"] is True
    assert account["allowBlobPublicAccess"] is False
    plan_sku = res["app-plan"].inputs
    assert plan_sku["sku"] == {"name": "Y1", "tier": "Dynamic"} and plan_sku["reserved"] is True
    for fn in ("api", "notify", "worker"):
        app = res[f"fn-{fn}-app"].inputs
        assert app["httpsOnly"] is True and app["identity"] == {"type": "SystemAssigned"}
        assert app["siteConfig"]["minTlsVersion"] == "1.2" and app["siteConfig"]["linuxFxVersion"] == "Python|3.12"
        assert app["kind"] == "functionapp,linux" and len(app["name"]) <= 32
    for name, r in res.items():
        if r.type == "azure-native:storage:BlobContainer":
            assert r.inputs["publicAccess"] == "None", name
    assert res["app-servicebus"].inputs["disableLocalAuth"] is True


def test_gateway_routes_every_http_trigger_to_its_app():
    _, p = planned("images")
    res = by_name(p)
    ops = {r.inputs["operationId"]: r.inputs for r in p.resources if r.type == "azure-native:apimanagement:ApiOperation"}
    assert {(o["method"], o["urlTemplate"]) for o in ops.values()} == {
        ("PUT", "/images/{name}"), ("GET", "/thumbnails/{name}"), ("DELETE", "/images/{name}")}
    assert all(o["templateParameters"] == [{"name": "name", "type": "string", "required": True}] for o in ops.values())
    put = next(i for i, o in ops.items() if o["method"] == "PUT")
    policy = res[f"fn-api-route-{put}-policy"].inputs["value"]
    site = res["fn-api-app"].inputs["name"]
    assert f'base-url="https://{site}.azurewebsites.net/api"' in policy
    assert res["app-gateway"].inputs["sku"] == {"name": "Consumption", "capacity": 0}
    assert res["app-gateway-api"].inputs["path"] == "api"


def test_outputs_follow_the_contract(monkeypatch):
    import pulumi

    resolved: dict = {}
    monkeypatch.setattr(pulumi, "export", lambda key, value: pulumi.Output.from_input(value).apply(
        lambda v: resolved.__setitem__(key, v)))
    bp = load_blueprint(Path(__file__).parent.parent / "blueprints" / "orders" / "deployer.yaml")
    with secrets.placeholders():
        plan.run(PROVIDER, bp, fake_artifacts(bp))
    assert resolved["api_url"] == "https://orders-dev-gateway-34a401.azure-api.net/api"
    assert resolved["functions"] == {f: f"https://orders-dev-{f}-{h}.azurewebsites.net" for f, h in
                                     (("api", "1fb3a3"), ("notify", "0786bb"), ("worker", "f78a6f"))}
    assert resolved["stores"] == {"orders": "ordersdevorders", "notifications": "ordersdevnotifications",
                                  "events": "orders-dev-events", "fulfilment": "orders-dev-fulfilment"}


def test_stack_config():
    bp = load_blueprint(Path(__file__).parent.parent / "blueprints" / "orders" / "deployer.yaml")
    assert PROVIDER.stack_config(bp) == {"azure-native:location": "westeurope"}


class DeleteData(AzureProvider):
    def stack_config(self, bp):
        return {**super().stack_config(bp), "deployer:deleteData": "true"}


def retained(provider, example: str, monkeypatch) -> dict[str, bool]:
    """Logical name -> retain_on_delete of every resource the program declares."""
    import pulumi

    seen: dict[str, bool] = {}
    original = pulumi.CustomResource.__init__

    def spy(self, t, name, props=None, opts=None, *args, **kwargs):
        seen[name] = bool(opts and opts.retain_on_delete)
        return original(self, t, name, props, opts, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    bp = load_blueprint(Path(__file__).parent.parent / "blueprints" / example / "deployer.yaml")
    with secrets.placeholders():
        plan.run(provider, bp, fake_artifacts(bp))
    return seen


def test_stateful_stores_are_kept_unless_delete_data(monkeypatch):
    kept = retained(AzureProvider(), "orders", monkeypatch)
    stateful = {"app-rg", "app-storage", "store-orders-table", "store-notifications-table",
                "store-fulfilment-queue", "store-fulfilment-poison"}
    assert {n for n, keep in kept.items() if keep} == stateful
    assert not any(retained(DeleteData(), "orders", monkeypatch).values())


def test_engine_installs_the_azure_native_plugin_of_the_installed_sdk():
    from importlib import metadata

    from deployer import engine

    version = metadata.version("pulumi-azure-native")
    assert engine.plugins_for(PROVIDER) == [("azure-native", f"v{version}")]
