"""The one typed lookup every GCP module shares while the program runs.

Modules never pass resources to each other through ad hoc dictionaries: stores register a `StoreRef`,
functions a `FunctionRef`, and later steps (triggers, IAM, outputs) look them up here. Physical names
are derived here too, so every module cuts names to the same GCP limits the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deployer import naming
from deployer.blueprint.model import (
    Blueprint, BucketTrigger, Function, HttpTrigger, QueueTrigger, ScheduleTrigger, TopicTrigger,
)
from deployer.blueprint.schedule import Cron, Every, parse_schedule

# Limits of the names GCP checks (see docs/gcp.md).
FUNCTION_NAME_MAX = 48      # a gen2 function is a Cloud Run service: < 49 characters, lowercase
ACCOUNT_ID_MAX = 30         # service account ids: 6-30 characters
BUCKET_NAME_MAX = 63
PUBSUB_NAME_MAX = 255
DATABASE_ID_MAX = 63
SCHEDULER_JOB_MAX = 500
GATEWAY_ID_MAX = 63
API_ID_MAX = 63

RUN_INVOKER = "roles/run.invoker"

if TYPE_CHECKING:  # pulumi is imported by the program only, so `validate --cloud gcp` stays light
    import pulumi
    from pulumi_gcp import serviceaccount


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
class StoreRef:
    """A declared store: its kind, its main resource and its locator (DEPLOYER_STORE_<NAME>)."""

    kind: str
    resource: pulumi.CustomResource
    locator: pulumi.Output[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FunctionRef:
    """A declared function: the function, its runtime identity and (when something calls it) its invoker."""

    function: Any
    account: serviceaccount.Account
    invoker: serviceaccount.Account | None = None

    @property
    def uri(self) -> pulumi.Output[str]:
        """The Cloud Run URL of the function (also the OIDC audience of its callers).

        `service_config` holds the secret environment too, so Pulumi marks all of it secret; the URL
        and the service name are not, and unsecret keeps them readable in outputs and the API config."""
        import pulumi

        return pulumi.Output.unsecret(self.function.service_config.apply(lambda c: c.uri))

    @property
    def service(self) -> pulumi.Output[str]:
        """The Cloud Run service behind the function (invoker roles are granted on it)."""
        import pulumi

        # The API returns the full name (projects/P/locations/R/services/S) or the short one: keep S.
        return pulumi.Output.unsecret(self.function.service_config.apply(lambda c: c.service.rsplit("/", 1)[-1]))


@dataclass
class Gcp:
    """Everything the program's steps share: blueprint, project, region and what was declared so far."""

    bp: Blueprint
    project: str
    region: str
    apis: list[pulumi.Resource] = field(default_factory=list)
    stores: dict[str, StoreRef] = field(default_factory=dict)
    functions: dict[str, FunctionRef] = field(default_factory=dict)
    storage_agent_granted: bool = False
    _project_number: pulumi.Output[str] | None = None

    # ------------------------------------------------------------------ names
    @property
    def app(self) -> str:
        return self.bp.stage_name()

    def name(self, *parts: str, max_length: int = 63) -> str:
        """`<name>-<stage>-<parts>` cut to `max_length` with a stable hash."""
        return naming.physical_name(self.bp.name, self.bp.stage, *parts, max_length=max_length)

    def global_name(self, *parts: str, max_length: int = BUCKET_NAME_MAX) -> str:
        """A globally unique name (buckets): the project's short hash keeps two projects apart."""
        return self.name(*parts, naming.short_hash(self.project), max_length=max_length)

    def function_name(self, function: str) -> str:
        return self.name(function, max_length=FUNCTION_NAME_MAX)

    def labels(self, **extra: str) -> dict[str, str]:
        return {"deployer-app": self.app[:63], **extra}

    # ---------------------------------------------------------------- options
    def opts(self, *, stateful: bool = False, depends_on: list | None = None) -> pulumi.ResourceOptions:
        """Every resource waits for the APIs; stores are retained on destroy unless --delete-data."""
        import pulumi

        from deployer.providers import keep_data

        return pulumi.ResourceOptions(depends_on=[*self.apis, *(depends_on or [])],
                                      retain_on_delete=keep_data() if stateful else None)

    # --------------------------------------------------------------- lookups
    def store(self, name: str) -> StoreRef:
        return self.stores[name]

    def function(self, name: str) -> FunctionRef:
        return self.functions[name]

    def project_number(self) -> pulumi.Output[str]:
        """The project NUMBER (service agents' emails carry it), read once through an invoke."""
        if self._project_number is None:
            from pulumi_gcp import organizations

            self._project_number = organizations.get_project_output(project_id=self.project).number
        return self._project_number

    def pubsub_agent(self) -> pulumi.Output[str]:
        return self.project_number().apply(
            lambda n: f"serviceAccount:service-{n}@gcp-sa-pubsub.iam.gserviceaccount.com")
