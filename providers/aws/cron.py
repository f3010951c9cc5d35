"""Blueprint schedules -> EventBridge Scheduler expressions (pure: no Pulumi import, used by check too).

The blueprint speaks unix cron (5 fields, day-of-week 0-7 with SUN=0 or 7) and `every N units`. AWS
speaks `cron(min hour dom month dow year)` where exactly one of day-of-month and day-of-week must be `?`
and day-of-week runs 1-7 with SUN=1, and `rate(N units)` with a singular unit for 1.

Unix cron fires when EITHER day field matches if both are restricted; AWS cannot express that OR in one
schedule (and two schedules would fire twice on a day matching both), so such a cron is rejected with
a clear error instead of being silently narrowed. Day-of-week fields are expanded to the set of days
they mean (names, ranges, lists, steps) and written back in AWS numbering, so `5-7` (FRI-SUN) becomes
`1,6-7` rather than a wrong `6-8`.
"""

from __future__ import annotations

from deployer.blueprint.schedule import Cron, Every, parse_schedule

DAY_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
SINGULAR = {"minutes": "minute", "hours": "hour", "days": "day"}


class CronConversionError(ValueError):
    """A schedule AWS cannot express; the message is written for the user."""


def expression(text: str) -> str:
    """The Scheduler expression of a blueprint schedule string."""
    match parse_schedule(text):
        case Every() as every:
            return rate(every)
        case Cron() as cron:
            return aws_cron(cron)
    raise CronConversionError(f"unsupported schedule {text!r}")


def rate(every: Every) -> str:
    unit = SINGULAR[every.unit] if every.amount == 1 else every.unit
    return f"rate({every.amount} {unit})"


def aws_cron(cron: Cron) -> str:
    """`cron(m h dom mon dow *)` with the `?` rule and AWS day-of-week numbering."""
    dom_set, dow_set = _restricted(cron.dom), _restricted(cron.dow)
    if dom_set and dow_set:
        raise CronConversionError(
            f"'{cron.expression}' sets both day-of-month ({cron.dom}) and day-of-week ({cron.dow}); cron runs it "
            "when EITHER matches, which AWS cannot express in one schedule: use two schedule triggers, one "
            "with `*` as day-of-month and one with `*` as day-of-week")
    minute, hour = _step_start(cron.minute, "0"), _step_start(cron.hour, "0")
    month = _step_start(cron.month, "1")
    if dow_set:
        return f"cron({minute} {hour} ? {month} {aws_dow(cron.dow)} *)"
    dom = "*" if cron.dom == "?" else _step_start(cron.dom, "1")  # `?` means any day; AWS wants `*` here
    return f"cron({minute} {hour} {dom} {month} ? *)"


def _restricted(field: str) -> bool:
    return field not in ("*", "?")


def _step_start(field: str, first: str) -> str:
    """`*/15` -> `0/15` (AWS wants a start value before the slash)."""
    return ",".join(first + part[1:] if part.startswith("*/") else part for part in field.split(","))


def aws_dow(field: str) -> str:
    """Unix day-of-week (0-7, SUN=0/7, names, ranges, steps, `d#n`) -> AWS (1-7, SUN=1)."""
    field = field.upper()
    if "#" in field:
        day, _, nth = field.partition("#")
        if not nth.isdigit() or "," in field or "-" in day:
            raise CronConversionError(f"day-of-week '{field}': use one day with #n, like MON#2")
        return f"{_day(day) + 1}#{nth}"
    days: set[int] = set()
    for part in field.split(","):
        days |= _expand(part)
    return _compress(sorted(d + 1 for d in days))


def _day(token: str) -> int:
    if token in DAY_NAMES:
        return DAY_NAMES[token]
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise CronConversionError(f"'{token}' is not a day of the week (0-7 or SUN-SAT)")


def _expand(part: str) -> set[int]:
    """The unix days (0-6) one comma-separated part means."""
    span, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step_text and (not step_text.isdigit() or step < 1):
        raise CronConversionError(f"bad step in day-of-week '{part}'")
    if span == "*":
        low, high = 0, 6
    elif "-" in span:
        first, last = span.split("-", 1)
        low, high = _day(first), _day(last)
        if last in ("7",):  # 7 is Sunday at the END of the week
            high = 7
        if high < low:
            raise CronConversionError(f"day-of-week range '{span}' runs backwards")
    else:
        low = high = _day(span)
        if step_text:
            high = 6
    return {d % 7 for d in range(low, high + 1, step)}


def _compress(days: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3,5'."""
    if days == list(range(1, 8)):
        return "*"
    runs: list[str] = []
    start = prev = days[0]
    for day in days[1:] + [None]:
        if day is not None and day == prev + 1:
            prev = day
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if day is not None:
            start = prev = day
    return ",".join(runs)
