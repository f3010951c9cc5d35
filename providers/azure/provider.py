"""AzureProvider: the Azure cloud as a deployer provider (registered in pyproject.toml).

It stays thin: `check` is checks.check, `package` is package.build, and `program` declares, in the
core's order, hosting (resource group, storage account, insights, plan), the stores, one Function App
per function, its scoped roles, then its package and app settings (so the host starts with its roles
in place) and Event Grid subscriptions, then the API Management gateway, and exports the stack outputs
of docs/contracts.md. Pulumi modules are imported lazily, submodule by submodule (they are slow).
"""

from __future__ import annotations

from typing import Any, Callable

from deployer.blueprint.model import Blueprint, BucketStore, QueueStore, TableStore, TopicStore
from deployer.errors import Diagnostic
from deployer.providers import Artifact, Provider
from providers.azure import checks, mocks
from providers.azure.settings import AzureSettings


class AzureProvider(Provider):
    name = "azure"
    settings = AzureSettings
    title = "Microsoft Azure (Functions on Linux Consumption)"
    services = {"api": "Functions HTTP trigger", "schedule": "Timer trigger", "function": "Azure Functions",
                "bucket": "Blob Storage", "table": "Table Storage", "queue": "Storage Queues",
                "topic": "Service Bus topic", "dead-letter": "poison queue"}
    # The Functions runtime moves a message that failed every delivery to `<queue>-poison`, always.
    always_dead_letter = True
    client_packages = {"bucket": "azure-storage-blob>=12.19,<13", "table": "azure-data-tables>=12.5,<13",
                       "queue": "azure-storage-queue>=12.9,<13", "topic": "azure-servicebus>=7.11,<8"}
    client_always = ("azure-identity>=1.15,<2",)
    #: What deploying needs (deployer.prerequisites): installed by `pip install 'deployer[azure]'`.
    requirements = ("pulumi", "pulumi-azure-native")
    extra = "azure"

    def check(self, bp: Blueprint) -> list[Diagnostic]:
        return checks.check(bp)

    def package(self, bp: Blueprint, function: str) -> Artifact:
        from providers.azure import package

        return package.build(bp, function)

    def stack_config(self, bp: Blueprint) -> dict[str, str]:
        return {"azure-native:location": bp.clouds.azure.location}

    # `deployer invoke` / `deployer logs` (providers/azure/remote.py, imported on use)
    def invoke(self, bp, function, event, options):
        from providers.azure import remote

        return remote.invoke(bp, function, event, options)

    def logs(self, bp, function, since, follow, filter, options):
        from providers.azure import remote

        return remote.logs(bp, function, since, follow, filter, options)

    def program(self, bp: Blueprint, artifacts: dict[str, Artifact]) -> Callable[[], None]:
        def run() -> None:
            declare(bp, artifacts)

        return run

    def mock_resource(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return mocks.resource(typ, name, inputs)

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        return mocks.call(token, args)


def declare(bp: Blueprint, artifacts: dict[str, Artifact]) -> None:
    import pulumi

    from providers.azure import functions, hosting, http
    from providers.azure.context import Context

    ctx = Context(bp, artifacts)
    hosting.declare(ctx)
    for name, store in bp.stores.items():
        ctx.stores[name] = _store(ctx, name, store)
    for name in bp.functions:
        functions.declare(ctx, name)
    for name in bp.functions:
        functions.declare_settings(ctx, name, functions.declare_roles(ctx, name))
        functions.declare_events(ctx, name)
    http.declare(ctx)
    if ctx.api_url is not None:
        pulumi.export("api_url", ctx.api_url)
    pulumi.export("functions", {n: app.resource.default_host_name.apply(lambda h: f"https://{h}")
                                for n, app in ctx.apps.items()})
    pulumi.export("stores", {n: ref.physical for n, ref in ctx.stores.items()})


def _store(ctx, name: str, store):
    from providers.azure import buckets, queues, tables, topics

    match store:
        case BucketStore():
            return buckets.declare(ctx, name, store)
        case TableStore():
            return tables.declare(ctx, name, store)
        case QueueStore():
            return queues.declare(ctx, name, store)
        case TopicStore():
            return topics.declare(ctx, name, store)
    raise TypeError(f"unsupported store kind {type(store).__name__}")
