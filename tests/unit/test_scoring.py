from fractions import Fraction

import pytest

from domain.scoring import (
    Tally,
    cohens_kappa,
    compare,
    is_of_concern,
    percentage,
    pool_year,
    tally_cases,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("sufficient", "applicable", "expected"),
    [(1, 2, 50), (1, 3, 33), (2, 3, 67), (1, 8, 13), (5, 8, 63), (0, 5, 0), (7, 7, 100), (153, 200, 77), (1, 200, 1)],
)
def test_percentage_rounds_half_up(sufficient: int, applicable: int, expected: int) -> None:
    assert percentage(sufficient, applicable) == expected


def test_percentage_of_nothing_applicable_is_none() -> None:
    assert percentage(0, 0) is None


def test_wilson_interval_brackets_the_proportion_and_matches_known_values() -> None:
    low, high = wilson_interval(8, 10)
    # Known Wilson 95% interval for 8/10: 0.4902 .. 0.9433
    assert (low, high) == (49.0, 94.3)
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and 0 < high < 20


def test_tally_pools_areas_and_criteria_and_ignores_not_applicable() -> None:
    cases = [
        {("risk_of_harm", "outcomes"): True, ("risk_of_harm", "interventions"): None},
        {("risk_of_harm", "outcomes"): False, ("safeguarding", "outcomes"): True},
    ]
    headline, criteria = tally_cases(cases, ["risk_of_harm", "safeguarding"], ["outcomes", "interventions"])
    assert headline["risk_of_harm"] == Tally(1, 2)
    assert headline["safeguarding"] == Tally(1, 1)
    assert criteria["outcomes"] == Tally(2, 3)
    assert criteria["interventions"] == Tally(0, 0)


def test_of_concern_uses_exact_ratio_not_rounded_score() -> None:
    # 99/199 rounds to 50% but is below one half.
    assert percentage(99, 199) == 50
    assert is_of_concern({"a": Tally(99, 199)}, Fraction(1, 2))
    assert not is_of_concern({"a": Tally(1, 2)}, Fraction(1, 2))
    assert not is_of_concern({"a": Tally(0, 0)}, Fraction(1, 2))


def test_pool_year_finds_lowest_and_highest() -> None:
    aggregate, lowest, highest = pool_year(
        [("i1", "London", {"risk_of_harm": Tally(70, 100)}), ("i2", "Warwickshire", {"risk_of_harm": Tally(84, 100)})],
        ["risk_of_harm"],
    )
    assert aggregate["risk_of_harm"] == Tally(154, 200)
    assert lowest["risk_of_harm"].inspected_body == "London"
    assert highest["risk_of_harm"].score == 84


def test_pool_year_names_every_inspection_tied_for_lowest_or_highest() -> None:
    """CCI 2011-12 risk of harm: Greenwich and Lambeth both 42; only Greenwich was named."""
    _, lowest, highest = pool_year(
        [
            ("g", "Greenwich", {"risk_of_harm": Tally(42, 100)}),
            ("s", "Southwark", {"risk_of_harm": Tally(90, 100)}),
            ("l", "Lambeth", {"risk_of_harm": Tally(21, 50)}),
            ("w", "Wandsworth", {"risk_of_harm": Tally(9, 10)}),
        ],
        ["risk_of_harm"],
    )
    assert lowest["risk_of_harm"].as_dict() == {
        "score": 42,
        "inspection_id": "g",
        "inspected_body": "Greenwich",
        "tied": [
            {"inspection_id": "g", "inspected_body": "Greenwich"},
            {"inspection_id": "l", "inspected_body": "Lambeth"},
        ],
    }
    assert [body for _, body in highest["risk_of_harm"].tied] == ["Southwark", "Wandsworth"]
    _, lowest, _ = pool_year([("g", "Greenwich", {"risk_of_harm": Tally(42, 100)})], ["risk_of_harm"])
    assert lowest["risk_of_harm"].tied == (("g", "Greenwich"),)


def test_cohens_kappa_against_hand_computed_example() -> None:
    # 20 pairs: both yes 8, both no 7, yes/no 2, no/yes 3 -> po=0.75, pe=0.5 -> kappa 0.5
    pairs = [(True, True)] * 8 + [(False, False)] * 7 + [(True, False)] * 2 + [(False, True)] * 3
    assert cohens_kappa(pairs) == pytest.approx(0.5)
    assert cohens_kappa([]) is None
    assert cohens_kappa([(True, True), (True, True)]) is None


def test_compare_gives_change_in_points() -> None:
    result = compare({"a": {"score": 40}}, {"a": {"score": 65}})
    assert result == {"a": {"original": 40, "reinspection": 65, "change": 25}}
