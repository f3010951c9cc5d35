"""AzureProvider: the Azure cloud as a deployer provider (registered in pyproject.toml).

It compiles a blueprint into a resource graph (deployer/resources) through the shared driver:
`context` declares the stage's hosting (resource group, storage account, logs); `declare_store`
dispatches each store to its kind's module; `declare_function` declares a function's identity, Flex
plan, app and roles; `declare_triggers` connects bucket events (Event Grid) and the API Management
gateway. No module of this provider imports Pulumi: plan renders the graph, the shared executor
deploys it, and `after_up` (deploy.py) publishes the packages once the resources exist.
"""

from __future__ import annotations

from typing import Any, Callable

from deployer.blueprint.model import Blueprint, BucketStore, QueueStore, TableStore, TopicStore
from deployer.errors import Diagnostic, PrerequisiteError
from deployer.providers import Artifact, Provider
from providers.azure import checks
from providers.azure.context import PLACEHOLDER_SUBSCRIPTION, SUBSCRIPTION_VARIABLES, subscription_id
from providers.azure.settings import AzureSettings


class AzureProvider(Provider):
    name = "azure"
    settings = AzureSettings
    title = "Microsoft Azure (Functions on Flex Consumption)"
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
        return checks.check(bp) + subscription_warning(bp)

    def package(self, bp: Blueprint, function: str) -> Artifact:
        from providers.azure import package

        return package.build(bp, function)

    def stack_config(self, bp: Blueprint) -> dict[str, str]:
        config = {"azure-native:location": bp.clouds.azure.location}
        subscription = subscription_id()
        if subscription:  # names carry it: deploy to exactly that subscription
            config["azure-native:subscriptionId"] = subscription
        return config

    # `deployer invoke` / `deployer logs` (providers/azure/remote.py, imported on use)
    def invoke(self, bp, function, event, options):
        from providers.azure import remote

        return remote.invoke(bp, function, event, options)

    def logs(self, bp, function, since, follow, filter, options):
        from providers.azure import remote

        return remote.logs(bp, function, since, follow, filter, options)

    def program(self, bp: Blueprint, artifacts: dict[str, Artifact]) -> Callable[[], None]:
        """The shared executor's program, once the subscription the names derive from is known."""
        require_subscription()
        return super().program(bp, artifacts)

    # -- the resource graph ------------------------------------------------------------------------

    def context(self, bp: Blueprint, artifacts: dict[str, Artifact], keep_data: bool):
        from deployer.resources.graph import Builder
        from providers.azure import hosting
        from providers.azure.context import AzureContext

        builder = Builder(self.name, bp.name, bp.stage, self.stack_config(bp))
        ctx = AzureContext(bp, artifacts, builder, keep_data,
                           subscription=subscription_id() or PLACEHOLDER_SUBSCRIPTION)
        hosting.declare(ctx)
        return ctx

    def declare_store(self, ctx, name: str, store: Any):
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

    def declare_function(self, ctx, name: str):
        from providers.azure import functions

        return functions.declare(ctx, name)

    def declare_triggers(self, ctx) -> None:
        from providers.azure import functions, http

        for name in ctx.bp.functions:
            functions.declare_events(ctx, name)
        http.declare(ctx)

    def graph_rules(self):
        from providers.azure import rules

        return rules.rules(subscription_id() or PLACEHOLDER_SUBSCRIPTION)

    # -- after `up` --------------------------------------------------------------------------------

    def after_up(self, bp: Blueprint, artifacts: dict[str, Artifact], arm=None, log=print, wait=None) -> list[str]:
        """Publish every function's package, sync its triggers and check the platform knows each
        function (deploy.py). `arm`: the ARM/SCM client (a fake in tests); by default one that
        authenticates with azure-identity's DefaultAzureCredential."""
        from providers.azure import deploy

        subscription = require_subscription()
        return deploy.publish_all(bp, artifacts, subscription, arm or deploy.default_client(), log, wait=wait)


def subscription_warning(bp: Blueprint) -> list[Diagnostic]:
    """A warning: names carry the subscription, so plan and eject without one show the placeholder's
    names, not the ones `up` would deploy (and `up` refuses: require_subscription)."""
    if subscription_id():
        return []
    return [Diagnostic(f"no Azure subscription ({' or '.join(SUBSCRIPTION_VARIABLES)}): storage accounts, apps and "
                       f"vaults are named after it, so this plan shows names for the placeholder "
                       f"{PLACEHOLDER_SUBSCRIPTION}", bp.locate("clouds.azure"), severity="warning", code="azure",
                       cloud="azure", hint=f"export {SUBSCRIPTION_VARIABLES[0]}=$(az account show --query id -o tsv)")]


def require_subscription() -> str:
    subscription = subscription_id()
    if not subscription:
        raise PrerequisiteError(
            "no Azure subscription: deployer names storage accounts, apps and vaults after it",
            hint=f"export {SUBSCRIPTION_VARIABLES[0]}=$(az account show --query id -o tsv)")
    return subscription
