"""Queues -> storage queues with their poison queue (the dead letters); queue triggers -> queueTrigger.

The Functions runtime moves a message that failed `maxDequeueCount` times to `<queue>-poison`: that is
the blueprint's dead-letter queue, and `retries` is host.json `extensions.queues.maxDequeueCount`.
deployer declares the poison queue itself (so it is retained like the queue and the consumer's role
can be scoped to it). `dead_letter: false` cannot switch the runtime's poison queue off (a warning).

Each invocation receives ONE message; host.json `batchSize` (1-32) is how many messages an instance
fetches at once, and the host fetches the next batch when the messages in flight drop to
`newBatchThreshold` (by default batchSize/2, so up to 1.5x batchSize run at once). deployer sets
`newBatchThreshold: 0`, so an instance runs at most the blueprint's `batch` messages at a time. Both
settings are per Function App, and deployer gives every blueprint function its own app.

An existing queue (`existing:` its ARM id, providers/azure/existing.py) is read, never created,
changed or deleted, and usually lives in another storage account: its queue trigger connects through
a connection of its own, `DeployerStorage_<account>__queueServiceUri` (identity-based, like the
stage's `DeployerStorage`). The runtime moves its failed messages to `<queue>-poison` in THAT account,
which deployer does not create there: when a function consumes an existing queue, its poison queue
is read as well (so `up` stops early when it is missing) and the consumer is Queue Data Contributor
on it, as on a queue of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.blueprint.model import Blueprint, QueueStore, QueueTrigger
from deployer.blueprint.refs import grants
from deployer.resources.compile import StoreRef
from deployer.resources.graph import store
from providers.azure import existing, names

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

CONNECTION = "DeployerStorage"
QUEUE = "azure-native:storage:Queue"
MAX_BATCH = 32
EVENT_BATCH = 16  # bucket event queues of an app with no queue trigger
EVENT_RETRIES = 5


def declare(ctx: "AzureContext", name: str, spec: QueueStore) -> StoreRef:
    found = existing.of(ctx.bp, name)
    if found:
        return _read(ctx, name, found)
    physical = names.queue(ctx.bp.name, ctx.bp.stage, name)
    res = ctx.add(QUEUE, f"store-{name}-queue", store(name), retain=ctx.keep_data, queue_name=physical,
                  account_name=ctx.account.out("name"))
    poison_name = names.poison_queue(physical)
    poison = ctx.add(QUEUE, f"store-{name}-poison", store(name), retain=ctx.keep_data, queue_name=poison_name,
                     account_name=ctx.account.out("name"))
    return StoreRef(name, "queue", res, queue_id(ctx, physical), physical,
                    extra={"poison": poison, "poison_id": queue_id(ctx, poison_name)})


def _read(ctx: "AzureContext", name: str, found: existing.Existing) -> StoreRef:
    """An existing queue, read by id; its poison queue too when a function consumes it."""
    res = ctx.g.add(QUEUE, f"store-{name}-queue", store(name), read_id=found.id)
    extra = {}
    if consumed(ctx.bp, name):
        poison_id = found.sibling(names.poison_queue(found.name))
        extra = {"poison": ctx.g.add(QUEUE, f"store-{name}-poison", store(name), read_id=poison_id),
                 "poison_id": poison_id}
    return StoreRef(name, "queue", res, found.id, found.url, extra=extra)


def consumed(bp: Blueprint, queue: str) -> bool:
    """Whether any function consumes the queue (a trigger, or `uses: consume`)."""
    return any(g.store == queue and "consume" in g.rights for fn in bp.functions for g in grants(bp, fn))


def connection(bp: Blueprint, queue: str) -> str:
    """The app setting prefix of the connection a trigger on `queue` uses: the stage's account, or
    the existing queue's own account (`DeployerStorage_<account>`)."""
    found = existing.of(bp, queue)
    return f"{CONNECTION}_{found.account}" if found else CONNECTION


def queue_name(bp: Blueprint, queue: str) -> str:
    found = existing.of(bp, queue)
    return found.name if found else names.queue(bp.name, bp.stage, queue)


def trigger_binding(bp: Blueprint, trigger: QueueTrigger) -> tuple[str, dict]:
    """(entry point, binding) of a queue trigger: its queue in the stage's account or its own."""
    return binding(queue_name(bp, trigger.queue), connection(bp, trigger.queue))


def queue_id(ctx: "AzureContext", queue_name: str) -> str:
    return ctx.account_id(f"/queueServices/default/queues/{queue_name}")


def binding(queue: str, connection_name: str = CONNECTION) -> tuple[str, dict]:
    return "queue", {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": queue,
                     "connection": connection_name}


def host_settings(bp, trigger: QueueTrigger | None) -> dict:
    """host.json `extensions.queues`: for one queue trigger, or (None) for bucket event queues only."""
    if trigger is None:
        return {"batchSize": EVENT_BATCH, "newBatchThreshold": 0, "maxDequeueCount": EVENT_RETRIES}
    spec = bp.stores[trigger.queue]
    return {"batchSize": min(trigger.batch, MAX_BATCH), "newBatchThreshold": 0, "maxDequeueCount": spec.retries}
