"""Issue 19 end to end, through the API only: plan a year from the register, inspect a selected body,
publish with a recommendation, the body answers, a reinspection judges it; history and feed show each step."""

from __future__ import annotations

from typing import Any

from freezegun import freeze_time

from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.api.test_events_feed import everything
from tests.api.test_standards_2018_api import COURT, PROBATION_QUESTIONS, key_questions
from tests.factories import characteristics

NPS = "North West NPS"
STANDARDS = ("1.1", "1.2", "1.3", "1.4", "3.1", "3.2")


def register(api: Api, name: str, type_: str, succeeds: list[str] | None = None) -> str:
    data: dict[str, Any] = {"name": name, "type": type_, "region": "North West"}
    if succeeds:
        data["succeeds"] = succeeds
    return api.ok(api.post("/v1/bodies", data), 201)["id"]


def inspect(api: Api, body_id: str, start: str, rating: str, reinspection: str | None = None) -> str:
    """An inspection of the registered body (by id) through fieldwork, every standard rated ``rating``;
    the follow-up of ``reinspection`` if given."""
    created = api.ok(
        api.post(
            "/v1/inspections", {"programme": "PROBATION", "inspected_body": {"id": body_id}, "fieldwork_start": start}
        ),
        201,
    )
    assert created["inspected_body"]["id"] == body_id and created["inspected_body"]["name"] == NPS
    inspection = created["id"]
    if reinspection is not None:
        api.ok(api.post(f"/v1/reinspections/{reinspection}/schedule", {"inspection_id": inspection}))
    api.ok(api.post(f"/v1/inspections/{inspection}/start-fieldwork", {}))
    case = api.ok(
        api.post(
            f"/v1/inspections/{inspection}/cases",
            {"case_ref": "A1", "characteristics": characteristics(disposal="pre_court")},
        ),
        201,
    )["id"]
    api.ok(api.post(f"/v1/cases/{case}/ratings", {"judgements": key_questions(COURT, False, PROBATION_QUESTIONS)}))
    api.ok(api.post(f"/v1/inspections/{inspection}/complete-fieldwork", {}))
    for code in STANDARDS:
        api.ok(
            api.post(f"/v1/inspections/{inspection}/standards/{code}/rating", {"rating": rating, "rationale": "Seen."})
        )
    return inspection


def test_plan_inspect_publish_with_recommendations_respond_and_follow_up(api: Api) -> None:
    trust = register(api, "Cumbria and Lancashire Trust", "probation_trust")
    nps = register(api, NPS, "nps_division", [trust])
    crc = register(api, "Cumbria and Lancashire CRC", "crc", [trust])
    api.ok(api.call("PUT", f"/v1/bodies/{crc}/indicators/2017-18", "inspector", json={"caseload": 2400}))

    # The plan: PROBATION inspects every NPS division and CRC each year, each with its reasons.
    plan = api.ok(api.post("/v1/programmes/PROBATION/plans", {"year": "2018-19", "capacity": 2}), 201)
    assert {e["body_id"] for e in plan["selected"]} == {nps, crc}
    assert all(e["reasons"] for e in plan["selected"])
    assert trust not in {e["body_id"] for e in plan["selected"]}  # succeeded in 2014: no longer inspected

    # The selected division is inspected; a recommendation goes into the report before publication.
    origin = inspect(api, nps, "2019-03-04", "inadequate")
    made = api.ok(
        api.post(f"/v1/inspections/{origin}/recommendations", {"to": NPS, "text": "Review every risk plan."}), 201
    )
    with freeze_time("2019-07-01"):
        published = api.ok(api.post(f"/v1/inspections/{origin}/publish", {"published_on": "2019-06-01"}))
    assert published["of_concern"] is True
    reinspection = published["reinspection"]["id"]
    assert api.ok(api.get(f"/v1/bodies/{nps}"))["inspections"][0]["id"] == origin

    # The body answers and reports progress (its own organisation token only).
    mine = f"/v1/recommendations/{made['id']}"
    other = api.token("organisation", "Cumbria and Lancashire CRC")
    assert_problem(
        api.call(
            "POST", f"{mine}/response", None, json={"response": "agreed"}, headers={"Authorization": f"Bearer {other}"}
        ),
        404,
    )
    token = api.token("organisation", NPS)
    as_body = {"Authorization": f"Bearer {token}"}
    with freeze_time("2019-07-02"):
        api.ok(
            api.call(
                "POST", f"{mine}/response", None, json={"response": "agreed", "note": "By March."}, headers=as_body
            )
        )
        api.ok(api.call("POST", f"{mine}/progress", None, json={"status": "in_progress"}, headers=as_body))
    answered = api.ok(api.call("GET", mine, None, headers=as_body))
    assert (answered["response"], answered["progress"]) == ("agreed", "in_progress")

    # The reinspection judges the recommendation; its comparison shows the judgement once published.
    follow_up = inspect(api, nps, "2020-03-02", "good", reinspection)
    api.ok(api.post(f"{mine}/judgement", {"judgement": "achieved", "note": "Every plan reviewed."}))
    with freeze_time("2020-07-01"):
        api.ok(api.post(f"/v1/inspections/{follow_up}/publish", {"published_on": "2020-06-15"}))
    comparison = api.ok(api.call("GET", f"/v1/reinspections/{reinspection}", None, headers=as_body))
    assert [(r["id"], r["judgement"]) for r in comparison["recommendations"]] == [(made["id"], "achieved")]

    # History and the feed show each step.
    history = api.ok(api.get(f"/v1/inspections/{origin}/history", "auditor"))
    kinds = [e["type"] for e in (history["events"] if isinstance(history, dict) else history)]
    for step in (
        "inspection.scheduled.v1",
        "inspection.recommendation_made.v1",
        "inspection.report_published.v1",
        "recommendation.published.v1",
        "recommendation.responded.v1",
        "recommendation.progress_reported.v1",
    ):
        assert step in kinds, step
    types = {e["type"] for e in everything(api, "auditor")}
    assert {
        "body.registered.v1",
        "body.succeeded.v1",
        "body.indicators_recorded.v1",
        "plan.drawn_up.v1",
        "recommendation.judged.v1",
        "recommendation.judgement_published.v1",
        "reinspection.completed.v1",
    } <= types
