"""Diversity across inspections: the small-cell rule, as versioned data.

Figures by characteristic pool a year's sample; a group of very few cases could
point at the people in it, and its score would say little anyway. Official
statistics suppress such cells, and then suppress enough others that a hidden
cell cannot be worked out from the totals (secondary suppression). The rule is
data: a change is a new version, answered with the figures it was applied to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
