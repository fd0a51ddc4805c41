"""Each class of bad input gets its problem+json status, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.api_client import Api, assert_problem
from tests.factories import body, characteristics, judgements

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def schedule_body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"programme": "OMI2", "inspected_body": body(), "fieldwork_start": "2011-05-03"}
    data.update(changes)
    return data


# -- 400: the body is not a JSON object ---------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{bad json",
        b'{"programme": "OMI2",}',
        b"\xff\xfe\x00{",
        b"[1, 2]",
        b'"text"',
        b"42",
        b"null",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["invalid", "trailing comma", "not utf-8", "array", "string", "number", "null", "deeply nested"],
)
def test_a_body_that_is_not_a_json_object_is_400(api: Api, raw: bytes) -> None:
    response = api.client.post(
        "/v1/inspections", data=raw, content_type="application/json", headers=api.headers("inspector")
    )
    assert_problem(response, 400)


def test_a_malformed_if_match_is_400(api: Api) -> None:
    inspection_id = api.schedule()
    for value in ("not-a-version", '"-1"', '"1.5"', '"\u0663"'):
        assert_problem(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", headers={"If-Match": value}), 400)


# -- 413: over 1 MiB -----------------------------------------------------------------------


def test_a_body_over_one_mebibyte_is_413(api: Api) -> None:
    huge = schedule_body(lead_inspector="x" * (1024 * 1024))
    problem = assert_problem(api.post("/v1/inspections", huge), 413)
    assert "1 MiB" in problem["detail"]


def _chunked(api: Api, raw: bytes) -> Any:
    """As a server that ends chunked bodies itself (granian) hands one on: no Content-Length, the stream terminated."""
    import io

    return api.client.post(
        "/v1/inspections",
        input_stream=io.BytesIO(raw),
        content_type="application/json",
        headers={**api.headers("inspector"), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_one_mebibyte_is_413_not_cut_short(api: Api) -> None:
    import json

    padded = json.dumps(schedule_body(lead_inspector="x" * (1024 * 1024))).encode()
    problem = assert_problem(_chunked(api, padded), 413)
    assert "1 MiB" in problem["detail"]
    exactly = b"{" + b" " * (1024 * 1024 - 2) + b"}"  # a chunked body of exactly 1 MiB is within the limit
    assert _chunked(api, exactly).status_code == 422
    assert _chunked(api, json.dumps(schedule_body()).encode()).status_code == 201


# -- 422: fields and values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (schedule_body(colour="red"), "colour"),
        (schedule_body(inspected_body={**body(), "postcode": "CA1"}), "inspected_body.postcode"),
        (schedule_body(programme=5), "programme"),
        (schedule_body(programme="XYZ"), "programme"),
        (schedule_body(inspected_body="Cumbria"), "inspected_body"),
        (schedule_body(inspected_body={**body(), "type": "school"}), "inspected_body.type"),
        (schedule_body(fieldwork_start="2011-02-30"), "fieldwork_start"),
        (schedule_body(fieldwork_start="03/05/2011"), "fieldwork_start"),
        (schedule_body(fieldwork_start=20110503), "fieldwork_start"),
        (schedule_body(fieldwork_end="2011-05-02"), "fieldwork_end"),
        (schedule_body(inspected_body=body(name="N" * 201)), "inspected_body.name"),
        (schedule_body(inspected_body=body(name="")), "inspected_body.name"),
        (schedule_body(inspected_body=body(name="nul\u0000byte")), "inspected_body.name"),
        (schedule_body(inspected_body=body(name="lone \ud800 surrogate")), "inspected_body.name"),
        (schedule_body(lead_inspector="L" * 201), "lead_inspector"),
        ({"inspected_body": body(), "fieldwork_start": "2011-05-03"}, "programme"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_invalid_fields_are_422_naming_the_field(api: Api, data: dict[str, Any], field: str) -> None:
    problem = assert_problem(api.post("/v1/inspections", data), 422)
    assert field in problem["errors"], problem["errors"]
    assert all(isinstance(m, str) for messages in problem["errors"].values() for m in messages)


def test_names_of_200_characters_and_notes_of_10000_are_accepted(api: Api) -> None:
    inspection_id = api.in_fieldwork("N" * 200)
    case_id = api.add_case(inspection_id, "R" * 200)
    rating = judgements(True)
    rating[0]["note"] = "n" * 10_000
    api.ok(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": rating}))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"case_ref": "R" * 201}, "case_ref"),
        ({"case_ref": 17}, "case_ref"),
        ({"characteristics": characteristics(gender="f")}, "characteristics.gender"),
        ({"characteristics": characteristics(age_band=17)}, "characteristics.age_band"),
        ({"characteristics": characteristics(disability="yes")}, "characteristics.disability"),
        ({"characteristics": characteristics(looked_after=0)}, "characteristics.looked_after"),
        ({"characteristics": {**characteristics(), "name": "John Smith"}}, "characteristics.name"),
        (
            {"characteristics": {k: v for k, v in characteristics().items() if k != "risk_level"}},
            "characteristics.risk_level",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_invalid_cases_are_422(api: Api, change: dict[str, Any], field: str) -> None:
    inspection_id = api.in_fieldwork()
    data = {"case_ref": "C1", "characteristics": characteristics(), **change}
    problem = assert_problem(api.post(f"/v1/inspections/{inspection_id}/cases", data), 422)
    assert field in problem["errors"], problem["errors"]


@pytest.mark.parametrize(
    "judgement",
    [
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": "yes"},
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": 1},
        {"area": "risk_of_harm", "criterion": "outcomes"},
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True, "note": "n" * 10_001},
        {"area": "risk_of_harm", "criterion": "vibes", "sufficient": True},
        {"area": "safeguarding", "criterion": "outcomes", "sufficient": True},  # a CCI area, not OMI2
        {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True, "score": 3},
    ],
)
def test_invalid_judgements_are_422(api: Api, judgement: dict[str, Any]) -> None:
    case_id = api.add_case(api.in_fieldwork())
    assert_problem(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": [judgement]}), 422)


def test_the_same_item_twice_in_one_rating_is_422(api: Api) -> None:
    case_id = api.add_case(api.in_fieldwork())
    assert_problem(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(True) * 2}), 422)


def test_summaries_and_responses_over_10000_characters_are_422(api: Api) -> None:
    inspection_id = api.schedule()
    data = {"inspection_id": inspection_id, "category": "other", "summary": "s" * 10_001}
    assert "summary" in assert_problem(api.post("/v1/complaints", data), 422)["errors"]
    complaint_id = api.ok(api.post("/v1/complaints", {**data, "summary": "s" * 10_000}), 201)["id"]
    api.post(f"/v1/complaints/{complaint_id}/acknowledge")
    response = api.post(f"/v1/complaints/{complaint_id}/respond", {"response": "r" * 10_001})
    assert "response" in assert_problem(response, 422)["errors"]


def test_a_command_without_arguments_refuses_unknown_fields(api: Api) -> None:
    inspection_id = api.schedule()
    response = api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", {"force": True})
    assert "force" in assert_problem(response, 422)["errors"]


def test_publish_before_fieldwork_started_is_422(api: Api) -> None:
    published = api.in_fieldwork()
    api.rate(api.add_case(published), True)
    api.post(f"/v1/inspections/{published}/complete-fieldwork")
    response = api.post(f"/v1/inspections/{published}/publish", {"published_on": "2011-01-01"})
    assert "published_on" in assert_problem(response, 422)["errors"]


# -- 404: unknown ids and paths --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/inspections/{UNKNOWN}",
        f"/v1/cases/{UNKNOWN}",
        f"/v1/reinspections/{UNKNOWN}",
        f"/v1/complaints/{UNKNOWN}",
        "/v1/inspections/not-a-uuid",
        "/v1/cases/123",
        "/v1/complaints/%00",
        "/v1/inspections/" + "9" * 5000,
        "/v1/nothing-here",
    ],
)
def test_unknown_or_malformed_ids_are_404(api: Api, path: str) -> None:
    assert_problem(api.get(path), 404)


def test_a_wrong_method_is_405_with_allow(api: Api) -> None:
    response = api.call("DELETE", f"/v1/inspections/{api.schedule()}")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


# -- 409 and 412 -------------------------------------------------------------------------------


def test_lifecycle_conflicts_are_409_and_stale_versions_412(api: Api) -> None:
    inspection_id = api.schedule()
    assert_problem(
        api.post(f"/v1/inspections/{inspection_id}/cases", {"case_ref": "C1", "characteristics": characteristics()}),
        409,
    )
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", headers={"If-Match": '"2"'}), 412)
    huge = '"' + "9" * 5000 + '"'
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", headers={"If-Match": huge}), 412)
    response = api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", headers={"If-Match": "*"})
    assert api.ok(response)["status"] == "fieldwork"


# -- 401 and 403 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer   ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-real-token",
        "Bearer \u00e9\u00e9",
        "Bearer " + "x" * 7000,
    ],
)
def test_a_missing_or_unknown_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.client.get(f"/v1/inspections/{UNKNOWN}", headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_token_is_401(api: Api) -> None:
    from web import services_of

    tokens = services_of(api.app).tokens
    info, secret = tokens.create("Temp", "inspector")
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.get(f"/v1/inspections/{UNKNOWN}", headers=headers).status_code == 404
    tokens.revoke(info.id)
    assert_problem(api.client.get(f"/v1/inspections/{UNKNOWN}", headers=headers), 401)


def test_a_role_that_may_not_is_403_before_its_body_is_looked_at(api: Api) -> None:
    problem = assert_problem(api.post("/v1/inspections", {"nonsense": True}, "auditor"), 403)
    assert "auditor" in problem["detail"]
    assert_problem(api.get(f"/v1/inspections/{UNKNOWN}", "integration"), 403)
