"""Queues -> storage queues with their poison queue (the dead letters); queue triggers -> queueTrigger.

The Functions runtime moves a message that failed `maxDequeueCount` times to `<queue>-poison`: that is
the blueprint's dead-letter queue, and `retries` is host.json `extensions.queues.maxDequeueCount`.
deployer declares the poison queue itself (so it is retained like the queue and the consumer's role
can be scoped to it). `dead_letter: false` cannot switch the runtime's poison queue off (a warning).

Each invocation receives ONE message; host.json `batchSize` (1-32) is how many messages an instance
fetches and runs in parallel, which is what the blueprint's `batch` bounds. Both settings are per
Function App, and deployer gives every blueprint function its own app.
"""

from __future__ import annotations

from deployer.blueprint.model import QueueStore, QueueTrigger
from typing import TYPE_CHECKING

from providers.azure import names

if TYPE_CHECKING:
    from providers.azure.context import Context, StoreRef

CONNECTION = "DeployerStorage"
MAX_BATCH = 32


def declare(ctx: Context, name: str, store: QueueStore) -> StoreRef:
    from pulumi_azure_native import storage

    from providers.azure.context import StoreRef

    physical = names.queue(ctx.bp.name, ctx.bp.stage, name)
    res = storage.Queue(f"store-{name}-queue", queue_name=physical, account_name=ctx.account.name,
                        resource_group_name=ctx.rg_name, opts=ctx.stateful())
    poison = storage.Queue(f"store-{name}-poison", queue_name=names.poison_queue(physical),
                           account_name=ctx.account.name, resource_group_name=ctx.rg_name, opts=ctx.stateful())
    return StoreRef(name, "queue", physical, res.id, res, extra_scopes=(poison.id,))


def binding(bp, trigger: QueueTrigger) -> tuple[str, dict]:
    return "queue", {"type": "queueTrigger", "direction": "in", "name": "msg",
                     "queueName": names.queue(bp.name, bp.stage, trigger.queue), "connection": CONNECTION}


def host_settings(bp, trigger: QueueTrigger) -> dict:
    """host.json `extensions.queues` for one queue trigger."""
    store = bp.stores[trigger.queue]
    return {"batchSize": min(trigger.batch, MAX_BATCH), "maxDequeueCount": store.retries}
