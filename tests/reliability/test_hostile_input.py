"""Hostile input against the real server: stored verbatim or refused with a 4xx, never a 5xx or a crash."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import _postgres_or_skip, reset_postgres
from tests.reliability.helpers import (
    CHARACTERISTICS,
    Reply,
    Server,
    create_token,
    inspection_body,
    judgements,
    open_fieldwork,
    route_exists,
    schedule,
    server_env,
)

SQL_INJECTION = "'; DROP TABLE stored_events;--"
SCRIPT = "<script>alert(1)</script>"
JSON_TYPE = {"Content-Type": "application/json"}
ONE_MIB = 1024 * 1024


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    extra = {}
    if request.param == "postgres":
        url = _postgres_or_skip()
        reset_postgres(url)
        extra["INSPECTORATE_DATABASE_URL"] = url
    started = Server(server_env(tmp_path_factory.mktemp("hostile") / "var", **extra))
    started.tokens["inspector"] = create_token(started.env, "Hostile Inspector", "inspector").secret
    yield started.start()
    started.stop()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.tokens["inspector"]


def refused(reply: Reply, *statuses: int) -> None:
    """A client error from our one problem+json handler, one of the expected statuses."""
    assert reply.status in statuses, (reply.status, reply.data[:300])
    assert reply.is_problem, reply.headers
    body = reply.json()
    assert body["status"] == reply.status and body["title"] and body["detail"]


def test_injection_strings_are_stored_and_returned_verbatim(server: Server, token: str) -> None:
    body = inspection_body(SQL_INJECTION)
    body["inspected_body"]["region"] = SCRIPT
    body["lead_inspector"] = "Robert'); DROP TABLE api_tokens;-- \u202e\U0001f600 \u0645\u0631\u062d\u0628\u0627"
    created = server.request("POST", "/v1/inspections", body, token=token)
    assert created.status == 201, created.data
    assert created.headers["content-type"].startswith("application/json")  # never rendered as HTML
    got = server.request("GET", f"/v1/inspections/{created.json()['id']}", token=token).json()
    assert got["inspected_body"]["name"] == SQL_INJECTION
    assert got["inspected_body"]["region"] == SCRIPT
    assert got["lead_inspector"] == body["lead_inspector"]
    # The tables are still there: the token still authenticates and another write lands.
    assert schedule(server.port, token, "After the injection")


def test_injection_in_case_ref_is_stored_verbatim(server: Server, token: str) -> None:
    inspection_id = open_fieldwork(server.port, token, f"Case refs {uuid.uuid4().hex[:8]}")
    if not route_exists(server.port, token, "POST", f"/v1/inspections/{inspection_id}/cases"):
        pytest.skip("POST /v1/inspections/{id}/cases is not built yet")
    for case_ref in (SQL_INJECTION, SCRIPT, "1 OR 1=1", "../../etc/passwd", "%00%27"):
        added = server.request(
            "POST",
            f"/v1/inspections/{inspection_id}/cases",
            {"case_ref": case_ref, "characteristics": CHARACTERISTICS},
            token=token,
        )
        assert added.status == 201, added.data
        assert added.json()["case_ref"] == case_ref
        case = server.request("GET", f"/v1/cases/{added.json()['id']}", token=token)
        if case.status == 200:
            assert case.json()["case_ref"] == case_ref
    history = server.request("GET", f"/v1/inspections/{inspection_id}/history", token=token)
    if history.status == 200:
        assert SQL_INJECTION in json.dumps(history.json(), ensure_ascii=False)


@pytest.mark.parametrize("size,expected", [(ONE_MIB - 64, (422,)), (ONE_MIB + 1, (413,)), (8 * ONE_MIB, (413,))])
def test_body_size_limit(server: Server, token: str, size: int, expected: tuple[int, ...]) -> None:
    body = inspection_body("Big body")
    body["lead_inspector"] = ""
    padding = size - len(json.dumps(body).encode())
    body["lead_inspector"] = "x" * padding
    raw = json.dumps(body).encode()
    assert len(raw) == size
    refused(server.request("POST", "/v1/inspections", raw=raw, token=token, headers=JSON_TYPE), *expected)


def test_a_lying_content_length_is_refused_without_reading(server: Server, token: str) -> None:
    reply = server.request(
        "POST",
        "/v1/inspections",
        raw=b"{}",
        token=token,
        headers={**JSON_TYPE, "Content-Length": str(50 * ONE_MIB)},
        timeout=5,
    )
    refused(reply, 413)


@pytest.mark.parametrize("size,expected", [(ONE_MIB + 1, 413), (8 * ONE_MIB, 413), (4096, 422)])
def test_a_chunked_body_is_held_to_the_same_limit(server: Server, token: str, size: int, expected: int) -> None:
    """Transfer-Encoding: chunked, no Content-Length: over 1 MiB is 413, never cut at 1 MiB and accepted."""
    import http.client

    body = inspection_body("Chunked body")
    body["lead_inspector"] = ""
    body["lead_inspector"] = "x" * (size - len(json.dumps(body).encode()))
    raw = json.dumps(body).encode()
    assert len(raw) == size
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        # answered (413) and closed before the whole body was read
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request(
                "POST",
                "/v1/inspections",
                body=(raw[i : i + 65536] for i in range(0, size, 65536)),
                headers={**JSON_TYPE, "Authorization": f"Bearer {token}"},
                encode_chunked=True,
            )
        response = conn.getresponse()
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read(), 0.0)
    finally:
        conn.close()
    refused(reply, expected)
    if expected == 422:  # read whole: the over-long name (not a cut-off body) is what is refused
        assert list(reply.json()["errors"]) == ["lead_inspector"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-nested-arrays"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="100k-nested-objects"),
        pytest.param(b'{"programme": ' + b"9" * 5000 + b"}", id="5000-digit-integer"),
        pytest.param(b'{"programme": "OMI2"', id="truncated"),
        pytest.param(b'{"programme": "\xff\xfe\xfd"}', id="not-utf8"),
        pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
        pytest.param(b"\x00\x00\x00{", id="nul-bytes"),
        pytest.param(b"[1, 2, 3]", id="array-not-object"),
        pytest.param(b'"just a string"', id="string-not-object"),
    ],
)
def test_malformed_json_is_400(server: Server, token: str, raw: bytes) -> None:
    reply = server.request("POST", "/v1/inspections", raw=raw, token=token, headers=JSON_TYPE)
    refused(reply, 400, 422)
    assert server.request("GET", "/health").status == 200


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "-0", "true", "null", "{}", "[]"])
def test_non_finite_and_wrong_typed_values_are_refused(server: Server, token: str, value: str) -> None:
    good = json.dumps(inspection_body(f"Typed {value}"))
    for field in ('"fieldwork_start": "2011-05-03"', '"programme": "OMI2"', '"name": "Typed ' + value + '"'):
        raw = good.replace(field, field.split(":")[0] + ": " + value).encode()
        assert raw != good.encode()
        refused(server.request("POST", "/v1/inspections", raw=raw, token=token, headers=JSON_TYPE), 400, 422)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml", None]
)
def test_wrong_content_type_is_a_client_error(server: Server, token: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    raw = json.dumps(inspection_body("Content type")).encode()
    reply = server.request("POST", "/v1/inspections", raw=raw, token=token, headers=headers)
    refused(reply, 400, 415, 422)


@pytest.mark.parametrize("name", ["Z" * 201, "nul\u0000byte", "bell\u0007", "\ud800", "line\nbreak", ""])
def test_overlong_or_unprintable_names_are_422(server: Server, token: str, name: str) -> None:
    reply = server.request(
        "POST", "/v1/inspections", raw=json.dumps(inspection_body(name)).encode(), token=token, headers=JSON_TYPE
    )
    refused(reply, 422)
    assert "inspected_body.name" in reply.json()["errors"]


def test_overlong_note_and_hostile_characteristics_are_422(server: Server, token: str) -> None:
    inspection_id = open_fieldwork(server.port, token, f"Notes {uuid.uuid4().hex[:8]}")
    cases = f"/v1/inspections/{inspection_id}/cases"
    if not route_exists(server.port, token, "POST", cases):
        pytest.skip("POST /v1/inspections/{id}/cases is not built yet")
    for bad in (
        {"gender": SQL_INJECTION},
        {"age_band": 17},
        {"disability": "yes"},
        {"risk_level": None},
        {"extra": "field"},
    ):
        reply = server.request(
            "POST", cases, {"case_ref": "C-bad", "characteristics": {**CHARACTERISTICS, **bad}}, token=token
        )
        refused(reply, 422)
    refused(
        server.request("POST", cases, {"case_ref": "R" * 201, "characteristics": CHARACTERISTICS}, token=token), 422
    )
    added = server.request("POST", cases, {"case_ref": "C-notes", "characteristics": CHARACTERISTICS}, token=token)
    assert added.status == 201, added.data
    rating = judgements(True)
    rating[0]["note"] = "n" * 10_001
    refused(server.request("POST", f"/v1/cases/{added.json()['id']}/ratings", {"judgements": rating}, token=token), 422)
    rating[0]["note"] = "n" * 10_000
    assert (
        server.request("POST", f"/v1/cases/{added.json()['id']}/ratings", {"judgements": rating}, token=token).status
        == 200
    )


@pytest.mark.parametrize(
    "path",
    [
        "/v1/inspections/not-a-uuid",
        "/v1/inspections/" + "9" * 5000,
        "/v1/inspections/00000000-0000-0000-0000-000000000000?as_of=garbage",
        "/v1/inspections/00000000-0000-0000-0000-000000000000?as_of=9999-99-99T99:99:99Z",
        "/v1/inspections/00000000-0000-0000-0000-000000000000/history",
        "/v1/inspections/%00",
        "/v1/inspections/..%2F..%2Fetc%2Fpasswd",
        "/v1/events?after=-1&limit=999999999999999999999",
        "/v1/events?after=" + "9" * 5000,
        "/v1/views/programmes/'%3B%20DROP%20TABLE%20x%3B--/years/2011-12",
    ],
)
def test_hostile_paths_and_queries_are_client_errors(server: Server, token: str, path: str) -> None:
    reply = server.request("GET", path, token=token)
    assert 400 <= reply.status < 500, (reply.status, reply.data[:300])


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Match": '"' + "9" * 5000 + '"'},
        {"If-Match": "not-a-version"},
        {"If-Match": '"-1"'},
        {"X-Correlation-ID": "x" * 10_000},
        {"X-Correlation-ID": "line\r\nbreak"[:4] + "\u00e9"},
        {"Accept": "text/html"},
    ],
)
def test_hostile_headers_are_client_errors(server: Server, token: str, headers: dict[str, str]) -> None:
    inspection_id = schedule(server.port, token, f"Headers {uuid.uuid4().hex[:8]}")
    reply = server.request("POST", f"/v1/inspections/{inspection_id}/start-fieldwork", {}, token=token, headers=headers)
    assert reply.status < 500, (reply.status, reply.data[:300])
    # 431: the HTTP server may refuse an oversized header itself, before the application sees it.
    assert reply.status in (200, 400, 412, 431), reply.data[:300]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer " + "x" * 7000,
        "Bearer \u00e9\u00e9",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer  ",
        "bearer " + SQL_INJECTION,
    ],
)
def test_hostile_tokens_are_401(server: Server, authorization: str) -> None:
    reply = server.request(
        "GET", "/v1/inspections/00000000-0000-0000-0000-000000000000", headers={"Authorization": authorization}
    )
    refused(reply, 401)


def test_nothing_reached_the_catch_all_handler(server: Server) -> None:
    """Runs last for each server: no request above was logged as an unhandled error (a 500)."""
    log = server.log_text()
    assert "unhandled error" not in log, log[-4000:]
    assert server.request("GET", "/health").status == 200
