"""Schedule triggers -> EventBridge Scheduler, in the blueprint's timezone.

Scheduler (unlike EventBridge rules) takes an IANA timezone, so `0 3 * * *` in Europe/Paris stays at
03:00 local time across daylight saving changes. The expression conversion (5-field cron with the `?`
rule and SUN=1 numbering, `every N` as `rate()`) is in cron.py. The schedule assumes a role that only
this account's schedules may assume and that may invoke exactly its function; it retries for up to an
hour, then puts the event into the function's failure queue (`dead_letter_config`), as Lambda does
with asynchronous invocations that fail (functions.py).
"""

from __future__ import annotations

import json

from deployer.blueprint.model import ScheduleTrigger
from deployer.resources.graph import function as owner
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
    failures = ctx.function(function).extra["failures"]
    role, policy = iam.scheduler_role(ctx, function, failures)
    target = ctx.function(function)
    for index, trigger in triggers:
        ctx.g.add(
            "aws:scheduler/schedule:Schedule", names.fn(function, "schedule", str(index)), owner(function),
            depends_on=[policy],
            name=names.schedule_name(ctx.bp, function, index),
            schedule_expression=cron.expression(trigger.schedule),
            schedule_expression_timezone=trigger.timezone,
            flexible_time_window={"mode": "OFF"},
            target={"arn": target.resource.out("arn"), "role_arn": role.out("arn"), "input": marker(trigger),
                    "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
                    "dead_letter_config": {"arn": failures.out("arn")}})
