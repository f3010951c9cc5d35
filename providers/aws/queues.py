"""Queues -> SQS: a queue with a dead-letter queue, and a Lambda event source mapping per consumer.

- Retries: the redrive policy moves a message to the dead-letter queue after `retries` receives
  (`maxReceiveCount`); without `dead_letter` the queue keeps it until its retention ends (rules.py
  warns: `retries` then means nothing).
- Retention: SQS keeps a message's ORIGINAL enqueue time when it moves it to the dead-letter queue, so a
  DLQ that keeps messages as long as its source would lose one dead-lettered late within hours. The
  source keeps messages 4 days (SQS's default) and its DLQ 14 days (SQS's maximum): a dead letter
  stays at least 10 days. A queue without a DLQ keeps them 14 days.
- Visibility timeout: at least six times the slowest consumer's timeout (plus its batching window), as
  AWS advises, so a message being processed is not handed to a second invocation.
- Batches: the mapping's batch size is the trigger's `batch`; SQS requires a batching window of at least
  one second above 10 messages. `ReportBatchItemFailures` lets the shim retry only failed messages.
- `max_instances` of a consumer is the mapping's `scaling_config.maximum_concurrency` (2-1000), which
  stops the poller from taking more messages than the function may process, instead of reserved
  concurrency, which throttles invocations of messages already received (and so dead-letters them).
"""

from __future__ import annotations

from deployer.blueprint.model import Blueprint, QueueStore, QueueTrigger
from deployer.resources.compile import StoreRef
from deployer.resources.graph import function as fn_owner, store as owner
from deployer.resources.values import Json
from providers.aws import names
from providers.aws.context import Context

QUEUE = "aws:sqs/queue:Queue"
DEFAULT_VISIBILITY = 30
SOURCE_RETENTION = 4 * 24 * 3600  # SQS's default
DLQ_RETENTION = 14 * 24 * 3600  # the longest SQS keeps a message: time to look at the dead letters
MAX_CONCURRENCY = (2, 1000)  # what an SQS event source mapping's maximum concurrency accepts


def batching_window(trigger: QueueTrigger) -> int:
    return 1 if trigger.batch > 10 else 0


def visibility_timeout(bp: Blueprint, consumers: list[tuple[str, object]]) -> int:
    """6 x (the slowest consumer's timeout + its batching window), at least SQS's default 30 s."""
    slowest = [6 * (bp.functions[fn].timeout + batching_window(t))
               for fn, t in consumers if isinstance(t, QueueTrigger)]
    return max([DEFAULT_VISIBILITY, *slowest])


def maximum_concurrency(max_instances: int | None) -> int | None:
    if max_instances is None:
        return None
    low, high = MAX_CONCURRENCY
    return min(max(max_instances, low), high)


def declare(ctx: Context, name: str, store: QueueStore) -> StoreRef:
    existing = ctx.bp.existing(name, "aws")
    if existing:  # an existing queue, read by its URL: its DLQ, retention and visibility stay its own
        queue = ctx.g.add(QUEUE, f"store-{name}-queue", owner(name), read_id=existing)
        return StoreRef(name, "queue", queue, queue.out("arn"), queue.out("id"))  # SQS's id is the URL
    redrive, extra = None, {}
    if store.dead_letter:
        dlq = ctx.g.add(QUEUE, f"store-{name}-dlq", owner(name), retain=ctx.keep_data,
                        name=names.queue_name(ctx.bp, name, dead_letter=True),
                        message_retention_seconds=DLQ_RETENTION, sqs_managed_sse_enabled=True)
        redrive = Json({"deadLetterTargetArn": dlq.out("arn"), "maxReceiveCount": store.retries})
        extra["dlq"] = dlq
    queue = ctx.g.add(QUEUE, f"store-{name}-queue", owner(name), retain=ctx.keep_data,
                      name=names.queue_name(ctx.bp, name),
                      visibility_timeout_seconds=visibility_timeout(ctx.bp, ctx.consumers(name)),
                      message_retention_seconds=SOURCE_RETENTION if store.dead_letter else DLQ_RETENTION,
                      sqs_managed_sse_enabled=True, redrive_policy=redrive)
    return StoreRef(name, "queue", queue, queue.out("arn"), queue.out("url"), extra)


def consume(ctx: Context, queue: str) -> None:
    """An event source mapping per consuming trigger."""
    ref = ctx.store(queue)
    for function, trigger in ctx.consumers(queue):
        if not isinstance(trigger, QueueTrigger):
            continue
        target = ctx.function(function)
        window = batching_window(trigger)
        limit = maximum_concurrency(ctx.bp.functions[function].max_instances)
        ctx.g.add("aws:lambda/eventSourceMapping:EventSourceMapping", names.fn(function, "queue", queue),
                  fn_owner(function), depends_on=[target.resource],
                  event_source_arn=ref.ident, function_name=target.resource.out("arn"), batch_size=trigger.batch,
                  maximum_batching_window_in_seconds=window or None,
                  scaling_config={"maximum_concurrency": limit} if limit else None,
                  function_response_types=["ReportBatchItemFailures"])
