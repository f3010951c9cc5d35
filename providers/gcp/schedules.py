"""Schedules: Cloud Scheduler jobs that POST to the function with an OIDC token.

Cloud Scheduler speaks unix cron (5 fields) in an IANA `time_zone`, so a blueprint cron passes through
unchanged with its timezone. A rate (`every 2 hours`) becomes the equivalent cron where one exists
exactly (`Every.cron`: divisors of 60 minutes, of 24 hours, or one day); other rates are an error in
`check`, since cron cannot express them and rounding would change the schedule.

The job calls the function's Cloud Run URL as the function's invoker account (OIDC token, audience =
the URL), which holds run.invoker on that function only. The body is a small JSON document telling the
shim which schedule fired (Cloud Scheduler also sends `X-CloudScheduler: true` and the job name).
`attempt_deadline` follows the function's timeout within Cloud Scheduler's 15 s - 30 min range.
"""

from __future__ import annotations

import base64
import json

from pulumi_gcp import cloudscheduler

from deployer.blueprint.model import ScheduleTrigger
from providers.gcp.context import SCHEDULER_JOB_MAX, Gcp, unix_cron


def body(function: str, index: int, trigger: ScheduleTrigger) -> str:
    payload = {"deployer": "schedule", "function": function, "trigger": index,
               "schedule": trigger.schedule, "timezone": trigger.timezone}
    return base64.b64encode(json.dumps(payload, sort_keys=True).encode()).decode()


def declare(gcp: Gcp, function: str, index: int, trigger: ScheduleTrigger) -> cloudscheduler.Job:
    cron = unix_cron(trigger.schedule)
    if cron is None:
        raise ValueError(f"schedule {trigger.schedule!r} has no exact cron (check() reports it)")
    ref = gcp.function(function)
    timeout = gcp.bp.functions[function].timeout
    return cloudscheduler.Job(
        f"fn-{function}-schedule-{index}",
        name=gcp.name(function, str(index), max_length=SCHEDULER_JOB_MAX),
        description=f"deployer {gcp.app}: {function} at {trigger.schedule} ({trigger.timezone})",
        region=gcp.region,
        project=gcp.project,
        schedule=cron,
        time_zone=trigger.timezone,
        attempt_deadline=f"{min(max(timeout, 15), 1800)}s",
        retry_config=cloudscheduler.JobRetryConfigArgs(retry_count=0),
        http_target=cloudscheduler.JobHttpTargetArgs(
            uri=ref.uri,
            http_method="POST",
            body=body(function, index, trigger),
            headers={"Content-Type": "application/json"},
            oidc_token=cloudscheduler.JobHttpTargetOidcTokenArgs(
                service_account_email=ref.invoker.email, audience=ref.uri)),
        opts=gcp.opts(),
    )
