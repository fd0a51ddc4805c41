"""Reinspections over HTTP: triggered by a report of concern, listed, scheduled, compared."""

from __future__ import annotations

from typing import Any

from freezegun import freeze_time

from tests.api.api_client import Api, assert_problem

CONCERN = [False, False, True]  # 33%: of concern


def items(api: Api, role: str = "inspector", **query: str) -> list[dict[str, Any]]:
    return api.ok(api.get("/v1/reinspections", role, query_string=query))["items"]


def test_a_report_of_concern_is_listed_pending_until_due(api: Api) -> None:
    with freeze_time("2012-01-10"):
        published = api.published(CONCERN)
        origin = published["id"]
        listed = items(api, origin_inspection_id=origin)
    assert [i["id"] for i in listed] == [published["reinspection"]["id"]]
    reinspection = listed[0]
    assert reinspection["origin_inspection_id"] == origin and reinspection["due_on"] == "2013-01-10"
    assert reinspection["status"] == "pending"
    assert reinspection["reinspection_inspection_id"] is None and reinspection["comparison"] is None
    with freeze_time("2013-01-09"):
        assert items(api, status="pending") and not items(api, status="due")
    with freeze_time("2013-01-10"):
        assert [i["id"] for i in items(api, status="due")] == [reinspection["id"]]
        assert api.ok(api.get(f"/v1/reinspections/{reinspection['id']}"))["status"] == "due"


def test_filters_by_origin_and_status(api: Api) -> None:
    with freeze_time("2012-01-10"):
        first = api.published(CONCERN, "Cumbria")
        second = api.published(CONCERN, "Lancashire")
        api.published([True], "Durham")
        assert len(items(api)) == 2
        assert [i["origin_inspection_id"] for i in items(api, origin_inspection_id=second["id"])] == [second["id"]]
        assert items(api, origin_inspection_id=first["id"], status="completed") == []
        assert items(api, origin_inspection_id="00000000-0000-0000-0000-000000000000") == []
    problem = assert_problem(api.get("/v1/reinspections", query_string={"status": "late"}), 422)
    assert "status" in problem["errors"]
    assert_problem(api.get("/v1/reinspections", query_string={"origin_inspection_id": "x"}), 422)
    assert_problem(api.get("/v1/reinspections", query_string={"colour": "red"}), 422)


def test_schedule_the_follow_up_then_publish_it_for_a_comparison(api: Api) -> None:
    with freeze_time("2012-01-10"):
        reinspection_id = api.published(CONCERN)["reinspection"]["id"]
    follow_up = api.schedule("Cumbria", start="2013-01-14")
    elsewhere = api.schedule("Lancashire", start="2013-01-14")
    path = f"/v1/reinspections/{reinspection_id}/schedule"
    assert_problem(api.post(path, {"inspection_id": elsewhere}), 409)
    assert_problem(api.post(path, {"inspection_id": "00000000-0000-0000-0000-000000000000"}), 404)
    response = api.post(path, {"inspection_id": follow_up})
    scheduled = api.ok(response)
    assert scheduled["status"] == "scheduled" and scheduled["reinspection_inspection_id"] == follow_up
    assert response.headers["ETag"] and response.headers["Inspectorate-Position"]
    assert_problem(api.post(path, {"inspection_id": follow_up}), 409)

    api.post(f"/v1/inspections/{follow_up}/start-fieldwork")
    for n, verdict in enumerate([True, True, False, True]):
        api.rate(api.add_case(follow_up, f"F{n}"), verdict)
    api.post(f"/v1/inspections/{follow_up}/complete-fieldwork")
    api.ok(api.post(f"/v1/inspections/{follow_up}/publish", {"published_on": "2013-03-01"}))
    done = api.ok(api.get(f"/v1/reinspections/{reinspection_id}", "auditor"))
    assert done["status"] == "completed"
    assert done["comparison"]["risk_of_harm"] == {"original": 33, "reinspection": 75, "change": 42}
    assert items(api, status="completed")[0]["comparison"] == done["comparison"]


def test_an_organisation_sees_only_its_own_reinspections(api: Api) -> None:
    with freeze_time("2012-01-10"):
        own = api.published(CONCERN, "Cumbria")["reinspection"]["id"]
        other = api.published(CONCERN, "Lancashire")["reinspection"]["id"]
    assert [i["id"] for i in items(api, "organisation")] == [own]
    assert api.ok(api.get(f"/v1/reinspections/{own}", "organisation"))["id"] == own
    unknown = "00000000-0000-0000-0000-000000000000"
    hidden = assert_problem(api.get(f"/v1/reinspections/{other}", "organisation"), 404)
    absent = assert_problem(api.get(f"/v1/reinspections/{unknown}", "organisation"), 404)
    assert hidden == {**absent, "detail": absent["detail"].replace(unknown, other)}
    assert_problem(api.get(f"/v1/reinspections/{unknown}"), 404)
