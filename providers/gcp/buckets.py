"""Buckets: private GCS buckets, and the Eventarc triggers for object created / deleted.

A bucket is created in the blueprint's region (`location` = region), which is also where its functions
and their triggers live: GCS triggers must be in the bucket's region, so this rule holds by
construction. Buckets are private twice over: uniform bucket-level access (no object ACLs) and public
access prevention enforced. Eventarc cannot filter objects by name prefix or suffix (its `bucket`
filter is the only one for storage events), so the blueprint's `prefix`/`suffix` are applied by the
shim (which reads them from deployer_function.json); `check` warns about it and the trigger's function
carries a label and a description that say so.
"""

from __future__ import annotations

from pulumi_gcp import cloudfunctionsv2, storage

from deployer.blueprint.model import BucketStore, BucketTrigger
from providers.gcp.context import Gcp, StoreRef


def declare(gcp: Gcp, name: str, store: BucketStore) -> StoreRef:
    from deployer.providers import keep_data

    bucket = storage.Bucket(
        f"store-{name}-bucket",
        name=gcp.global_name(name),
        location=gcp.region.upper(),
        project=gcp.project,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        force_destroy=not keep_data(),
        labels=gcp.labels(**{"deployer-store": name}),
        opts=gcp.opts(stateful=True),
    )
    return StoreRef("bucket", bucket, bucket.name)


def event_trigger(gcp: Gcp, trigger: BucketTrigger, account_email) -> cloudfunctionsv2.FunctionEventTriggerArgs:
    """The function's Eventarc trigger for one bucket and one event type (finalized or deleted)."""
    verb = "finalized" if trigger.on == "created" else "deleted"
    return cloudfunctionsv2.FunctionEventTriggerArgs(
        event_type=f"google.cloud.storage.object.v1.{verb}",
        event_filters=[cloudfunctionsv2.FunctionEventTriggerEventFilterArgs(
            attribute="bucket", value=gcp.store(trigger.bucket).locator)],
        trigger_region=gcp.region,
        retry_policy="RETRY_POLICY_RETRY",
        service_account_email=account_email,
    )


def filter_note(triggers: list[BucketTrigger]) -> str | None:
    """What the shim filters for these triggers, for the function's description; None if nothing."""
    parts = [f"{t.bucket} {t.on} prefix={t.prefix!r} suffix={t.suffix!r}" for t in triggers if t.prefix or t.suffix]
    if not parts:
        return None
    return "object name filters applied in the function (GCS triggers cannot filter names): " + "; ".join(parts)
