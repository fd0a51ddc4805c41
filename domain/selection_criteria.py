"""The published criteria of risk-based selection, as versioned data (like ``domain.frameworks``).

A plan records the code of the criteria it was drawn up under, so that a
2018 plan is always explained by the 2018 criteria. Changing the weights is a
new version here with its own ``valid_from``, never an edit of one in force.

*Policy* (consultation response, 2018): YOTs are selected risk-based and
intelligence-led, by published criteria (volume, performance information,
time since the last inspection), up to 30 a year; every NPS division and CRC
is inspected every year. *Ours*: the weights, the references and "not
inspected for four years is selected first".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from domain.errors import InvalidValue, NotFound


@dataclass(frozen=True)
class Indicator:
    """A yearly figure a body's record may carry (``PUT /v1/bodies/{id}/indicators/{year}``)."""

    name: str
    description: str
    maximum: float
    whole: bool = False


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator("caseload", "people under supervision (children for a YOT)", 10_000_000, whole=True),
        Indicator("reoffending_rate", "proven reoffending within a year, % of the cohort", 100),
        Indicator(
            "first_time_entrants_rate", "first-time entrants to the justice system per 100,000 aged 10-17", 100_000
        ),
        Indicator("custody_rate", "custodial sentences per 1,000 aged 10-17", 1_000),
    )
}


@dataclass(frozen=True)
class PerformanceWeight:
    """Up to ``weight`` points for a figure above its reference: in proportion to the excess, full points
    at twice the reference."""

    indicator: str
    weight: float
    reference: float


@dataclass(frozen=True)
class SelectionCriteria:
    code: str
    programme: str
    version: int
    valid_from: date
    body_types: tuple[str, ...]  # the bodies the programme selects among
    every_year_types: tuple[str, ...]  # selected every year, whatever their score
    overdue_after_years: int  # not inspected for this many years (or never): selected first
    default_capacity: int | None  # inspections a year when a plan names none
    time_weight: float  # full points at time_horizon_years or more since the last inspection (or never)
    time_horizon_years: int
    volume_weight: float  # in proportion to the caseload, full points for the largest candidate's
    performance: tuple[PerformanceWeight, ...]
    tie_break: str = "score (rounded to 2 places), then name ignoring case, then body id"

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["valid_from"] = self.valid_from.isoformat()
        body["body_types"] = list(self.body_types)
        body["every_year_types"] = list(self.every_year_types)
        body["performance"] = [asdict(p) for p in self.performance]
        body["order"] = [
            f"every {', '.join(self.every_year_types)} (inspected every year)" if self.every_year_types else None,
            f"bodies not inspected for {self.overdue_after_years} years or never (selected first)",
            "the rest by score, highest first, to capacity",
        ]
        body["order"] = [step for step in body["order"] if step]
        return body


CRITERIA: tuple[SelectionCriteria, ...] = (
    SelectionCriteria(
        code="YOS-SELECTION-2018",
        programme="YOS",
        version=1,
        valid_from=date(2018, 4, 1),
        body_types=("yot",),
        every_year_types=(),
        overdue_after_years=4,
        default_capacity=30,
        time_weight=40,
        time_horizon_years=4,
        volume_weight=30,
        performance=(
            PerformanceWeight("reoffending_rate", 15, 40.0),
            PerformanceWeight("first_time_entrants_rate", 5, 300.0),
            PerformanceWeight("custody_rate", 10, 0.3),
        ),
    ),
    SelectionCriteria(
        code="PROBATION-SELECTION-2018",
        programme="PROBATION",
        version=1,
        valid_from=date(2018, 4, 1),
        body_types=("nps_division", "crc"),
        every_year_types=("nps_division", "crc"),
        overdue_after_years=4,
        default_capacity=None,
        time_weight=40,
        time_horizon_years=4,
        volume_weight=40,
        performance=(PerformanceWeight("reoffending_rate", 20, 30.0),),
    ),
)


def criteria_for(programme: str, on: date) -> SelectionCriteria:
    """The criteria version in force for a programme on a day (the start of a plan's year)."""
    versions = sorted((c for c in CRITERIA if c.programme == programme), key=lambda c: c.valid_from)
    if not versions:
        raise NotFound(f"{programme} has no published selection criteria")
    in_force = [c for c in versions if c.valid_from <= on]
    if not in_force:
        raise InvalidValue("year", f"{programme} selection criteria apply from {versions[0].valid_from.isoformat()}")
    return in_force[-1]


def criteria_by_code(code: str) -> SelectionCriteria:
    for criteria in CRITERIA:
        if criteria.code == code:
            return criteria
    raise KeyError(code)
