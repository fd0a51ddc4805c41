"""The 2018 rules as pure functions: bands on exact ratios, overall points, sample sizes and quotas."""

from __future__ import annotations

from fractions import Fraction
from statistics import NormalDist

import pytest

from domain.frameworks import framework_by_code, framework_for
from domain.scoring import Tally
from domain.standards import (
    RatingRules,
    SamplingRules,
    band,
    lowest_key_question,
    overall,
    quotas,
    rate_standards,
    sample_report,
    sample_size,
    tolerance,
    z_two_sided,
)

RULES = RatingRules()


@pytest.mark.parametrize(
    ("ratio", "rating"),
    [
        (Fraction(80, 100), "outstanding"),
        (Fraction(7999, 10000), "good"),
        (Fraction(65, 100), "good"),
        (Fraction(6499, 10000), "requires_improvement"),
        (Fraction(50, 100), "requires_improvement"),
        (Fraction(4999, 10000), "inadequate"),
        (Fraction(1), "outstanding"),
        (Fraction(0), "inadequate"),
        (Fraction(13, 20), "good"),  # 65% exactly from counts
        (Fraction(2, 3), "good"),
        (Fraction(1, 2), "requires_improvement"),
    ],
)
def test_a_case_standard_is_banded_on_the_exact_ratio(ratio: Fraction, rating: str) -> None:
    assert band(ratio, RULES) == rating


@pytest.mark.parametrize(
    ("score", "rating"),
    [
        (0, "inadequate"),
        (6, "inadequate"),
        (7, "requires_improvement"),
        (18, "requires_improvement"),
        (19, "good"),
        (30, "good"),
        (31, "outstanding"),
        (36, "outstanding"),
    ],
)
def test_the_overall_edges_for_twelve_standards(score: int, rating: str) -> None:
    # twelve standards whose points add up to ``score``
    points = [3] * (score // 3) + ([("requires_improvement", "good")[score % 3 - 1]] if score % 3 else [])
    ratings = ["outstanding"] * (score // 3) + points[score // 3 :]
    ratings += ["inadequate"] * (12 - len(ratings))
    assert overall(ratings, RULES) == {"rating": rating, "score": score, "max": 36}


def test_the_overall_bands_hold_on_exact_fractions_for_other_counts() -> None:
    # 10 standards, max 30: 5/30 = 1/6 is inadequate, 6/30 is not; 25/30 = 5/6 is good, 26/30 outstanding
    assert (
        overall(["good", "requires_improvement", "requires_improvement"] + ["inadequate"] * 7, RULES)["rating"]
        == "inadequate"
    )
    assert overall(["good"] * 3 + ["inadequate"] * 7, RULES)["rating"] == "requires_improvement"
    assert overall(["outstanding"] * 5 + ["good"] * 5, RULES)["rating"] == "good"
    assert overall(["outstanding"] * 6 + ["good"] * 4, RULES)["rating"] == "outstanding"
    assert overall([], RULES)["rating"] is None


def test_a_case_standard_takes_its_lowest_answered_key_question() -> None:
    assert lowest_key_question([Tally(9, 10), Tally(13, 20), Tally(0, 0)]) == Tally(13, 20)
    assert lowest_key_question([Tally(0, 0)]) is None
    framework = framework_by_code("YOS-2018")
    tallies = {
        "2.1/desistance": Tally(13, 20),
        "2.1/safety_and_wellbeing": Tally(19, 20),
        "2.1/risk_of_harm": Tally(0, 0),
    }
    rated = rate_standards(
        framework.standards_for_body("yot"),
        framework.key_questions,
        tallies,
        {"1.1": {"rating": "good", "rationale": "r", "by": {}}},
        RULES,
    )
    assert rated["standards"]["2.1"]["rule_rating"] == "good"
    assert rated["standards"]["2.1"]["percentage"] == 65
    assert rated["standards"]["2.2"]["rating"] is None  # no case answered it: not rated
    assert rated["overall"] == {"rating": "good", "score": 4, "max": 6}


def test_an_override_keeps_the_rule_rating() -> None:
    framework = framework_by_code("PROBATION-2018")
    tallies = {f"2.1/{q}": Tally(1, 10) for q in framework.key_questions}
    rated = rate_standards(
        framework.standards_for_body("nps_division"),
        framework.key_questions,
        tallies,
        {"2.1": {"rating": "requires_improvement", "rationale": "why", "by": {"name": "A"}}},
        RULES,
    )
    entry = rated["standards"]["2.1"]
    assert (entry["rating"], entry["rule_rating"], entry["overridden"]) == ("requires_improvement", "inadequate", True)
    assert set(rated["standards"]) == {"1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"}


def test_the_z_quantile_for_eighty_percent() -> None:
    assert z_two_sided(0.80) == NormalDist().inv_cdf(0.9) == pytest.approx(1.2815515655446004, abs=1e-15)


@pytest.mark.parametrize(
    ("population", "size"),
    [(1, 1), (5, 5), (10, 9), (20, 14), (50, 23), (100, 30), (200, 35), (1000, 40), (100000, 42)],
)
def test_sample_size_with_the_finite_population_correction(population: int, size: int) -> None:
    assert sample_size(population, 0.80, 0.10) == size


def test_sample_size_is_never_above_the_population() -> None:
    assert all(sample_size(n, 0.80, 0.10) <= n for n in range(1, 300))
    assert sample_size(0, 0.80, 0.10) == 0


def test_quotas_by_largest_remainder() -> None:
    assert quotas(30, {"male": 70, "female": 25, "other": 5}) == {"male": 21, "female": 8, "other": 1}
    # ties: the larger caseload first, then the name
    assert quotas(1, {"a": 1, "b": 1}) == {"a": 1, "b": 0}
    assert quotas(2, {"b": 2, "a": 1, "c": 1}) == {"b": 1, "a": 1, "c": 0}
    assert quotas(3, {"x": 0, "y": 10}) == {"x": 0, "y": 3}
    shares = quotas(40, {"low": 333, "medium": 333, "high": 334})
    assert sum(shares.values()) == 40 and shares["high"] == 14


def test_warnings_name_values_off_their_quota_beyond_the_tolerance() -> None:
    assert tolerance(14) == 2 and tolerance(5) == 1 and tolerance(40) == 4
    report = sample_report(20, {"gender": {"male": 16, "female": 4}}, {"gender": {"male": 14}}, 14, SamplingRules())
    assert report["sample_size"] == 14
    assert report["by"]["gender"]["male"] == {"caseload": 16, "quota": 11, "sampled": 14}
    assert [(w["value"], w["quota"], w["sampled"]) for w in report["warnings"]] == [("female", 3, 0), ("male", 11, 14)]


def test_the_2018_programmes_are_framework_data() -> None:
    from datetime import date

    assert framework_for("YOS", date(2019, 1, 1)).code == "YOS-2018"
    assert framework_for("PROBATION", date(2019, 1, 1)).code == "PROBATION-2018"
    assert framework_for("CCI", date(2011, 1, 1)).code == "CCI-2009"
    yos = framework_by_code("YOS-2018")
    assert [s.code for s in yos.case_standards_for({"disposal": "pre_court"})] == ["3.1", "3.2", "3.3"]
    assert [s.code for s in yos.case_standards_for({"disposal": "custody"})] == ["2.1", "2.2", "2.3", "2.4"]
    probation = framework_by_code("PROBATION-2018")
    assert [s.code for s in probation.case_standards_for({"disposal": "pre_court"})] == ["2.1", "2.2", "2.3", "2.4"]
    assert len(yos.standards_for_body("yot")) == 12
