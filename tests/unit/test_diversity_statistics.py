"""The statistics of diversity across inspections: Newcombe's interval, the small-cell rule, the pooling."""

from __future__ import annotations

import pytest

from application.projections.diversity import Pooled, diversity_figures
from domain.case_assessment import CHARACTERISTICS
from domain.diversity import SMALL_CELLS, SmallCellRule
from domain.scoring import newcombe_difference, wilson_interval


# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score, no continuity
# correction): (m/n vs. m2/n2) -> interval for the difference, as proportions to four decimals.
@pytest.mark.parametrize(
    ("groups", "difference", "low", "high"),
    [
        ((56, 70, 48, 80), 20.0, 5.24, 33.39),
        ((9, 10, 3, 10), 60.0, 17.05, 80.90),
        ((5, 56, 0, 29), 8.93, -3.81, 19.26),
        ((0, 10, 0, 20), 0.0, -16.11, 27.75),
        ((0, 10, 0, 10), 0.0, -27.75, 27.75),
        ((10, 10, 0, 20), 100.0, 67.91, 100.0),
        ((10, 10, 0, 10), 100.0, 60.75, 100.0),
    ],
)
def test_newcombe_hybrid_score_interval_matches_the_published_values(
    groups: tuple[int, int, int, int], difference: float, low: float, high: float
) -> None:
    assert newcombe_difference(*groups) == (round(difference, 1), round(low, 1), round(high, 1))


def test_newcombe_is_antisymmetric_and_needs_something_judged_on_both_sides() -> None:
    d, low, high = newcombe_difference(56, 70, 48, 80)
    assert newcombe_difference(48, 80, 56, 70) == (-d, -high, -low)
    assert newcombe_difference(0, 0, 3, 10) is None
    assert newcombe_difference(3, 10, 0, 0) is None


def test_wilson_matches_newcombes_single_proportion_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score, no correction), given
    # there to four decimals; ours is in percent to one (so within 0.05 of the table, and its rounding).
    for (s, n), published in {
        (81, 263): (25.53, 36.62),
        (15, 148): (6.24, 16.05),
        (0, 20): (0.0, 16.11),
        (1, 29): (0.61, 17.18),
    }.items():
        assert wilson_interval(s, n) == pytest.approx(published, abs=0.06)


def test_the_small_cell_rule_suppresses_small_values_and_enough_others() -> None:
    rule = SmallCellRule(version="t", min_cases=10)
    assert rule.suppressed({"a": 30, "b": 12, "c": 0}) == set()  # zero is shown
    # 3 is small; alone it could be worked out from the total, so the next smallest goes too.
    assert rule.suppressed({"a": 30, "b": 12, "c": 3, "d": 0}) == {"b", "c"}
    # two small ones that together hold 10 or more are enough
    assert rule.suppressed({"a": 30, "b": 6, "c": 5}) == {"b", "c"}
    # two small ones holding fewer than 10 take the next smallest too
    assert rule.suppressed({"a": 30, "b": 12, "c": 4, "d": 5}) == {"b", "c", "d"}
    # a tie for the next smallest: the first in order
    assert rule.suppressed({"a": 20, "b": 20, "c": 2}) == {"a", "c"}
    # a sample smaller than the threshold: everything
    assert rule.suppressed({"a": 4, "b": 3}) == {"a", "b"}
    assert SMALL_CELLS.as_dict()["min_cases"] == SMALL_CELLS.min_cases == 10


def _profile(**overrides: object) -> str:
    values = {
        "gender": "female",
        "ethnicity": "white",
        "age_band": "18-24",
        "disability": False,
        "looked_after": None,
        "disposal": "community",
        "risk_level": "medium",
        **overrides,
    }
    return "|".join(str(values[name]) for name in CHARACTERISTICS)


def test_figures_pool_profiles_of_every_inspection_into_shares_scores_and_differences() -> None:
    women, men, other = _profile(), _profile(gender="male"), _profile(gender="other", disability=True)
    inspections = [
        Pooled({women: {"risk_of_harm": [20, 30]}, men: {"risk_of_harm": [30, 40]}}, {women: 10, men: 14}),
        Pooled({women: {"risk_of_harm": [16, 20]}, other: {"risk_of_harm": [1, 3]}}, {women: 6, other: 1}),
    ]
    figures = diversity_figures("OMI2", "2011-12", ["risk_of_harm"], inspections, reinspections=1, published_only=True)
    assert (figures["inspections"], figures["reinspections"], figures["cases"]) == (2, 1, 31)
    assert figures["overall"]["risk_of_harm"]["sufficient"] == 67
    assert figures["overall"]["risk_of_harm"]["applicable"] == 93
    gender = figures["characteristics"]["gender"]
    assert list(gender) == ["female", "male", "other", "unknown"]
    # other (1 case) is small, so the next smallest, male (14), goes too; female (16) stays.
    assert gender["other"] == gender["male"] == {"cases": None, "share": None, "suppressed": True, "areas": None}
    assert gender["unknown"]["cases"] == 0 and not gender["unknown"]["suppressed"]
    female = gender["female"]
    assert (female["cases"], female["share"]) == (16, 51.6)
    risk = female["areas"]["risk_of_harm"]
    assert (risk["score"], risk["sufficient"], risk["applicable"], risk["ci95"]) == (
        72,
        36,
        50,
        list(wilson_interval(36, 50)),
    )
    d, low, high = newcombe_difference(36, 50, 31, 43)  # the other cases: 30+1 of 40+3
    assert risk["difference"] == {"points": d, "ci95": [low, high]}
    # one case with a disability: hidden, and so the rest, which would give it away by subtraction
    assert [c["suppressed"] for c in figures["characteristics"]["disability"].values()] == [True, True, False, False]
    # nobody in a value and no one else to compare with: no difference
    assert figures["characteristics"]["ethnicity"]["white"]["areas"]["risk_of_harm"]["difference"] is None
    assert figures["small_cells"] == SMALL_CELLS.as_dict()
