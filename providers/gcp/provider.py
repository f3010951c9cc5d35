"""GcpProvider: compiles a blueprint into a resource graph for Cloud Functions (2nd gen) and friends.

The provider implements the shared driver's hooks (deployer/resources/compile.py): the context (APIs
first), one module per store kind, functions, then triggers, grants and the HTTP API. No module here
imports Pulumi: `plan` renders the graph and `up` runs the shared executor over it.

Without `clouds.gcp.project`, `plan` and `eject` build the graph with a placeholder project and warn
(checks.py); `up`, `preview` and `destroy` refuse with exit 2 (`engine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deployer.blueprint.model import (
    BucketStore, BucketTrigger, HttpTrigger, QueueStore, QueueTrigger, ScheduleTrigger, TableStore, TopicStore,
    TopicTrigger,
)
from deployer.errors import Diagnostic, UsageError
from deployer.providers import Artifact, Provider
from deployer.resources.checks import NameRule, Ordering, Rules
from providers.gcp.settings import GcpSettings

if TYPE_CHECKING:
    from deployer.blueprint.model import Blueprint
    from deployer.resources.compile import FunctionRef, StoreRef
    from providers.gcp.context import GcpContext

BUCKET = r"[a-z0-9][a-z0-9._-]*[a-z0-9]"
INVOKER_BINDING = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"


class GcpProvider(Provider):
    name = "gcp"
    settings = GcpSettings
    title = "Google Cloud (Cloud Functions 2nd gen)"
    services = {"api": "API Gateway", "schedule": "Cloud Scheduler", "function": "Cloud Functions 2nd gen",
                "bucket": "Cloud Storage", "table": "Firestore", "queue": "Pub/Sub topic + push subscription",
                "topic": "Pub/Sub", "dead-letter": "Pub/Sub dead-letter topic"}
    client_packages = {"bucket": "google-cloud-storage>=2.14,<4", "table": "google-cloud-firestore>=2.14,<3",
                       "queue": "google-cloud-pubsub>=2.19,<3", "topic": "google-cloud-pubsub>=2.19,<3"}
    #: What deploying needs (deployer.prerequisites): installed by `pip install 'deployer[gcp]'`.
    requirements = ("pulumi", "pulumi-gcp")
    extra = "gcp"
    #: A keeping `destroy` first turns every queue's push subscription into a pull one (queues.py).
    detaches_on_keep = True

    def check(self, bp: "Blueprint") -> list[Diagnostic]:
        from providers.gcp import checks

        return checks.check(bp)

    def package(self, bp: "Blueprint", function: str) -> Artifact:
        """Code + runtime + shim + requirements.txt; Cloud Build installs the requirements remotely."""
        from deployer import bundle, packaging
        from providers.gcp import checks

        extra = [*bundle.client_requirements(bp, function, self.name), *checks.shim_requirements(bp, function),
                 "functions-framework>=3.5"]
        python = bp.functions[function].runtime.removeprefix("python")  # no vendoring: informational
        return packaging.package(bp, function, cloud=self.name, target=packaging.Target(None, python),
                                 extra_requirements=sorted(set(extra)))

    def stack_config(self, bp: "Blueprint") -> dict[str, str]:
        from providers.gcp.context import PLACEHOLDER_PROJECT

        settings = bp.clouds.gcp
        return {"gcp:project": settings.project or PLACEHOLDER_PROJECT, "gcp:region": settings.region}

    # `deployer invoke` / `deployer logs` (providers/gcp/remote.py, imported on use)
    def invoke(self, bp, function, event, options):
        from providers.gcp import remote

        return remote.invoke(bp, function, event, options)

    def logs(self, bp, function, since, follow, filter, options):
        from providers.gcp import remote

        return remote.logs(bp, function, since, follow, filter, options)

    def engine(self, bp: "Blueprint", options: Any) -> Any:
        """Deploying needs a real project: the placeholder is for offline plans only (exit 2)."""
        if not bp.clouds.gcp.project:
            raise UsageError("clouds.gcp.project is not set: GCP needs the project to deploy into",
                             hint='add `clouds: {gcp: {project: "${env:GCP_PROJECT}"}}` and export GCP_PROJECT')
        return super().engine(bp, options)

    # -- the resource graph -----------------------------------------------------------------------------
    def context(self, bp: "Blueprint", artifacts: dict[str, Artifact], keep_data: bool) -> "GcpContext":
        from deployer.resources.graph import Builder
        from providers.gcp import apis
        from providers.gcp.context import PLACEHOLDER_PROJECT, GcpContext

        ctx = GcpContext(bp, artifacts, Builder(self.name, bp.name, bp.stage, self.stack_config(bp)), keep_data,
                         project=bp.clouds.gcp.project or PLACEHOLDER_PROJECT, region=bp.clouds.gcp.region)
        apis.enable(ctx)
        return ctx

    def declare_store(self, ctx: "GcpContext", name: str, store: Any) -> "StoreRef":
        from providers.gcp import buckets, queues, tables, topics

        match store:
            case BucketStore():
                return buckets.declare(ctx, name, store)
            case TableStore():
                return tables.declare(ctx, name, store)
            case QueueStore():
                return queues.declare(ctx, name, store)
            case TopicStore():
                return topics.declare(ctx, name, store)
        raise TypeError(f"the GCP provider does not support store kind {type(store).__name__}")

    def declare_function(self, ctx: "GcpContext", name: str) -> "FunctionRef":
        from providers.gcp import functions

        return functions.declare(ctx, name)

    def declare_triggers(self, ctx: "GcpContext") -> None:
        from providers.gcp import http, iam

        for name in ctx.bp.functions:
            declare_function_triggers(ctx, name)
            iam.grant_stores(ctx, name)
        keep_unconsumed_queues(ctx)
        http.declare(ctx)

    def graph_rules(self) -> Rules:
        project = ("gcp:project",)
        return Rules(
            names={"gcp:storage/bucket:Bucket": NameRule("name", 63, BUCKET, worldwide=True, unique_config=project,
                                                          description="bucket"),
                   "gcp:cloudfunctionsv2/function:Function": NameRule("name", 48, r"[a-z][a-z0-9-]*",
                                                                      description="function"),
                   "gcp:serviceaccount/account:Account": NameRule("account_id", 30, r"[a-z][a-z0-9-]{4,28}[a-z0-9]",
                                                                  description="service account"),
                   "gcp:pubsub/topic:Topic": NameRule("name", 255, r"[A-Za-z][\w.~+%-]{2,254}", description="topic"),
                   "gcp:pubsub/subscription:Subscription": NameRule("name", 255, r"[A-Za-z][\w.~+%-]{2,254}",
                                                                    description="subscription"),
                   "gcp:secretmanager/secret:Secret": NameRule("secret_id", 255, r"[\w-]+", description="secret"),
                   "gcp:apigateway/gateway:Gateway": NameRule("gateway_id", 49, r"[a-z0-9][a-z0-9-]*",
                                                              description="API gateway"),
                   "gcp:apigateway/api:Api": NameRule("api_id", 63, r"[a-z0-9][a-z0-9-]*", description="API")},
            orderings=(Ordering("gcp:pubsub/subscription:Subscription", INVOKER_BINDING),
                       Ordering("gcp:cloudscheduler/job:Job", INVOKER_BINDING)),
            not_adopted=("gcp:projects/iAMMember:IAMMember",))  # the shared grant, kept on destroy


def declare_function_triggers(ctx: "GcpContext", function: str) -> None:
    """Who may call the function, and the triggers that are resources of their own; each trigger is
    created after the run.invoker (and token creator) it needs."""
    from providers.gcp import events, iam, queues, schedules
    from providers.gcp.context import invoker

    ref, fn = ctx.fn(function), ctx.bp.functions[function]
    who = invoker(ref)
    after = []
    if who is not None:
        after.append(iam.run_invoker(ctx, f"fn-{function}-invoker-run-invoker", function, iam.member(who)))
        if f"fn-{function}-invoker-pubsub-token-creator" in ctx.g:
            after.append(ctx.g.get(f"fn-{function}-invoker-pubsub-token-creator"))
    events.declare(ctx, function, after)
    for index, trigger in enumerate(fn.triggers):
        match trigger:
            case QueueTrigger():
                queues.subscribe(ctx, trigger.queue, tuple(after))
            case ScheduleTrigger():
                schedules.declare(ctx, function, index, trigger, after)
            case HttpTrigger() | TopicTrigger() | BucketTrigger():
                pass  # HTTP: http.declare; topics and buckets: the function's event_trigger
            case _:
                raise TypeError(f"unsupported trigger {type(trigger).__name__}")


def keep_unconsumed_queues(ctx: "GcpContext") -> None:
    """A queue nobody consumes gets its subscription too (PULL): without one, Pub/Sub drops what is sent."""
    from providers.gcp import queues

    for name, store in ctx.bp.stores.items():
        if isinstance(store, QueueStore) and not ctx.consumers(name):
            queues.subscribe(ctx, name)
