"""Lenient values refused over HTTP (issue 16, item 6): dates outside the programme's period, blank names,
publication in the future or before fieldwork, Unicode digits as a year, follow-ups that cannot follow up."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time

from tests.api.api_client import Api, assert_problem
from tests.factories import body


def schedule(api: Api, programme: str, start: str, name: str = "Cumbria") -> Any:
    type_ = "yot" if programme == "CCI" else "probation_trust"
    return api.post(
        "/v1/inspections", {"programme": programme, "inspected_body": body(name, type_), "fieldwork_start": start}
    )


@pytest.mark.parametrize(
    ("programme", "start"),
    [
        ("CCI", "0001-01-01"),
        ("CCI", "9999-12-31"),
        ("CCI", "2009-03-31"),
        ("CCI", "2012-04-01"),
        ("CCI", "2018-07-16"),
        ("OMI2", "0001-01-01"),
        ("OMI2", "2009-08-31"),
        ("OMI2", "2013-04-01"),
        ("OMI2", "2018-04-01"),
    ],
)
def test_fieldwork_outside_the_programmes_period_is_422(api: Api, programme: str, start: str) -> None:
    problem = assert_problem(schedule(api, programme, start), 422)
    assert "fieldwork_start" in problem["errors"]
    assert "outside every period" in problem["detail"]
    assert api.ok(api.get("/v1/events?after=0", "admin"))["events"] == []  # nothing recorded


def test_fieldwork_on_the_first_and_last_day_of_the_period_is_accepted(api: Api) -> None:
    for programme, start, year in (
        ("CCI", "2009-04-01", "2009-10"),
        ("CCI", "2012-03-31", "2011-12"),
        ("OMI2", "2009-09-01", "2009-10"),
        ("OMI2", "2013-03-31", "2012-13"),
    ):
        created = api.ok(schedule(api, programme, start), 201)
        assert created["year"] == year and created["framework"] == f"{programme}-2009"


@pytest.mark.parametrize("name", [" ", "   ", "\u3000"])
def test_a_blank_body_name_is_422(api: Api, name: str) -> None:
    problem = assert_problem(schedule(api, "OMI2", "2011-05-03", name=name), 422)
    assert problem["errors"]


def ready(api: Api, start: str = "2011-05-03") -> str:
    inspection_id = api.in_fieldwork("Cumbria", start)
    api.rate(api.add_case(inspection_id, "C1"), True)
    api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
    return inspection_id


def test_publication_in_the_future_or_before_fieldwork_is_422(api: Api) -> None:
    inspection_id = ready(api)
    publish = f"/v1/inspections/{inspection_id}/publish"
    with freeze_time("2012-01-10 12:00:00"):
        for published_on, words in (
            ("2012-01-11", "future"),
            ("9999-12-31", "future"),
            ("2011-05-02", "before its fieldwork"),
        ):
            problem = assert_problem(api.post(publish, {"published_on": published_on}), 422)
            assert "published_on" in problem["errors"] and words in problem["detail"], problem
        assert api.ok(api.get(f"/v1/inspections/{inspection_id}"))["status"] == "fieldwork_complete"
        assert api.ok(api.post(publish, {"published_on": "2012-01-10"}))["published_on"] == "2012-01-10"


def test_publishing_on_9999_12_31_of_a_report_of_concern_is_422_not_500(api: Api) -> None:
    """The reinspection's due date (a year later) used to overflow the calendar into year 10000."""
    inspection_id = api.in_fieldwork("Cumbria", "2011-05-03")
    api.rate(api.add_case(inspection_id, "C1"), False)
    api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
    problem = assert_problem(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": "9999-12-31"}), 422)
    assert "published_on" in problem["errors"]


@pytest.mark.parametrize("year", ["\u0662\u0660\u0661\u0661-\u0661\u0662", "２０１１-１２", "2011-\u0967\u0968"])
def test_a_year_in_other_digits_is_no_year(api: Api, year: str) -> None:
    assert_problem(api.get(f"/v1/views/programmes/CCI/years/{year}"), 404)
    assert_problem(api.get(f"/v1/views/programmes/CCI/years/{year}?as_of=2030-01-01T00:00:00Z"), 404)
    problem = assert_problem(api.get("/v1/views/consistency", "qa_reviewer", query_string={"year": year}), 422)
    assert "year" in problem["errors"]


def origin_of_concern(api: Api) -> tuple[str, str]:
    """A report of concern published 2012-01-10 (reinspection due 2013-01-10): (origin id, reinspection id)."""
    published = api.published([False], "Cumbria", start="2011-05-03", on="2012-01-10")
    return published["id"], published["reinspection"]["id"]


@pytest.mark.parametrize("start", ["2011-09-05", "2012-01-10"])
def test_a_follow_up_that_started_before_the_origin_was_published_is_409(api: Api, start: str) -> None:
    early = api.schedule("Cumbria", start=start)
    _, reinspection_id = origin_of_concern(api)
    problem = assert_problem(api.post(f"/v1/reinspections/{reinspection_id}/schedule", {"inspection_id": early}), 409)
    assert "after the origin was published" in problem["detail"]
    assert api.ok(api.get(f"/v1/reinspections/{reinspection_id}"))["status"] != "scheduled"
    assert api.ok(api.get(f"/v1/inspections/{early}"))["reinspection_of"] is None


def test_a_follow_up_already_in_fieldwork_is_409(api: Api) -> None:
    _, reinspection_id = origin_of_concern(api)
    under_way = api.in_fieldwork("Cumbria", start="2013-01-14")
    problem = assert_problem(
        api.post(f"/v1/reinspections/{reinspection_id}/schedule", {"inspection_id": under_way}), 409
    )
    assert "scheduled inspection" in problem["detail"]
    later = api.schedule("Cumbria", start="2013-01-21")
    linked = api.ok(api.post(f"/v1/reinspections/{reinspection_id}/schedule", {"inspection_id": later}))
    assert linked["status"] == "scheduled" and linked["reinspection_inspection_id"] == later
