"""The Google APIs a blueprint needs, enabled with `projects.Service` before anything else.

Only what the blueprint uses is enabled (a blueprint without schedules does not enable Cloud
Scheduler). Cloud Resource Manager is always enabled: project-level IAM bindings and project lookups go
through it. `disable_on_destroy=False`: other workloads in the same project may depend on an API, and
disabling one on `destroy` would break them; an enabled API costs nothing.
"""

from __future__ import annotations

from deployer.blueprint.model import Blueprint, BucketStore, QueueStore, ScheduleTrigger, TableStore, TopicStore
from deployer.blueprint.refs import http_routes, triggers
from deployer.resources.graph import APP
from providers.gcp.context import GcpContext, event_triggers

BASE = ("cloudfunctions", "cloudbuild", "artifactregistry", "run", "storage", "iam", "logging")


def required(bp: Blueprint) -> list[str]:
    """Service names (`run.googleapis.com`) the blueprint needs, sorted."""
    names = set(BASE) if bp.functions else {"storage", "iam"}
    names.add("cloudresourcemanager")
    for store in bp.stores.values():
        match store:
            case QueueStore() | TopicStore():
                names.add("pubsub")
            case TableStore():
                names.add("firestore")
            case BucketStore():
                names.add("storage")
            case _:
                raise TypeError(f"unsupported store {type(store).__name__}")
    if any(event_triggers(fn) for fn in bp.functions.values()):
        names.update({"eventarc", "pubsub"})
    if any(isinstance(t, ScheduleTrigger) for _, _, t in triggers(bp)):
        names.add("cloudscheduler")
    if http_routes(bp):
        names.update({"apigateway", "servicemanagement", "servicecontrol"})
    if any(fn.secrets for fn in bp.functions.values()):
        names.add("secretmanager")
    return sorted(f"{n}.googleapis.com" for n in names)


def enable(ctx: GcpContext) -> None:
    """One `projects.Service` per API; later resources depend on all of them (ctx.add)."""
    for service in required(ctx.bp):
        short = service.split(".", 1)[0]
        ctx.apis[short] = ctx.g.add("gcp:projects/service:Service", f"app-api-{short}", APP, project=ctx.project,
                                    service=service, disable_on_destroy=False, disable_dependent_services=False)
