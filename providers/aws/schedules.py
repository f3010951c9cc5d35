"""Schedule triggers -> EventBridge Scheduler, in the blueprint's timezone.

Scheduler (unlike EventBridge rules) takes an IANA timezone, so `0 3 * * *` in Europe/Paris stays at
03:00 local time across daylight saving changes. The expression conversion (5-field cron with the `?`
rule and SUN=1 numbering, `every N` as `rate()`) is in cron.py; the schedule assumes a role that may
invoke exactly its function, and retries for up to an hour.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from deployer.blueprint.model import ScheduleTrigger
from providers.aws import cron, iam, names
from providers.aws.context import Context


def marker(trigger: ScheduleTrigger) -> str:
    """The target input the shim recognises as a schedule event (Scheduler fills in the time)."""
    return json.dumps({"deployer": "schedule", "schedule": trigger.schedule,
                       "time": "<aws.scheduler.scheduled-time>"})


def declare(ctx: Context, function: str) -> None:
    triggers = [(i, t) for i, t in enumerate(ctx.bp.functions[function].triggers) if isinstance(t, ScheduleTrigger)]
    if not triggers:
        return
    role, policy = iam.scheduler_role(ctx, function)
    target = ctx.function(function)
    for index, trigger in triggers:
        aws.scheduler.Schedule(
            f"fn-{function}-schedule-{index}",
            name=names.schedule_name(ctx.bp, function, index),
            schedule_expression=cron.expression(trigger.schedule),
            schedule_expression_timezone=trigger.timezone,
            flexible_time_window={"mode": "OFF"},
            target={"arn": target.arn, "role_arn": role.arn, "input": marker(trigger),
                    "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}},
            opts=pulumi.ResourceOptions(depends_on=[policy]))
