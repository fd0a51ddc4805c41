"""What the real server writes to its log, and the headers on every response it sends."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from tests.reliability.helpers import Reply, Server, create_token, judgements, open_fieldwork

CASE_REF = "LOGSECRETREF-7731"
NOTE = "LOGSECRETNOTE about a child"
CHARACTERISTICS = {
    "gender": "other",
    "ethnicity": "white",
    "age_band": "10-14",
    "disability": True,
    "looked_after": True,
    "disposal": "custody",
    "risk_level": "very_high",
}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_no_tokens_or_case_data_in_the_server_log(start_server: Callable[..., Server]) -> None:
    server = start_server()
    token = create_token(server.env, "Log Inspector", "inspector").secret
    inspection_id = open_fieldwork(server.port, token, "Log Trust")
    cases = f"/v1/inspections/{inspection_id}/cases"
    body = {"case_ref": CASE_REF, "characteristics": CHARACTERISTICS}
    added = server.request("POST", cases, body, token=token)
    assert added.status == 201
    case_id = added.json()["id"]
    rating = judgements(False)
    rating[0]["note"] = NOTE
    assert server.request("POST", f"/v1/cases/{case_id}/ratings", {"judgements": rating}, token=token).status == 200
    # Failures are where secrets tend to slip into logs: a duplicate, bad input, a bad token.
    assert server.request("POST", cases, body, token=token).status == 409
    bad = {**body, "characteristics": {**CHARACTERISTICS, "risk_level": f"{CASE_REF}-bogus"}}
    assert server.request("POST", cases, bad, token=token).status == 422
    assert (
        server.request(
            "POST",
            cases,
            raw=f'{{"case_ref": "{CASE_REF}"'.encode(),
            token=token,
            headers={"Content-Type": "application/json"},
        ).status
        == 400
    )
    wrong_token = f"WRONGTOKEN{uuid.uuid4().hex}"
    assert server.request("GET", f"/v1/cases/{case_id}", token=wrong_token).status == 401
    assert server.request("GET", f"/v1/cases/{case_id}", token=token).status == 200
    server.stop()

    log = server.log_text()
    assert '"status":201' in log.replace(" ", "")  # the access log is there, so silence is not the reason
    for secret in (
        token,
        wrong_token,
        CASE_REF,
        NOTE,
        "LOGSECRETNOTE",
        json.dumps(CHARACTERISTICS),
        "very_high",
        "looked_after",
        "characteristics",
    ):
        assert secret not in log, f"{secret!r} is in the server log"
    assert case_id not in log  # access lines name the route template, not the concrete path


def headers_ok(reply: Reply, path: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers.get(name) == value, (path, reply.status, name, reply.headers.get(name))
    assert "default-src 'none'" in reply.headers.get("content-security-policy", ""), (path, reply.status)
    if path.startswith("/v1"):
        assert reply.headers.get("cache-control") == "no-store", (path, reply.status)


def test_security_headers_on_every_kind_of_response(module_server: Server) -> None:
    token = create_token(module_server.env, "Header Inspector", "inspector").secret
    auditor = create_token(module_server.env, "Header Auditor", "auditor").secret
    inspection_id = open_fieldwork(module_server.port, token, "Header Trust")
    missing = "00000000-0000-0000-0000-000000000000"
    json_type = {"Content-Type": "application/json"}
    calls: list[tuple[str, str, dict, int]] = [  # type: ignore[type-arg]
        ("GET", "/health", {}, 200),
        ("GET", f"/v1/inspections/{inspection_id}", {"token": token}, 200),
        (
            "POST",
            f"/v1/inspections/{inspection_id}/cases",
            {"token": token, "body": {"case_ref": "H-1", "characteristics": CHARACTERISTICS}},
            201,
        ),
        ("GET", f"/v1/inspections/{inspection_id}", {}, 401),
        ("POST", "/v1/inspections", {"token": auditor, "body": {}}, 403),
        ("GET", f"/v1/inspections/{missing}", {"token": token}, 404),
        ("GET", "/v1/no-such-thing", {"token": token}, 404),
        ("DELETE", f"/v1/inspections/{inspection_id}", {"token": token}, 405),
        ("POST", f"/v1/inspections/{inspection_id}/start-fieldwork", {"token": token, "body": {}}, 409),
        (
            "POST",
            f"/v1/inspections/{inspection_id}/start-fieldwork",
            {"token": token, "body": {}, "headers": {"If-Match": '"1"'}},
            412,
        ),
        ("POST", "/v1/inspections", {"token": token, "raw": b"{", "headers": json_type}, 400),
        ("POST", "/v1/inspections", {"token": token, "body": {"programme": "NOPE"}}, 422),
        ("POST", "/v1/inspections", {"token": token, "raw": b"x" * (1024 * 1024 + 1), "headers": json_type}, 413),
    ]
    for method, path, options, expected in calls:
        reply = module_server.request(method, path, options.pop("body", None), **options)
        assert reply.status == expected, (method, path, reply.status, reply.data[:200])
        headers_ok(reply, path)
        if reply.status >= 400:
            assert reply.is_problem, (path, reply.headers)
