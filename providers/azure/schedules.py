"""Schedules -> timerTrigger bindings with NCRONTAB (pure: used by check, package and tests).

NCRONTAB has six fields, seconds first (`0 0 3 * * *`), day-of-week 0-6 with Sunday 0. Conversion:

- a 5-field cron gets `0` seconds in front; day-of-week `7` (Sunday) becomes `0`; names pass through
  (NCRONTAB knows Jan-Dec and Sun-Sat);
- `every N minutes|hours|days` becomes a cron only where one fires at exactly that rate
  (`Every.cron`: minutes dividing 60, hours dividing 24, one day); the TimeSpan form (`00:07:00`)
  is not available on Consumption plans, so other rates are errors; `L`, `W`, `#`, `?` are errors.

Two things NCRONTAB cannot say are handled by a guard (`timezone_guard.py`, packaged as
`deployer_timezone.py`): a time zone other than UTC (Azure timers run in UTC, and WEBSITE_TIME_ZONE/TZ
are not supported on Linux Consumption or Flex: Microsoft warns they break TLS and metrics there), and
a cron restricting both day fields (unix cron runs when EITHER matches, NCRONTAB only when BOTH do).
Such a timer fires at the cron's minutes of every hour in UTC and the guard runs the handler only when
the local time matches the whole cron. Zones whose offset is not whole hours are refused.
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
    """The NCRONTAB expression of a blueprint schedule string, in UTC, without the guard."""
    return from_cron(cron_of(text))


def cron_of(text: str) -> Cron:
    """The schedule as a 5-field cron (an exact one for rates), or ScheduleConversionError."""
    match parse_schedule(text):
        case Every() as every:
            if every.cron is None:
                raise ScheduleConversionError(
                    f"'{text}': Azure timers on a Consumption plan take NCRONTAB only, and no cron fires "
                    f"exactly every {every.amount} {every.unit}")
            return every.cron
        case Cron() as cron:
            for value in (cron.minute, cron.hour, cron.dom, cron.month, cron.dow):
                if any(mark in value.upper() for mark in ("L", "W", "#", "?")) and not _names_only(value):
                    raise ScheduleConversionError(f"'{cron.expression}': NCRONTAB has no `L`, `W`, `#` or `?`")
            return cron
    raise ScheduleConversionError(f"unsupported schedule {text!r}")


def both_days(cron: Cron) -> bool:
    return cron.dom != "*" and cron.dow != "*"


def from_cron(cron: Cron) -> str:
    if both_days(cron):
        raise ScheduleConversionError(f"'{cron.expression}' restricts both day fields: it needs the guard")
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


def guarded(trigger: ScheduleTrigger) -> bool:
    """Whether the timer needs the guard: a zone other than UTC, or both day fields restricted."""
    return not is_utc(trigger.timezone) or both_days(cron_of(trigger.schedule))


def check_zone(name: str) -> None:
    """ScheduleConversionError for a zone the guard cannot serve (unknown, or not whole-hour offsets)."""
    offsets = utc_offsets(name)
    if not offsets:
        raise ScheduleConversionError(f"timezone {name!r} is not a tz database name (like Europe/Paris)")
    if any(not o.endswith(":00") for o in offsets):
        raise ScheduleConversionError(
            f"timezone {name!r} is {' and '.join('UTC' + o for o in offsets)}: Azure timers run in UTC and "
            "deployer can shift them by whole hours only")


def binding(trigger: ScheduleTrigger) -> tuple[str, dict, dict | None]:
    """(script file, timerTrigger binding, guard config or None); ScheduleConversionError if impossible."""
    spec = {"type": "timerTrigger", "direction": "in", "name": "timer", "runOnStartup": False, "useMonitor": True}
    cron = cron_of(trigger.schedule)
    if not guarded(trigger):
        return "../deployer_shim.py", {**spec, "schedule": from_cron(cron)}, None
    check_zone(trigger.timezone)
    guard = {"cron": cron.expression, "timezone": "UTC" if is_utc(trigger.timezone) else trigger.timezone}
    return "../deployer_timezone.py", {**spec, "schedule": f"0 {cron.minute} * * * *"}, guard
