"""Schedules: Cloud Scheduler jobs that POST to the function with an OIDC token.

Cloud Scheduler speaks unix cron (5 fields) in an IANA `time_zone`, so a blueprint cron passes through
unchanged with its timezone. A rate (`every 2 hours`) becomes the equivalent cron where one exists
exactly (`Every.cron`: divisors of 60 minutes, of 24 hours, or one day); other rates are an error in
`check`, since cron cannot express them and rounding would change the schedule.

The job calls `SCHEDULE_PATH` of the function's URL (a path the API Gateway never routes) as the
function's invoker account (OIDC token, audience = the URL), which holds run.invoker on that function
only; the shim accepts a schedule run there only with a valid token of that account. The body is a
small JSON document telling the shim which schedule fired. `attempt_deadline` follows the function's
timeout within Cloud Scheduler's 15 s - 30 min range.
"""

from __future__ import annotations

import base64
import json

from deployer.blueprint.model import ScheduleTrigger
from deployer.resources.graph import Resource, function as fn_owner
from deployer.resources.values import Template
from providers.gcp.context import SCHEDULE_PATH, SCHEDULER_JOB_MAX, GcpContext, invoker, unix_cron


def body(function: str, index: int, trigger: ScheduleTrigger) -> str:
    payload = {"deployer": "schedule", "function": function, "trigger": index,
               "schedule": trigger.schedule, "timezone": trigger.timezone}
    return base64.b64encode(json.dumps(payload, sort_keys=True).encode()).decode()


def declare(ctx: GcpContext, function: str, index: int, trigger: ScheduleTrigger, after: list[Resource]) -> Resource:
    cron = unix_cron(trigger.schedule)
    if cron is None:
        raise ValueError(f"schedule {trigger.schedule!r} has no exact cron (check() reports it)")
    ref = ctx.fn(function)
    timeout = ctx.bp.functions[function].timeout
    return ctx.add(
        "gcp:cloudscheduler/job:Job", f"fn-{function}-schedule-{index}", fn_owner(function), depends_on=tuple(after),
        name=ctx.name(function, str(index), max_length=SCHEDULER_JOB_MAX),
        description=f"deployer {ctx.app}: {function} at {trigger.schedule} ({trigger.timezone})",
        region=ctx.region, project=ctx.project, schedule=cron, time_zone=trigger.timezone,
        attempt_deadline=f"{min(max(timeout, 15), 1800)}s", retry_config={"retry_count": 0},
        http_target={"uri": Template.of(ref.physical, SCHEDULE_PATH), "http_method": "POST",
                     "body": body(function, index, trigger), "headers": {"Content-Type": "application/json"},
                     "oidc_token": {"service_account_email": invoker(ref).out("email"), "audience": ref.physical}})
