"""Buckets -> private blob containers; bucket triggers -> blobTrigger (created) or Event Grid (deleted).

`created`: a blobTrigger binding with path `<container>/<prefix>{name}<suffix>` applies both filters.
On a Consumption plan it polls (the blob logs and a container scan), so a new blob may take minutes to
fire when the app is idle; it fires for new AND overwritten blobs, like S3's ObjectCreated.

`deleted`: the blob trigger never fires on deletion, so deployer subscribes the function to Event
Grid's `Microsoft.Storage.BlobDeleted` events of the storage account (system topic), subject filtered
by container, prefix and suffix, delivered to an eventGridTrigger (`entryPoint: eventgrid`) through an
`AzureFunction` destination: Event Grid calls the function with its own credentials, no key needed.
Azure validates that destination against the function's trigger metadata, so the subscription depends
on the app's settings (the package); on a first deployment the host may not have synced yet, and the
subscription may fail until a second `up` (documented in docs/azure.md).
"""

from __future__ import annotations

from deployer.blueprint.model import BucketStore, BucketTrigger
from providers.azure import names
from providers.azure.context import Context, StoreRef

CONNECTION = "DeployerStorage"


def declare(ctx: Context, name: str, store: BucketStore) -> StoreRef:
    from pulumi_azure_native import storage

    physical = names.container(ctx.bp.name, ctx.bp.stage, name)
    res = storage.BlobContainer(
        f"store-{name}-container", container_name=physical, account_name=ctx.account.name,
        resource_group_name=ctx.rg_name, public_access=storage.PublicAccess.NONE, opts=ctx.stateful())
    return StoreRef(name, "bucket", physical, res.id, res)


def blob_path(container: str, trigger: BucketTrigger) -> str:
    return f"{container}/{trigger.prefix}{{name}}{trigger.suffix}"


def binding(bp, index: int, trigger: BucketTrigger) -> tuple[str, dict]:
    """(entry point, binding) of one bucket trigger."""
    if trigger.on == "created":
        container = names.container(bp.name, bp.stage, trigger.bucket)
        return "blob", {"type": "blobTrigger", "direction": "in", "name": "blob",
                        "path": blob_path(container, trigger), "connection": CONNECTION}
    return "eventgrid", {"type": "eventGridTrigger", "direction": "in", "name": "event"}


def folder(index: int, trigger: BucketTrigger) -> str:
    return f"{'blob' if trigger.on == 'created' else 'deleted'}{index}"


def declare_deleted(ctx: Context, function: str, index: int, trigger: BucketTrigger) -> None:
    """The Event Grid subscription of one `deleted` trigger, to the function inside the app."""
    import pulumi
    from pulumi_azure_native import eventgrid

    bp, app = ctx.bp, ctx.app(function)
    container = names.container(bp.name, bp.stage, trigger.bucket)
    filters = eventgrid.EventSubscriptionFilterArgs(
        included_event_types=["Microsoft.Storage.BlobDeleted"],
        subject_begins_with=f"/blobServices/default/containers/{container}/blobs/{trigger.prefix}",
        subject_ends_with=trigger.suffix or None, is_subject_case_sensitive=True)
    target = app.resource.id.apply(lambda site_id: f"{site_id}/functions/{folder(index, trigger)}")
    eventgrid.SystemTopicEventSubscription(
        f"fn-{function}-deleted{index}-events", event_subscription_name=f"{function}-deleted{index}"[:64],
        resource_group_name=ctx.rg_name, system_topic_name=_system_topic(ctx).name,
        destination=eventgrid.AzureFunctionEventSubscriptionDestinationArgs(
            endpoint_type="AzureFunction", resource_id=target, max_events_per_batch=1),
        filter=filters, opts=pulumi.ResourceOptions(depends_on=[app.settings]))


def _system_topic(ctx: Context):
    """The storage account's Event Grid system topic (one per account, declared on first use)."""
    from pulumi_azure_native import eventgrid

    if ctx.system_topic is None:
        ctx.system_topic = eventgrid.SystemTopic(
            "app-storage-events", system_topic_name=f"{ctx.account_name}-events", resource_group_name=ctx.rg_name,
            location=ctx.location, source=ctx.account.id, topic_type="Microsoft.Storage.StorageAccounts")
    return ctx.system_topic
