"""The register's rules (Body) and risk-based selection (a pure function): determinism, ties, order."""

from __future__ import annotations

import random
from datetime import date

import pytest

from domain.body import Body, body_id_for, with_body_id
from domain.errors import InvalidValue
from domain.selection import Candidate, full_years_between, select
from domain.selection_criteria import CRITERIA, criteria_by_code, criteria_for

YOS = criteria_by_code("YOS-SELECTION-2018")
PROBATION = criteria_by_code("PROBATION-SELECTION-2018")
APRIL_2018 = date(2018, 4, 1)


def test_a_body_id_ignores_case_and_surrounding_spaces_but_not_type() -> None:
    assert body_id_for("yot", " Cumbria ") == body_id_for("yot", "CUMBRIA")
    assert body_id_for("yot", "Cumbria") != body_id_for("crc", "Cumbria")
    body = Body.register("  Cumbria ", "yot", " North West ")
    assert (body.id, body.name, body.region) == (body_id_for("yot", "cumbria"), "Cumbria", "North West")
    assert [e.TOPIC for e in body.collect_events()] == ["body.registered.v1"]


def test_an_old_inspected_body_gets_the_id_the_register_gives_it() -> None:
    old = {"name": " cumbria", "type": "probation_trust", "region": "North West"}
    assert with_body_id(old)["id"] == str(body_id_for("probation_trust", "Cumbria"))
    assert with_body_id({**old, "id": "x"})["id"] == "x"


@pytest.mark.parametrize(
    ("name", "type_", "region", "field"),
    [
        (" ", "yot", "X", "name"),
        ("A", "school", "X", "type"),
        ("A", "yot", " ", "region"),
    ],
)
def test_registration_is_validated_before_anything_is_recorded(name: str, type_: str, region: str, field: str) -> None:
    with pytest.raises(InvalidValue) as error:
        Body.register(name, type_, region)
    assert error.value.field == field


def test_succession_follows_the_types() -> None:
    trust = Body.register("Cumbria", "probation_trust", "North West")
    crc = Body.register("CLCRC", "crc", "North West", [trust])
    trust.succeeded_by_body(crc)
    trust.succeeded_by_body(crc)  # told twice: recorded once
    assert crc.succeeds == [str(trust.id)] and trust.succeeded_by == [str(crc.id)]
    assert [e.TOPIC for e in trust.collect_events()] == ["body.registered.v1", "body.succeeded.v1"]
    with pytest.raises(InvalidValue, match="does not succeed"):
        Body.register("A YOT", "yot", "North West", [trust])
    with pytest.raises(InvalidValue, match="twice"):
        Body.register("NPS", "nps_division", "North West", [trust, trust])


def test_indicators_are_checked_and_the_latest_year_up_to_a_year_is_used() -> None:
    body = Body.register("Cumbria", "yot", "North West")
    for year, figures, field in [
        ("2018", {"caseload": 1}, "year"),
        ("2018-20", {"caseload": 1}, "year"),
        ("2018-19", {}, "caseload"),
        ("2018-19", {"caseload": 1.5}, "caseload"),
        ("2018-19", {"caseload": True}, "caseload"),
        ("2018-19", {"caseload": 1, "custody_rate": -1}, "custody_rate"),
        ("2018-19", {"caseload": 1, "reoffending_rate": 100.5}, "reoffending_rate"),
        ("2018-19", {"caseload": 1, "mood": 1}, "mood"),
    ]:
        with pytest.raises(InvalidValue) as error:
            body.record_indicators(year, figures)
        assert error.value.field == field
    body.record_indicators("2016-17", {"caseload": 100})
    body.record_indicators("2017-18", {"caseload": 120, "reoffending_rate": 40.0})
    body.record_indicators("2017-18", {"caseload": 120, "reoffending_rate": 40.0})  # the same again: no event
    assert [e.TOPIC for e in body.collect_events()].count("body.indicators_recorded.v1") == 2
    assert body.indicators_for("2018-19") == ("2017-18", {"caseload": 120, "reoffending_rate": 40.0})
    assert body.indicators_for("2016-17") == ("2016-17", {"caseload": 100})
    assert body.indicators_for("2015-16") is None


def test_criteria_are_versioned_data() -> None:
    assert criteria_for("YOS", date(2019, 4, 1)) is YOS
    assert YOS.default_capacity == 30 and YOS.overdue_after_years == 4
    assert PROBATION.every_year_types == ("nps_division", "crc")
    with pytest.raises(InvalidValue):
        criteria_for("YOS", date(2017, 4, 1))
    assert len({c.code for c in CRITERIA}) == len(CRITERIA)
    assert YOS.as_dict()["valid_from"] == "2018-04-01"


def yot(name: str, last: date | None, caseload: int | None = None, **figures: float) -> Candidate:
    indicators = {"caseload": caseload, **figures} if caseload is not None else None
    return Candidate(str(body_id_for("yot", name)), name, "yot", last, "2017-18" if indicators else None, indicators)


def names(entries: list[dict]) -> list[str]:
    return [e["name"] for e in entries]


def test_full_years() -> None:
    assert full_years_between(date(2014, 4, 2), APRIL_2018) == 3
    assert full_years_between(date(2014, 4, 1), APRIL_2018) == 4


def test_bodies_not_inspected_for_four_years_come_first_whatever_their_score() -> None:
    candidates = [
        yot("Big", date(2016, 5, 1), caseload=900, reoffending_rate=80),  # high score, inspected recently
        yot("Overdue", date(2014, 3, 1), caseload=10),
        yot("Never", None),
        yot("Small", date(2017, 5, 1), caseload=50),
    ]
    plan = select(YOS, APRIL_2018, 2, candidates)
    assert names(plan["selected"]) == ["Overdue", "Never"]  # 40.33 (4 years, a small caseload), 40 (never)
    assert all(e["basis"] == "overdue" for e in plan["selected"])
    assert names(plan["not_selected"]) == ["Big", "Small"]
    assert plan["not_selected"][0]["score"] > max(e["score"] for e in plan["selected"]) - 40
    assert [e["rank"] for e in plan["selected"] + plan["not_selected"]] == [1, 2, 3, 4]
    assert any("capacity of 2" in r for r in plan["not_selected"][0]["reasons"])
    assert any("selected first" in r for r in plan["selected"][0]["reasons"])


def test_scores_add_time_volume_and_performance_with_their_reasons() -> None:
    plan = select(
        YOS,
        APRIL_2018,
        30,
        [
            yot("A", date(2016, 4, 1), caseload=300, reoffending_rate=60.0),
            yot("B", date(2016, 4, 1), caseload=150),
        ],
    )
    a, b = plan["selected"]
    # time: 2 of 4 years -> 20 of 40; volume: 300/300 -> 30, 150/300 -> 15; reoffending 60 vs 40: half excess -> 7.5
    assert (a["name"], a["score"]) == ("A", 57.5)
    assert (b["name"], b["score"]) == ("B", 35.0)
    assert any("reoffending rate 60 is above the reference 40" in r for r in a["reasons"])
    assert any("caseload 150" in r and "2017-18" in r for r in b["reasons"])


def test_ties_are_broken_by_name_ignoring_case_then_id_and_the_order_of_input_does_not_matter() -> None:
    tied = [yot(n, date(2016, 6, 1), caseload=100) for n in ("delta", "Alpha", "charlie", "Bravo")]
    twin = Candidate(
        "00000000-0000-0000-0000-000000000000", "alpha", "yot", date(2016, 6, 1), "2017-18", {"caseload": 100}
    )
    expected = None
    for seed in range(5):
        shuffled = [*tied, twin]
        random.Random(seed).shuffle(shuffled)
        plan = select(YOS, APRIL_2018, 3, shuffled)
        if expected is None:
            expected = plan
        assert plan == expected
    assert names(expected["selected"]) == ["alpha", "Alpha", "Bravo"]  # alpha's id 000... sorts first
    assert names(expected["not_selected"]) == ["charlie", "delta"]


def test_probation_selects_every_division_and_crc_and_needs_the_capacity_for_them() -> None:
    candidates = [
        Candidate("1", "NPS North West", "nps_division", date(2017, 6, 1)),
        Candidate("2", "Cumbria and Lancashire CRC", "crc", None),
    ]
    plan = select(PROBATION, APRIL_2018, 2, candidates)
    assert {e["basis"] for e in plan["selected"]} == {"every_year"} and plan["not_selected"] == []
    with pytest.raises(InvalidValue) as error:
        select(PROBATION, APRIL_2018, 1, candidates)
    assert error.value.field == "capacity"
