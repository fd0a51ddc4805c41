"""England and Wales bank holidays, from the maintained ``holidays`` package."""

from __future__ import annotations

from datetime import date
from functools import lru_cache


@lru_cache(maxsize=64)
def _year(year: int) -> frozenset[date]:
    import holidays  # (here, not at the top: 0.2 s of imports that most processes never need)

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_bank_holiday(day: date) -> bool:
    return day in _year(day.year)
