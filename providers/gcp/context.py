"""What every GCP kind module shares while one resource graph is built.

`GcpContext` extends the shared `CompileContext` (deployer/resources/compile.py) with the project, the
region, the API resources everything waits for, and the name rules: every module cuts physical names
to the same GCP limits the same way. Nothing here imports Pulumi: modules add plain data to the graph
(`ctx.add`), and outputs known only after deploy are `Out` references.

Without `clouds.gcp.project` the graph is still built, with `PLACEHOLDER_PROJECT` (plan and eject work
offline and warn; `up` refuses, see provider.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deployer import naming
from deployer.blueprint.model import (
    BucketTrigger, Function, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger,
)
from deployer.blueprint.schedule import Cron, Every, parse_schedule
from deployer.resources.compile import CompileContext, FunctionRef
from deployer.resources.graph import Owner, Resource

# Limits of the names GCP checks (see docs/gcp.md).
FUNCTION_NAME_MAX = 48      # a gen2 function is a Cloud Run service: < 49 characters, lowercase
ACCOUNT_ID_MAX = 30         # service account ids: 6-30 characters
BUCKET_NAME_MAX = 63
PUBSUB_NAME_MAX = 255
DATABASE_ID_MAX = 63
SCHEDULER_JOB_MAX = 500
GATEWAY_ID_MAX = 49        # API Gateway: gateway ids at most 49 (the hostname adds a hash), api ids 63
API_ID_MAX = 63
SECRET_ID_MAX = 255

#: The APIs a resource's module needs enabled first (its create call goes to them).
APIS_OF = {"apigateway": ("apigateway", "servicemanagement", "servicecontrol"),
           "cloudfunctionsv2": ("cloudfunctions", "cloudbuild", "artifactregistry", "run"),
           "cloudrunv2": ("run",), "cloudscheduler": ("cloudscheduler",), "eventarc": ("eventarc",),
           "firestore": ("firestore",), "projects": ("cloudresourcemanager",), "pubsub": ("pubsub",),
           "secretmanager": ("secretmanager",), "serviceaccount": ("iam",), "storage": ("storage",)}

RUN_INVOKER = "roles/run.invoker"
PLACEHOLDER_PROJECT = "gcp-project-not-set"

#: Paths of the function URL that only Pub/Sub push and Cloud Scheduler call (never routed by the
#: gateway's OpenAPI document); the shim verifies the caller's OIDC token on them.
PUSH_PATH = "/_deployer/push"
SCHEDULE_PATH = "/_deployer/schedule"


def compact(inputs: dict) -> dict:
    """A nested input without its None values (the graph builder drops top-level ones only)."""
    return {k: v for k, v in inputs.items() if v is not None}


def runtime(fn: Function) -> str:
    """`python3.12` -> `python312`, the Cloud Functions runtime id."""
    return fn.runtime.replace(".", "")


def memory(fn: Function) -> str:
    """Memory as Cloud Functions wants it (`256M`), never below gen2's minimum of 128 MB."""
    return f"{max(fn.memory, 128)}M"


def unix_cron(text: str) -> str | None:
    """Cloud Scheduler's schedule (unix cron) for a blueprint schedule; None where no exact cron exists."""
    match parse_schedule(text):
        case Cron() as cron:
            return cron.expression
        case Every() as every:
            cron = every.cron
            return cron.expression if cron else None
        case other:
            raise TypeError(f"unsupported schedule {other!r}")


def event_triggers(fn: Function) -> list:
    """Triggers delivered as CloudEvents through Eventarc (the function's `event_trigger`)."""
    return [t for t in fn.triggers if isinstance(t, (TopicTrigger, BucketTrigger))]


def http_delivered(fn: Function) -> list:
    """Triggers delivered as plain HTTP requests: routes, Pub/Sub push and Cloud Scheduler."""
    return [t for t in fn.triggers if isinstance(t, (HttpTrigger, QueueTrigger, ScheduleTrigger))]


def event_sources(fn: Function) -> list[tuple[str, str]]:
    """Distinct (event type, source) pairs; one gen2 function carries exactly one event trigger."""
    sources: list[tuple[str, str]] = []
    for trigger in event_triggers(fn):
        match trigger:
            case TopicTrigger(topic=topic):
                key = ("google.cloud.pubsub.topic.v1.messagePublished", topic)
            case BucketTrigger(bucket=bucket, on=on):
                verb = "finalized" if on == "created" else "deleted"
                key = (f"google.cloud.storage.object.v1.{verb}", bucket)
            case _:
                raise TypeError(f"unsupported event trigger {type(trigger).__name__}")
        if key not in sources:
            sources.append(key)
    return sources


@dataclass
class GcpContext(CompileContext):
    """The shared context plus the project, the region and the APIs every resource waits for."""

    project: str = PLACEHOLDER_PROJECT
    region: str = "us-central1"
    apis: dict[str, Resource] = field(default_factory=dict)
    shared: dict[str, Resource] = field(default_factory=dict)  # app-level resources declared once
    build_grants: list[Resource] = field(default_factory=list)  # the build account's roles

    # ------------------------------------------------------------------ names
    @property
    def app(self) -> str:
        return self.bp.stage_name()

    def name(self, *parts: str, max_length: int = 63) -> str:
        """`<name>-<stage>-<parts>` cut to `max_length` with a stable hash."""
        return naming.physical_name(self.bp.name, self.bp.stage, *parts, max_length=max_length)

    def global_name(self, *parts: str, max_length: int = BUCKET_NAME_MAX) -> str:
        """A name unique worldwide (buckets): `<app>-<parts>-<project id>`. Project ids are unique
        worldwide, so two projects never compete for one name; the app part is cut to leave room."""
        room = max_length - len(self.project) - 1
        return f"{self.name(*parts, max_length=room)}-{self.project}"

    def function_name(self, function: str) -> str:
        return self.name(function, max_length=FUNCTION_NAME_MAX)

    def labels(self, **extra: str) -> dict[str, str]:
        return {"deployer-app": self.app[:63], **extra}

    # ---------------------------------------------------------------- resources
    def add(self, type_: str, logical: str, owner: Owner, /, *, stateful: bool = False, shared: bool = False,
            depends_on: tuple = (), **inputs: Any) -> Resource:
        """A resource that waits for the APIs. Stores are kept on destroy unless --delete-data; grants
        every stack of a project shares (`shared`) are always kept: another stack may rely on them."""
        module = type_.split(":")[1].split("/")[0]
        needed = [self.apis[api] for api in APIS_OF.get(module, ()) if api in self.apis]
        if type_ == "gcp:projects/serviceIdentity:ServiceIdentity":
            needed.append(self.apis[inputs["service"].split(".", 1)[0]])
        return self.g.add(type_, logical, owner, depends_on=[*needed, *depends_on],
                          retain=(stateful and self.keep_data) or shared, **inputs)

    def fn(self, name: str) -> FunctionRef:
        return self.functions[name]


def account(ref: FunctionRef) -> Resource:
    """The function's runtime service account."""
    return ref.extra["account"]


def invoker(ref: FunctionRef) -> Resource | None:
    """The account that calls the function for its non-HTTP triggers (None when only routes call it)."""
    return ref.extra.get("invoker")
