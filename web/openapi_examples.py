"""Examples in the OpenAPI document: every request body and response, and every path parameter described.

The examples are real exchanges: ``python -m web.openapi_examples`` drives a
whole story (an inspection to publication, a reinspection, a complaint, the
reads, the feed, a webhook) through the app on a scratch store and writes the
first request and answer of each operation and status to
``openapi_examples.json`` beside this file, long lists cut to two items. The
document takes them from there (``apply``); an operation added without one is
caught by tests/api/test_openapi_examples.py: run the module again.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from apispec import APISpec

EXAMPLES_FILE = Path(__file__).with_name("openapi_examples.json")
UUID_EXAMPLE = "0b7e4c1a-93a5-4a1f-8d0c-5f2f3f0f6c11"

# Path parameters, described once by name.
PARAMETERS: dict[str, dict[str, Any]] = {
    "inspection_id": {"description": "The inspection's id (a UUID).", "example": UUID_EXAMPLE},
    "case_id": {"description": "The case's id (a UUID).", "example": UUID_EXAMPLE},
    "reinspection_id": {"description": "The reinspection's id (a UUID).", "example": UUID_EXAMPLE},
    "complaint_id": {"description": "The complaint's id (a UUID).", "example": UUID_EXAMPLE},
    "webhook_id": {"description": "The webhook's id (a UUID).", "example": UUID_EXAMPLE},
    "recommendation_id": {"description": "The recommendation's id (a UUID).", "example": UUID_EXAMPLE},
    "thematic_id": {"description": "The thematic inspection's id (a UUID).", "example": UUID_EXAMPLE},
    "body_id": {"description": "The id of a body in the register (a UUID).", "example": UUID_EXAMPLE},
    "programme": {"description": "A programme code.", "example": "OMI2"},
    "code": {"description": "A standard's code in the inspection's 2018 framework, e.g. `1.1`.", "example": "1.1"},
    "year": {
        "description": "The business year (April to March) of the inspections' fieldwork_start, written "
        "first year, a hyphen, the last two digits of the next: `2011-12`.",
        "example": "2011-12",
        "schema": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"},
    },
}

PROBLEM_EXAMPLES: dict[str, dict[str, Any]] = {
    "BAD_REQUEST": {"status": 400, "title": "Malformed request body", "detail": "The request body is not valid JSON."},
    "UNAUTHORIZED": {"status": 401, "title": "Unauthorized", "detail": "A bearer token is required."},
    "FORBIDDEN": {"status": 403, "title": "Forbidden", "detail": "The role 'auditor' may not do this."},
    "NOT_FOUND": {"status": 404, "title": "Not found", "detail": f"no inspection {UUID_EXAMPLE}"},
    "CONFLICT": {"status": 409, "title": "Lifecycle rule", "detail": "fieldwork can start only once"},
    "PRECONDITION_FAILED": {
        "status": 412,
        "title": "Version mismatch",
        "detail": "version 3 is not the current one; reload and retry",
    },
    "REQUEST_ENTITY_TOO_LARGE": {
        "status": 413,
        "title": "Request body too large",
        "detail": "The request body is over the 1 MiB limit.",
    },
    "UNPROCESSABLE_ENTITY": {
        "status": 422,
        "title": "Invalid input",
        "detail": "One or more fields are invalid.",
        "errors": {"fieldwork_start": ["Not a valid date."]},
    },
    "TOO_MANY_REQUESTS": {
        "status": 429,
        "title": "Too many requests",
        "detail": "This token may make 600 requests a minute; retry after 12 s.",
    },
    "DEFAULT_ERROR": {
        "status": 500,
        "title": "Internal Server Error",
        "detail": "An unexpected error occurred; it has been logged.",
    },
    "SERVICE_UNAVAILABLE": {
        "status": 503,
        "title": "View not current yet",
        "detail": "The view has not processed position 1200 yet; retry shortly.",
    },
}


def apply(spec: APISpec, public_url: str) -> None:
    """Put the examples and parameter descriptions into the document's operations."""
    examples = json.loads(EXAMPLES_FILE.read_text()) if EXAMPLES_FILE.exists() else {}
    for path, operations in spec._paths.items():  # (apispec keeps the registered paths here)
        for parameter in operations.get("parameters", []):
            _describe(parameter)
        for method, operation in operations.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and parameter.get("in") == "path":
                    _describe(parameter)
            found = examples.get(f"{method.upper()} {path}", {})
            body = operation.get("requestBody")
            if body and "request" in found:
                for content in body.get("content", {}).values():
                    content.setdefault("example", found["request"])
            for status, response in operation.get("responses", {}).items():
                if isinstance(response, dict) and str(status) in found.get("responses", {}):
                    for content in response.get("content", {}).values():
                        content.setdefault("example", found["responses"][str(status)])
    for name, response in spec.components.responses.items():
        example = PROBLEM_EXAMPLES.get(name)
        if example is not None:
            for content in response.get("content", {}).values():
                content.setdefault("example", {"type": f"{public_url}/problems/{example['status']}", **example})


def _describe(parameter: dict[str, Any]) -> None:
    known = PARAMETERS.get(parameter.get("name", ""))
    if known is None:
        return
    parameter.setdefault("description", known["description"])
    parameter.setdefault("example", known["example"])
    if "schema" in known:
        parameter["schema"] = {**parameter.get("schema", {}), **known["schema"]}
    if parameter["name"] == "programme":
        from domain.frameworks import PROGRAMMES

        parameter["schema"] = {**parameter.get("schema", {}), "enum": sorted(PROGRAMMES)}


# -- capturing real exchanges ------------------------------------------------------------------


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _short(value: Any) -> Any:
    """Lists cut to two items, maps of many keys (the event catalogue) to three: an example, not a dump."""
    if isinstance(value, list):
        return [_short(item) for item in value[:2]]
    if isinstance(value, dict):
        if "secret" in value:  # (a scratch store's, but an example shows no working secret)
            value = {**value, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+3cnQ0B0Zk0="}
        items = list(value.items())
        if len(items) > 12 and all(isinstance(v, dict) for _, v in items):
            items = items[:3]
        return {key: _short(item) for key, item in items}
    return value


def capture() -> dict[str, Any]:
    """Drive a whole story through the app on a scratch store; each operation's first exchange per status."""
    from flask import g, request
    from freezegun import freeze_time

    from infrastructure.config import Settings
    from infrastructure.projections.engine import create_projection_engine
    from web import create_app, services_of
    from web.bootstrap import build_projector

    folder = Path(tempfile.mkdtemp(prefix="openapi-examples-"))
    settings = Settings(data_dir=folder / "var", webhook_allowed_hosts=frozenset({"hooks.partner.example.org"}))
    app = create_app(settings, create_tables=True)
    services = services_of(app)
    found: dict[str, Any] = {}

    @app.after_request
    def keep(response: Any) -> Any:
        if request.url_rule is None or not request.path.startswith("/v1"):
            return response
        key = f"{request.method} {_openapi_path(request.url_rule.rule)}"
        entry = found.setdefault(key, {"responses": {}})
        body = g.get("json_body")
        if body is not None and "request" not in entry and response.status_code < 300:
            entry["request"] = body
        if response.mimetype in ("application/json",) and str(response.status_code) not in entry["responses"]:
            entry["responses"][str(response.status_code)] = _short(json.loads(response.get_data()))
        return response

    tokens = {
        role: services.tokens.create(
            f"{role.replace('_', ' ').title()}", role, "Cumbria" if role == "organisation" else None
        )[1]
        for role in ("admin", "inspector", "qa_reviewer", "auditor", "organisation", "integration")
    }
    client = app.test_client()

    def call(method: str, path: str, body: Any = None, role: str = "inspector", status: int = 200) -> Any:
        response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {tokens[role]}"})
        assert response.status_code == status, (method, path, response.status_code, response.get_data()[:300])
        return response.get_json(silent=True)

    body = {"name": "Cumbria", "type": "probation_trust", "region": "North West"}
    traits = {
        "gender": "female",
        "ethnicity": "white",
        "age_band": "25-49",
        "disability": False,
        "looked_after": None,
        "disposal": "community",
        "risk_level": "medium",
    }
    webhook = call(
        "POST",
        "/v1/webhooks",
        {"url": "https://hooks.partner.example.org/inspectorate", "types": ["inspection.report_published.v1"]},
        "admin",
        201,
    )
    inspection = call(
        "POST",
        "/v1/inspections",
        {"programme": "OMI2", "inspected_body": body, "fieldwork_start": "2011-05-03"},
        status=201,
    )["id"]
    call("POST", f"/v1/inspections/{inspection}/start-fieldwork", {})
    cases = []
    for n, verdict in enumerate((False, False, True)):
        case = call(
            "POST",
            f"/v1/inspections/{inspection}/cases",
            {"case_ref": f"CUM-2011-{n + 1:03d}", "characteristics": traits},
            status=201,
        )["id"]
        cases.append(case)
        judgements = [
            {
                "area": area,
                "criterion": criterion,
                "sufficient": verdict,
                "note": "Risk assessment not reviewed after the change of address." if not verdict else None,
            }
            for area in ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
            for criterion in ("assessment_and_planning", "interventions", "outcomes")
        ]
        call("POST", f"/v1/cases/{case}/ratings", {"judgements": judgements[:3]})
    call(
        "POST",
        f"/v1/cases/{cases[0]}/moderations",
        {
            "judgements": [{"area": "risk_of_harm", "criterion": "assessment_and_planning", "sufficient": True}],
            "note": "The plan was reviewed in supervision; sufficient.",
        },
        "qa_reviewer",
    )
    call("POST", f"/v1/inspections/{inspection}/complete-fieldwork", {})
    recommendation = call(
        "POST",
        f"/v1/inspections/{inspection}/recommendations",
        {"to": "Cumbria", "text": "Review every risk of harm assessment when circumstances change."},
        status=201,
    )["id"]
    published = call("POST", f"/v1/inspections/{inspection}/publish", {"published_on": "2012-01-10"})
    call("GET", f"/v1/inspections/{inspection}/recommendations", role="organisation")
    call(
        "POST",
        f"/v1/recommendations/{recommendation}/response",
        {"response": "agreed", "note": "Managers will check reviews monthly."},
        "organisation",
    )
    call(
        "POST",
        f"/v1/recommendations/{recommendation}/progress",
        {"status": "in_progress", "note": "Checks started in March."},
        "organisation",
    )
    follow_up = call(
        "POST",
        "/v1/inspections",
        {"programme": "OMI2", "inspected_body": body, "fieldwork_start": "2012-09-03"},
        status=201,
    )["id"]
    if published.get("reinspection"):
        call("POST", f"/v1/reinspections/{published['reinspection']['id']}/schedule", {"inspection_id": follow_up})
        call(
            "POST",
            f"/v1/recommendations/{recommendation}/judgement",
            {"judgement": "partly_achieved", "note": "Reviews were done in most cases."},
        )
        call("GET", f"/v1/reinspections/{published['reinspection']['id']}")
    call("GET", f"/v1/recommendations/{recommendation}")
    # A joint thematic inspection: announced before fieldwork, findings, a recommendation, published.
    with freeze_time("2018-12-03"):
        thematic = call(
            "POST",
            "/v1/thematics",
            {
                "title": "Domestic abuse: the work undertaken by CRCs",
                "topic": "domestic abuse",
                "sector": "adult",
                "partners": ["HM Inspectorate of Prisons"],
                "announced_on": "2018-05-18",
                "fieldwork_start": "2018-06-04",
            },
            "admin",
            201,
        )["id"]
        call("POST", f"/v1/thematics/{thematic}/start-fieldwork", {"fieldwork_start": "2018-06-04"})
        call(
            "POST",
            f"/v1/thematics/{thematic}/findings",
            {"findings": "Too few victims were contacted; risk was rarely reviewed."},
        )
        call(
            "POST",
            f"/v1/thematics/{thematic}/recommendations",
            {"to": "HM Prison and Probation Service", "text": "Make contact with victims part of every plan."},
            status=201,
        )
        call("POST", f"/v1/thematics/{thematic}/publish", {"published_on": "2018-12-03"})
    call("GET", f"/v1/thematics/{thematic}")
    call("GET", f"/v1/thematics/{thematic}/recommendations")
    call("GET", "/v1/thematics?sector=adult")
    complaint = call(
        "POST",
        "/v1/complaints",
        {"inspection_id": inspection, "category": "methodology", "summary": "The sample left out our custody cases."},
        "organisation",
        201,
    )["id"]
    call("POST", f"/v1/complaints/{complaint}/acknowledge", {})
    call("POST", f"/v1/complaints/{complaint}/respond", {"response": "The sample followed the published method."})
    call("POST", f"/v1/complaints/{complaint}/escalate", {"reason": "The organisation asked for a review."})
    call("POST", f"/v1/complaints/{complaint}/close", {"outcome": "not_upheld"})
    # A 2018 inspection: caseload and sample, key-question judgements, standards rated, published.
    yot = {"name": "Cumbria", "type": "yot", "region": "North West"}
    youth = call(
        "POST",
        "/v1/inspections",
        {"programme": "YOS", "inspected_body": yot, "fieldwork_start": "2019-03-04"},
        status=201,
    )["id"]
    call("POST", f"/v1/inspections/{youth}/start-fieldwork", {})
    call(
        "PUT",
        f"/v1/inspections/{youth}/caseload",
        {
            "population": 20,
            "by": {
                "gender": {"male": 15, "female": 5},
                "disposal": {"community": 16, "pre_court": 4},
                "risk_level": {"medium": 12, "high": 8},
            },
        },
    )
    young = call(
        "POST",
        f"/v1/inspections/{youth}/cases",
        {"case_ref": "CUM-2019-001", "characteristics": {**traits, "age_band": "15-17", "looked_after": False}},
        status=201,
    )["id"]
    call(
        "POST",
        f"/v1/cases/{young}/ratings",
        {
            "judgements": [
                {"standard": standard, "question": question, "sufficient": True}
                for standard in ("2.1", "2.2", "2.3", "2.4")
                for question in ("desistance", "safety_and_wellbeing", "risk_of_harm")
            ]
        },
    )
    call("GET", f"/v1/inspections/{youth}/sample")
    for code in ("1.1", "1.2", "1.3", "1.4", "3.4"):
        call(
            "POST",
            f"/v1/inspections/{youth}/standards/{code}/rating",
            {"rating": "good", "rationale": "Evidence from the meetings with the board."},
        )
    call("POST", f"/v1/inspections/{youth}/complete-fieldwork", {"short_sample_reason": "An example of one case."})
    with freeze_time("2019-07-01"):
        call("POST", f"/v1/inspections/{youth}/publish", {"published_on": "2019-06-01"})
    call("GET", f"/v1/views/inspections/{youth}/ratings")
    # The register of bodies and a selection plan.
    call(
        "POST",
        "/v1/bodies",
        {"name": "Cumbria", "type": "probation_trust", "region": "North West"},
        role="admin",
        status=409,
    )  # registered when its first inspection was scheduled
    trust = call("GET", "/v1/bodies?type=probation_trust&q=cumb")["items"][0]["id"]
    crc = call(
        "POST",
        "/v1/bodies",
        {"name": "Cumbria and Lancashire CRC", "type": "crc", "region": "North West", "succeeds": [trust]},
        status=201,
    )["id"]
    call("PUT", f"/v1/bodies/{crc}/indicators/2017-18", {"caseload": 5200, "reoffending_rate": 31.4})
    call("GET", f"/v1/bodies/{trust}")
    call("GET", "/v1/programmes/YOS/selection-criteria")
    call("POST", "/v1/programmes/PROBATION/plans", {"year": "2018-19", "capacity": 30}, status=201)
    call("GET", "/v1/programmes/PROBATION/plans/2018-19")
    engine = create_projection_engine(settings)
    projector = build_projector(services.app, engine, settings)
    projector.ensure_tracking()
    projector.catch_up()
    engine.dispose()
    for path in (
        "/v1/inspections?programme=OMI2&limit=2",
        f"/v1/inspections/{inspection}",
        f"/v1/inspections/{inspection}/cases",
        f"/v1/cases/{cases[0]}",
        "/v1/reinspections",
        f"/v1/complaints/{complaint}",
        f"/v1/inspections/{inspection}/history",
        f"/v1/views/inspections/{inspection}/scores",
        "/v1/views/programmes/OMI2/years/2011-12",
        "/v1/views/programmes/OMI2/years/2011-12/diversity",
        "/v1/views/complaints",
        "/v1/views/reinspections",
    ):
        call("GET", path)
    call("GET", "/v1/audit/reads", role="admin")
    for path in ("/v1/audit/verify", "/v1/audit/head", "/v1/views/consistency", "/v1/views/status"):
        call("GET", path, role="auditor")
    for path in ("/v1/events?limit=2", "/v1/events/schemas"):
        call("GET", path, role="integration")
    call("GET", "/v1/webhooks", role="admin")
    call("GET", f"/v1/webhooks/{webhook['id']}", role="admin")
    call("POST", f"/v1/webhooks/{webhook['id']}/replay", {"after": 1}, "admin")
    call("POST", f"/v1/webhooks/{webhook['id']}/enable", None, "admin")
    call("DELETE", f"/v1/webhooks/{webhook['id']}", None, "admin", 204)
    # Last, so the examples above show the case as it was: its personal data erased.
    call("POST", f"/v1/cases/{cases[2]}/erasure", {"reason": "The person asked for their data to be erased."}, "admin")
    services.close()
    return dict(sorted(found.items()))


def main() -> int:
    EXAMPLES_FILE.write_text(json.dumps(capture(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {EXAMPLES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
