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
    criteria: tuple[str, ...] = GENERAL_CRITERIA
    # A headline score strictly below this exact ratio makes a report "of concern".
    concern_threshold: Fraction = Fraction(1, 2)
    reinspection_interval_months: int = 12
    area_labels: dict[str, str] = field(default_factory=dict)

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
        areas=("safeguarding", "risk_of_harm", "likelihood_of_reoffending"),
    ),
    Framework(
        code="OMI2-2009",
        programme="OMI2",
        title="Offender Management Inspection 2",
        sector="adult",
        valid_from=date(2009, 9, 1),
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

    Before the first version's start the first version applies: the
    programme's rules are the only ones it ever had.
    """
    versions = sorted((f for f in FRAMEWORKS if f.programme == programme), key=lambda f: f.valid_from)
    if not versions:
        raise InvalidValue("programme", f"unknown programme '{programme}'; known: {', '.join(PROGRAMMES)}")
    chosen = versions[0]
    for version in versions:
        if version.valid_from <= fieldwork_start:
            chosen = version
    return chosen


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
