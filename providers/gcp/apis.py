"""The Google APIs a blueprint needs, enabled with `projects.Service` before anything else.

Only what the blueprint uses is enabled (a blueprint without schedules does not enable Cloud
Scheduler). `disable_on_destroy=False`: other workloads in the same project may depend on an API, and
disabling one on `destroy` would break them; an enabled API costs nothing.
"""

from __future__ import annotations

from pulumi_gcp import projects

from deployer.blueprint.model import BucketStore, QueueStore, ScheduleTrigger, TableStore, TopicStore
from deployer.blueprint.refs import http_routes, triggers
from providers.gcp.context import Gcp, event_triggers

BASE = ("cloudfunctions", "cloudbuild", "artifactregistry", "run", "storage", "iam", "logging")


def required(gcp: Gcp) -> list[str]:
    """Service names (`run.googleapis.com`) the blueprint needs, sorted."""
    bp = gcp.bp
    names = set(BASE) if bp.functions else {"storage", "iam"}
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
    return sorted(f"{n}.googleapis.com" for n in names)


def enable(gcp: Gcp) -> None:
    """Declare one `projects.Service` per API; later resources depend on all of them (gcp.opts())."""
    for service in required(gcp):
        short = service.split(".", 1)[0]
        gcp.apis.append(projects.Service(
            f"app-api-{short}", project=gcp.project, service=service, disable_on_destroy=False,
            disable_dependent_services=False))
