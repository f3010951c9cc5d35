"""Functions: Cloud Functions (2nd gen) built by Cloud Build from a zip in the app's source bucket.

Why the content hash is in the object NAME: a gen2 function rebuilds only when its
`storage_source.object` changes, so `functions/<fn>/<sha256>.zip` makes a code change a new object
(and a new build) and an unchanged zip no change at all.

Each function runs as its own service account (no default compute account, so it has exactly the
roles iam.py grants). The build env `GOOGLE_FUNCTION_SOURCE=deployer_shim.py` makes the shim the
source file; the entry point is `http_entry` for functions reached over HTTP (routes, Pub/Sub push,
Cloud Scheduler) and `event_entry` for functions with an Eventarc trigger (topics, buckets). A gen2
function carries one event trigger (more sources: events.py) and one entry point (`check` rejects a
function that mixes HTTP-delivered and event triggers).

Ingress: ALLOW_ALL only where the caller comes from outside Google's network (API Gateway calls the
function's run.app URL from the gateway, which Cloud Run counts as external) or where Cloud Scheduler
calls; functions reached only through Pub/Sub and Eventarc get ALLOW_INTERNAL_ONLY. IAM (run.invoker
held by the callers' accounts only, never allUsers) is what authenticates every call.
"""

from __future__ import annotations

import pulumi
from pulumi_gcp import cloudfunctionsv2, storage

from deployer import naming
from deployer.blueprint.model import BucketTrigger, HttpTrigger, ScheduleTrigger, TableStore, TopicTrigger
from deployer.blueprint.refs import reachable_stores
from deployer.providers import Artifact
from providers.gcp import buckets, iam, topics
from providers.gcp.context import Gcp, FunctionRef, event_triggers, memory, runtime
from providers.gcp.tables import database_id

SHIM_SOURCE = "deployer_shim.py"


def source_bucket(gcp: Gcp) -> storage.Bucket:
    """Holds the functions' zips: private, and emptied on destroy (it keeps nothing but builds)."""
    return storage.Bucket("app-source", name=gcp.global_name("source"), location=gcp.region.upper(),
                          project=gcp.project, uniform_bucket_level_access=True,
                          public_access_prevention="enforced", force_destroy=True,
                          labels=gcp.labels(), opts=gcp.opts())


def object_name(function: str, artifact: Artifact) -> str:
    return f"functions/{function}/{artifact.sha256}.zip"


def environment(gcp: Gcp, function: str) -> dict[str, pulumi.Input[str]]:
    """DEPLOYER_* (docs/contracts.md), the function's env, and its secrets as Pulumi secrets."""
    from deployer import secrets

    bp, fn = gcp.bp, gcp.bp.functions[function]
    env: dict[str, pulumi.Input[str]] = {"DEPLOYER_CLOUD": "gcp", "DEPLOYER_APP": gcp.app,
                                         "DEPLOYER_FUNCTION": function, "DEPLOYER_GCP_PROJECT": gcp.project}
    env.update(naming.store_env(bp, function, lambda store: gcp.store(store).locator))
    if any(isinstance(bp.stores[store], TableStore) for store in reachable_stores(bp, function)):
        env["DEPLOYER_GCP_DATABASE"] = database_id(gcp)
    env.update(fn.env)
    for name, value in secrets.granted(bp, function).items():
        env[name] = pulumi.Output.secret(value)
    return dict(sorted(env.items()))


def ingress(gcp: Gcp, function: str) -> str:
    fn = gcp.bp.functions[function]
    public = any(isinstance(t, (HttpTrigger, ScheduleTrigger)) for t in fn.triggers)
    return "ALLOW_ALL" if public or not fn.triggers else "ALLOW_INTERNAL_ONLY"


def event_trigger(gcp: Gcp, function: str, ref: FunctionRef):
    """The function's own Eventarc trigger: its first event source (events.py declares the others)."""
    triggers = event_triggers(gcp.bp.functions[function])
    if not triggers:
        return None
    match triggers[0]:
        case TopicTrigger() as trigger:
            return topics.event_trigger(gcp, trigger, ref.invoker.email)
        case BucketTrigger() as trigger:
            return buckets.event_trigger(gcp, trigger, ref.invoker.email)
        case other:
            raise TypeError(f"unsupported event trigger {type(other).__name__}")


def declare(gcp: Gcp, function: str, artifact: Artifact, bucket: storage.Bucket) -> FunctionRef:
    """The function, its runtime account, its invoker account (when something calls it) and its source."""
    fn = gcp.bp.functions[function]
    account = iam.account(gcp, f"fn-{function}-account", function, "run",
                          description=f"deployer {gcp.app} function {function}")
    invoker = None
    if any(not isinstance(t, HttpTrigger) for t in fn.triggers):
        invoker = iam.account(gcp, f"fn-{function}-invoker", function, "inv",
                              description=f"deployer {gcp.app}: calls function {function}")
    source = storage.BucketObject(f"fn-{function}-source", bucket=bucket.name, name=object_name(function, artifact),
                                  source=pulumi.FileAsset(str(artifact.path)), content_type="application/zip",
                                  opts=gcp.opts())
    ref = FunctionRef(None, account, invoker)
    notes = buckets.filter_note([t for t in event_triggers(fn) if isinstance(t, BucketTrigger)])
    ref.function = cloudfunctionsv2.Function(
        f"fn-{function}-function",
        name=gcp.function_name(function),
        location=gcp.region,
        project=gcp.project,
        description=notes or f"deployer {gcp.app}: {function} ({fn.handler})",
        labels=gcp.labels(**{"deployer-function": function[:63]},
                          **({"deployer-filter": "in-function"} if notes else {})),
        build_config=build_config(fn, bucket, source),
        service_config=service_config(gcp, function, account),
        event_trigger=event_trigger(gcp, function, ref),
        opts=gcp.opts(),
    )
    return ref


def build_config(fn, bucket: storage.Bucket, source: storage.BucketObject) -> cloudfunctionsv2.FunctionBuildConfigArgs:
    """Cloud Build installs requirements.txt; the shim is the source file, its entry point per delivery."""
    return cloudfunctionsv2.FunctionBuildConfigArgs(
        runtime=runtime(fn),
        entry_point="event_entry" if event_triggers(fn) else "http_entry",
        environment_variables={"GOOGLE_FUNCTION_SOURCE": SHIM_SOURCE},
        source=cloudfunctionsv2.FunctionBuildConfigSourceArgs(
            storage_source=cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                bucket=bucket.name, object=source.name)))


def service_config(gcp: Gcp, function: str, account) -> cloudfunctionsv2.FunctionServiceConfigArgs:
    fn = gcp.bp.functions[function]
    return cloudfunctionsv2.FunctionServiceConfigArgs(
        available_memory=memory(fn),
        timeout_seconds=fn.timeout,
        max_instance_count=fn.max_instances,
        environment_variables=environment(gcp, function),
        service_account_email=account.email,
        ingress_settings=ingress(gcp, function),
        all_traffic_on_latest_revision=True)
