"""The 2018 standards framework's rules as pure functions: ratings from points, sample sizes, quotas.

The numbers (bands, points, confidence, margin) are data held by each
framework version (``domain.frameworks``); these functions only apply them,
so the publish command and the views rate alike, on exact ratios.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Any

from domain.scoring import Tally, percentage

OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT, INADEQUATE = "outstanding", "good", "requires_improvement", "inadequate"
RATINGS = (OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT, INADEQUATE)
ORGANISATIONAL, CASE = "organisational", "case"
COURT, OUT_OF_COURT, EVERY_CASE = "court", "out_of_court", "every"


@dataclass(frozen=True)
class Standard:
    """One standard: rated by inspectors from evidence (organisational) or from the cases' key questions."""

    code: str
    name: str
    kind: str  # ORGANISATIONAL or CASE
    disposals: str = EVERY_CASE  # which cases answer a case standard: COURT, OUT_OF_COURT or EVERY_CASE
    body_types: tuple[str, ...] = ()  # the bodies it applies to; empty: every body of the programme


@dataclass(frozen=True)
class RatingRules:
    """Bands of a case standard on its lowest key question, points, and overall bands on score/max."""

    # (at least this exact ratio, rating), best first; below the last, ``floor``.
    bands: tuple[tuple[Fraction, str], ...] = (
        (Fraction(80, 100), OUTSTANDING),
        (Fraction(65, 100), GOOD),
        (Fraction(50, 100), REQUIRES_IMPROVEMENT),
    )
    floor: str = INADEQUATE
    points: tuple[tuple[str, int], ...] = ((OUTSTANDING, 3), (GOOD, 2), (REQUIRES_IMPROVEMENT, 1), (INADEQUATE, 0))
    # (at most this exact fraction of the maximum, rating), worst first; above the last, ``top``.
    overall_bands: tuple[tuple[Fraction, str], ...] = (
        (Fraction(1, 6), INADEQUATE),
        (Fraction(1, 2), REQUIRES_IMPROVEMENT),
        (Fraction(5, 6), GOOD),
    )
    top: str = OUTSTANDING
    of_concern: tuple[str, ...] = (INADEQUATE,)  # overall ratings that trigger a reinspection


@dataclass(frozen=True)
class SamplingRules:
    confidence: float = 0.80
    margin: float = 0.10
    dimensions: tuple[str, ...] = ("gender", "disposal", "risk_level")


# -- ratings ------------------------------------------------------------------


def band(ratio: Fraction, rules: RatingRules) -> str:
    """The rating of an exact ratio: the first band whose lower edge it reaches (65% is good, 64.99% is not)."""
    for edge, rating in rules.bands:
        if ratio >= edge:
            return rating
    return rules.floor


def lowest_key_question(tallies: Iterable[Tally]) -> Tally | None:
    """The key question with the lowest exact ratio among those any case answered; None if none was."""
    answered = [t for t in tallies if t.applicable]
    return min(answered, key=lambda t: Fraction(t.sufficient, t.applicable)) if answered else None


def overall(ratings: Iterable[str], rules: RatingRules) -> dict[str, Any]:
    """The overall rating from the points of the rated standards, on the exact fraction score/max."""
    points = dict(rules.points)
    rated = list(ratings)
    score = sum(points[r] for r in rated)
    maximum = max(points.values()) * len(rated)
    if maximum == 0:
        return {"rating": None, "score": 0, "max": 0}
    fraction = Fraction(score, maximum)
    rating = rules.top
    for edge, name in rules.overall_bands:
        if fraction <= edge:
            rating = name
            break
    return {"rating": rating, "score": score, "max": maximum}


def rate_standards(
    standards: Iterable[Standard],
    key_questions: Iterable[str],
    tallies: Mapping[str, Tally],
    judged: Mapping[str, Mapping[str, Any]],
    rules: RatingRules,
) -> dict[str, Any]:
    """Every applicable standard's rating and the overall one.

    ``tallies`` holds the pooled key-question tallies by ``code/question``;
    ``judged`` the inspectors' ratings by code (organisational standards, and
    overrides of a case standard's rule). A case standard no case answered and
    nobody rated is left out of the overall points, as is an unrated
    organisational standard.
    """
    questions = tuple(key_questions)
    result: dict[str, dict[str, Any]] = {}
    for standard in standards:
        by_hand = judged.get(standard.code)
        entry: dict[str, Any] = {"kind": standard.kind, "rule_rating": None, "percentage": None}
        if standard.kind == CASE:
            lowest = lowest_key_question(tallies.get(f"{standard.code}/{q}", Tally()) for q in questions)
            if lowest is not None:
                entry["rule_rating"] = band(Fraction(lowest.sufficient, lowest.applicable), rules)
                entry["percentage"] = percentage(lowest.sufficient, lowest.applicable)
        entry["rating"] = by_hand["rating"] if by_hand else entry["rule_rating"]
        entry["overridden"] = bool(by_hand) and standard.kind == CASE
        if by_hand:
            entry["rationale"] = by_hand.get("rationale")
            entry["rated_by"] = by_hand.get("by")
        result[standard.code] = entry
    return {
        "overall": overall((e["rating"] for e in result.values() if e["rating"] is not None), rules),
        "standards": result,
    }


# -- samples ------------------------------------------------------------------


def z_two_sided(confidence: float) -> float:
    """The normal quantile of a two-sided interval at ``confidence`` (0.80 -> 1.2816)."""
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def sample_size(population: int, confidence: float, margin: float) -> int:
    """Cases to sample for ``margin`` at ``confidence`` (p = 0.5), with the finite-population correction."""
    if population <= 0:
        return 0
    z = z_two_sided(confidence)
    n0 = z * z * 0.25 / (margin * margin)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


def quotas(total: int, caseload: Mapping[str, int]) -> dict[str, int]:
    """``total`` shared out in proportion to the caseload by the largest remainder method.

    Remainders are compared exactly; ties go to the larger caseload, then the value name.
    """
    population = sum(caseload.values())
    if population == 0:
        return {value: 0 for value in caseload}
    exact = {value: Fraction(total * count, population) for value, count in caseload.items()}
    shares = {value: math.floor(share) for value, share in exact.items()}
    left = total - sum(shares.values())
    order = sorted(caseload, key=lambda v: (-(exact[v] - shares[v]), -caseload[v], v))
    for value in order[:left]:
        shares[value] += 1
    return shares


def tolerance(size: int) -> int:
    """How far a value's sampled count may stray from its quota before it is a warning."""
    return max(1, math.ceil(size / 10))


def sample_report(
    population: int,
    by: Mapping[str, Mapping[str, int]],
    sampled: Mapping[str, Mapping[str, int]],
    total_sampled: int,
    rules: SamplingRules,
) -> dict[str, Any]:
    """Sample size, quotas by dimension and value, what was sampled and the warnings."""
    size = sample_size(population, rules.confidence, rules.margin)
    allowed = tolerance(size)
    dimensions: dict[str, dict[str, Any]] = {}
    warnings: list[dict[str, Any]] = []
    for dimension, caseload in by.items():
        shares = quotas(size, caseload)
        counted = sampled.get(dimension, {})
        values = {}
        for value in sorted(set(caseload) | set(counted)):
            quota, got = shares.get(value, 0), counted.get(value, 0)
            values[value] = {"caseload": caseload.get(value, 0), "quota": quota, "sampled": got}
            if abs(got - quota) > allowed:
                warnings.append(
                    {
                        "dimension": dimension,
                        "value": value,
                        "quota": quota,
                        "sampled": got,
                        "message": f"{dimension} '{value}': {got} sampled against a quota of {quota} (±{allowed})",
                    }
                )
        dimensions[dimension] = values
    return {
        "population": population,
        "confidence": rules.confidence,
        "margin": rules.margin,
        "sample_size": size,
        "sampled": total_sampled,
        "by": dimensions,
        "warnings": warnings,
    }
