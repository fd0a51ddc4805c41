"""Pure score arithmetic, shared by the publish command and the projections."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Tally:
    """Judged work of one area or criterion: how much was sufficient of how much applied."""

    sufficient: int = 0
    applicable: int = 0

    def add(self, verdict: bool | None) -> Tally:
        if verdict is None:
            return self
        return Tally(self.sufficient + (1 if verdict else 0), self.applicable + 1)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.sufficient + other.sufficient, self.applicable + other.applicable)

    @property
    def score(self) -> int | None:
        return percentage(self.sufficient, self.applicable)

    @property
    def ratio(self) -> Fraction | None:
        return Fraction(self.sufficient, self.applicable) if self.applicable else None

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "sufficient": self.sufficient, "applicable": self.applicable}

    def as_dict_with_interval(self) -> dict[str, Any]:
        low_high = wilson_interval(self.sufficient, self.applicable)
        return {**self.as_dict(), "ci95": list(low_high) if low_high else None}


def percentage(sufficient: int, applicable: int) -> int | None:
    """100 * sufficient / applicable rounded half up to a whole number; None if nothing applied."""
    if applicable == 0:
        return None
    # Integer arithmetic: floor((200*s + a) / (2*a)) is round-half-up of 100*s/a.
    return (200 * sufficient + applicable) // (2 * applicable)


def wilson_interval(sufficient: int, applicable: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score 95% interval for the sufficient proportion, in percent to one decimal."""
    if applicable == 0:
        return None
    low, high = _wilson(sufficient, applicable, z)
    return round(100 * low, 1), round(100 * high, 1)


def _wilson(sufficient: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson score interval (without continuity correction) as proportions; ``n`` > 0."""
    p = sufficient / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(
    sufficient1: int, applicable1: int, sufficient2: int, applicable2: int, z: float = Z95
) -> tuple[float, float, float] | None:
    """The difference p1 - p2 of two independent proportions with its 95% interval, in percentage points
    to one decimal: ``(difference, low, high)``; None if either side has nothing judged.

    Newcombe's hybrid score interval ("method 10" of R. G. Newcombe, *Interval estimation for the
    difference between independent proportions: comparison of eleven methods*, Statistics in Medicine
    17 (1998) 873-890), built from each proportion's Wilson score interval (l, u):
    ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` to ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``. Unlike the
    Wald interval it stays within [-1, 1] and behaves at 0% and 100% and with small groups, which a
    sub-group of one year's sample often is.
    """
    if applicable1 == 0 or applicable2 == 0:
        return None
    p1, p2 = sufficient1 / applicable1, sufficient2 / applicable2
    low1, high1 = _wilson(sufficient1, applicable1, z)
    low2, high2 = _wilson(sufficient2, applicable2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return round(100 * difference, 1), round(100 * max(-1.0, low), 1), round(100 * min(1.0, high), 1)


Judgements = Mapping[tuple[str, str], bool | None]


def tally_cases(
    cases: Iterable[Judgements], areas: Iterable[str], criteria: Iterable[str]
) -> tuple[dict[str, Tally], dict[str, Tally]]:
    """Headline (by area) and criterion tallies pooled over the cases' current judgements."""
    headline = {area: Tally() for area in areas}
    by_criterion = {criterion: Tally() for criterion in criteria}
    for judgements in cases:
        for (area, criterion), verdict in judgements.items():
            if area in headline:
                headline[area] = headline[area].add(verdict)
            if criterion in by_criterion:
                by_criterion[criterion] = by_criterion[criterion].add(verdict)
    return headline, by_criterion


def is_of_concern(headline: Mapping[str, Tally], threshold: Fraction) -> bool:
    """Of concern when any headline ratio is strictly below the threshold (exact, not rounded)."""
    return any(t.applicable and Fraction(t.sufficient, t.applicable) < threshold for t in headline.values())


@dataclass(frozen=True)
class Extreme:
    """The lowest (or highest) score of an area in a year: the first inspection with it, and every one tied."""

    score: int
    inspection_id: str
    inspected_body: str
    tied: tuple[tuple[str, str], ...] = ()  # (inspection_id, inspected_body) of every inspection with this score

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "inspection_id": self.inspection_id,
            "inspected_body": self.inspected_body,
            "tied": [{"inspection_id": iid, "inspected_body": body} for iid, body in self.tied],
        }


def pool_year(
    inspections: Iterable[tuple[str, str, Mapping[str, Tally]]], areas: Iterable[str]
) -> tuple[dict[str, Tally], dict[str, Extreme], dict[str, Extreme]]:
    """Pool published headlines of a programme year; find the lowest and highest inspection per area.

    ``inspections`` yields (inspection_id, inspected_body, headline tallies):
    the year's inspections, reinspections left out by the caller (a follow-up
    is not one more inspection of the year). The extreme names the first
    inspection with the score, and ``tied`` every inspection with it, in order:
    two bodies sharing the lowest score are both the lowest.
    """
    aggregate = {area: Tally() for area in areas}
    scored: dict[str, list[tuple[int, str, str]]] = {}
    for inspection_id, body, headline in inspections:
        for area, tally in headline.items():
            if area not in aggregate:
                continue
            aggregate[area] = aggregate[area] + tally
            if tally.score is not None:
                scored.setdefault(area, []).append((tally.score, inspection_id, body))
    lowest: dict[str, Extreme] = {}
    highest: dict[str, Extreme] = {}
    for area, scores in scored.items():
        for extremes, score in ((lowest, min(s for s, _, _ in scores)), (highest, max(s for s, _, _ in scores))):
            tied = tuple((iid, body) for s, iid, body in scores if s == score)
            extremes[area] = Extreme(score, tied[0][0], tied[0][1], tied)
    return aggregate, lowest, highest


def cohens_kappa(pairs: Iterable[tuple[Any, Any]]) -> float | None:
    """Cohen's kappa for two raters' labels; None when undefined (no pairs, or chance agreement is 1)."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return None
    labels = {label for pair in pairs for label in pair}
    observed = sum(1 for a, b in pairs if a == b) / n
    first = {label: sum(1 for a, _ in pairs if a == label) / n for label in labels}
    second = {label: sum(1 for _, b in pairs if b == label) / n for label in labels}
    expected = sum(first[label] * second[label] for label in labels)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def compare(original: Mapping[str, Any], reinspection: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Before/after headline scores by area, with the change in points."""
    comparison = {}
    for area in original:
        before = original[area].get("score")
        after = reinspection.get(area, {}).get("score")
        change = after - before if before is not None and after is not None else None
        comparison[area] = {"original": before, "reinspection": after, "change": change}
    return comparison
