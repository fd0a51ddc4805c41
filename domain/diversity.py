"""Diversity: the case profiles figures are broken down by, and the small-cell rule, as versioned data.

A case's profile is the combination of its characteristics; headline tallies are
kept per profile and summed by characteristic and value when read (``breakdown``).

Figures by characteristic pool a year's sample; a group of very few cases could
point at the people in it, and its score would say little anyway. Official
statistics suppress such cells, and then suppress enough others that a hidden
cell cannot be worked out from the totals (secondary suppression). The rule is
data: a change is a new version, answered with the figures it was applied to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.case_assessment import CHARACTERISTICS

ERASED_PROFILE = "erased"  # the profile of a case whose personal data is erased: in no characteristic's breakdown
# "~<case id>": the profile of a case whose characteristics are not known yet (a view holds them sealed until it
# opens them: application.projections.scores); in no characteristic's breakdown either
UNKNOWN_PREFIX = "~"
_VALUE_KEYS = {"True": "true", "False": "false", "None": "null"}


@dataclass(frozen=True)
class SmallCellRule:
    """Values of a characteristic with 1 to ``min_cases - 1`` cases are suppressed (cases, share, scores
    and differences), and then, while the suppressed values of that characteristic hold fewer than
    ``min_cases`` cases together or are fewer than two, the smallest value still shown (ties: in the
    order given) is suppressed too. A value with no cases is shown as 0; every value shown, and the
    other cases it is compared with, then holds at least ``min_cases`` cases."""

    version: str
    min_cases: int

    def suppressed(self, cases: Mapping[str, int]) -> set[str]:
        """The values to suppress, given each value's number of cases."""
        hidden = {value for value, n in cases.items() if 0 < n < self.min_cases}
        if not hidden:
            return hidden
        shown = sorted(
            (n, order, value) for order, (value, n) in enumerate(cases.items()) if n > 0 and value not in hidden
        )
        while shown and (sum(cases[v] for v in hidden) < self.min_cases or len(hidden) < 2):
            hidden.add(shown.pop(0)[2])
        return hidden

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "min_cases": self.min_cases,
            "rule": f"A value with 1 to {self.min_cases - 1} cases is suppressed, and then the smallest values "
            f"still shown until the suppressed values of the characteristic hold at least "
            f"{self.min_cases} cases together and are at least two.",
        }


# Version 1: fewer than 10 cases. Ten is the threshold many UK official statistics use for small
# counts about people; below it a sub-group's score is too uncertain to compare with the rest.
SMALL_CELLS = SmallCellRule(version="1", min_cases=10)


# -- case profiles: the diversity breakdown's unit -------------------------------------------------


def profile_key(characteristics: Mapping[str, Any] | None) -> str:
    """A case's characteristics as one key, in the fixed order of CHARACTERISTICS (as ``str`` gives them);
    an erased case's (its characteristics read as None) is ``ERASED_PROFILE``."""
    if characteristics is None:
        return ERASED_PROFILE
    return "|".join(map(str, map(characteristics.get, CHARACTERISTICS)))


def in_breakdown(profile: str) -> bool:
    """Whether a case profile counts in the characteristics' figures: not erased, and known."""
    return profile != ERASED_PROFILE and profile[:1] != UNKNOWN_PREFIX


def bump(tallies: dict[str, list[int]], key: str, ds: int, da: int) -> None:
    """Move the ``[sufficient, applicable]`` pair under ``key`` by ``ds`` and ``da`` (from ``[0, 0]``)."""
    pair = tallies.get(key)
    if pair is None:
        tallies[key] = [ds, da]
    else:
        pair[0] += ds
        pair[1] += da


def profile_tallies(
    cases: Iterable[tuple[Mapping[str, Any] | None, Mapping[tuple[str, str], bool | None]]],
) -> dict[str, dict[str, list[int]]]:
    """Headline tallies by profile from ``(characteristics, verdicts)`` of each case, verdicts by
    (area, criterion) as ``CaseAssessment.verdicts`` gives them: what the scores view accumulates live."""
    profiles: dict[str, dict[str, list[int]]] = {}
    for characteristics, verdicts in cases:
        profile = profiles.setdefault(profile_key(characteristics), {})
        for (area, _), verdict in verdicts.items():
            bump(profile, area, int(verdict is True), int(verdict is not None))
    return profiles


def value_key(value: Any) -> str:
    """A characteristic's value as the breakdown names it: ``true``, ``false``, ``null`` or the value itself."""
    return _VALUE_KEYS.get(str(value), str(value))


def breakdown(profiles: Mapping[str, Mapping[str, list[int]]]) -> dict[str, dict[str, dict[str, list[int]]]]:
    """Headline tallies by characteristic and value, summed over the case profiles (erased and unknown
    ones left out)."""
    result: dict[str, dict[str, dict[str, list[int]]]] = {name: {} for name in CHARACTERISTICS}
    for key, areas in profiles.items():
        if not in_breakdown(key):
            continue
        for name, value in zip(CHARACTERISTICS, key.split("|"), strict=False):
            tallies = result[name].setdefault(_VALUE_KEYS.get(value, value), {})
            for area, (s, a) in areas.items():
                bump(tallies, area, s, a)
    return result
