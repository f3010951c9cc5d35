"""Schedules, parsed once: a 5-field cron (`0 3 * * *`) or a rate (`every 5 minutes`).

Every cloud speaks a different dialect (AWS's 6-field cron with `?`, Azure's NCRONTAB with seconds,
Cloud Scheduler's unix cron, croniter locally); they all convert from these two typed values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EVERY = re.compile(r"^every\s+(?:(\d+)\s+)?(minute|minutes|hour|hours|day|days)$", re.IGNORECASE)
UNITS = {"minute": "minutes", "minutes": "minutes", "hour": "hours", "hours": "hours", "day": "days", "days": "days"}
LIMITS = {"minutes": 59 * 24 * 366, "hours": 24 * 366, "days": 366}


@dataclass(frozen=True)
class Cron:
    minute: str
    hour: str
    dom: str
    month: str
    dow: str

    @property
    def expression(self) -> str:
        return f"{self.minute} {self.hour} {self.dom} {self.month} {self.dow}"


@dataclass(frozen=True)
class Every:
    amount: int
    unit: str  # minutes | hours | days

    @property
    def minutes(self) -> int:
        return self.amount * {"minutes": 1, "hours": 60, "days": 1440}[self.unit]

    @property
    def cron(self) -> Cron | None:
        """The same rate as a cron, where one exists exactly (used by clouds without rates)."""
        if self.unit == "minutes" and 60 % self.amount == 0:
            return Cron("*" if self.amount == 1 else f"*/{self.amount}", "*", "*", "*", "*")
        if self.unit == "hours" and 24 % self.amount == 0:
            return Cron("0", "*" if self.amount == 1 else f"*/{self.amount}", "*", "*", "*")
        if self.unit == "days" and self.amount == 1:
            return Cron("0", "0", "*", "*", "*")
        return None


class ScheduleError(ValueError):
    """A schedule that does not parse; the message is written for the user."""


def parse_schedule(text: str) -> Cron | Every:
    text = " ".join(str(text).split())
    match = EVERY.match(text)
    if match:
        amount = int(match.group(1) or 1)
        unit = UNITS[match.group(2).lower()]
        if amount < 1 or amount > LIMITS[unit]:
            raise ScheduleError(f"'{text}': the amount must be between 1 and {LIMITS[unit]} {unit}")
        return Every(amount, unit)
    if text.lower().startswith("every"):
        raise ScheduleError(f"'{text}' is not a rate; write `every N minutes`, `every N hours` or `every N days`")
    fields = text.split(" ")
    if len(fields) != 5:
        raise ScheduleError(f"'{text}' has {len(fields)} fields; a cron has 5: minute hour day-of-month month day-of-week")
    from croniter import croniter

    if not croniter.is_valid(text):
        raise ScheduleError(f"'{text}' is not a valid cron expression")
    return Cron(*fields)
