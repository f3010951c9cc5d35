"""GcpProvider: compiles a blueprint into a Pulumi program for Cloud Functions (2nd gen) and friends.

The provider only orders the steps (APIs, stores, functions, triggers, grants, the HTTP API, outputs)
and dispatches each blueprint kind to its module; see the package docstring and docs/gcp.md. Pulumi
and pulumi_gcp are imported when a program is built, not when `validate --cloud gcp` runs `check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from deployer.blueprint.model import (
    BucketStore, BucketTrigger, HttpTrigger, QueueStore, QueueTrigger, ScheduleTrigger, TableStore, TopicStore,
    TopicTrigger,
)
from deployer.errors import Diagnostic, UsageError
from deployer.providers import Artifact, Provider
from providers.gcp.settings import GcpSettings

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint
    from providers.gcp.context import Gcp

class GcpProvider(Provider):
    name = "gcp"
    settings = GcpSettings
    title = "Google Cloud (Cloud Functions 2nd gen)"
    services = {"api": "API Gateway", "schedule": "Cloud Scheduler", "function": "Cloud Functions 2nd gen",
                "bucket": "Cloud Storage", "table": "Firestore", "queue": "Pub/Sub topic + push subscription",
                "topic": "Pub/Sub", "dead-letter": "Pub/Sub dead-letter topic"}
    client_packages = {"bucket": "google-cloud-storage>=2.14,<4", "table": "google-cloud-firestore>=2.14,<3",
                       "queue": "google-cloud-pubsub>=2.19,<3", "topic": "google-cloud-pubsub>=2.19,<3"}
    plugins = ("pulumi-gcp",)

    def check(self, bp: "Blueprint") -> list[Diagnostic]:
        from providers.gcp import checks

        return checks.check(bp)

    def package(self, bp: "Blueprint", function: str) -> Artifact:
        """Code + runtime + shim + requirements.txt; Cloud Build installs the requirements remotely."""
        from deployer import bundle, packaging

        extra = [*bundle.client_requirements(bp, function, self.name), "functions-framework>=3.5"]
        python = bp.functions[function].runtime.removeprefix("python")  # no vendoring: informational
        return packaging.package(bp, function, cloud=self.name, target=packaging.Target(None, python),
                                 extra_requirements=extra)

    def stack_config(self, bp: "Blueprint") -> dict[str, str]:
        settings = bp.clouds.gcp
        return {"gcp:region": settings.region, **({"gcp:project": settings.project} if settings.project else {})}

    def program(self, bp: "Blueprint", artifacts: dict[str, Artifact]) -> Callable[[], None]:
        if not bp.clouds.gcp.project:
            raise UsageError("clouds.gcp.project is not set", hint="run `deployer validate --cloud gcp`")
        missing = sorted(set(bp.functions) - set(artifacts))
        if missing:
            raise UsageError(f"no package for function(s) {', '.join(missing)}")

        def run() -> None:
            from providers.gcp.context import Gcp

            declare(Gcp(bp, bp.clouds.gcp.project, bp.clouds.gcp.region), artifacts)

        return run

    def mock_resource(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from providers.gcp import mocks

        return mocks.resource(typ, name, inputs)

    def mock_call(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        from providers.gcp import mocks

        return mocks.call(token, args)


def declare(gcp: "Gcp", artifacts: dict[str, Artifact]) -> None:
    """The whole program: APIs, stores, functions, triggers, grants, HTTP API, outputs."""
    import pulumi

    from providers.gcp import apis, functions, http, iam

    apis.enable(gcp)
    for name, store in gcp.bp.stores.items():
        gcp.stores[name] = declare_store(gcp, name, store)
    if gcp.bp.functions:
        bucket = functions.source_bucket(gcp)
        for name in gcp.bp.functions:
            gcp.functions[name] = functions.declare(gcp, name, artifacts[name], bucket)
    for name in gcp.bp.functions:
        declare_triggers(gcp, name)
        iam.grant_stores(gcp, name)
    keep_unconsumed_queues(gcp)
    api_url = http.declare(gcp)
    if api_url is not None:
        pulumi.export("api_url", api_url)
    pulumi.export("functions", {n: ref.uri for n, ref in gcp.functions.items()})
    pulumi.export("stores", {n: ref.locator for n, ref in gcp.stores.items()})


def declare_store(gcp: "Gcp", name: str, store):
    from providers.gcp import buckets, queues, tables, topics

    match store:
        case BucketStore():
            return buckets.declare(gcp, name, store)
        case TableStore():
            return tables.declare(gcp, name, store)
        case QueueStore():
            return queues.declare(gcp, name, store)
        case TopicStore():
            return topics.declare(gcp, name, store)
    raise TypeError(f"unsupported store kind {type(store).__name__}")


def declare_triggers(gcp: "Gcp", function: str) -> None:
    """Who may call the function, and the triggers that are resources of their own."""
    from providers.gcp import events, iam, queues, schedules

    ref = gcp.function(function)
    events.declare(gcp, function)
    if ref.invoker is not None:
        iam.invoker(gcp, f"fn-{function}-invoker-run-invoker", function, iam.member(ref.invoker))
    fn = gcp.bp.functions[function]
    for index, trigger in enumerate(fn.triggers):
        match trigger:
            case QueueTrigger():
                queues.consume(gcp, function, trigger)
            case ScheduleTrigger():
                schedules.declare(gcp, function, index, trigger)
            case HttpTrigger() | TopicTrigger() | BucketTrigger():
                pass  # HTTP: http.declare; topics and buckets: the function's event_trigger
            case _:
                raise TypeError(f"unsupported trigger {type(trigger).__name__}")
    if any(isinstance(t, QueueTrigger) for t in fn.triggers):
        iam.token_creator(gcp, function)
    if any(isinstance(t, BucketTrigger) for t in fn.triggers):
        iam.event_receiver(gcp, function)
        if not gcp.storage_agent_granted:
            iam.storage_agent_publisher(gcp)
            gcp.storage_agent_granted = True


def keep_unconsumed_queues(gcp: "Gcp") -> None:
    from deployer.blueprint.refs import consumers
    from providers.gcp import queues

    for name, store in gcp.bp.stores.items():
        if isinstance(store, QueueStore) and not consumers(gcp.bp, name):
            queues.keep_unconsumed(gcp, name)
