"""Every endpoint of the lifecycle and the aggregate reads, with every role: forbidden exactly where the contract says.

The fixtures make each request valid for an allowed caller, so "allowed" means
"not 403" (2xx, or a lifecycle 409 once an earlier role has done the step).
Answers that depend on the record rather than the role (403 for a local
assessor and their own organisation or another assessor's case; 404 for an
organisation and another body's records, as for an unknown id) have their own
tests in the resource test modules and tests/api/test_access_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api.api_client import ROLES, Api, assert_problem
from tests.factories import characteristics, judgements

READERS = {"admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation"}
INSPECTOR = {"inspector"}
REGISTRARS = {"admin", "inspector"}  # the register of bodies and selection plans


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # formatted with the ids of the records set up below
    allowed: set[str]
    body: Any = None


MATRIX = [
    Row(
        "POST",
        "/v1/inspections",
        INSPECTOR,
        {
            "programme": "OMI2",
            "inspected_body": {"name": "Cumbria", "type": "probation_trust", "region": "NW"},
            "fieldwork_start": "2011-09-01",
        },
    ),
    Row("GET", "/v1/inspections", READERS),
    Row("GET", "/v1/inspections?programme=OMI2&year=2011-12&status=published&q=cumb&limit=5", READERS),
    Row("GET", "/v1/inspections/{inspection}", READERS),
    Row("GET", "/v1/inspections/{inspection}?as_of=2999-01-01T00:00:00Z", READERS),
    Row("POST", "/v1/inspections/{scheduled}/start-fieldwork", INSPECTOR, {}),
    Row(
        "POST",
        "/v1/inspections/{inspection}/cases",
        {"inspector", "local_assessor"},
        {"case_ref": "M1", "characteristics": characteristics()},
    ),
    Row("GET", "/v1/inspections/{inspection}/cases", READERS),
    Row("GET", "/v1/cases/{case}", READERS),
    Row("GET", "/v1/cases/{case}?as_of=2999-01-01T00:00:00Z", READERS),
    Row("POST", "/v1/cases/{case}/ratings", {"inspector", "local_assessor"}, {"judgements": judgements(True)}),
    Row("POST", "/v1/cases/{case}/moderations", {"qa_reviewer"}, {"judgements": judgements(False), "note": "QA"}),
    Row("POST", "/v1/inspections/{inspection}/complete-fieldwork", INSPECTOR, {}),
    Row("POST", "/v1/inspections/{inspection}/publish", INSPECTOR, {"published_on": "2012-01-10"}),
    Row("POST", "/v1/reinspections/{reinspection}/schedule", INSPECTOR, {"inspection_id": "{follow_up}"}),
    Row("GET", "/v1/reinspections", READERS),
    Row("GET", "/v1/reinspections?origin_inspection_id={concern}&status=scheduled", READERS),
    Row("GET", "/v1/reinspections/{reinspection}", READERS),
    Row(
        "POST",
        "/v1/complaints",
        {"organisation", "inspector"},
        {"inspection_id": "{inspection}", "category": "process", "summary": "Too slow."},
    ),
    Row("GET", "/v1/complaints/{complaint}", READERS),
    Row("POST", "/v1/complaints/{complaint}/acknowledge", {"inspector", "admin"}, {}),
    Row("POST", "/v1/complaints/{complaint}/respond", {"inspector", "admin"}, {"response": "Explained."}),
    Row("POST", "/v1/complaints/{complaint}/escalate", {"inspector", "admin"}, {"reason": "Not satisfied."}),
    Row("POST", "/v1/complaints/{complaint}/close", {"inspector", "admin"}, {"outcome": "not_upheld"}),
    Row(
        "PUT",
        "/v1/inspections/{yos}/caseload",
        {"inspector", "organisation"},
        {"population": 10, "by": {"gender": {"male": 7, "female": 3}}},
    ),
    Row("GET", "/v1/inspections/{yos}/sample", READERS),
    Row("POST", "/v1/inspections/{yos}/standards/1.1/rating", INSPECTOR, {"rating": "good", "rationale": "Seen."}),
    Row("GET", "/v1/views/programmes/OMI2/years/2011-12/diversity", READERS),
    Row("GET", "/v1/views/programmes/OMI2/years/2011-12/diversity?as_of=2000-01-01T00:00:00Z", READERS),
    # live figures pooled across bodies before their reports: the inspectorate's roles only
    Row(
        "GET",
        "/v1/views/programmes/OMI2/years/2011-12/diversity?published_only=false",
        {"inspector", "qa_reviewer", "auditor", "admin"},
    ),
    # Recommendations (made before publication by an inspector; answered after it by the organisation they
    # name; judged by an inspector of the reinspection) and thematic inspections.
    Row("POST", "/v1/inspections/{inspection}/recommendations", INSPECTOR, {"to": "Cumbria", "text": "Review."}),
    Row("GET", "/v1/inspections/{inspection}/recommendations", READERS),
    Row("GET", "/v1/recommendations/{recommendation}", READERS),
    Row("POST", "/v1/recommendations/{recommendation}/response", {"organisation"}, {"response": "agreed"}),
    Row("POST", "/v1/recommendations/{recommendation}/progress", {"organisation"}, {"status": "in_progress"}),
    Row("POST", "/v1/recommendations/{recommendation}/judgement", INSPECTOR, {"judgement": "achieved"}),
    Row(
        "POST",
        "/v1/thematics",
        {"inspector", "admin"},
        {
            "title": "Domestic abuse",
            "topic": "domestic abuse",
            "sector": "adult",
            "partners": [],
            "announced_on": "2018-05-18",
        },
    ),
    Row("GET", "/v1/thematics", READERS),
    Row("GET", "/v1/thematics/{thematic}", READERS),
    Row("POST", "/v1/thematics/{thematic}/start-fieldwork", {"inspector", "admin"}, {"fieldwork_start": "2018-06-04"}),
    Row("POST", "/v1/thematics/{thematic}/findings", {"inspector", "admin"}, {"findings": "Seen."}),
    Row("POST", "/v1/thematics/{thematic}/recommendations", INSPECTOR, {"to": "Cumbria", "text": "Contact victims."}),
    Row("GET", "/v1/thematics/{thematic}/recommendations", READERS),
    Row("POST", "/v1/thematics/{thematic}/publish", {"inspector", "admin"}, {"published_on": "2018-12-03"}),
    Row("POST", "/v1/bodies", REGISTRARS, {"name": "Wigan", "type": "yot", "region": "North West"}),
    Row("GET", "/v1/bodies", READERS),
    Row("GET", "/v1/bodies?type=yot&region=north%20west&q=cum", READERS),
    Row("GET", "/v1/bodies/{body}", READERS),
    Row("PUT", "/v1/bodies/{body}/indicators/2017-18", REGISTRARS, {"caseload": 120, "reoffending_rate": 38.5}),
    Row("GET", "/v1/programmes/YOS/selection-criteria", READERS),
    Row("POST", "/v1/programmes/YOS/plans", REGISTRARS, {"year": "2018-19", "capacity": 5}),
    Row("GET", "/v1/programmes/YOS/plans/2018-19", READERS),
    Row("POST", "/v1/cases/{case}/erasure", {"admin"}, {"reason": "Asked for."}),  # last: the case is erased
]


def records(api: Api) -> dict[str, str]:
    """One of each record, all of Cumbria (the organisation token's body); the case is the local assessor's."""
    ready = api.in_fieldwork("Cumbria", start="2011-05-03")
    api.rate(api.add_case(ready, "C0"), False)
    api.ok(api.post(f"/v1/inspections/{ready}/complete-fieldwork"))
    recommendation = api.ok(
        api.post(f"/v1/inspections/{ready}/recommendations", {"to": "Cumbria", "text": "Plan."}), 201
    )["id"]
    concern = api.ok(api.post(f"/v1/inspections/{ready}/publish", {"published_on": "2012-01-10"}))
    inspection = api.in_fieldwork("Cumbria", start="2011-06-01")
    case = api.add_case(inspection, "L1", role="local_assessor")
    complaint = api.ok(
        api.post(
            "/v1/complaints", {"inspection_id": inspection, "category": "conduct", "summary": "Rude."}, "organisation"
        ),
        201,
    )["id"]
    yos = api.ok(
        api.post(
            "/v1/inspections",
            {
                "programme": "YOS",
                "fieldwork_start": "2019-03-04",
                "inspected_body": {"name": "Cumbria", "type": "yot", "region": "North West"},
            },
        ),
        201,
    )["id"]
    api.ok(api.post(f"/v1/inspections/{yos}/start-fieldwork", {}))
    return {
        "inspection": inspection,
        "scheduled": api.schedule("Cumbria", start="2011-07-01"),
        "case": case,
        "concern": concern["id"],
        "reinspection": concern["reinspection"]["id"],
        "follow_up": api.schedule("Cumbria", start="2012-12-03"),
        "complaint": complaint,
        "yos": yos,
        "recommendation": recommendation,
        "thematic": api.ok(
            api.post(
                "/v1/thematics",
                {
                    "title": "Sexual offending",
                    "topic": "sexual offending",
                    "sector": "adult",
                    "partners": ["HM Inspectorate of Prisons"],
                    "announced_on": "2018-05-18",
                },
            ),
            201,
        )["id"],
        "body": api.ok(api.get(f"/v1/inspections/{yos}"))["inspected_body"]["id"],  # Cumbria YOT
    }


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def test_every_endpoint_with_every_role(api: Api) -> None:
    ids = records(api)
    failures = []
    for row in MATRIX:
        # Forbidden roles first: a 403 must come before any state or body check, and change nothing.
        for role in sorted(ROLES, key=lambda r: r in row.allowed):
            response = api.call(row.method, fill(row.path, ids), role, json=fill(row.body, ids))
            if (role in row.allowed and response.status_code in (401, 403)) or response.status_code >= 500:
                failures.append(f"{row.method} {row.path} as {role}: {response.status_code} {response.get_json()}")
            if role not in row.allowed:
                if response.status_code != 403:
                    failures.append(f"{row.method} {row.path} as {role}: {response.status_code}, expected 403")
                else:
                    assert_problem(response, 403)
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_route_of_the_four_resources(api: Api) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in api.ok(api.get("/openapi.json", None))["paths"].items()
        if path.startswith(
            (
                "/v1/inspections",
                "/v1/cases",
                "/v1/reinspections",
                "/v1/complaints",
                "/v1/recommendations",
                "/v1/thematics",
                "/v1/bodies",
                "/v1/programmes",
            )
        )
        for method in operations
        if method != "parameters"
    }
    ours = {(m, p) for m, p in documented if not p.endswith("/history")}  # history belongs to the audit module
    covered = {(row.method, _template(row.path)) for row in MATRIX}
    assert ours <= covered, ours - covered


def _template(path: str) -> str:
    names = {
        "inspection": "inspection_id",
        "scheduled": "inspection_id",
        "case": "case_id",
        "reinspection": "reinspection_id",
        "complaint": "complaint_id",
        "concern": "x",
        "yos": "inspection_id",
        "recommendation": "recommendation_id",
        "thematic": "thematic_id",
        "body": "body_id",
    }
    path = path.split("?")[0].replace("/standards/1.1/", "/standards/{code}/")
    path = path.replace("/programmes/YOS/", "/programmes/{programme}/").replace("/2018-19", "/{year}")
    path = path.replace("/2017-18", "/{year}")
    for key, name in names.items():
        path = path.replace("{" + key + "}", "{" + name + "}")
    return path
