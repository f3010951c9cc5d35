"""Functions: Cloud Functions (2nd gen) built by Cloud Build from a zip in the app's source bucket.

Why the content hash is in the object NAME: a gen2 function rebuilds only when its
`storage_source.object` changes, so `functions/<fn>/<sha256>.zip` makes a code change a new object
(and a new build) and an unchanged zip no change at all.

Each function runs as its own service account (no default compute account, so it has exactly the
roles iam.py grants) and is built by the app's build account (`build_config.service_account`). The
build env `GOOGLE_FUNCTION_SOURCE=deployer_shim.py` makes the shim the source file; the entry point
is `http_entry` for functions reached over HTTP (routes, Pub/Sub push, Cloud Scheduler) and
`event_entry` for functions with an Eventarc trigger (topics, buckets). A gen2 function carries one
event trigger (more sources: events.py) and one entry point (`check` rejects a function that mixes
HTTP-delivered and event triggers).

Secrets: one Secret Manager secret and version per blueprint secret (secrets.py), read by the function
as `secret_environment_variables` (never plain environment), with secretAccessor on that secret for
the granted functions' accounts only. The function waits for every grant its deploy or its first
events need (secret access, build roles, the bucket-trigger grants).

Ingress: ALLOW_INTERNAL_ONLY only for functions reached solely through Eventarc (topics, buckets), whose
triggers address the Cloud Run service itself. Cloud Run counts Pub/Sub push and Cloud Scheduler calls
as internal only when they use the service's default run.app URL, but they (and API Gateway) call the
function's `url`, its cloudfunctions.net address: functions with an HTTP, queue or schedule trigger get
ALLOW_ALL, or every push and every scheduled run would be refused. IAM (run.invoker held by the
callers' accounts only, never allUsers) is what authenticates every call.
"""

from __future__ import annotations

from deployer import naming
from deployer.blueprint.model import BucketTrigger, HttpTrigger, QueueTrigger, ScheduleTrigger, TableStore, TopicTrigger
from deployer.blueprint.refs import reachable_stores
from deployer.providers import Artifact
from deployer.resources.compile import FunctionRef
from deployer.resources.graph import APP, Resource, function as fn_owner
from deployer.resources.values import Asset, Json
from providers.gcp import buckets, iam, queues, secrets, topics
from providers.gcp.context import GcpContext, compact, event_triggers, memory, runtime
from providers.gcp.tables import database_id

SHIM_SOURCE = "deployer_shim.py"


def source_bucket(ctx: GcpContext) -> Resource:
    """Holds the functions' zips: private, and emptied on destroy (it keeps nothing but builds). Soft delete
    is off: every code change replaces a zip, and Cloud Storage's default would keep (and bill) each
    replaced zip, and the whole bucket after `destroy`, for 7 days."""
    if "source" not in ctx.shared:
        ctx.shared["source"] = ctx.add(
            "gcp:storage/bucket:Bucket", "app-source", APP, name=ctx.global_name("source"),
            location=ctx.region.upper(), project=ctx.project, uniform_bucket_level_access=True,
            public_access_prevention="enforced", force_destroy=True,
            soft_delete_policy={"retention_duration_seconds": 0}, labels=ctx.labels())
        ctx.shared["build"], ctx.build_grants = iam.build_account(ctx, ctx.global_name("source"))
    return ctx.shared["source"]


def object_name(function: str, artifact: Artifact) -> str:
    return f"functions/{function}/{artifact.sha256}.zip"


def environment(ctx: GcpContext, function: str, invoker: Resource | None) -> dict:
    """DEPLOYER_* (docs/contracts.md) and the function's env; secrets are not here (secrets.py)."""
    bp, fn = ctx.bp, ctx.bp.functions[function]
    env: dict = {"DEPLOYER_CLOUD": "gcp", "DEPLOYER_APP": ctx.app, "DEPLOYER_FUNCTION": function,
                 "DEPLOYER_GCP_PROJECT": ctx.project}
    env.update(naming.store_env(bp, function, lambda store: ctx.store(store).locator))
    if any(isinstance(bp.stores[store], TableStore) and ctx.store(store).extra["own"]
           for store in reachable_stores(bp, function)):  # an existing table's locator names its database
        env["DEPLOYER_GCP_DATABASE"] = database_id(ctx)
    if invoker is not None and any(isinstance(t, (QueueTrigger, ScheduleTrigger)) for t in fn.triggers):
        env["DEPLOYER_GCP_INVOKER"] = invoker.out("email")  # the only account the shim accepts events from
    consumed = queues.settings(ctx, function)
    if consumed:
        env["DEPLOYER_GCP_QUEUES"] = Json(consumed)
    env.update(fn.env)
    return dict(sorted(env.items()))


def ingress(ctx: GcpContext, function: str) -> str:
    fn = ctx.bp.functions[function]
    public = any(isinstance(t, (HttpTrigger, QueueTrigger, ScheduleTrigger)) for t in fn.triggers)
    return "ALLOW_ALL" if public or not fn.triggers else "ALLOW_INTERNAL_ONLY"


def event_trigger(ctx: GcpContext, function: str, invoker: Resource | None) -> dict | None:
    """The function's own Eventarc trigger: its first event source (events.py declares the others)."""
    triggers = event_triggers(ctx.bp.functions[function])
    if not triggers:
        return None
    match triggers[0]:
        case TopicTrigger() as trigger:
            return topics.event_trigger(ctx, trigger, invoker.out("email"))
        case BucketTrigger() as trigger:
            return buckets.event_trigger(ctx, trigger, invoker.out("email"))
        case other:
            raise TypeError(f"unsupported event trigger {type(other).__name__}")


def declare(ctx: GcpContext, function: str) -> FunctionRef:
    """The function, its runtime account, its invoker account (when something calls it), its source,
    and the grants it needs before it is created."""
    fn, owner = ctx.bp.functions[function], fn_owner(function)
    bucket = source_bucket(ctx)
    account = iam.account(ctx, f"fn-{function}-account", owner, function, "run",
                          description=f"deployer {ctx.app} function {function}")
    invoker = None
    if any(not isinstance(t, HttpTrigger) for t in fn.triggers):
        invoker = iam.account(ctx, f"fn-{function}-invoker", owner, function, "inv",
                              description=f"deployer {ctx.app}: calls function {function}")
    ref = FunctionRef(function, account, None, {"account": account, "invoker": invoker})
    before = [*ctx.build_grants, *secrets.grant(ctx, function, ref), *event_grants(ctx, function, invoker)]
    source = ctx.add("gcp:storage/bucketObject:BucketObject", f"fn-{function}-source", owner,
                     bucket=bucket.out("name"), name=object_name(function, ctx.artifacts[function]),
                     source=Asset(str(ctx.artifacts[function].path)), content_type="application/zip")
    notes = buckets.filter_note([t for t in event_triggers(fn) if isinstance(t, BucketTrigger)])
    resource = ctx.add(
        "gcp:cloudfunctionsv2/function:Function", f"fn-{function}-function", owner, depends_on=tuple(before),
        name=ctx.function_name(function), location=ctx.region, project=ctx.project,
        description=notes or f"deployer {ctx.app}: {function} ({fn.handler})",
        labels=ctx.labels(**{"deployer-function": function[:63]},
                          **({"deployer-filter": "in-function"} if notes else {})),
        build_config={"runtime": runtime(fn), "entry_point": "event_entry" if event_triggers(fn) else "http_entry",
                      "environment_variables": {"GOOGLE_FUNCTION_SOURCE": SHIM_SOURCE},
                      "service_account": ctx.shared["build"].out("name"),
                      "source": {"storage_source": {"bucket": bucket.out("name"), "object": source.out("name")}}},
        service_config=compact({"available_memory": memory(fn), "timeout_seconds": fn.timeout,
                        "max_instance_count": fn.max_instances,
                        "environment_variables": environment(ctx, function, invoker),
                        "secret_environment_variables": secrets.environment(ctx, function) or None,
                        "service_account_email": account.out("email"), "ingress_settings": ingress(ctx, function),
                        "all_traffic_on_latest_revision": True}),
        event_trigger=event_trigger(ctx, function, invoker))
    return FunctionRef(function, resource, resource.out("url"), ref.extra)


def event_grants(ctx: GcpContext, function: str, invoker: Resource | None) -> list[Resource]:
    """What the function's Eventarc trigger needs before it is created: the Pub/Sub agent may mint the
    invoker's tokens, Eventarc's own agent exists with its role; bucket triggers also need eventReceiver
    and the Cloud Storage agent's publisher."""
    fn = ctx.bp.functions[function]
    if invoker is None or not any(isinstance(t, (TopicTrigger, BucketTrigger, QueueTrigger)) for t in fn.triggers):
        return []
    made = [iam.token_creator(ctx, function, invoker)]
    if event_triggers(fn):
        made.append(iam.eventarc_agent(ctx))
    if any(isinstance(t, BucketTrigger) for t in fn.triggers):
        made += [iam.event_receiver(ctx, function, invoker), iam.storage_agent_publisher(ctx)]
    return made
