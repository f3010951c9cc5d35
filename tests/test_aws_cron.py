"""Blueprint schedules -> EventBridge Scheduler expressions (providers/aws/cron.py).

AWS cron has six fields, exactly one of day-of-month and day-of-week is `?`, and day-of-week runs
1-7 with SUN=1 (unix: 0-7 with SUN=0 or 7). Each row below was worked out by hand from those rules.
"""

from __future__ import annotations

import pytest

from providers.aws import cron
from providers.aws.cron import CronConversionError

TABLE = [
    ("0 3 * * *", "cron(0 3 * * ? *)"),                 # every day: dow becomes ?
    ("*/5 * * * *", "cron(0/5 * * * ? *)"),             # step needs a start value
    ("15 */2 * * *", "cron(15 0/2 * * ? *)"),
    ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),             # MON-FRI: dom becomes ?, days shift by one
    ("0 9 * * MON-FRI", "cron(0 9 ? * 2-6 *)"),
    ("0 0 * * 0", "cron(0 0 ? * 1 *)"),                 # Sunday is 0 in unix, 1 in AWS
    ("0 0 * * 7", "cron(0 0 ? * 1 *)"),                 # ... and 7 in unix too
    ("0 0 * * SUN", "cron(0 0 ? * 1 *)"),
    ("0 0 * * 6", "cron(0 0 ? * 7 *)"),                 # Saturday
    ("0 12 * * 5-7", "cron(0 12 ? * 1,6-7 *)"),         # FRI-SUN wraps around the AWS week
    ("0 12 * * 0,6", "cron(0 12 ? * 1,7 *)"),           # weekends
    ("0 12 * * 1,3,5", "cron(0 12 ? * 2,4,6 *)"),
    ("0 12 * * */2", "cron(0 12 ? * 1,3,5,7 *)"),       # SUN, TUE, THU, SAT
    ("0 12 * * 1-5/2", "cron(0 12 ? * 2,4,6 *)"),
    ("0 12 * * 1#2", "cron(0 12 ? * 2#2 *)"),           # second Monday
    ("0 12 * * 0-6", "cron(0 12 ? * * *)"),             # every day of the week, written out
    ("30 4 1 * *", "cron(30 4 1 * ? *)"),               # first of the month: dom kept, dow ?
    ("0 0 1,15 * *", "cron(0 0 1,15 * ? *)"),
    ("0 0 */10 * *", "cron(0 0 1/10 * ? *)"),
    ("0 0 1 1 *", "cron(0 0 1 1 ? *)"),
    ("0 6 * JAN-MAR *", "cron(0 6 * JAN-MAR ? *)"),
    ("0 0 1 */3 *", "cron(0 0 1 1/3 ? *)"),
    ("every 5 minutes", "rate(5 minutes)"),
    ("every 1 minute", "rate(1 minute)"),               # singular for 1
    ("every minute", "rate(1 minute)"),
    ("every 1 hours", "rate(1 hour)"),
    ("every 2 hours", "rate(2 hours)"),
    ("every day", "rate(1 day)"),
    ("every 3 days", "rate(3 days)"),
]


@pytest.mark.parametrize("schedule,expected", TABLE)
def test_conversion(schedule, expected):
    assert cron.expression(schedule) == expected


def test_both_day_fields_is_rejected_with_a_clear_error():
    with pytest.raises(CronConversionError) as err:
        cron.expression("0 0 1 * MON")
    assert str(err.value) == (
        "'0 0 1 * MON' sets both day-of-month (1) and day-of-week (MON); cron runs it when EITHER matches, "
        "which AWS cannot express in one schedule: use two schedule triggers, one with `*` as day-of-month "
        "and one with `*` as day-of-week")


def test_nth_weekday_needs_one_day():
    with pytest.raises(CronConversionError) as err:
        cron.aws_dow("1-2#2")  # croniter refuses it first in a blueprint; the converter refuses it too
    assert str(err.value) == "day-of-week '1-2#2': use one day with #n, like MON#2"


def test_question_mark_day_of_month_becomes_any_day_not_two_question_marks():
    # `cron(0 0 ? * ? *)` is what this gave before; Scheduler rejects two `?`
    assert cron.expression("0 0 ? * *") == "cron(0 0 * * ? *)"
    assert cron.expression("0 0 ? * MON") == "cron(0 0 ? * 2 *)"
