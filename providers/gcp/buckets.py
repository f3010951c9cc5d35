"""Buckets: private GCS buckets, and the Eventarc triggers for object created / deleted.

A bucket is created in the blueprint's region (`location` = region), which is also where its functions
and their triggers live: GCS triggers must be in the bucket's region, so this rule holds by
construction. Buckets are private twice over: uniform bucket-level access (no object ACLs) and public
access prevention enforced. Bucket names are unique worldwide: each carries the project id
(`GcpContext.global_name`), so two projects never compete for one. Eventarc cannot filter objects by
name prefix or suffix (its `bucket` filter is the only one for storage events), so the blueprint's
`prefix`/`suffix` are applied by the shim (which reads them from deployer_function.json); `check`
warns about it and the trigger's function carries a label and a description that say so.
"""

from __future__ import annotations

from deployer.blueprint.model import BucketStore, BucketTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import store as store_owner
from providers.gcp.context import GcpContext


def declare(ctx: GcpContext, name: str, spec: BucketStore) -> StoreRef:
    existing = ctx.bp.existing(name, "gcp")
    if existing:  # read by name, never created, changed or deleted; grants and triggers name it
        bucket = ctx.g.add("gcp:storage/bucket:Bucket", f"store-{name}-bucket", store_owner(name),
                           read_id=existing.removeprefix("gs://"))
        return StoreRef(name, "bucket", bucket, bucket.out("name"), bucket.out("name"))
    bucket = ctx.add("gcp:storage/bucket:Bucket", f"store-{name}-bucket", store_owner(name), stateful=True,
                     name=ctx.global_name(name), location=ctx.region.upper(), project=ctx.project,
                     uniform_bucket_level_access=True, public_access_prevention="enforced",
                     force_destroy=not ctx.keep_data, labels=ctx.labels(**{"deployer-store": name}))
    return StoreRef(name, "bucket", bucket, bucket.out("name"), bucket.out("name"))


def event_trigger(ctx: GcpContext, trigger: BucketTrigger, account_email) -> dict:
    """The function's Eventarc trigger for one bucket and one event type (finalized or deleted)."""
    verb = "finalized" if trigger.on == "created" else "deleted"
    return {"event_type": f"google.cloud.storage.object.v1.{verb}",
            "event_filters": [{"attribute": "bucket", "value": ctx.store(trigger.bucket).locator}],
            "trigger_region": ctx.region, "retry_policy": "RETRY_POLICY_RETRY",
            "service_account_email": account_email}


def filter_note(triggers: list[BucketTrigger]) -> str | None:
    """What the shim filters for these triggers, for the function's description; None if nothing."""
    parts = [f"{t.bucket} {t.on} prefix={t.prefix!r} suffix={t.suffix!r}" for t in triggers if t.prefix or t.suffix]
    if not parts:
        return None
    return "object name filters applied in the function (GCS triggers cannot filter names): " + "; ".join(parts)
