"""Time-zone schedules on Azure: packaged as `deployer_timezone.py`, the scriptFile of such timers.

Azure timers run in UTC and Linux Consumption cannot change that (WEBSITE_TIME_ZONE/TZ are not
supported there). So a schedule in another zone, or a cron whose two day fields are both restricted
(unix cron: EITHER matches, NCRONTAB: BOTH), is deployed as a timer that fires at the cron's minutes
of EVERY hour (`0 <minute> * * * *`, UTC), and this guard lets through only the firings whose time, in
the trigger's zone, matches the whole cron; those it hands to the shim's `timer` entry point.
A zone whose offset is not whole hours is refused by `check` (its local minutes differ from UTC's).

Like vixie cron, a local time skipped by a daylight-saving change does not run and one that occurs
twice runs twice. Standard library only: this file runs inside the function package.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = "deployer_timezone.json"
NAMES = {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9,
         "OCT": 10, "NOV": 11, "DEC": 12, "SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def values(field: str, low: int, high: int) -> set[int]:
    """The numbers one cron field means: `*`, `5`, `1-5`, `*/15`, `1-10/3`, lists, JAN-DEC and SUN-SAT."""
    out: set[int] = set()
    for part in field.upper().split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = (NAMES.get(x) if x in NAMES else int(x) for x in span.split("-", 1))
        else:
            first = NAMES[span] if span in NAMES else int(span)
            last = high if step else first
        out.update(range(first, last + 1, int(step) if step else 1))
    return out


def matches(cron: str, when: datetime) -> bool:
    """Whether a 5-field cron fires at `when` (a local time), with unix cron's day-field OR."""
    fields = cron.split()
    minute, hour, dom, month, dow = (values(f, lo, hi) for f, (lo, hi) in zip(fields, RANGES))
    dow = {d % 7 for d in dow}
    if when.minute not in minute or when.hour not in hour or when.month not in month:
        return False
    day, weekday = when.day in dom, (when.isoweekday() % 7) in dow
    if fields[2] != "*" and fields[4] != "*":
        return day or weekday
    return day and weekday


def fired_at(now: datetime, minutes: set[int]) -> datetime:
    """The UTC minute this firing was scheduled for: the latest one at or before `now` in `minutes`."""
    when = now.replace(second=0, microsecond=0)
    for _ in range(60):
        if when.minute in minutes:
            return when
        when -= timedelta(minutes=1)
    return when


def trigger(context) -> dict:
    """{"cron", "timezone"} of this function folder, from deployer_timezone.json (written by the provider)."""
    with open(os.path.join(HERE, CONFIG), encoding="utf-8") as fh:
        folders = json.load(fh)
    return folders[getattr(context, "function_name", "")]


def timer(timer, context=None):
    """Run the shim's timer entry point when this firing is due in the trigger's time zone."""
    spec = trigger(context)
    cron = spec["cron"]
    when = fired_at(_now(), values(cron.split()[0], 0, 59))
    if not matches(cron, when.astimezone(ZoneInfo(spec["timezone"]))):
        return None
    import deployer_shim

    return deployer_shim.timer(timer, context)
