"""Recommendations and thematic inspections over HTTP, on SQLite and PostgreSQL, with the attacker's cases."""

from __future__ import annotations

from typing import Any

from freezegun import freeze_time
from werkzeug.test import TestResponse

from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.factories import characteristics, judgements

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def as_org(api: Api, method: str, path: str, organisation: str = "Cheshire", json: Any = None) -> TestResponse:
    token = api.token("organisation", organisation)
    return api.call(method, path, None, json=json, headers={"Authorization": f"Bearer {token}"})


def ready(api: Api, name: str = "Cumbria", start: str = "2011-05-03", verdict: bool = False) -> str:
    inspection = api.in_fieldwork(name, start)
    api.rate(api.add_case(inspection, "C1"), verdict)
    api.ok(api.post(f"/v1/inspections/{inspection}/complete-fieldwork"))
    return inspection


def recommend(
    api: Api, report: str, to: str = "Cumbria", text: str = "Review every risk plan.", path: str = "inspections"
) -> dict[str, Any]:
    return api.ok(api.post(f"/v1/{path}/{report}/recommendations", {"to": to, "text": text}), 201)


def test_made_published_with_the_report_then_answered_by_its_body(api: Api) -> None:
    inspection = ready(api)
    made = recommend(api, inspection)
    assert (made["status"], made["response"], made["progress"], made["inspection_id"]) == (
        "draft",
        None,
        None,
        inspection,
    )
    mine = f"/v1/recommendations/{made['id']}"
    # Before publication an organisation cannot see it, not even its own body's: 404 as for an unknown id.
    assert api.ok(api.get(f"/v1/inspections/{inspection}/recommendations", "organisation")) == {"items": []}
    for response in (
        api.get(mine, "organisation"),
        api.post(f"{mine}/response", {"response": "agreed", "note": None}, "organisation"),
        api.post(f"{mine}/progress", {"status": "in_progress"}, "organisation"),
    ):
        assert_problem(response, 404)
    api.ok(api.post(f"/v1/inspections/{inspection}/publish", {"published_on": "2012-01-10"}))
    [item] = api.ok(api.get(f"/v1/inspections/{inspection}/recommendations", "organisation"))["items"]
    assert {k: item[k] for k in ("id", "to", "text", "response", "progress", "status", "response_due_on")} == {
        "id": made["id"],
        "to": "Cumbria",
        "text": "Review every risk plan.",
        "response": None,
        "progress": None,
        "status": "published",
        "response_due_on": "2012-03-06",
    }
    with freeze_time("2012-02-01"):
        answered = api.ok(
            api.post(f"{mine}/response", {"response": "partly_agreed", "note": "Not the staffing."}, "organisation")
        )
        assert (answered["response"], answered["response_note"], answered["responded_late"]) == (
            "partly_agreed",
            "Not the staffing.",
            False,
        )
        assert_problem(api.post(f"{mine}/response", {"response": "agreed"}, "organisation"), 409)
        progress = api.ok(api.post(f"{mine}/progress", {"status": "in_progress", "note": "Half done."}, "organisation"))
    assert progress["progress"] == "in_progress" and progress["progress_reported_on"] == "2012-02-01"
    read = api.get(mine, "organisation")
    assert read.status_code == 200 and read.headers["ETag"] == f'"{read.get_json()["version"]}"'
    assert_problem(api.post(f"/v1/inspections/{inspection}/recommendations", {"to": "Cumbria", "text": "Late."}), 409)
    history = api.ok(api.get(f"/v1/inspections/{inspection}/history", "auditor"))["events"]
    steps = [e["summary"] for e in history if e["type"].startswith("recommendation.")]
    assert steps == [
        "Inspector (HMI Probation) (inspector) made a recommendation to Cumbria",
        "Recommendation to Cumbria published with the report on 2012-01-10; response due 2012-03-06",
        "Organisation (Cumbria) (organisation) answered the recommendation to Cumbria: partly agreed",
        "Organisation (Cumbria) (organisation) reported progress on the recommendation to Cumbria: in progress",
    ]


def test_another_bodys_organisation_never_sees_nor_answers_it(api: Api) -> None:
    inspection = ready(api)
    rid = recommend(api, inspection)["id"]
    api.ok(api.post(f"/v1/inspections/{inspection}/publish", {"published_on": "2012-01-10"}))
    for method, path, body in (
        ("GET", f"/v1/recommendations/{rid}", None),
        ("GET", f"/v1/inspections/{inspection}/recommendations", None),
        ("POST", f"/v1/recommendations/{rid}/response", {"response": "agreed"}),
        ("POST", f"/v1/recommendations/{rid}/progress", {"status": "achieved"}),
    ):
        assert_problem(as_org(api, method, path, "Cheshire", body), 404)
    unknown = assert_problem(as_org(api, "GET", f"/v1/recommendations/{UNKNOWN}"), 404)
    other = assert_problem(as_org(api, "GET", f"/v1/recommendations/{rid}"), 404)
    assert unknown["detail"].replace(UNKNOWN, "?") == other["detail"].replace(rid, "?")  # no telling them apart
    assert api.ok(api.get(f"/v1/recommendations/{rid}", "organisation"))["response"] is None  # Cumbria's unchanged


def test_a_recommendation_to_another_body_is_answered_by_that_body(api: Api) -> None:
    inspection = ready(api)
    rid = recommend(api, inspection, to="HM Prison and Probation Service")["id"]
    api.ok(api.post(f"/v1/inspections/{inspection}/publish", {"published_on": "2012-01-10"}))
    hmpps = as_org(
        api, "POST", f"/v1/recommendations/{rid}/response", "hm prison and probation service ", {"response": "agreed"}
    )
    assert hmpps.status_code == 200 and hmpps.get_json()["response"] == "agreed"
    assert_problem(
        as_org(api, "GET", f"/v1/inspections/{inspection}/recommendations", "HM Prison and Probation Service"), 404
    )


def test_absurd_values_wrong_roles_and_unknown_ids(api: Api) -> None:
    inspection = ready(api)
    rid = recommend(api, inspection)["id"]
    make = f"/v1/inspections/{inspection}/recommendations"
    for body in (
        {},
        {"to": "Cumbria"},
        {"text": "x"},
        {"to": "", "text": "x"},
        {"to": "  ", "text": "x"},
        {"to": "Cumbria", "text": ""},
        {"to": "Cumbria", "text": "x" * 10_001},
        {"to": 7, "text": "x"},
        {"to": "x" * 201, "text": "x"},
        {"to": "Cumbria", "text": "x", "colour": "red"},
        {"to": "Cumbria", "text": "x", "to_body_id": "not-a-uuid"},
        {"to": "Cumbria", "text": "x", "to_body_id": UNKNOWN},  # no such body in the register
        {"to": "C\u0000", "text": "x"},
    ):
        assert_problem(api.post(make, body), 422)
    # A registered addressee is kept, by id.
    registered = api.ok(api.post("/v1/bodies", {"name": "Cumbria", "type": "yot", "region": "North West"}), 201)
    made = api.ok(api.post(make, {"to": "Cumbria", "text": "x", "to_body_id": registered["id"]}), 201)
    assert made["to_body_id"] == registered["id"]
    assert_problem(api.post(f"/v1/inspections/{UNKNOWN}/recommendations", {"to": "Cumbria", "text": "x"}), 404)
    assert_problem(api.post(f"/v1/cases/{UNKNOWN}/recommendations", {"to": "Cumbria", "text": "x"}), 404)
    api.ok(api.post(f"/v1/inspections/{inspection}/publish", {"published_on": "2012-01-10"}))
    for body in (
        {"response": "maybe"},
        {"response": "AGREED"},
        {"response": True},
        {},
        {"response": "agreed", "note": 5},
        {"response": "agreed", "note": "x" * 10_001},
    ):
        assert_problem(api.post(f"/v1/recommendations/{rid}/response", body, "organisation"), 422)
    for body in ({"status": "done"}, {"status": None}, {"status": "achieved", "extra": 1}):
        assert_problem(api.post(f"/v1/recommendations/{rid}/progress", body, "organisation"), 422)
    for role in ("inspector", "admin", "auditor", "qa_reviewer", "local_assessor", "integration"):
        assert_problem(api.post(f"/v1/recommendations/{rid}/response", {"response": "agreed"}, role), 403)
    assert_problem(api.post(f"/v1/recommendations/{rid}/judgement", {"judgement": "achieved"}, "organisation"), 403)
    assert_problem(api.post(f"/v1/recommendations/{rid}/judgement", {"judgement": "fine"}), 422)
    # Judged only by a reinspection under way: none is scheduled yet.
    assert_problem(api.post(f"/v1/recommendations/{rid}/judgement", {"judgement": "achieved"}), 409)
    assert_problem(api.get(f"/v1/recommendations/{UNKNOWN}"), 404)
    assert api.ok(api.get(f"/v1/recommendations/{rid}", "organisation"))["response"] is None  # nothing slipped in


def test_the_reinspection_judges_them_and_its_comparison_shows_them(api: Api) -> None:
    origin = ready(api)
    rid = recommend(api, origin)["id"]
    published = api.ok(api.post(f"/v1/inspections/{origin}/publish", {"published_on": "2012-01-10"}))
    reinspection = published["reinspection"]["id"]
    follow_up = api.schedule("Cumbria", start="2012-12-03")
    api.ok(api.post(f"/v1/reinspections/{reinspection}/schedule", {"inspection_id": follow_up}))
    api.ok(api.post(f"/v1/inspections/{follow_up}/start-fieldwork", {}))
    case = api.ok(
        api.post(f"/v1/inspections/{follow_up}/cases", {"case_ref": "R1", "characteristics": characteristics()}), 201
    )["id"]
    api.ok(api.post(f"/v1/cases/{case}/ratings", {"judgements": judgements(True)}))
    api.ok(api.post(f"/v1/inspections/{follow_up}/complete-fieldwork"))
    assert_problem(api.post(f"/v1/inspections/{follow_up}/publish", {"published_on": "2013-06-01"}), 409)
    judged = api.ok(
        api.post(
            f"/v1/recommendations/{rid}/judgement", {"judgement": "partly_achieved", "note": "Most plans reviewed."}
        )
    )
    assert judged["judged_in"] == {"reinspection_id": reinspection, "inspection_id": follow_up}
    draft = api.ok(api.get(f"/v1/reinspections/{reinspection}", "organisation"))["recommendations"]
    assert [r["judgement"] for r in draft] == [None]  # the organisation waits for the report
    assert [r["judgement"] for r in api.ok(api.get(f"/v1/reinspections/{reinspection}"))["recommendations"]] == [
        "partly_achieved"
    ]
    api.ok(api.post(f"/v1/inspections/{follow_up}/publish", {"published_on": "2013-06-01"}))
    assert_problem(api.post(f"/v1/recommendations/{rid}/judgement", {"judgement": "achieved"}), 409)
    comparison = api.ok(api.get(f"/v1/reinspections/{reinspection}", "organisation"))
    assert comparison["comparison"] and comparison["status"] == "completed"
    assert [(r["id"], r["to"], r["judgement"], r["judgement_published_on"]) for r in comparison["recommendations"]] == [
        (rid, "Cumbria", "partly_achieved", "2013-06-01")
    ]


def announce(api: Api, role: str = "admin", **overrides: Any) -> TestResponse:
    body = {
        "title": "Domestic abuse work of CRCs",
        "topic": "domestic abuse",
        "sector": "adult",
        "partners": ["HM Inspectorate of Prisons"],
        "announced_on": "2018-05-18",
        **overrides,
    }
    return api.post("/v1/thematics", body, role)


def test_a_thematic_inspection_from_announcement_to_recommendations(api: Api) -> None:
    thematic = api.ok(announce(api, fieldwork_start="2018-06-04"), 201)
    assert (thematic["status"], thematic["joint"], thematic["planned_fieldwork_start"]) == (
        "announced",
        True,
        "2018-06-04",
    )
    tid = thematic["id"]
    assert_problem(api.post(f"/v1/thematics/{tid}/start-fieldwork", {"fieldwork_start": "2018-05-18"}), 422)
    assert_problem(api.post(f"/v1/thematics/{tid}/findings", {"findings": "Too early."}), 409)
    api.ok(api.post(f"/v1/thematics/{tid}/start-fieldwork", {"fieldwork_start": "2018-06-04"}))
    assert_problem(api.post(f"/v1/thematics/{tid}/publish", {"published_on": "2018-12-03"}), 409)  # no findings
    api.ok(api.post(f"/v1/thematics/{tid}/findings", {"findings": "Victims were rarely contacted."}))
    rid = recommend(api, tid, to="Cumbria", path="thematics")["id"]
    also = recommend(api, tid, to="Cheshire", text="Contact every victim.")  # the inspections path takes it too
    assert also["thematic_id"] == tid and also["inspection_id"] is None
    assert api.ok(api.get(f"/v1/thematics/{tid}", "organisation"))["findings"] is None  # a draft until published
    assert api.ok(api.get(f"/v1/thematics/{tid}/recommendations", "organisation")) == {"items": []}
    published = api.ok(api.post(f"/v1/thematics/{tid}/publish", {"published_on": "2018-12-03"}))
    assert published["status"] == "published" and published["recommendation_ids"] == [rid, also["id"]]
    assert api.ok(api.get(f"/v1/thematics/{tid}", "organisation"))["findings"] == "Victims were rarely contacted."
    mine = api.ok(api.get(f"/v1/thematics/{tid}/recommendations", "organisation"))["items"]
    assert [(i["id"], i["to"], i["response_due_on"]) for i in mine] == [(rid, "Cumbria", "2019-01-31")]
    assert len(api.ok(api.get(f"/v1/thematics/{tid}/recommendations", "auditor"))["items"]) == 2
    assert (
        api.ok(api.post(f"/v1/recommendations/{rid}/response", {"response": "agreed"}, "organisation"))["response"]
        == "agreed"
    )
    assert_problem(api.post(f"/v1/thematics/{tid}/recommendations", {"to": "Cumbria", "text": "Late."}), 409)
    listed = api.ok(api.get("/v1/thematics?sector=adult&status=published", "organisation"))["items"]
    assert [t["id"] for t in listed] == [tid]
    assert api.ok(api.get("/v1/thematics?sector=youth"))["items"] == []


def test_thematic_announcements_refuse_absurd_values_and_other_roles(api: Api) -> None:
    assert api.ok(announce(api, "inspector", partners=[]), 201)["joint"] is False
    for overrides in (
        {"announced_on": "2999-01-01"},
        {"fieldwork_start": "2018-05-18"},
        {"fieldwork_start": "2018-05-01"},
        {"sector": "space"},
        {"partners": ["Ofsted", "ofsted"]},
        {"partners": "Ofsted"},
        {"partners": [""]},
        {"partners": ["x"] * 21},
        {"title": " "},
        {"announced_on": "18/05/2018"},
        {"colour": "red"},
    ):
        assert_problem(announce(api, **overrides), 422)
    for role in ("organisation", "auditor", "qa_reviewer", "local_assessor", "integration"):
        assert_problem(announce(api, role), 403)
    assert_problem(api.get(f"/v1/thematics/{UNKNOWN}"), 404)
    assert_problem(api.get("/v1/thematics?status=lost"), 422)
    assert len(api.ok(api.get("/v1/thematics"))["items"]) == 1  # nothing refused was recorded
