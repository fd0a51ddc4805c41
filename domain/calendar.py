"""Calendar arithmetic for deadlines; holidays are passed in, so this stays pure."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, timedelta


def add_working_days(start: date, days: int, is_holiday: Callable[[date], bool]) -> date:
    """The date ``days`` working days after ``start`` (weekends and holidays skipped)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and not is_holiday(current):
            remaining -= 1
    return current


def add_months(start: date, months: int) -> date:
    """Same day ``months`` calendar months later, clamped to the month's end (29 Feb → 28 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)
