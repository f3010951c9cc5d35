"""Queues -> SQS: a queue with a dead-letter queue, and a Lambda event source mapping per consumer.

- Retries: the redrive policy moves a message to the dead-letter queue after `retries` receives
  (`maxReceiveCount`); without `dead_letter` the queue keeps it until its retention ends.
- Visibility timeout: at least six times the slowest consumer's timeout (plus its batching window), as
  AWS advises, so a message being processed is not handed to a second invocation.
- Batches: the mapping's batch size is the trigger's `batch`; SQS requires a batching window of at least
  one second above 10 messages. `ReportBatchItemFailures` lets the shim retry only failed messages.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from deployer.blueprint.model import Blueprint, QueueStore, QueueTrigger
from providers.aws import names
from providers.aws.context import Context, StoreRef

DEFAULT_VISIBILITY = 30
RETENTION = 14 * 24 * 3600  # the longest SQS keeps a message: time to look at the dead letters


def batching_window(trigger: QueueTrigger) -> int:
    return 1 if trigger.batch > 10 else 0


def visibility_timeout(bp: Blueprint, consumers: list[tuple[str, object]]) -> int:
    """6 x (the slowest consumer's timeout + its batching window), at least SQS's default 30 s."""
    slowest = [6 * (bp.functions[fn].timeout + batching_window(t))
               for fn, t in consumers if isinstance(t, QueueTrigger)]
    return max([DEFAULT_VISIBILITY, *slowest])


def declare(ctx: Context, name: str, store: QueueStore) -> StoreRef:
    extra: dict = {}
    dead_arns: tuple = ()
    if store.dead_letter:
        dlq = aws.sqs.Queue(f"store-{name}-dlq", name=names.queue_name(ctx.bp, name, dead_letter=True),
                            message_retention_seconds=RETENTION, sqs_managed_sse_enabled=True, opts=ctx.stateful())
        extra["redrive_policy"] = dlq.arn.apply(
            lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": store.retries}))
        dead_arns = (dlq.arn,)
    queue = aws.sqs.Queue(f"store-{name}-queue", name=names.queue_name(ctx.bp, name),
                          visibility_timeout_seconds=visibility_timeout(ctx.bp, ctx.consumers(name)),
                          message_retention_seconds=RETENTION, sqs_managed_sse_enabled=True,
                          opts=ctx.stateful(), **extra)
    return StoreRef(name, "queue", queue.arn, queue.url, queue, dead_arns)


def consume(ctx: Context, queue: str) -> None:
    """An event source mapping per consuming trigger."""
    ref = ctx.store(queue)
    for function, trigger in ctx.consumers(queue):
        if not isinstance(trigger, QueueTrigger):
            continue
        target = ctx.function(function)
        window = batching_window(trigger)
        aws.lambda_.EventSourceMapping(
            f"fn-{function}-queue-{queue}",
            event_source_arn=ref.arn, function_name=target.arn, batch_size=trigger.batch,
            maximum_batching_window_in_seconds=window or None,
            function_response_types=["ReportBatchItemFailures"],
            opts=pulumi.ResourceOptions(depends_on=[target.resource]))
