"""Diversity across inspections: a programme year's sample and scores by case characteristic.

Built only from the scores view's per-inspection profile tallies (headline
``[sufficient, applicable]`` per case profile, frozen at publication) and its
cases per profile, summed over the year's inspections: never from the cases'
own events, so what a case's erasure leaves of them is all it needs.

Each value of each characteristic gets its cases, its share of the year's
sample and, per area (2009 frameworks) or standard/key question (2018), its
pooled score with a Wilson 95% interval and the difference from the year's
other cases (every other value of that characteristic, ``unknown`` included)
with Newcombe's hybrid score 95% interval (``domain.scoring``). The unit of
a score is the judgement, as in the inspections' own scores: the intervals
take judgements as independent, though those of one case (and one
inspection) are alike, so the true uncertainty is somewhat wider.
Small cells are suppressed by ``domain.diversity.SMALL_CELLS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.case_assessment import CHARACTERISTICS
from domain.diversity import SMALL_CELLS, SmallCellRule, in_breakdown, value_key
from domain.frameworks import framework_by_code
from domain.scoring import Tally, newcombe_difference

METHOD = {
    "unit": "judgement",
    "score": "sufficient judgements as a percentage of the judgements that applied (whole percent)",
    "ci95": "Wilson score interval without continuity correction, 95%",
    "difference": "this value's score minus the score of the year's other cases, in percentage points",
    "difference_ci95": "Newcombe's hybrid score interval (method 10 of Newcombe 1998, from the two Wilson "
    "intervals), 95%",
}


@dataclass
class Pooled:
    """One inspection's contribution: headline tallies and cases per profile (as the scores view keeps them)."""

    profiles: dict[str, dict[str, list[int]]]
    profile_cases: dict[str, int] = field(default_factory=dict)


Groups = dict[str, dict[str, tuple[int, dict[str, Tally]]]]  # characteristic -> value -> (cases, area tallies)


def _sums(inspections: Iterable[Pooled]) -> tuple[int, dict[str, Tally], Groups]:
    """Cases and tallies overall, and for each characteristic and value (as ``value_key`` names it)."""
    names = list(CHARACTERISTICS)
    # (plain lists while summing: a page of 53 inspections sums thousands of pairs)
    cases_of: dict[str, dict[str, int]] = {
        name: {value_key(v): 0 for v in allowed} for name, allowed in CHARACTERISTICS.items()
    }
    pairs_of: dict[str, dict[str, dict[str, list[int]]]] = {name: {} for name in CHARACTERISTICS}
    overall: dict[str, list[int]] = {}
    total_cases = 0
    for inspection in inspections:
        for key in set(inspection.profiles) | set(inspection.profile_cases):
            if not in_breakdown(key):  # erased before publication (or not opened yet): in no figures
                continue
            cases = inspection.profile_cases.get(key, 0)
            areas = inspection.profiles.get(key, {})
            total_cases += cases
            for sums in [overall] + [
                pairs_of[name].setdefault(value_key(value), {})
                for name, value in zip(names, key.split("|"), strict=False)
            ]:
                for area, (sufficient, applicable) in areas.items():
                    pair = sums.get(area)
                    if pair is None:
                        sums[area] = [sufficient, applicable]
                    else:
                        pair[0] += sufficient
                        pair[1] += applicable
            for name, value in zip(names, key.split("|"), strict=False):
                counts = cases_of[name]
                counts[value_key(value)] = counts.get(value_key(value), 0) + cases
    groups: Groups = {
        name: {
            value: (cases, {a: Tally(*p) for a, p in pairs_of[name].get(value, {}).items()})
            for value, cases in counts.items()
        }
        for name, counts in cases_of.items()
    }
    return total_cases, {a: Tally(*p) for a, p in overall.items()}, groups


def diversity_figures(
    programme: str,
    year: str,
    areas: list[str],
    inspections: list[Pooled],
    *,
    reinspections: int,
    published_only: bool,
    rule: SmallCellRule = SMALL_CELLS,
) -> dict[str, Any]:
    """The year's figures by characteristic, small cells suppressed (see the module's docstring)."""
    total_cases, overall, groups = _sums(inspections)
    areas = list(areas) + sorted(a for a in overall if a not in areas)
    characteristics: dict[str, dict[str, Any]] = {}
    for name, values in groups.items():
        hidden = rule.suppressed({value: cases for value, (cases, _) in values.items()})
        characteristics[name] = {
            value: _cell(cases, tallies, total_cases, overall, areas, value in hidden)
            for value, (cases, tallies) in values.items()
        }
    return {
        "programme": programme,
        "year": year,
        "published_only": published_only,
        "inspections": len(inspections),
        "reinspections": reinspections,
        "cases": total_cases,
        "areas": areas,
        "overall": {area: overall.get(area, Tally()).as_dict_with_interval() for area in areas},
        "characteristics": characteristics,
        "method": METHOD,
        "small_cells": rule.as_dict(),
    }


def _cell(
    cases: int, tallies: dict[str, Tally], total_cases: int, overall: dict[str, Tally], areas: list[str], hidden: bool
) -> dict[str, Any]:
    if hidden:
        return {"cases": None, "share": None, "suppressed": True, "areas": None}
    scored: dict[str, Any] = {}
    for area in areas:
        mine, everyone = tallies.get(area, Tally()), overall.get(area, Tally())
        others = Tally(everyone.sufficient - mine.sufficient, everyone.applicable - mine.applicable)
        difference = newcombe_difference(mine.sufficient, mine.applicable, others.sufficient, others.applicable)
        scored[area] = {
            **mine.as_dict_with_interval(),
            "difference": None if difference is None else {"points": difference[0], "ci95": list(difference[1:])},
        }
    return {
        "cases": cases,
        "share": round(100 * cases / total_cases, 1) if total_cases else None,
        "suppressed": False,
        "areas": scored,
    }


def year_diversity(programme: str, year: str, rows: list[dict[str, Any]], *, published_only: bool) -> dict[str, Any]:
    """The figures from the scores view's rows of the year (``ViewReader.year_profiles``). A reinspection
    is left out, as from the programme year's pooled figures: a body reinspected would weigh twice."""
    pooled = [row for row in rows if not row.get("reinspection")]
    areas: list[str] = []
    for row in rows:
        areas.extend(a for a in framework_by_code(row["framework"]).areas if a not in areas)
    return diversity_figures(
        programme,
        year,
        areas,
        [Pooled(row["profiles"] or {}, row["profile_cases"] or {}) for row in pooled],
        reinspections=len(rows) - len(pooled),
        published_only=published_only,
    )
