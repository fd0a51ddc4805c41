"""Inspection frameworks as versioned data.

An inspection records the code of the framework version it was carried out
under, so that a 2011 inspection is always replayed under 2011 rules. A new
programme (the 2018 standards, say) is one more entry here, not new code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from domain.errors import InvalidValue

GENERAL_CRITERIA = ("assessment_and_planning", "interventions", "outcomes")


@dataclass(frozen=True)
class Framework:
    code: str
    programme: str
    title: str
    sector: str
    valid_from: date
    areas: tuple[str, ...]
    # The last day fieldwork may start under this version; None while it is still in force.
    valid_to: date | None = None
    criteria: tuple[str, ...] = GENERAL_CRITERIA
    # A headline score strictly below this exact ratio makes a report "of concern".
    concern_threshold: Fraction = Fraction(1, 2)
    reinspection_interval_months: int = 12
    area_labels: dict[str, str] = field(default_factory=dict)

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def period(self) -> str:
        return f"{self.valid_from.isoformat()} to {self.valid_to.isoformat() if self.valid_to else 'now'}"

    def check_item(self, area: str, criterion: str) -> None:
        if area not in self.areas:
            raise InvalidValue("area", f"'{area}' is not an area of {self.code}: {', '.join(self.areas)}")
        if criterion not in self.criteria:
            raise InvalidValue(
                "criterion", f"'{criterion}' is not a criterion of {self.code}: {', '.join(self.criteria)}"
            )


@dataclass(frozen=True)
class ComplaintsPolicy:
    code: str
    valid_from: date
    response_working_days: int = 20
    categories: tuple[str, ...] = ("methodology", "report_wording", "conduct", "process", "other")
    outcomes: tuple[str, ...] = ("upheld", "partly_upheld", "not_upheld", "withdrawn")


FRAMEWORKS: tuple[Framework, ...] = (
    Framework(
        code="CCI-2009",
        programme="CCI",
        title="Core Case Inspection of youth offending work",
        sector="youth",
        valid_from=date(2009, 4, 1),
        valid_to=date(2012, 3, 31),
        areas=("safeguarding", "risk_of_harm", "likelihood_of_reoffending"),
    ),
    Framework(
        code="OMI2-2009",
        programme="OMI2",
        title="Offender Management Inspection 2",
        sector="adult",
        valid_from=date(2009, 9, 1),
        valid_to=date(2013, 3, 31),
        areas=("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement"),
        area_labels={
            "risk_of_harm": "Control",
            "likelihood_of_reoffending": "Help and Change",
            "compliance_and_enforcement": "Punish",
        },
    ),
)

COMPLAINTS_POLICIES: tuple[ComplaintsPolicy, ...] = (
    ComplaintsPolicy(code="COMPLAINTS-2009", valid_from=date(2009, 4, 1)),
)

PROGRAMMES: tuple[str, ...] = tuple(sorted({f.programme for f in FRAMEWORKS}))


def framework_for(programme: str, fieldwork_start: date) -> Framework:
    """The framework version in force for a programme on a date.

    A date outside every version's period is refused: an inspection is only
    ever carried out under rules that were in force (a 2018 fieldwork never
    silently takes a 2009 framework, nor a year-1 date any framework).
    """
    versions = sorted((f for f in FRAMEWORKS if f.programme == programme), key=lambda f: f.valid_from)
    if not versions:
        raise InvalidValue("programme", f"unknown programme '{programme}'; known: {', '.join(PROGRAMMES)}")
    for version in reversed(versions):
        if version.in_force_on(fieldwork_start):
            return version
    periods = "; ".join(f"{v.code} {v.period}" for v in versions)
    raise InvalidValue(
        "fieldwork_start",
        f"{fieldwork_start.isoformat()} is outside every period of the {programme} programme ({periods})",
    )


def framework_by_code(code: str) -> Framework:
    for framework in FRAMEWORKS:
        if framework.code == code:
            return framework
    raise KeyError(code)


def complaints_policy_for(received_on: date) -> ComplaintsPolicy:
    chosen = COMPLAINTS_POLICIES[0]
    for policy in COMPLAINTS_POLICIES:
        if policy.valid_from <= received_on:
            chosen = policy
    return chosen


def business_year(day: date) -> str:
    """The April–March business year of a date, written '2011-12'."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"
