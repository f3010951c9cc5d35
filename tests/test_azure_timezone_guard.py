"""The time-zone guard (packaged as deployer_timezone.py): fires hourly in UTC, runs when local time matches."""

from __future__ import annotations

import json
import sys
import types
from datetime import datetime, timedelta, timezone

import pytest

from providers.azure import timezone_guard as guard

UTC = timezone.utc


@pytest.mark.parametrize("field,low,high,expected", [
    ("*", 0, 6, {0, 1, 2, 3, 4, 5, 6}),
    ("*/15", 0, 59, {0, 15, 30, 45}),
    ("1-5", 0, 7, {1, 2, 3, 4, 5}),
    ("MON-FRI", 0, 7, {1, 2, 3, 4, 5}),
    ("1,JUN,10-12/2", 1, 12, {1, 6, 10, 12}),
    ("5/20", 0, 59, {5, 25, 45}),
])
def test_field_values(field, low, high, expected):
    assert guard.values(field, low, high) == expected


def test_matching_uses_unix_cron_day_or():
    monday_2nd = datetime(2026, 3, 2, 6, 30)  # a Monday
    first_thursday = datetime(2026, 1, 1, 6, 30)
    other = datetime(2026, 1, 6, 6, 30)  # a Tuesday, day 6
    assert guard.matches("30 6 1 * MON", monday_2nd) and guard.matches("30 6 1 * MON", first_thursday)
    assert not guard.matches("30 6 1 * MON", other)
    assert guard.matches("30 6 * * 7", datetime(2026, 1, 4, 6, 30))  # Sunday as 7
    assert not guard.matches("30 6 * * *", datetime(2026, 1, 4, 6, 31))


def test_fired_at_recovers_the_scheduled_minute_of_a_late_start():
    late = datetime(2026, 1, 15, 2, 0, 41, tzinfo=UTC)
    assert guard.fired_at(late, {0}) == datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    assert guard.fired_at(datetime(2026, 1, 15, 2, 3, 5, tzinfo=UTC), {0, 30}) == datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def shim(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "deployer_shim", types.SimpleNamespace(timer=lambda t, c: calls.append(t)))
    (tmp_path / guard.CONFIG).write_text(json.dumps({"timer0": {"cron": "0 3 * * *", "timezone": "Europe/Paris"}}))
    monkeypatch.setattr(guard, "HERE", str(tmp_path))
    return calls


@pytest.mark.parametrize("utc_hour,month,runs", [
    (2, 1, True),    # 03:00 in Paris in winter (UTC+1)
    (1, 7, True),    # 03:00 in Paris in summer (UTC+2)
    (1, 1, False),   # 02:00 in Paris in winter
    (2, 7, False),   # 04:00 in Paris in summer
    (3, 1, False),
])
def test_guard_runs_the_handler_at_local_three(shim, monkeypatch, utc_hour, month, runs):
    monkeypatch.setattr(guard, "_now", lambda: datetime(2026, month, 15, utc_hour, 0, 12, tzinfo=UTC))
    guard.timer("timer-request", types.SimpleNamespace(function_name="timer0"))
    assert shim == (["timer-request"] if runs else [])


def test_a_whole_year_runs_exactly_once_a_day(shim, monkeypatch):
    """Hourly firings over 2026 (both daylight-saving changes): the handler runs once on each day."""
    for day in range(365):
        for hour in range(24):
            now = datetime(2026, 1, 1, hour, 0, 3, tzinfo=UTC) + timedelta(days=day)
            monkeypatch.setattr(guard, "_now", lambda now=now: now)
            guard.timer(day, types.SimpleNamespace(function_name="timer0"))
    assert shim == list(range(365))


def test_zones_the_guard_cannot_serve():
    from providers.azure import schedules

    schedules.check_zone("America/New_York")
    with pytest.raises(schedules.ScheduleConversionError, match="not a tz database name"):
        schedules.check_zone("Mars/Olympus")
    with pytest.raises(schedules.ScheduleConversionError, match=r"UTC\+05:45"):
        schedules.check_zone("Asia/Kathmandu")
