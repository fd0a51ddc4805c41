"""Risk-based selection over HTTP (api-2 C): published criteria, plans recorded with each body's reasons."""

from __future__ import annotations

from typing import Any

from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture


def register(api: Api, name: str, type_: str = "yot", **figures: Any) -> str:
    body_id = api.ok(api.post("/v1/bodies", {"name": name, "type": type_, "region": "North West"}), 201)["id"]
    if figures:
        api.ok(api.call("PUT", f"/v1/bodies/{body_id}/indicators/2017-18", json=figures))
    return body_id


def test_criteria_are_published_as_versioned_data(api: Api) -> None:
    criteria = api.ok(api.get("/v1/programmes/YOS/selection-criteria", "organisation"))
    assert (criteria["code"], criteria["version"], criteria["valid_from"]) == ("YOS-SELECTION-2018", 1, "2018-04-01")
    assert criteria["default_capacity"] == 30 and criteria["overdue_after_years"] == 4
    assert {p["indicator"] for p in criteria["performance"]} >= {"reoffending_rate"}
    assert "name" in criteria["tie_break"]
    probation = api.ok(api.get("/v1/programmes/PROBATION/selection-criteria?year=2019-20"))
    assert probation["every_year_types"] == ["nps_division", "crc"]
    assert_problem(api.get("/v1/programmes/CCI/selection-criteria"), 404)
    assert_problem(api.get("/v1/programmes/NOPE/selection-criteria"), 404)
    assert_problem(api.get("/v1/programmes/YOS/selection-criteria?year=2017-18"), 422)
    assert_problem(api.get("/v1/programmes/YOS/selection-criteria?year=2018"), 422)
    assert_problem(api.get("/v1/programmes/YOS/selection-criteria", "integration"), 403)


def test_a_yos_plan_selects_to_capacity_with_reasons_and_is_recorded(api: Api) -> None:
    big = register(api, "Big YOT", caseload=400, reoffending_rate=55.0)
    small = register(api, "Small YOT", caseload=40)
    middle = register(api, "Middle YOT", caseload=200)
    register(api, "Not a YOT", "crc", caseload=999)
    response = api.post("/v1/programmes/YOS/plans", {"year": "2018-19", "capacity": 2})
    plan = api.ok(response, 201)
    assert response.headers["Inspectorate-Position"]
    assert (plan["year"], plan["criteria"]["code"], plan["capacity"], plan["revision"]) == (
        "2018-19",
        "YOS-SELECTION-2018",
        2,
        1,
    )
    assert [e["body_id"] for e in plan["selected"]] == [big, middle]
    assert [e["body_id"] for e in plan["not_selected"]] == [small]
    first = plan["selected"][0]
    assert set(first) >= {"body_id", "name", "score", "reasons"} and first["score"] > plan["selected"][1]["score"]
    assert any("never inspected" in r for r in first["reasons"])
    # recorded: read back, and the same inputs give the same plan
    assert api.ok(api.get("/v1/programmes/YOS/plans/2018-19", "auditor"))["selected"] == plan["selected"]
    again = api.ok(api.post("/v1/programmes/YOS/plans", {"year": "2018-19", "capacity": 2}), 201)
    assert again["selected"] == plan["selected"] and again["not_selected"] == plan["not_selected"]
    assert again["revision"] == 2
    # the default capacity is the criteria's (30)
    assert api.ok(api.post("/v1/programmes/YOS/plans", {"year": "2019-20"}), 201)["capacity"] == 30


def test_an_organisation_is_told_its_own_entry(api: Api) -> None:
    register(api, "Cumbria", caseload=10)
    register(api, "Lancashire", caseload=500)
    api.ok(api.post("/v1/programmes/YOS/plans", {"year": "2018-19", "capacity": 1}), 201)
    mine = api.ok(api.get("/v1/programmes/YOS/plans/2018-19", "organisation"))
    assert mine["selected"] == [] and [e["name"] for e in mine["not_selected"]] == ["Cumbria"]
    assert any("capacity of 1" in r for r in mine["not_selected"][0]["reasons"])


def test_probation_selects_every_division_and_crc(api: Api) -> None:
    trust = register(api, "Cumbria", "probation_trust")
    api.ok(api.post("/v1/bodies", {"name": "CLCRC", "type": "crc", "region": "NW", "succeeds": [trust]}), 201)
    api.ok(api.post("/v1/bodies", {"name": "NPS NW", "type": "nps_division", "region": "NW", "succeeds": [trust]}), 201)
    plan = api.ok(api.post("/v1/programmes/PROBATION/plans", {"year": "2018-19"}), 201)
    assert sorted(e["name"] for e in plan["selected"]) == ["CLCRC", "NPS NW"] and plan["not_selected"] == []
    assert {e["basis"] for e in plan["selected"]} == {"every_year"}
    too_small = api.post("/v1/programmes/PROBATION/plans", {"year": "2018-19", "capacity": 1})
    assert "capacity" in assert_problem(too_small, 422)["errors"]


def test_plan_input_and_roles(api: Api) -> None:
    for data in (
        {},
        {"year": "2018"},
        {"year": "2018-19", "capacity": -1},
        {"year": "2018-19", "capacity": "3"},
        {"year": "2017-18"},
        {"year": "2018-19", "extra": 1},
    ):
        assert_problem(api.post("/v1/programmes/YOS/plans", data), 422)
    assert_problem(api.post("/v1/programmes/CCI/plans", {"year": "2011-12"}), 404)
    for role in ("local_assessor", "qa_reviewer", "auditor", "organisation", "integration"):
        assert_problem(api.post("/v1/programmes/YOS/plans", {"year": "2018-19"}, role), 403)
    assert_problem(api.get("/v1/programmes/YOS/plans/2018-19"), 404)
    assert_problem(api.get("/v1/programmes/YOS/plans/latest"), 422)
    api.ok(api.post("/v1/programmes/YOS/plans", {"year": "2018-19"}, "admin"), 201)
