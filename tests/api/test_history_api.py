"""An inspection's whole history over HTTP (JSON and CSV), and a programme year as it stood at a past moment."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from freezegun import freeze_time

from application.app import InspectorateApp
from application.past_years import programme_year_as_of
from domain.base import Actor
from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.api.audit_story import ANN, record_every_type
from tests.factories import body, characteristics, judgements
from web import services_of

CASE_FIELDS = ("position", "stream", "version", "type", "recorded_at", "actor", "data", "summary")


def history(api: Api, inspection_id: object, role: str = "auditor") -> list[dict]:
    return api.ok(api.get(f"/v1/inspections/{inspection_id}/history", role))["events"]


def test_history_holds_every_stream_in_recorded_order_with_summaries(api: Api) -> None:
    app = services_of(api.app).app
    story = record_every_type(app)
    events = history(api, story.inspection_id)
    streams = {e["stream"] for e in events}
    assert streams == {
        str(s) for s in (story.inspection_id, *story.case_ids, story.reinspection_id, story.complaint_id)
    }
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert all(set(CASE_FIELDS) <= set(e) for e in events)
    summaries = [e["summary"] for e in events]
    assert (
        summaries[0] == "Ann Inspector (inspector) scheduled the OMI2 inspection of Cumbria, fieldwork from 2011-05-03"
    )
    assert "Ann Inspector (inspector) rated case C0: 9 judgements" in summaries
    assert "Quinn Reviewer (qa_reviewer) moderated case C0: 2 judgements" in summaries
    assert any(
        s.startswith("Ann Inspector (inspector) published the report on 2012-01-10: risk of harm 33%")
        for s in summaries
    )
    assert "Cumbria rep (organisation) made a complaint (report wording); response due" in " ".join(summaries)
    assert "Ann Inspector (inspector) closed the complaint: partly upheld" in summaries
    # Summaries never carry case characteristics (special category data).
    for value in characteristics().values():
        if isinstance(value, str):
            assert not any(value in s for s in summaries), value
    rated = next(e for e in events if e["type"] == "case.rated.v1")
    assert rated["actor"] == {"id": "token-ann", "name": "Ann Inspector", "role": "inspector", "organisation": None}
    complained = next(e for e in events if e["type"] == "complaint.received.v1")
    assert complained["actor"] == {
        "id": "token-cumbria-rep",
        "name": "Cumbria rep",
        "role": "organisation",
        "organisation": "Cumbria",
    }
    assert len(rated["data"]["judgements"]) == 9


def test_history_as_csv_has_one_row_per_event_and_data_as_json(api: Api) -> None:
    app = services_of(api.app).app
    story = record_every_type(app)
    response = api.get(f"/v1/inspections/{story.inspection_id}/history?format=csv", "auditor")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    events = history(api, story.inspection_id)
    assert [int(r["position"]) for r in rows] == [e["position"] for e in events]
    assert [json.loads(r["data"]) for r in rows] == [e["data"] for e in events]
    assert [r["summary"] for r in rows] == [e["summary"] for e in events]
    assert rows[0]["actor_name"] == "Ann Inspector" and rows[0]["type"] == "inspection.scheduled.v1"
    assert [(r["actor_id"], r["actor_organisation"]) for r in rows] == [
        (e["actor"]["id"] or "", e["actor"]["organisation"] or "") for e in events
    ]
    assert rows[0]["actor_id"] == "token-ann"
    assert_problem(api.get(f"/v1/inspections/{story.inspection_id}/history?format=xml", "auditor"), 422)


def test_a_name_that_looks_like_a_formula_cannot_run_in_a_spreadsheet(api: Api) -> None:
    app = services_of(api.app).app
    inspection_id = app.schedule_inspection(Actor("=HYPERLINK(1)", "inspector"), "OMI2", body(), date(2011, 5, 3)).body[
        "id"
    ]
    response = api.get(f"/v1/inspections/{inspection_id}/history?format=csv", "auditor")
    row = next(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["actor_name"] == "'=HYPERLINK(1)"


def test_who_may_read_a_history(api: Api) -> None:
    app = services_of(api.app).app
    story = record_every_type(app)
    cheshire = record_every_type(app, name="Cheshire")
    for role in ("admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation"):
        assert api.get(f"/v1/inspections/{story.inspection_id}/history", role).status_code == 200
    unknown = "00000000-0000-4000-8000-000000000000"
    hidden = assert_problem(api.get(f"/v1/inspections/{cheshire.inspection_id}/history", "organisation"), 404)
    absent = assert_problem(api.get(f"/v1/inspections/{unknown}/history", "organisation"), 404)
    assert hidden == {**absent, "detail": absent["detail"].replace(unknown, str(cheshire.inspection_id))}
    assert_problem(api.get(f"/v1/inspections/{story.inspection_id}/history", "integration"), 403)
    assert_problem(api.get(f"/v1/inspections/{story.inspection_id}/history", None), 401)
    assert_problem(api.get("/v1/inspections/00000000-0000-4000-8000-000000000000/history", "auditor"), 404)
    assert_problem(api.get(f"/v1/inspections/{story.case_ids[0]}/history", "auditor"), 404)  # a case is not one


def test_reading_a_history_is_itself_recorded(api: Api) -> None:
    app = services_of(api.app).app
    story = record_every_type(app)
    history(api, story.inspection_id, "organisation")
    reads = api.ok(api.get(f"/v1/audit/reads?subject_id={story.inspection_id}", "admin"))["items"]
    assert [(r["what"], r["actor"]["role"], r["actor"]["organisation"]) for r in reads] == [
        ("inspection.history", "organisation", "Cumbria")
    ]


# -- a programme year as it stood ------------------------------------------------------------


def _publish(app: InspectorateApp, name: str, verdicts: list[bool], on: date, start: date = date(2011, 5, 3)) -> UUID:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), start).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    for n, verdict in enumerate(verdicts):
        case_id = UUID(app.add_case(ANN, inspection_id, f"C{n}", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(verdict))
    app.complete_fieldwork(ANN, inspection_id)
    app.publish(ANN, inspection_id, on)
    return inspection_id


def test_programme_year_as_of_counts_only_reports_recorded_by_then(api: Api) -> None:
    app = services_of(api.app).app
    first_at = datetime(2012, 1, 10, 9, 0, 0, 123456, tzinfo=UTC)
    with freeze_time(first_at):
        cumbria = _publish(app, "Cumbria", [True, True, False], date(2012, 1, 10))
    with freeze_time("2012-02-20 09:00:00+00:00"):
        cheshire = _publish(app, "Cheshire", [True, True, True, True], date(2012, 2, 20))
    with freeze_time("2013-01-10 09:00:00+00:00"):  # (not published in the future)
        _publish(app, "Lancashire", [True], date(2013, 1, 10), start=date(2012, 5, 1))  # year 2012-13

    before = programme_year_as_of(app, "OMI2", "2011-12", first_at - timedelta(microseconds=1))
    assert (before["inspections"], before["cases"], before["rows"], before["aggregate"]) == (0, 0, [], {})

    at_first = programme_year_as_of(app, "OMI2", "2011-12", first_at)  # inclusive, to the microsecond
    assert at_first["inspections"] == 1 and at_first["cases"] == 3
    assert at_first["aggregate"]["risk_of_harm"] == {"score": 67, "sufficient": 6, "applicable": 9}
    assert at_first["rows"] == [
        {
            "inspection_id": str(cumbria),
            "inspected_body": "Cumbria",
            "cases": 3,
            "reinspection": False,
            "headline": {"risk_of_harm": 67, "likelihood_of_reoffending": 67, "compliance_and_enforcement": 67},
        }
    ]

    later = programme_year_as_of(app, "OMI2", "2011-12", datetime(2013, 1, 1, tzinfo=UTC))
    assert later["inspections"] == 2 and later["cases"] == 7
    assert later["aggregate"]["risk_of_harm"] == {"score": 86, "sufficient": 18, "applicable": 21}
    assert later["lowest"]["risk_of_harm"] == {
        "score": 67,
        "inspection_id": str(cumbria),
        "inspected_body": "Cumbria",
        "tied": [{"inspection_id": str(cumbria), "inspected_body": "Cumbria"}],
    }
    assert later["highest"]["risk_of_harm"] == {
        "score": 100,
        "inspection_id": str(cheshire),
        "inspected_body": "Cheshire",
        "tied": [{"inspection_id": str(cheshire), "inspected_body": "Cheshire"}],
    }
    assert [r["inspected_body"] for r in later["rows"]] == ["Cumbria", "Cheshire"]
    assert programme_year_as_of(app, "CCI", "2011-12", datetime(2013, 1, 1, tzinfo=UTC))["inspections"] == 0


def _project_views(api: Api) -> None:
    """Bring the live views up to the head, as the worker would."""
    from infrastructure.projections.engine import create_projection_engine
    from web.bootstrap import build_projector

    services = services_of(api.app)
    engine = create_projection_engine(services.settings)
    try:
        projector = build_projector(services.app, engine, services.settings)
        projector.ensure_tracking()
        projector.catch_up()
    finally:
        engine.dispose()


def test_programme_year_view_as_of_over_http_agrees_with_the_live_view(api: Api) -> None:
    app = services_of(api.app).app
    with freeze_time("2012-01-10 09:00:00+00:00"):
        _publish(app, "Cumbria", [True, True, False], date(2012, 1, 10))
    with freeze_time("2012-02-20 09:00:00+00:00"):
        _publish(app, "Cheshire", [True, False, False, True], date(2012, 2, 20))
    path = "/v1/views/programmes/OMI2/years/2011-12"
    then = api.ok(api.get(f"{path}?as_of=2012-01-31T00:00:00Z", "organisation"))
    assert then["inspections"] == 1 and [r["inspected_body"] for r in then["rows"]] == ["Cumbria"]
    offset = api.ok(api.get(f"{path}?as_of=2012-01-10T10:00:00%2B01:00", "auditor"))  # = 09:00Z, inclusive
    assert offset["inspections"] == 1
    assert api.ok(api.get(f"{path}?as_of=2012-01-10T08:59:59Z", "auditor"))["inspections"] == 0
    _project_views(api)
    live = api.ok(api.get(path, "auditor"))
    now = api.ok(api.get(f"{path}?as_of=2030-01-01T00:00:00Z", "auditor"))
    assert now.pop("as_of") == "2030-01-01T00:00:00+00:00"
    assert {k: v for k, v in now.items() if k in live} == live
    assert_problem(api.get(f"{path}?as_of=yesterday", "auditor"), 422)
    assert_problem(api.get(f"{path}?as_of=2012-01-31T00:00:00", "auditor"), 422)  # no offset
