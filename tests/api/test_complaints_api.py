"""Complaints over HTTP: who may complain, the lifecycle, the response deadline."""

from __future__ import annotations

from freezegun import freeze_time

from tests.api.api_client import Api, assert_problem


def complain(api: Api, inspection_id: str, role: str = "organisation", category: str = "methodology") -> object:
    return api.post(
        "/v1/complaints",
        {"inspection_id": inspection_id, "category": category, "summary": "The sample left out custody cases."},
        role,
    )


def test_an_organisation_complains_about_its_own_inspection_with_a_deadline_in_working_days(api: Api) -> None:
    inspection_id = api.schedule("Cumbria")
    with freeze_time("2011-12-20T10:00:00Z"):
        response = complain(api, inspection_id)
    complaint = api.ok(response, 201)
    assert complaint["status"] == "received"
    # 20 working days: weekends and 26, 27 December 2011 and 2 January 2012 (bank holidays) left out.
    assert complaint["received_on"] == "2011-12-20" and complaint["response_due_on"] == "2012-01-20"
    assert complaint["complainant"]["role"] == "organisation"
    assert response.headers["ETag"] == '"1"' and int(response.headers["Inspectorate-Position"]) > 0


def test_an_organisation_may_not_complain_about_another_bodys_inspection(api: Api) -> None:
    """Another body's inspection does not exist for an organisation: 404, as for an unknown id."""
    other = api.schedule("Lancashire")
    unknown = "00000000-0000-0000-0000-000000000000"
    hidden = assert_problem(complain(api, other), 404)
    absent = assert_problem(complain(api, unknown), 404)
    assert hidden == {**absent, "detail": absent["detail"].replace(unknown, other)}
    assert api.ok(complain(api, other, "inspector"), 201)["status"] == "received"


def test_complaint_about_an_unknown_inspection_is_404_and_a_bad_category_422(api: Api) -> None:
    assert_problem(complain(api, "00000000-0000-0000-0000-000000000000"), 404)
    problem = assert_problem(complain(api, api.schedule(), category="tone"), 422)
    assert "category" in problem["errors"]


def test_the_whole_lifecycle_by_inspectors_and_admins(api: Api) -> None:
    complaint_id = api.ok(complain(api, api.schedule()), 201)["id"]
    path = f"/v1/complaints/{complaint_id}"
    assert_problem(api.post(f"{path}/escalate", {"reason": "too early"}, "admin"), 409)
    assert api.ok(api.post(f"{path}/acknowledge", None, "admin"))["status"] == "acknowledged"
    responded = api.ok(api.post(f"{path}/respond", {"response": "We explained the sampling."}))
    assert responded["status"] == "responded" and responded["responses"] == ["We explained the sampling."]
    escalated = api.ok(api.post(f"{path}/escalate", {"reason": "Not satisfied"}, "admin"))
    assert escalated["status"] == "escalated" and escalated["escalation_reason"] == "Not satisfied"
    assert_problem(api.post(f"{path}/close", {"outcome": "dismissed"}), 422)
    response = api.post(f"{path}/close", {"outcome": "partly_upheld"})
    closed = api.ok(response)
    assert closed["status"] == "closed" and closed["outcome"] == "partly_upheld"
    assert response.headers["ETag"] == '"5"'
    assert_problem(api.post(f"{path}/acknowledge"), 409)
    assert api.ok(api.get(path, "auditor"))["status"] == "closed"


def test_withdrawn_at_any_open_step_and_if_match(api: Api) -> None:
    complaint_id = api.ok(complain(api, api.schedule()), 201)["id"]
    path = f"/v1/complaints/{complaint_id}"
    assert_problem(api.post(f"{path}/close", {"outcome": "withdrawn"}, headers={"If-Match": '"2"'}), 412)
    closed = api.ok(api.post(f"{path}/close", {"outcome": "withdrawn"}, headers={"If-Match": '"1"'}))
    assert closed["outcome"] == "withdrawn"


def test_an_organisation_reads_only_its_own_complaints(api: Api) -> None:
    own = api.ok(complain(api, api.schedule("Cumbria")), 201)["id"]
    other = api.ok(complain(api, api.schedule("Lancashire"), "inspector"), 201)["id"]
    response = api.get(f"/v1/complaints/{own}", "organisation")
    assert api.ok(response)["id"] == own and response.headers["ETag"] == '"1"'
    unknown = "00000000-0000-0000-0000-000000000000"
    hidden = assert_problem(api.get(f"/v1/complaints/{other}", "organisation"), 404)
    absent = assert_problem(api.get(f"/v1/complaints/{unknown}", "organisation"), 404)
    assert hidden == {**absent, "detail": absent["detail"].replace(unknown, other)}
    assert_problem(api.get(f"/v1/complaints/{unknown}"), 404)
