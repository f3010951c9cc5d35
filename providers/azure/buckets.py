"""Buckets -> private blob containers; bucket triggers -> Event Grid -> a storage queue -> queueTrigger.

Both `created` and `deleted` go through Event Grid, for three reasons: the polling blob trigger needs
account-level logging that container-scoped roles do not grant (so `created` may never fire), Flex
Consumption supports only the Event Grid blob source, and an Event Grid subscription whose destination
is a function is validated against the function's trigger metadata, which exists only once the code is
deployed (after `up`). So each bucket trigger gets:

- an Event Grid subscription on the storage account's system topic, filtered on the event type
  (`Microsoft.Storage.BlobCreated` or `BlobDeleted`), the container, the prefix and the suffix;
- delivered to its own storage queue (`<app>-<stage>-<fn>-events<i>`, plus `-poison` for the events
  that failed `maxDequeueCount` times) with the system topic's user-assigned identity, which is Storage
  Queue Data Message Sender on that queue only;
- a queueTrigger (`entryPoint: bucketevent`) on that queue; the shim reads the Event Grid event out of
  the message and calls the handler with the portable ObjectEvent.

Nothing here depends on the function's code being deployed: one `up` creates it all, and events
wait in the queue until the package is published (providers/azure/deploy.py). BlobCreated fires for
new and overwritten blobs, like S3's ObjectCreated.

An existing container (`existing:` its ARM id, providers/azure/existing.py) is read, never created,
changed or deleted; grants are scoped to it. Bucket triggers on it are refused by `check`: its events
come from ITS account's Event Grid system topic, and an account has at most one system topic (Event
Grid allows one per source), which the account's owner may well have created already; creating a
second fails on `up`, and adopting theirs would let destroy delete it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.blueprint.model import BucketStore, BucketTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import APP, function, store
from providers.azure import existing, hosting, identity, names, queues

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

EVENT_TYPES = {"created": "Microsoft.Storage.BlobCreated", "deleted": "Microsoft.Storage.BlobDeleted"}
QUEUE_TTL = 7 * 24 * 3600  # seconds an undelivered event waits in its queue (the storage maximum)


def declare(ctx: "AzureContext", name: str, spec: BucketStore) -> StoreRef:
    found = existing.of(ctx.bp, name)
    if found:  # read by id, never managed: grants name it, its clients reach it by URL
        res = ctx.g.add(hosting.CONTAINER, f"store-{name}-container", store(name), read_id=found.id)
        return StoreRef(name, "bucket", res, found.id, found.url)
    physical = names.container(ctx.bp.name, ctx.bp.stage, name)
    res = hosting.container_resource(ctx, f"store-{name}-container", physical, store(name), retain=ctx.keep_data)
    return StoreRef(name, "bucket", res, ctx.account_id(f"/blobServices/default/containers/{physical}"), physical)


def folder(index: int) -> str:
    return f"bucket{index}"


def binding(bp, fn: str, index: int) -> tuple[str, dict]:
    """(entry point, binding) of one bucket trigger: its event queue."""
    _, spec = queues.binding(names.event_queue(bp.name, bp.stage, fn, index))
    return "bucketevent", spec


def declare_trigger(ctx: "AzureContext", fn: str, index: int, trigger: BucketTrigger) -> list:
    """The event queue, its poison queue, the Event Grid subscription and the roles of one trigger;
    returns the function's role assignments (for the least-privilege view)."""
    owner, bp = function(fn), ctx.bp
    queue_name = names.event_queue(bp.name, bp.stage, fn, index)
    queue = ctx.add(queues.QUEUE, f"fn-{fn}-events{index}-queue", owner, queue_name=queue_name,
                    account_name=ctx.account.out("name"))
    poison_name = names.poison_queue(queue_name)
    poison = ctx.add(queues.QUEUE, f"fn-{fn}-events{index}-poison", owner, queue_name=poison_name,
                     account_name=ctx.account.out("name"))
    topic, topic_identity, topic_identity_id = _system_topic(ctx)
    queue_id, poison_id = queues.queue_id(ctx, queue_name), queues.queue_id(ctx, poison_name)
    sender = identity.assign(ctx, f"fn-{fn}-events{index}-role-eventgrid-queue-sender", owner,
                             topic_identity.out("principal_id"), topic_identity_id, "queue-sender", queue, queue_id)
    ctx.add("azure-native:eventgrid:SystemTopicEventSubscription", f"fn-{fn}-events{index}-subscription", owner,
            depends_on=[sender], event_subscription_name=f"{fn}-events{index}"[:64],
            system_topic_name=topic.out("name"), filter=_filter(bp, trigger), event_delivery_schema="EventGridSchema",
            delivery_with_resource_identity={
                "identity": {"type": "UserAssigned", "user_assigned_identity": topic_identity_id},
                "destination": {"endpointType": "StorageQueue", "resourceId": ctx.account.out("id"),
                                "queueName": queue_name, "queueMessageTimeToLiveInSeconds": QUEUE_TTL}})
    app = ctx.app(fn)
    return [identity.assign(ctx, f"fn-{fn}-role-events{index}-{role}", owner, app.identity.out("principal_id"),
                            app.identity_id, role, res, scope)
            for role, res, scope in (("queue-reader", queue, queue_id), ("queue-processor", queue, queue_id),
                                     ("queue-contributor", poison, poison_id))]


def _filter(bp, trigger: BucketTrigger) -> dict:
    container = names.container(bp.name, bp.stage, trigger.bucket)
    return {"included_event_types": [EVENT_TYPES[trigger.on]],
            "subject_begins_with": f"/blobServices/default/containers/{container}/blobs/{trigger.prefix}",
            "is_subject_case_sensitive": True, **({"subject_ends_with": trigger.suffix} if trigger.suffix else {})}


def _system_topic(ctx: "AzureContext"):
    """The storage account's Event Grid system topic (one per account) and its user-assigned identity."""
    def make():
        identity_name = f"{ctx.account_name}-events"
        identity_id = ctx.arm_id(f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity_name}")
        ident = ctx.add("azure-native:managedidentity:UserAssignedIdentity", "app-storage-events-identity",
                        resource_name=identity_name, location=ctx.location)
        topic = ctx.add(
            "azure-native:eventgrid:SystemTopic", "app-storage-events", APP, depends_on=[ident],
            system_topic_name=f"{ctx.account_name}-events", location=ctx.location, source=ctx.account.out("id"),
            topic_type="Microsoft.Storage.StorageAccounts",
            identity={"type": "UserAssigned", "user_assigned_identities": {identity_id: {}}})
        return topic, ident, identity_id
    return ctx.once("events", make)
