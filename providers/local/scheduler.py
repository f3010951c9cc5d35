"""Schedules: cron expressions with croniter in the trigger's IANA time zone, and `every N units` rates.

A cron is evaluated in its own zone (so `0 3 * * *` in Europe/Paris fires at 03:00 Paris time across
daylight-saving changes); a rate fires every N units from the local cloud's start. A firing that fails
is logged in the function's log and not retried (the next firing comes anyway), like the clouds'
schedulers. `deployer invoke` fires a schedule on demand with the same event.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from deployer.blueprint.model import ScheduleTrigger
from deployer.blueprint.schedule import Cron, Every, parse_schedule
from providers.local.workers import InvocationError, Pool, log_line


def next_fire(trigger: ScheduleTrigger, after: datetime) -> datetime:
    """The first firing strictly after `after` (aware), as an aware datetime in the trigger's zone."""
    parsed = parse_schedule(trigger.schedule)
    zone = ZoneInfo(trigger.timezone)
    if isinstance(parsed, Every):
        return after.astimezone(zone) + timedelta(minutes=parsed.minutes)
    from croniter import croniter

    assert isinstance(parsed, Cron)
    return croniter(parsed.expression, after.astimezone(zone)).get_next(datetime)


def event_payload(trigger: ScheduleTrigger, when: datetime | None = None) -> dict:
    when = when or datetime.now(ZoneInfo(trigger.timezone))
    return {"schedule": trigger.schedule, "time": when.isoformat()}


class Scheduler:
    def __init__(self, bp, pools: dict[str, Pool]):
        self.jobs = [(name, t) for name, fn in bp.functions.items() for t in fn.triggers
                     if isinstance(t, ScheduleTrigger)]
        self.pools = pools
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._run(name, t)) for name, t in self.jobs]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _run(self, name: str, trigger: ScheduleTrigger) -> None:
        pool = self.pools[name]
        at = datetime.now(timezone.utc)
        while True:
            at = next_fire(trigger, at)
            await asyncio.sleep(max(0.0, at.timestamp() - time.time()))
            try:
                await pool.invoke("schedule", event_payload(trigger, at))
                log_line(pool.spec, f"SCHEDULE {trigger.schedule!r} fired at {at.isoformat()}")
            except InvocationError as exc:
                log_line(pool.spec, f"SCHEDULE {trigger.schedule!r} at {at.isoformat()} failed: {exc}")
