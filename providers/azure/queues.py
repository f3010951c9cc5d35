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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.blueprint.model import QueueStore, QueueTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import store
from providers.azure import names

if TYPE_CHECKING:
    from providers.azure.context import AzureContext

CONNECTION = "DeployerStorage"
QUEUE = "azure-native:storage:Queue"
MAX_BATCH = 32
EVENT_BATCH = 16  # bucket event queues of an app with no queue trigger
EVENT_RETRIES = 5


def declare(ctx: "AzureContext", name: str, spec: QueueStore) -> StoreRef:
    physical = names.queue(ctx.bp.name, ctx.bp.stage, name)
    res = ctx.add(QUEUE, f"store-{name}-queue", store(name), retain=ctx.keep_data, queue_name=physical,
                  account_name=ctx.account.out("name"))
    poison_name = names.poison_queue(physical)
    poison = ctx.add(QUEUE, f"store-{name}-poison", store(name), retain=ctx.keep_data, queue_name=poison_name,
                     account_name=ctx.account.out("name"))
    return StoreRef(name, "queue", res, queue_id(ctx, physical), physical,
                    extra={"poison": poison, "poison_id": queue_id(ctx, poison_name)})


def queue_id(ctx: "AzureContext", queue_name: str) -> str:
    return ctx.account_id(f"/queueServices/default/queues/{queue_name}")


def binding(queue_name: str) -> tuple[str, dict]:
    return "queue", {"type": "queueTrigger", "direction": "in", "name": "msg", "queueName": queue_name,
                     "connection": CONNECTION}


def host_settings(bp, trigger: QueueTrigger | None) -> dict:
    """host.json `extensions.queues`: for one queue trigger, or (None) for bucket event queues only."""
    if trigger is None:
        return {"batchSize": EVENT_BATCH, "newBatchThreshold": 0, "maxDequeueCount": EVENT_RETRIES}
    spec = bp.stores[trigger.queue]
    return {"batchSize": min(trigger.batch, MAX_BATCH), "newBatchThreshold": 0, "maxDequeueCount": spec.retries}
