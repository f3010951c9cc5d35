"""Buckets -> private blob containers; bucket triggers -> blobTrigger (created) or Event Grid (deleted).

`created`: a blobTrigger binding with path `<container>/<prefix>{name}<suffix>` applies both filters.
On a Consumption plan it polls (the blob logs and a container scan), so a new blob may take minutes to
fire when the app is idle; it fires for new AND overwritten blobs, like S3's ObjectCreated.

`deleted`: the blob trigger never fires on deletion, so deployer routes Event Grid's
`Microsoft.Storage.BlobDeleted` events (subject filtered by prefix and suffix) into a storage queue of
the trigger's own and binds a queueTrigger to it with entry point `blob_event`: the shim turns the
Event Grid event into the portable ObjectEvent (type "deleted").
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


def binding(ctx_bp, function: str, index: int, trigger: BucketTrigger) -> tuple[str, dict]:
    """(entry point, binding) of one bucket trigger."""
    container = names.container(ctx_bp.name, ctx_bp.stage, trigger.bucket)
    if trigger.on == "created":
        return "blob", {"type": "blobTrigger", "direction": "in", "name": "blob",
                        "path": blob_path(container, trigger), "connection": CONNECTION}
    queue = names.event_queue(ctx_bp.name, ctx_bp.stage, function, index)
    return "blob_event", {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": queue,
                          "connection": CONNECTION}


def declare_deleted(ctx: Context, function: str, index: int, trigger: BucketTrigger) -> list:
    """The Event Grid route of one `deleted` trigger: queue (+ poison queue) and event subscription.

    Returns the scopes the function's identity needs: [event queue id, poison queue id]."""
    from pulumi_azure_native import eventgrid, storage

    bp = ctx.bp
    queue_name = names.event_queue(bp.name, bp.stage, function, index)
    part = f"fn-{function}-deleted{index}"
    queue = storage.Queue(f"{part}-queue", queue_name=queue_name, account_name=ctx.account.name,
                          resource_group_name=ctx.rg_name)
    poison = storage.Queue(f"{part}-poison", queue_name=names.poison_queue(queue_name),
                           account_name=ctx.account.name, resource_group_name=ctx.rg_name)
    container = names.container(bp.name, bp.stage, trigger.bucket)
    filters = eventgrid.EventSubscriptionFilterArgs(
        included_event_types=["Microsoft.Storage.BlobDeleted"],
        subject_begins_with=f"/blobServices/default/containers/{container}/blobs/{trigger.prefix}",
        subject_ends_with=trigger.suffix or None, is_subject_case_sensitive=True)
    eventgrid.SystemTopicEventSubscription(
        f"{part}-events", event_subscription_name=f"{function}-deleted{index}"[:64],
        resource_group_name=ctx.rg_name, system_topic_name=_system_topic(ctx).name,
        destination=eventgrid.StorageQueueEventSubscriptionDestinationArgs(
            endpoint_type="StorageQueue", resource_id=ctx.account.id, queue_name=queue_name),
        filter=filters, opts=_depends(queue))
    return [queue.id, poison.id]


def _system_topic(ctx: Context):
    """The storage account's Event Grid system topic (one per account, declared on first use)."""
    from pulumi_azure_native import eventgrid

    if ctx.system_topic is None:
        ctx.system_topic = eventgrid.SystemTopic(
            "app-storage-events", system_topic_name=f"{ctx.account_name}-events", resource_group_name=ctx.rg_name,
            location=ctx.location, source=ctx.account.id, topic_type="Microsoft.Storage.StorageAccounts")
    return ctx.system_topic


def _depends(*resources):
    import pulumi

    return pulumi.ResourceOptions(depends_on=list(resources))
