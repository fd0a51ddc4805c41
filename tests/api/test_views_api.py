"""Read views over HTTP: shapes, roles, organisations, ?min_position, status and health."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time

from infrastructure.projections.engine import create_projection_engine
from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from web import services_of
from web.bootstrap import build_projector


def project(api: Api) -> int:
    """Bring every view up to the head of the record, as the worker would."""
    services = services_of(api.app)
    engine = create_projection_engine(services.settings)
    try:
        projector = build_projector(services.app, engine, services.settings)
        projector.ensure_tracking()
        projector.catch_up()
        return projector.position
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def short_wait(api: Api) -> None:
    api.app.config["INSPECTORATE_VIEW_WAIT_SECONDS"] = 0.2


def complain(api: Api, inspection_id: str, category: str = "methodology") -> dict[str, Any]:
    data = {"inspection_id": inspection_id, "category": category, "summary": "The sample left out custody cases."}
    return api.ok(api.post("/v1/complaints", data, "organisation"), 201)


def test_scores_are_live_in_fieldwork_with_intervals_and_a_breakdown_then_frozen(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    for n, verdict in enumerate((True, True, False)):
        api.rate(api.add_case(inspection_id, f"C{n}"), verdict)
    project(api)
    scores = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    assert scores["headline"]["risk_of_harm"] == {"score": 67, "sufficient": 6, "applicable": 9, "ci95": [35.4, 87.9]}
    assert scores["criteria"]["outcomes"]["applicable"] == 9 and scores["frozen"] is False
    assert scores["breakdown"]["gender"]["female"]["risk_of_harm"]["sufficient"] == 6
    assert scores["breakdown"]["looked_after"]["null"]["risk_of_harm"]["applicable"] == 9
    api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
    published = api.ok(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": "2012-01-10"}))
    project(api)
    frozen = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    assert frozen["frozen"] is True
    assert {
        a: {k: v[k] for k in ("score", "sufficient", "applicable")} for a, v in frozen["headline"].items()
    } == published["headline_scores"]


def test_min_position_waits_for_the_view_else_503_with_retry_after(api: Api) -> None:
    response = api.post(
        "/v1/inspections",
        {
            "programme": "OMI2",
            "fieldwork_start": "2011-05-03",
            "inspected_body": {"name": "Cumbria", "type": "probation_trust", "region": "North West"},
        },
    )
    position = int(response.headers["Inspectorate-Position"])
    inspection_id = response.get_json()["id"]
    path = f"/v1/views/inspections/{inspection_id}/scores?min_position={position}"
    problem = assert_problem(api.get(path), 503)
    assert "position" in problem["detail"]
    assert api.get(path).headers["Retry-After"] == "1"
    assert project(api) >= position
    assert api.ok(api.get(path))["inspection_id"] == inspection_id
    assert_problem(api.get("/v1/views/complaints?min_position=-1"), 422)
    assert_problem(api.get("/v1/views/complaints?since=3"), 422)


def test_a_min_position_beyond_the_head_is_422_at_once(api: Api) -> None:
    import time

    position = int(
        api.post(
            "/v1/inspections",
            {
                "programme": "OMI2",
                "fieldwork_start": "2011-05-03",
                "inspected_body": {"name": "Cumbria", "type": "probation_trust", "region": "North West"},
            },
        ).headers["Inspectorate-Position"]
    )
    started = time.monotonic()
    problem = assert_problem(api.get("/v1/views/complaints?min_position=999999999", "organisation"), 422)
    assert time.monotonic() - started < 0.5  # not a 3 s wait that can never succeed
    assert problem["errors"]["min_position"] == [f"Must be at most {position}, the head of the record."]
    assert_problem(api.get(f"/v1/views/complaints?min_position={position + 1}"), 422)
    assert_problem(api.get(f"/v1/views/complaints?min_position={position}"), 503)  # reachable: waited for


def test_a_long_held_request_beyond_the_workers_or_the_tokens_places_is_refused_at_once(api: Api, monkeypatch) -> None:
    import time

    from web import longheld

    position = int(
        api.post(
            "/v1/inspections",
            {
                "programme": "OMI2",
                "fieldwork_start": "2011-05-03",
                "inspected_body": {"name": "Cumbria", "type": "probation_trust", "region": "North West"},
            },
        ).headers["Inspectorate-Position"]
    )
    gate = longheld.Gate(places=3, per_token=2)
    monkeypatch.setattr(longheld, "GATE", gate)
    mine = longheld.hash_token(api.token("inspector"))
    held = [gate.admit(mine), gate.admit(mine)]  # this token's two places, taken
    started = time.monotonic()
    for path in (f"/v1/views/complaints?min_position={position}", "/v1/events/stream?timeout=5"):
        role = "inspector" if "views" in path else "auditor"
        if role == "auditor":
            held.append(gate.admit("someone else"))  # the worker's last place
        response = api.get(path, role)
        problem = assert_problem(response, 503)
        assert response.headers["Retry-After"] == "1" and "long-held" in problem["title"]
    assert time.monotonic() - started < 0.5
    assert api.ok(api.get("/v1/views/complaints", "inspector"))  # a plain read is never gated
    for release in held:
        release()
    assert gate.open == 0
    streamed = api.get("/v1/events/stream?timeout=0.2", "auditor")
    assert streamed.status_code == 200 and streamed.data.startswith(b"retry:")
    assert gate.open == 0  # the stream gave its place back when it ended


def test_programme_year_pools_published_inspections_with_lowest_and_highest(api: Api) -> None:
    first = api.published([True, True, False], "Cumbria", "2011-05-03")
    second = api.published([True, False, False, False], "Lancashire", "2011-06-07")
    project(api)
    year = api.ok(api.get("/v1/views/programmes/OMI2/years/2011-12"))
    assert year["inspections"] == 2 and year["cases"] == 7
    assert year["aggregate"]["risk_of_harm"] == {"score": 43, "sufficient": 9, "applicable": 21}
    assert year["lowest"]["risk_of_harm"] == {
        "score": 25,
        "inspection_id": second["id"],
        "inspected_body": "Lancashire",
        "tied": [{"inspection_id": second["id"], "inspected_body": "Lancashire"}],
    }
    assert year["highest"]["risk_of_harm"]["inspection_id"] == first["id"]
    assert [row["headline"]["risk_of_harm"] for row in year["rows"]] == [67, 25]
    empty = api.ok(api.get("/v1/views/programmes/CCI/years/2011-12"))
    assert empty["inspections"] == 0 and empty["rows"] == []
    assert_problem(api.get("/v1/views/programmes/XYZ/years/2011-12"), 404)
    assert_problem(api.get("/v1/views/programmes/OMI2/years/2011"), 404)


def test_complaints_view_counts_open_and_overdue_as_of_today(api: Api) -> None:
    mine, other = api.schedule("Cumbria"), api.schedule("Lancashire")
    with freeze_time("2011-12-20T10:00:00Z"):
        complaint = complain(api, mine)  # due 2012-01-20 (20 working days)
        api.ok(api.post("/v1/complaints", {"inspection_id": other, "category": "conduct", "summary": "Tone."}), 201)
    project(api)
    with freeze_time("2012-01-20T12:00:00Z"):
        on_the_day = api.ok(api.get("/v1/views/complaints"))
    assert (on_the_day["open"], on_the_day["overdue"]) == (2, 0)
    with freeze_time("2012-01-21T12:00:00Z"):
        late = api.ok(api.get("/v1/views/complaints", "admin"))
        assert (late["open"], late["overdue"]) == (2, 2)
        assert late["by_category"] == {"conduct": 1, "methodology": 1}
        own = api.ok(api.get("/v1/views/complaints", "organisation"))
        assert [item["id"] for item in own["items"]] == [complaint["id"]] and own["items"][0]["overdue"]
        path = f"/v1/complaints/{complaint['id']}"
        api.ok(api.post(f"{path}/acknowledge", {}))
        api.ok(api.post(f"{path}/respond", {"response": "We explained the sampling."}))
        api.ok(api.post(f"{path}/close", {"outcome": "not_upheld"}))
        project(api)
        after = api.ok(api.get("/v1/views/complaints", "admin"))
    assert (after["open"], after["overdue"], after["by_outcome"]) == (1, 1, {"not_upheld": 1})


def test_organisations_see_only_their_own_inspection_views(api: Api) -> None:
    other = api.in_fieldwork("Lancashire")
    mine = api.in_fieldwork(" CUMBRIA ", "2011-06-01")
    project(api)
    unknown = "00000000-0000-0000-0000-000000000000"
    hidden = assert_problem(api.get(f"/v1/views/inspections/{other}/scores", "organisation"), 404)
    absent = assert_problem(api.get(f"/v1/views/inspections/{unknown}/scores", "organisation"), 404)
    assert hidden == {**absent, "detail": absent["detail"].replace(unknown, other)}
    assert api.ok(api.get(f"/v1/views/inspections/{mine}/scores", "organisation"))["inspection_id"] == mine
    assert_problem(api.get(f"/v1/views/inspections/{mine}/scores", "integration"), 403)
    assert_problem(api.get("/v1/views/inspections/00000000-0000-0000-0000-000000000000/scores"), 404)


def test_consistency_is_for_quality_assurance_auditors_and_admins(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    case_id = api.add_case(inspection_id)
    api.rate(case_id, True)
    moderation = {
        "judgements": [
            {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": False},
            {"area": "risk_of_harm", "criterion": "interventions", "sufficient": True},
        ],
        "note": "Dip sample.",
    }
    api.ok(api.post(f"/v1/cases/{case_id}/moderations", moderation, "qa_reviewer"))
    project(api)
    for role in ("inspector", "organisation", "local_assessor", "integration"):
        assert_problem(api.get("/v1/views/consistency", role), 403)
    body = api.ok(api.get("/v1/views/consistency?programme=OMI2&year=2011-12", "qa_reviewer"))
    assert body["overall"]["pairs"] == 2 and body["overall"]["agreements"] == 1
    assert body["by_assessor"][0]["role"] == "inspector"
    assert [(d["criterion"], d["first"], d["moderated"]) for d in body["disagreements"]] == [("outcomes", True, False)]
    assert api.ok(api.get("/v1/views/consistency?year=2010-11", "auditor"))["overall"]["pairs"] == 0
    assert_problem(api.get("/v1/views/consistency?programme=NOPE", "admin"), 422)


def test_reinspections_view_lists_due_dates_and_status(api: Api) -> None:
    published = api.published([False, False, True])
    project(api)
    items = api.ok(api.get("/v1/views/reinspections"))["items"]
    assert [(i["id"], i["due_on"], i["status"]) for i in items] == [
        (published["reinspection"]["id"], published["reinspection"]["due_on"], "due")  # today is past 2013-01-10
    ]
    assert api.ok(api.get(f"/v1/views/reinspections?origin_inspection_id={published['id']}"))["items"]
    assert api.ok(api.get("/v1/views/reinspections?status=completed"))["items"] == []
    assert api.ok(api.get("/v1/views/reinspections", "organisation"))["items"]  # Cumbria's own
    assert (
        api.ok(
            api.get(
                "/v1/views/reinspections",
                "organisation",
                headers={"Authorization": f"Bearer {api.token('organisation', 'Lancashire')}"},
            )
        )["items"]
        == []
    )


def test_a_reinspection_reads_due_from_its_due_date_in_both_reads_before_the_deadline_process(api: Api) -> None:
    with freeze_time("2012-01-10 09:00:00+00:00"):  # published then: pending until 2013-01-10
        published = api.published([False, False, True])
        project(api)
    reinspection_id = published["reinspection"]["id"]
    with freeze_time("2013-01-09 09:00:00+00:00"):
        assert [i["status"] for i in api.ok(api.get("/v1/views/reinspections"))["items"]] == ["pending"]
    with freeze_time("2013-01-10 09:00:00+00:00"):  # nobody has run mark_due_reinspections
        view = api.ok(api.get("/v1/views/reinspections?status=due"))["items"]
        listed = api.ok(api.get("/v1/reinspections?status=due"))["items"]
        assert [i["id"] for i in view] == [i["id"] for i in listed] == [reinspection_id]
        assert api.ok(api.get("/v1/views/reinspections?status=pending"))["items"] == []


def test_status_shows_each_views_position_and_lag_and_health_no_counts(api: Api) -> None:
    api.schedule()
    assert_problem(api.get("/v1/views/status", "inspector"), 403)
    before = api.ok(api.get("/v1/views/status", "auditor"))
    assert before["views"]["scores"]["lag"] == before["head"] > 0
    project(api)
    after = api.ok(api.get("/v1/views/status", "admin"))
    assert {v["lag"] for v in after["views"].values()} == {0}
    assert after["views"]["complaints"]["position"] == after["head"]
    assert api.ok(api.get("/health", None)) == {"status": "ok"}  # readiness, unauthenticated: no counts
    assert api.ok(api.get("/health/live", None)) == {"status": "ok"}


def test_health_is_503_while_the_database_does_not_answer_and_live_stays_200(api: Api, monkeypatch) -> None:
    import sqlalchemy.exc

    from web import services_of

    engine = services_of(api.app).read_engine

    def refused(*_: object, **__: object) -> None:
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(engine, "connect", refused)
    response = api.get("/health", None)
    problem = assert_problem(response, 503)
    assert response.headers["Retry-After"] and "database" in problem["detail"]
    assert set(problem) == {"type", "title", "status", "detail"}
    assert api.ok(api.get("/health/live", None)) == {"status": "ok"}
    monkeypatch.undo()
    assert api.ok(api.get("/health", None)) == {"status": "ok"}
