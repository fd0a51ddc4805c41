"""Inspections over HTTP: schedule, fieldwork, publish, read (also as of a past moment)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.api.api_client import Api, assert_problem
from tests.factories import OMI2_AREAS, body


def test_schedule_answers_201_with_the_new_inspection_and_write_headers(api: Api) -> None:
    response = api.post(
        "/v1/inspections",
        {
            "programme": "OMI2",
            "inspected_body": body(),
            "fieldwork_start": "2011-05-03",
            "fieldwork_end": "2011-05-10",
            "lead_inspector": "Ann Inspector",
        },
    )
    created = api.ok(response, 201)
    assert created["status"] == "scheduled"
    assert (created["programme"], created["framework"], created["year"]) == ("OMI2", "OMI2-2009", "2011-12")
    assert created["inspected_body"] == {**body(), "id": created["inspected_body"]["id"]}  # with its register id
    assert created["fieldwork_end"] == "2011-05-10" and created["lead_inspector"] == "Ann Inspector"
    assert response.headers["ETag"] == '"1"'
    assert int(response.headers["Inspectorate-Position"]) >= 1


def test_business_year_runs_april_to_march(api: Api) -> None:
    march = api.ok(api.get(f"/v1/inspections/{api.schedule(start='2012-03-31')}"))
    april = api.ok(api.get(f"/v1/inspections/{api.schedule(start='2012-04-01')}"))
    assert (march["year"], april["year"]) == ("2011-12", "2012-13")


def test_the_same_inspection_twice_is_409(api: Api) -> None:
    api.schedule("Cumbria")
    again = api.post(
        "/v1/inspections", {"programme": "OMI2", "inspected_body": body(" CUMBRIA "), "fieldwork_start": "2011-05-03"}
    )
    assert_problem(again, 409)


def test_get_inspection_has_the_contract_fields_and_an_etag(api: Api) -> None:
    inspection_id = api.schedule()
    response = api.get(f"/v1/inspections/{inspection_id}", "auditor")
    got = api.ok(response)
    for field in (
        "id",
        "programme",
        "framework",
        "year",
        "inspected_body",
        "status",
        "fieldwork_start",
        "published_on",
        "case_count",
        "version",
        "headline_scores",
    ):
        assert field in got
    assert got["case_count"] == 0 and got["published_on"] is None and got["headline_scores"] is None
    assert response.headers["ETag"] == f'"{got["version"]}"' == '"1"'


@pytest.mark.parametrize("body_", [None, {}], ids=["empty body", "empty object"])
def test_commands_without_arguments_take_an_empty_body_or_empty_object(api: Api, body_: object) -> None:
    inspection_id = api.schedule()
    response = api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", body_)
    assert api.ok(response)["status"] == "fieldwork"
    assert response.headers["ETag"] == '"2"'


def test_lifecycle_out_of_order_is_409(api: Api) -> None:
    inspection_id = api.schedule()
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"), 409)
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": "2012-01-10"}), 409)
    api.post(f"/v1/inspections/{inspection_id}/start-fieldwork")
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork"), 409)


def test_complete_fieldwork_is_409_while_a_case_is_unjudged(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    case_id = api.add_case(inspection_id)
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"), 409)
    api.rate(case_id, True)
    assert api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))["status"] == "fieldwork_complete"


def test_publish_freezes_headline_scores_and_needs_no_reinspection_when_not_of_concern(api: Api) -> None:
    published = api.published([True, True, True, False])
    assert published["status"] == "published" and published["published_on"] == "2012-01-10"
    assert published["headline_scores"] == {
        area: {"score": 75, "sufficient": 9, "applicable": 12} for area in OMI2_AREAS
    }
    assert published["reinspection"] is None
    again = api.post(f"/v1/inspections/{published['id']}/publish", {"published_on": "2012-01-11"})
    assert_problem(again, 409)
    got = api.ok(api.get(f"/v1/inspections/{published['id']}"))
    assert got["headline_scores"] == published["headline_scores"] and got["case_count"] == 4


def test_publish_of_concern_triggers_a_reinspection_due_twelve_months_later(api: Api) -> None:
    published = api.published([False, False, True])
    assert published["headline_scores"]["risk_of_harm"]["score"] == 33
    assert published["reinspection"]["due_on"] == "2013-01-10"
    assert published["reinspection"]["id"]


def test_if_match_with_the_current_version_succeeds_and_a_stale_one_is_412(api: Api) -> None:
    inspection_id = api.schedule()
    path = f"/v1/inspections/{inspection_id}/start-fieldwork"
    assert_problem(api.post(path, headers={"If-Match": '"7"'}), 412)
    response = api.post(path, headers={"If-Match": '"1"'})
    assert api.ok(response)["version"] == 2 and response.headers["ETag"] == '"2"'
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork", headers={"If-Match": '"1"'}), 412)


def test_as_of_answers_the_state_recorded_at_that_moment_inclusive_to_the_microsecond(api: Api) -> None:
    scheduled_at = datetime(2011, 4, 20, 9, 0, 0, 123456, tzinfo=UTC)
    with freeze_time(scheduled_at) as frozen:
        inspection_id = api.schedule()
        frozen.tick(timedelta(hours=1))
        api.post(f"/v1/inspections/{inspection_id}/start-fieldwork")
    path = f"/v1/inspections/{inspection_id}"

    def as_of(moment: str) -> object:
        return api.get(path, query_string={"as_of": moment})

    assert_problem(as_of("2011-04-20T09:00:00.123455Z"), 404)
    assert api.ok(as_of("2011-04-20T09:00:00.123456Z"))["status"] == "scheduled"
    assert api.ok(as_of("2011-04-20T10:00:00.123455+00:00"))["status"] == "scheduled"
    at_start = as_of("2011-04-20T11:00:00.123456+01:00")  # the same instant as 10:00:00.123456Z
    assert api.ok(at_start)["status"] == "fieldwork" and at_start.headers["ETag"] == '"2"'
    assert api.ok(api.get(path))["status"] == "fieldwork"


def test_as_of_with_an_unencoded_plus_is_read_as_an_offset(api: Api) -> None:
    inspection_id = api.schedule()
    response = api.client.get(
        f"/v1/inspections/{inspection_id}?as_of=2999-01-01T00:00:00+01:00", headers=api.headers("inspector")
    )
    assert api.ok(response)["status"] == "scheduled"


@pytest.mark.parametrize("moment", ["garbage", "2011-04-20T09:00:00", "2011-04-20", "2011-02-30T00:00:00Z"])
def test_as_of_without_an_offset_or_malformed_is_422(api: Api, moment: str) -> None:
    inspection_id = api.schedule()
    problem = assert_problem(api.get(f"/v1/inspections/{inspection_id}", query_string={"as_of": moment}), 422)
    assert "as_of" in problem["errors"]


def test_unknown_inspection_is_404(api: Api) -> None:
    assert_problem(api.get("/v1/inspections/00000000-0000-0000-0000-000000000000"), 404)
    assert_problem(api.post("/v1/inspections/00000000-0000-0000-0000-000000000000/start-fieldwork"), 404)


def test_an_organisation_reads_only_its_own_inspections(api: Api) -> None:
    """Another body's inspection does not exist for an organisation (ids are predictable: a 403 would
    tell it that the body is inspected): the very answer an unknown id gets, now and as of a moment."""
    own, other = api.schedule("Cumbria"), api.schedule("Lancashire")
    unknown = "00000000-0000-0000-0000-000000000000"
    assert api.ok(api.get(f"/v1/inspections/{own}", "organisation"))["id"] == own
    for query in ({}, {"as_of": "2999-01-01T00:00:00Z"}):
        hidden = assert_problem(api.get(f"/v1/inspections/{other}", "organisation", query_string=query), 404)
        absent = assert_problem(api.get(f"/v1/inspections/{unknown}", "organisation", query_string=query), 404)
        assert hidden == {**absent, "detail": absent["detail"].replace(unknown, other)}
        assert api.ok(api.get(f"/v1/inspections/{other}", "inspector", query_string=query))["id"] == other


def test_every_response_carries_the_security_headers(api: Api) -> None:
    for response in (api.get("/health", None), api.get("/v1/inspections/not-a-uuid"), api.post("/v1/inspections")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert api.get("/v1/inspections/not-a-uuid").headers["Cache-Control"] == "no-store"


def test_security_headers_replace_a_views_own_and_appear_once(api: Api) -> None:
    from flask import Response, g

    from web.logging import STRICT_CSP, security_headers

    with api.app.test_request_context("/v1/events"):
        g.correlation_id = "corr-7"
        response = Response("x", headers={"cache-control": "no-cache", "X-Frame-Options": "SAMEORIGIN"})
        names = [name.lower() for name, _ in security_headers(response).headers]
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == STRICT_CSP
    assert response.headers["X-Correlation-ID"] == "corr-7"
    assert len(names) == len(set(names)), names


def test_openapi_and_docs_need_no_token(api: Api) -> None:
    spec = api.ok(api.get("/openapi.json", None))
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    not_found = spec["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(not_found) == ["application/problem+json"]
    for path in (
        "/v1/inspections",
        "/v1/inspections/{inspection_id}/publish",
        "/v1/cases/{case_id}/ratings",
        "/v1/reinspections",
        "/v1/complaints/{complaint_id}/close",
    ):
        assert path in spec["paths"]
    rating = spec["paths"]["/v1/cases/{case_id}/ratings"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409", "412", "413", "422"} <= set(rating)
    assert rating["409"] == {"$ref": "#/components/responses/CONFLICT"}
    docs = api.get("/docs", None)
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]


def test_one_json_log_line_per_request_with_the_route_template_and_no_body(api: Api) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect()
    logger = logging.getLogger("inspectorate.access")
    logger.addHandler(handler)
    try:
        inspection_id = api.schedule("Secret Body Name")
        api.get(f"/v1/inspections/{inspection_id}", headers={"X-Correlation-ID": "corr-42"})
        api.get(f"/v1/inspections/{inspection_id}", None)
    finally:
        logger.removeHandler(handler)
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[1]["path"] == "/v1/inspections/<uuid:inspection_id>"
    assert records[1]["method"] == "GET" and records[1]["status"] == 200
    assert records[1]["role"] == "inspector" and records[1]["correlation_id"] == "corr-42"
    assert records[1]["duration_ms"] >= 0
    assert records[2]["status"] == 401 and records[2]["role"] is None
    joined = "\n".join(lines)
    assert inspection_id not in joined and "Secret Body Name" not in joined
    assert api.token("inspector") not in joined
