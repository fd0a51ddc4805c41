"""The publication policy (``domain.publication``): the figures, concern and follow-up a report gets."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.base import Actor
from domain.diversity import ERASED_PROFILE, breakdown, profile_key, profile_tallies
from domain.errors import IllegalTransition, InvalidValue
from domain.inspection import Inspection
from domain.publication import publication
from tests.factories import CRITERIA, OMI2_AREAS, body, characteristics

ANN = Actor("Ann Inspector", "inspector").as_dict()
FEMALE, MALE = characteristics(gender="female"), characteristics(gender="male", disability=True)
FEMALE_KEY = "female|bame|18-24|False|None|community|medium"
MALE_KEY = "male|bame|18-24|True|None|community|medium"


def ready(programme: str, inspected_body: dict[str, Any], start: date) -> Inspection:
    """An inspection whose fieldwork is complete (no events pending)."""
    inspection = Inspection.schedule(programme, inspected_body, start)
    inspection.start_fieldwork()
    inspection.complete_fieldwork([])
    inspection.collect_events()
    return inspection


def omi2(risk_of_harm: tuple[bool | None, ...]) -> dict[tuple[str, str], bool | None]:
    """An OMI2 case's verdicts: ``risk_of_harm`` by criterion (CRITERIA order), every other item sufficient."""
    verdicts: dict[tuple[str, str], bool | None] = {(a, c): True for a in OMI2_AREAS for c in CRITERIA}
    verdicts.update(zip((("risk_of_harm", c) for c in CRITERIA), risk_of_harm, strict=True))
    return verdicts


def test_a_2009_report_exactly_at_the_threshold_is_not_of_concern_and_gets_no_reinspection() -> None:
    inspection = ready("OMI2", body(), date(2011, 5, 3))
    cases = [
        (FEMALE, omi2((True, True, True))),
        (MALE, omi2((False, False, False))),
        (MALE, omi2((True, None, False))),  # interventions not applicable
    ]

    report = publication(inspection, cases, date(2011, 8, 15), date(2011, 9, 1))

    # risk of harm: 3 + 0 + 1 sufficient of 3 + 3 + 2 applicable = exactly 1/2, the threshold (not below it)
    assert report.headline_scores == {
        "risk_of_harm": {"score": 50, "sufficient": 4, "applicable": 8},
        "likelihood_of_reoffending": {"score": 100, "sufficient": 9, "applicable": 9},
        "compliance_and_enforcement": {"score": 100, "sufficient": 9, "applicable": 9},
    }
    assert report.criteria_scores == {
        "assessment_and_planning": {"score": 89, "sufficient": 8, "applicable": 9},
        "interventions": {"score": 88, "sufficient": 7, "applicable": 8},  # 87.5 rounds half up
        "outcomes": {"score": 78, "sufficient": 7, "applicable": 9},
    }
    assert report.of_concern is False
    assert report.reinspection_due_on is None
    assert report.ratings is None
    assert report.profile_cases == {FEMALE_KEY: 1, MALE_KEY: 2}
    assert report.profiles == {
        FEMALE_KEY: {"risk_of_harm": [3, 3], "likelihood_of_reoffending": [3, 3], "compliance_and_enforcement": [3, 3]},
        MALE_KEY: {"risk_of_harm": [1, 5], "likelihood_of_reoffending": [6, 6], "compliance_and_enforcement": [6, 6]},
    }
    assert report.breakdown["gender"] == {
        "female": {"risk_of_harm": [3, 3], "likelihood_of_reoffending": [3, 3], "compliance_and_enforcement": [3, 3]},
        "male": {"risk_of_harm": [1, 5], "likelihood_of_reoffending": [6, 6], "compliance_and_enforcement": [6, 6]},
    }
    assert set(report.breakdown["disability"]) == {"false", "true"}  # as the breakdown names the values
    assert report.breakdown["looked_after"]["null"]["risk_of_harm"] == [4, 8]
    assert inspection.collect_events() == []  # deciding records nothing


def test_a_2009_report_below_the_threshold_is_of_concern_and_a_reinspection_falls_due_a_year_later() -> None:
    inspection = ready("OMI2", body(), date(2011, 5, 3))
    cases = [
        (FEMALE, omi2((True, True, True))),
        (MALE, omi2((False, False, False))),
        (MALE, omi2((True, False, False))),
        (None, omi2((False, False, False))),  # an erased case: in the scores, in no characteristic's figures
    ]

    report = publication(inspection, cases, date(2011, 8, 15), date(2011, 9, 1))

    assert report.headline_scores["risk_of_harm"] == {"score": 33, "sufficient": 4, "applicable": 12}
    assert report.of_concern is True
    assert report.reinspection_due_on == date(2012, 8, 15)  # the framework's 12 months after publication
    assert report.profile_cases == {FEMALE_KEY: 1, MALE_KEY: 2, ERASED_PROFILE: 1}
    assert report.profiles[ERASED_PROFILE]["risk_of_harm"] == [0, 3]
    assert report.breakdown["gender"]["male"]["risk_of_harm"] == [1, 6]
    assert sum(pair[1] for pair in (v["risk_of_harm"] for v in report.breakdown["gender"].values())) == 9


def yos(inspectors: str) -> Inspection:
    """A 2018 youth inspection whose five organisational standards the inspectors rated ``inspectors``."""
    inspection = Inspection.schedule("YOS", body("Wigan YOS", "yot"), date(2019, 3, 4))
    inspection.start_fieldwork()
    for code in ("1.1", "1.2", "1.3", "1.4", "3.4"):
        inspection.rate_standard(code, inspectors, "seen", ANN)
    inspection.complete_fieldwork([])
    inspection.collect_events()
    return inspection


def court_case(sufficient: bool) -> tuple[dict[str, Any], dict[tuple[str, str], bool | None]]:
    """A custody case answering every key question of the court standards 2.1 to 2.4 alike."""
    questions = ("desistance", "safety_and_wellbeing", "risk_of_harm")
    return characteristics(disposal="custody"), {
        (f"{code}/{q}", q): sufficient for code in ("2.1", "2.2", "2.3", "2.4") for q in questions
    }


def test_a_2018_report_rated_good_overall_is_not_of_concern() -> None:
    inspection = yos("good")

    report = publication(inspection, [court_case(True), court_case(True)], date(2019, 6, 3), date(2019, 6, 3))

    assert report.headline_scores["2.1/desistance"] == {"score": 100, "sufficient": 2, "applicable": 2}
    assert report.headline_scores["3.1/desistance"] == {"score": None, "sufficient": 0, "applicable": 0}
    assert report.criteria_scores["risk_of_harm"] == {"score": 100, "sufficient": 8, "applicable": 8}
    assert report.ratings is not None
    # 5 organisational standards good (2 points each), 4 case standards outstanding (3 each); 3.1-3.3
    # no case answered: out of the points. 22 of 27 is above 1/2 and at most 5/6: good.
    assert report.ratings["overall"] == {"rating": "good", "score": 22, "max": 27}
    assert report.ratings["standards"]["2.1"]["rule_rating"] == "outstanding"
    assert report.ratings["standards"]["3.1"]["rating"] is None
    assert report.of_concern is False
    assert report.reinspection_due_on is None
    assert report.profile_cases == {profile_key(characteristics(disposal="custody")): 2}


def test_a_2018_report_rated_inadequate_overall_is_of_concern() -> None:
    inspection = yos("inadequate")

    report = publication(inspection, [court_case(True), court_case(False)], date(2019, 6, 3), date(2019, 6, 10))

    # each case standard's lowest key question is 1 of 2 (50%): requires improvement, 1 point each;
    # 4 of 27 is at most 1/6: inadequate, which the rating rules name as of concern.
    assert report.ratings is not None
    assert report.ratings["standards"]["2.4"]["rule_rating"] == "requires_improvement"
    assert report.ratings["standards"]["2.4"]["percentage"] == 50
    assert report.ratings["overall"] == {"rating": "inadequate", "score": 4, "max": 27}
    assert report.of_concern is True
    assert report.reinspection_due_on == date(2020, 6, 3)
    assert report.criteria_scores["desistance"] == {"score": 50, "sufficient": 4, "applicable": 8}


def test_publication_is_refused_as_the_inspection_refuses_it() -> None:
    scheduled = Inspection.schedule("OMI2", body(), date(2011, 5, 3))
    with pytest.raises(IllegalTransition):
        publication(scheduled, [], date(2011, 8, 15), date(2011, 9, 1))
    with pytest.raises(InvalidValue, match="in the future"):
        publication(ready("OMI2", body(), date(2011, 5, 3)), [], date(2011, 9, 2), date(2011, 9, 1))


def test_profile_tallies_and_breakdown_sum_the_cases_by_characteristic() -> None:
    profiles = profile_tallies(
        [(FEMALE, {("risk_of_harm", "outcomes"): True, ("risk_of_harm", "interventions"): None})]
    )
    assert profiles == {FEMALE_KEY: {"risk_of_harm": [1, 1]}}
    assert breakdown({**profiles, ERASED_PROFILE: {"risk_of_harm": [0, 4]}})["ethnicity"] == {
        "bame": {"risk_of_harm": [1, 1]}
    }
