"""The one clock: every timestamp and every 'today' in the system comes from here.

Tests move it with freezegun, which patches ``datetime.now``. Values are
rebuilt as plain ``datetime``/``date`` objects (freezegun hands out subclasses)
so that they serialise exactly like real ones.
"""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
# Held in a tuple so freezegun's module patching leaves the real classes here.
_REAL = (_dt.datetime, _dt.date)


def now() -> _dt.datetime:
    """The current instant, timezone-aware (UTC)."""
    n = _dt.datetime.now(_dt.UTC)
    return _REAL[0](n.year, n.month, n.day, n.hour, n.minute, n.second, n.microsecond, tzinfo=_dt.UTC)


def today() -> _dt.date:
    """Today's date where the inspectorate works (England and Wales)."""
    local = now().astimezone(LONDON)
    return _REAL[1](local.year, local.month, local.day)
