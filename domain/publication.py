"""What publishing an inspection's report decides: its figures, whether it is of concern, the follow-up.

One pure function of the inspection (its framework's rules, its inspectors' standard ratings), its
cases' characteristics and current verdicts, the publication date and today. The application loads
those, calls ``publication`` and records what it answers (``Inspection.publish``, a ``Reinspection``
when one is due), so the rules of publication are read, and tested, here alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.calendar import add_months
from domain.diversity import breakdown, profile_key, profile_tallies
from domain.inspection import Inspection
from domain.scoring import Tally, is_of_concern, tally_cases
from domain.standards import rate_standards

# A sampled case as publication reads it: its characteristics (None once erased) and its current
# verdicts by (area, criterion), as ``CaseAssessment.verdicts`` gives them.
SampledCase = tuple[Mapping[str, Any] | None, Mapping[tuple[str, str], bool | None]]


@dataclass(frozen=True)
class Publication:
    """The figures a report is published with (the fields of ``inspection.report_published.v1``)."""

    headline_scores: dict[str, dict[str, Any]]  # by area (2018: by ``standard/question``): score, tallies
    criteria_scores: dict[str, dict[str, Any]]
    ratings: dict[str, Any] | None  # the 2018 framework's ratings, frozen with the report; None for 2009
    of_concern: bool
    reinspection_due_on: date | None  # a report of concern is followed up by this day; None: no reinspection
    breakdown: dict[str, dict[str, dict[str, list[int]]]]  # headline tallies by characteristic and value
    profiles: dict[str, dict[str, list[int]]]  # headline tallies by case profile (``domain.diversity``)
    profile_cases: dict[str, int]  # cases sampled with each profile


def inspection_ratings(inspection: Inspection, headline: Mapping[str, Tally]) -> dict[str, Any]:
    """The ratings the rules give an inspection's key-question tallies and its inspectors' ratings."""
    rules = inspection.rules
    return rate_standards(
        rules.standards_for_body(inspection.inspected_body.get("type")),
        rules.key_questions,
        headline,
        inspection.standard_ratings,
        rules.rating_rules,  # type: ignore[arg-type]
    )


def publication(inspection: Inspection, cases: Sequence[SampledCase], published_on: date, today: date) -> Publication:
    """The report as the inspection's rules make it of its cases' verdicts, published on ``published_on``.

    Refused (the aggregate's own check) unless the inspection may be published with that date today.
    The 2009 programmes are of concern when a headline score is below the framework's threshold; the
    2018 framework when its overall rating is one its rating rules name. A report of concern is
    followed up by a reinspection due the framework's interval after publication.
    """
    inspection.check_publication(published_on, today)  # before a due date is derived from it
    rules = inspection.rules
    headline, criteria = tally_cases((verdicts for _, verdicts in cases), rules.areas, rules.criteria)
    ratings = None
    if rules.rates_standards:
        # 2018: headline holds the key questions (code/question); the rating rules decide concern.
        ratings = inspection_ratings(inspection, headline)
        of_concern = ratings["overall"]["rating"] in rules.rating_rules.of_concern  # type: ignore[union-attr]
    else:
        of_concern = is_of_concern(headline, rules.concern_threshold)
    profiles = profile_tallies(cases)
    return Publication(
        headline_scores={area: t.as_dict() for area, t in headline.items()},
        criteria_scores={criterion: t.as_dict() for criterion, t in criteria.items()},
        ratings=ratings,
        of_concern=of_concern,
        reinspection_due_on=add_months(published_on, rules.reinspection_interval_months) if of_concern else None,
        breakdown=breakdown(profiles),
        profiles=profiles,
        profile_cases=dict(Counter(profile_key(characteristics) for characteristics, _ in cases)),
    )
