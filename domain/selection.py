"""Risk-based selection: which bodies a programme inspects in a year, and why (a pure function).

Deterministic: the same candidates, criteria, year and capacity give the
same plan, in the same order. Order: every body of a type inspected every
year; then every body not inspected for ``overdue_after_years`` (or never);
then the rest by score; within each, by score (rounded to 2 places), highest
first, then name ignoring case, then id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.errors import InvalidValue
from domain.selection_criteria import SelectionCriteria

EVERY_YEAR, OVERDUE, RISK = "every_year", "overdue", "risk"
_GROUP_ORDER = {EVERY_YEAR: 0, OVERDUE: 1, RISK: 2}


@dataclass(frozen=True)
class Candidate:
    body_id: str
    name: str
    type: str
    last_inspected: date | None  # the latest fieldwork start before the plan year (its own or a predecessor's)
    indicators_year: str | None = None  # the year of ``indicators``
    indicators: dict[str, Any] | None = None


def full_years_between(earlier: date, later: date) -> int:
    years = later.year - earlier.year
    if (later.month, later.day) < (earlier.month, earlier.day):
        years -= 1
    return years


def select(
    criteria: SelectionCriteria, year_start: date, capacity: int, candidates: list[Candidate]
) -> dict[str, list[dict[str, Any]]]:
    """``{selected, not_selected}``, each entry ``{body_id, name, type, score, basis, reasons}``."""
    if capacity < 0:
        raise InvalidValue("capacity", "must be 0 or more")
    every_year = [c for c in candidates if c.type in criteria.every_year_types]
    if len(every_year) > capacity:
        raise InvalidValue(
            "capacity",
            f"{len(every_year)} bodies ({', '.join(criteria.every_year_types)}) are inspected every year; "
            f"a capacity of {capacity} cannot hold them",
        )
    largest = max((_caseload(c) or 0 for c in candidates), default=0)
    entries = [_entry(criteria, year_start, c, largest) for c in candidates]
    entries.sort(key=lambda e: (_GROUP_ORDER[e["basis"]], -e["score"], e["name"].casefold(), e["body_id"]))
    selected: list[dict[str, Any]] = []
    not_selected: list[dict[str, Any]] = []
    for entry in entries:
        if len(selected) < capacity:
            entry["reasons"].append(_why_selected(entry["basis"], criteria))
            selected.append(entry)
        else:
            entry["reasons"].append(f"not selected: the capacity of {capacity} was taken by bodies ranked higher")
            not_selected.append(entry)
    for rank, entry in enumerate(selected + not_selected, start=1):
        entry["rank"] = rank
    return {"selected": selected, "not_selected": not_selected}


def _why_selected(basis: str, criteria: SelectionCriteria) -> str:
    if basis == EVERY_YEAR:
        return "selected: every body of its type is inspected every year"
    if basis == OVERDUE:
        return f"selected first: not inspected for {criteria.overdue_after_years} years or more"
    return "selected on its score"


def _caseload(candidate: Candidate) -> int | None:
    value = (candidate.indicators or {}).get("caseload")
    return int(value) if value is not None else None


def _entry(criteria: SelectionCriteria, year_start: date, c: Candidate, largest: int) -> dict[str, Any]:
    reasons: list[str] = []
    # time since the last inspection
    if c.last_inspected is None:
        years = None
        time_points = criteria.time_weight
        reasons.append(f"never inspected on record: {time_points:g} of {criteria.time_weight:g} points for time")
    else:
        years = full_years_between(c.last_inspected, year_start)
        time_points = criteria.time_weight * min(years, criteria.time_horizon_years) / criteria.time_horizon_years
        reasons.append(
            f"last inspected from {c.last_inspected.isoformat()}, {years} full year(s) before the plan year: "
            f"{time_points:g} of {criteria.time_weight:g} points for time"
        )
    # volume
    caseload = _caseload(c)
    if caseload is None:
        volume_points = 0.0
        reasons.append("no caseload recorded for the plan year or before: 0 points for volume")
    else:
        volume_points = criteria.volume_weight * caseload / largest if largest else 0.0
        reasons.append(
            f"caseload {caseload} ({c.indicators_year}; the largest candidate's is {largest}): "
            f"{volume_points:.2f} of {criteria.volume_weight:g} points for volume"
        )
    # performance
    performance_points = 0.0
    for weight in criteria.performance:
        value = (c.indicators or {}).get(weight.indicator)
        if value is None:
            continue
        excess = max(0.0, (value - weight.reference) / weight.reference)
        points = weight.weight * min(1.0, excess)
        performance_points += points
        relation = "above" if value > weight.reference else "not above"
        reasons.append(
            f"{weight.indicator.replace('_', ' ')} {value:g} is {relation} the reference {weight.reference:g}: "
            f"{points:.2f} of {weight.weight:g} points"
        )
    score = round(time_points + volume_points + performance_points, 2)
    if c.type in criteria.every_year_types:
        basis = EVERY_YEAR
    elif years is None or years >= criteria.overdue_after_years:
        basis = OVERDUE
    else:
        basis = RISK
    return {
        "body_id": c.body_id,
        "name": c.name,
        "type": c.type,
        "score": score,
        "basis": basis,
        "last_inspected": c.last_inspected.isoformat() if c.last_inspected else None,
        "indicators_year": c.indicators_year,
        "reasons": reasons,
    }
