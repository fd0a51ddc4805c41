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
from domain.standards import (
    CASE,
    COURT,
    EVERY_CASE,
    ORGANISATIONAL,
    OUT_OF_COURT,
    RatingRules,
    SamplingRules,
    Standard,
)

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
    # The 2018 standards framework (empty for the 2009 programmes, which score areas):
    standards: tuple[Standard, ...] = ()
    key_questions: tuple[str, ...] = ()
    rating_rules: RatingRules | None = None
    sampling: SamplingRules | None = None
    body_types: tuple[str, ...] = ()  # the bodies a programme inspects; empty: any

    @property
    def rates_standards(self) -> bool:
        return bool(self.standards)

    def standards_for_body(self, body_type: str | None) -> tuple[Standard, ...]:
        return tuple(s for s in self.standards if not s.body_types or body_type in s.body_types)

    def case_standards_for(self, characteristics: dict[str, object]) -> tuple[Standard, ...]:
        """The case standards a case answers: by its disposal (youth) or every one (probation)."""
        disposals = (EVERY_CASE, OUT_OF_COURT if characteristics.get("disposal") == "pre_court" else COURT)
        return tuple(s for s in self.standards if s.kind == CASE and s.disposals in disposals)

    def standard(self, code: str) -> Standard | None:
        return next((s for s in self.standards if s.code == code), None)

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


def _standards_framework(
    code: str,
    programme: str,
    title: str,
    sector: str,
    valid_from: date,
    body_types: tuple[str, ...],
    standards: tuple[Standard, ...],
    key_questions: tuple[str, ...],
) -> Framework:
    """A 2018 framework: its scored items ("areas") are the case standards' key questions, ``code/question``,
    pooled by question ("criteria"), so the 2009 tallies, views and diversity breakdown carry them as they are."""
    items = tuple(f"{s.code}/{q}" for s in standards if s.kind == CASE for q in key_questions)
    return Framework(
        code=code,
        programme=programme,
        title=title,
        sector=sector,
        valid_from=valid_from,
        areas=items,
        criteria=key_questions,
        standards=standards,
        key_questions=key_questions,
        rating_rules=RatingRules(),
        sampling=SamplingRules(confidence=0.80, margin=0.10),
        body_types=body_types,
    )


def _org(code: str, name: str, *body_types: str) -> Standard:
    return Standard(code, name, ORGANISATIONAL, body_types=body_types)


def _case(code: str, name: str, disposals: str) -> Standard:
    return Standard(code, name, CASE, disposals=disposals)


FRAMEWORKS += (
    _standards_framework(
        "YOS-2018",
        "YOS",
        "Inspection of youth offending services (2018 standards)",
        "youth",
        date(2018, 7, 16),
        ("yot",),
        (
            _org("1.1", "governance_and_leadership"),
            _org("1.2", "staff"),
            _org("1.3", "partnerships_and_services"),
            _org("1.4", "information_and_facilities"),
            _case("2.1", "assessment", COURT),
            _case("2.2", "planning", COURT),
            _case("2.3", "implementation_and_delivery", COURT),
            _case("2.4", "reviewing", COURT),
            _case("3.1", "assessment", OUT_OF_COURT),
            _case("3.2", "planning", OUT_OF_COURT),
            _case("3.3", "implementation_and_delivery", OUT_OF_COURT),
            _org("3.4", "out_of_court_policy_and_provision"),
        ),
        ("desistance", "safety_and_wellbeing", "risk_of_harm"),
    ),
    _standards_framework(
        "PROBATION-2018",
        "PROBATION",
        "Inspection of probation services (2018 standards)",
        "adult",
        date(2018, 4, 1),
        ("nps_division", "crc"),
        (
            _org("1.1", "leadership"),
            _org("1.2", "staff"),
            _org("1.3", "services"),
            _org("1.4", "information_and_facilities"),
            _case("2.1", "assessment", EVERY_CASE),
            _case("2.2", "planning", EVERY_CASE),
            _case("2.3", "implementation_and_delivery", EVERY_CASE),
            _case("2.4", "reviewing", EVERY_CASE),
            _org("3.1", "court_reports_and_allocation", "nps_division"),
            _org("3.2", "statutory_victim_work", "nps_division"),
            _org("4.1", "unpaid_work", "crc"),
            _org("4.2", "through_the_gate", "crc"),
        ),
        ("engagement", "desistance", "keeping_safe"),
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
