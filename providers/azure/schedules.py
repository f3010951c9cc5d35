"""Schedules -> timerTrigger bindings with NCRONTAB (pure: used by check, package and tests).

NCRONTAB has six fields, seconds first (`0 0 3 * * *`), day-of-week 0-6 with Sunday 0. Conversion:

- a 5-field cron gets `0` seconds in front; day-of-week `7` (Sunday) becomes `0`; names pass through
  (NCRONTAB knows Jan-Dec and Sun-Sat);
- `every N minutes|hours|days` becomes a cron only where one fires at exactly that rate
  (`Every.cron`: minutes dividing 60, hours dividing 24, one day); the TimeSpan form (`00:07:00`)
  is not available on Consumption plans, so other rates are errors;
- unix cron runs when EITHER restricted day field matches, NCRONTAB needs BOTH: such a cron is an error
  rather than a silently narrower schedule; `L`, `W`, `#` and `?` have no NCRONTAB form;
- time zones: Azure timers run in UTC, and WEBSITE_TIME_ZONE/TZ are not supported on Linux Consumption
  (or Flex) — Microsoft warns they break TLS and metrics there. A non-UTC timezone is therefore an error
  with the UTC hours it corresponds to as a hint, never a silently shifted schedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deployer.blueprint.model import ScheduleTrigger
from deployer.blueprint.schedule import Cron, Every, parse_schedule

UTC_NAMES = ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z")


class ScheduleConversionError(ValueError):
    """A schedule an Azure timer cannot express; the message is written for the user."""


def ncrontab(text: str) -> str:
    """The NCRONTAB expression of a blueprint schedule string (see the module docstring)."""
    match parse_schedule(text):
        case Every() as every:
            cron = every.cron
            if cron is None:
                raise ScheduleConversionError(
                    f"'{text}': Azure timers on a Consumption plan take NCRONTAB only, and no cron fires "
                    f"exactly every {every.amount} {every.unit}")
            return from_cron(cron)
        case Cron() as cron:
            return from_cron(cron)
    raise ScheduleConversionError(f"unsupported schedule {text!r}")


def from_cron(cron: Cron) -> str:
    fields = (cron.minute, cron.hour, cron.dom, cron.month, cron.dow)
    for value in fields:
        if any(mark in value.upper() for mark in ("L", "W", "#", "?")) and not _names_only(value):
            raise ScheduleConversionError(f"'{cron.expression}': NCRONTAB has no `L`, `W`, `#` or `?`")
    if cron.dom not in ("*",) and cron.dow not in ("*",):
        raise ScheduleConversionError(
            f"'{cron.expression}' sets both day-of-month and day-of-week; cron runs it when EITHER matches, "
            "an Azure timer only when BOTH do: use two schedule triggers, one with each day field `*`")
    return f"0 {cron.minute} {cron.hour} {cron.dom} {cron.month} {_dow(cron.dow)}"


def _names_only(value: str) -> bool:
    """`JUL`, `SAT`: letters that are month or day names, not cron specials."""
    return all(part.isalpha() and len(part) == 3 for part in value.replace("-", ",").split(",") if part)


def _dow(field: str) -> str:
    """Day-of-week 7 (Sunday at the end of a unix week) -> 0; ranges ending in 7 are split."""
    parts = []
    for part in field.split(","):
        span, slash, step = part.partition("/")
        if span == "7":
            span = "0"
        elif span.endswith("-7") and not slash:
            start = span.split("-")[0]
            parts.extend(["0", f"{start}-6"] if start != "0" else ["0-6"])
            continue
        parts.append(span + slash + step)
    return ",".join(parts)


def is_utc(name: str) -> bool:
    return name in UTC_NAMES


def utc_offsets(name: str, year: int = 2026) -> list[str]:
    """The UTC offsets a zone uses over a year (`+01:00`, `+02:00`), for hints; [] for unknown zones."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return []
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    seen = {(start + timedelta(days=d)).astimezone(zone).utcoffset() for d in range(0, 366, 7)}
    return [_offset(o) for o in sorted(seen)]


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def binding(trigger: ScheduleTrigger) -> dict:
    """The timerTrigger binding; raises ScheduleConversionError for what Azure cannot run."""
    if not is_utc(trigger.timezone):
        raise ScheduleConversionError(f"timezone {trigger.timezone!r}: Azure timers on Linux run in UTC only")
    return {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": ncrontab(trigger.schedule),
            "runOnStartup": False, "useMonitor": True}
