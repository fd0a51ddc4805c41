"""Property-based fuzzing from /openapi.json (schemathesis, through the WSGI app).

Valid and invalid requests to every lifecycle and aggregate-read operation:
no 5xx, only documented status codes and content types, and every response
body matches its documented schema. Valid requests are pointed at real
records half of the time so that commands get past the 404. Derandomised
and bounded, so it is deterministic and takes well under a minute.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from infrastructure.config import Settings
from tests.api.api_client import Api

OURS = (
    r"^/v1/(inspections|cases|reinspections|complaints|recommendations|thematics|bodies"
    r"|programmes/[^/]+/(selection-criteria|plans))"
)
NOT_OURS = r"/history$"  # the audit module's, tested there
# Inspectors may do most things, so they get half the requests; the other roles mostly meet 403s.
ROLE_MIX = ("inspector", "inspector", "inspector", "admin", "qa_reviewer", "local_assessor", "organisation")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
IN_PERIOD = ("2009-10-05", "2010-06-14", "2011-02-07", "2011-09-19", "2012-01-09", "2012-03-26")  # CCI and OMI2
EXAMPLES = {"sqlite": 40, "postgres": 20}  # per operation; each backend stays well under a minute


def known_records(api: Api) -> dict[str, list[str]]:
    """Real ids for each path parameter: a published inspection of concern, one in fieldwork, their cases."""
    ready = api.in_fieldwork()
    for n, verdict in enumerate((False, False, True)):
        api.rate(api.add_case(ready, f"C{n}"), verdict)
    api.ok(api.post(f"/v1/inspections/{ready}/complete-fieldwork"))
    recommendation = api.ok(
        api.post(f"/v1/inspections/{ready}/recommendations", {"to": "Cumbria", "text": "Plan."}), 201
    )["id"]
    published = api.ok(api.post(f"/v1/inspections/{ready}/publish", {"published_on": "2012-01-10"}))
    thematic = api.ok(
        api.post(
            "/v1/thematics",
            {
                "title": "Post-sentence supervision",
                "topic": "supervision",
                "sector": "adult",
                "partners": [],
                "announced_on": "2018-05-18",
            },
        ),
        201,
    )["id"]
    open_one = api.in_fieldwork("Durham", start="2011-06-06")
    case = api.add_case(open_one, "D1")
    complaint = api.ok(
        api.post("/v1/complaints", {"inspection_id": open_one, "category": "other", "summary": "Fuzz."}), 201
    )["id"]
    published_cases = [item["id"] for item in api.ok(api.get(f"/v1/inspections/{published['id']}/cases"))["items"]]
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
    yos_case = api.add_case(yos, "Y1")
    return {
        "inspection_id": [published["id"], open_one, api.schedule("Cumbria", start="2012-12-03"), yos],
        "case_id": [case, *published_cases, yos_case],
        "code": ["1.1", "2.1", "3.4"],
        "reinspection_id": [published["reinspection"]["id"]],
        "complaint_id": [complaint],
        "recommendation_id": [recommendation],
        "thematic_id": [thematic],
        "body_id": [api.ok(api.get("/v1/bodies?type=yot"))["items"][0]["id"]],
        "programme": ["YOS", "PROBATION", "CCI"],
        "year": ["2018-19", "2019-20"],
    }


def test_fuzzing_finds_no_server_error_and_no_undocumented_response(api: Api, settings: Settings) -> None:
    schema = (
        schemathesis.openapi.from_wsgi("/openapi.json", api.app).include(path_regex=OURS).exclude(path_regex=NOT_OURS)
    )
    ids = known_records(api)
    tokens = {role: api.token(role) for role in set(ROLE_MIX)}
    examples = EXAMPLES["postgres" if settings.database_url else "sqlite"]
    seen: set[tuple[str, str, int]] = set()

    def fuzz(operation: Any) -> None:
        valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        invalid = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

        @hypothesis_settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=st.one_of(valid, invalid),
            role=st.sampled_from(ROLE_MIX),
            real_ids=st.booleans(),
            pick=st.integers(min_value=0, max_value=10),
        )
        def run(case: Any, role: str, real_ids: bool, pick: int) -> None:
            negative = case.meta is not None and case.meta.generation.mode.is_negative
            if real_ids and not negative and case.path_parameters:
                case.path_parameters = {
                    name: ids[name][pick % len(ids[name])] if name in ids else value
                    for name, value in case.path_parameters.items()
                }
            if not negative and case.path == "/v1/inspections" and isinstance(case.body, dict):
                # Any date is a valid `date`, but fieldwork starts within its programme's period (2009-2013;
                # other dates are refused in test_date_rules_api): valid requests get such a date.
                case.body["fieldwork_start"] = IN_PERIOD[pick % len(IN_PERIOD)]
                case.body.pop("fieldwork_end", None)
            checks = [*CHECKS, negative_data_rejection] if negative else CHECKS
            response = case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"}, checks=checks)
            seen.add((case.method, case.path, response.status_code))

        run()

    operations = [result.ok() for result in schema.get_all_operations()]
    # The contract's lifecycle commands and aggregate reads (3 of the 2018 framework), the listing, 14 of
    # recommendations and thematic inspections, the register of bodies (4), selection (3), the erasure.
    assert len(operations) == 45
    for operation in operations:
        fuzz(operation)
    # Every operation was reached, and the run got past authentication and validation into the application.
    assert {(method, path) for method, path, _ in seen} == {(op.method.upper(), op.path) for op in operations}
    assert {status for *_, status in seen} >= {200, 201, 400, 403, 404, 409, 422}


# Reads whose query strings carry integers (positions, limits); the stream is left out: a valid request holds it open.
QUERY_INTEGERS = r"^/v1/(events|audit/reads|views/)"
STREAMS = r"/stream$"
HUGE = st.one_of(
    st.integers(min_value=2**63, max_value=2**63 + 2),
    st.integers(min_value=2**63, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-1),
)  # every one outside 0..2**63-1


def test_fuzzing_query_integers_of_any_size_finds_no_server_error(api: Api, settings: Settings) -> None:
    """Valid and invalid queries to every read with an integer parameter, half of them with an integer far
    outside 64 bits in one of those parameters: 422, never a 5xx from the database (issue 16, item 5)."""
    api.app.config["INSPECTORATE_VIEW_WAIT_SECONDS"] = 0  # a position beyond the head: answer at once
    api.published([False, False, True])
    document = api.ok(api.get("/openapi.json", None))
    schema = (
        schemathesis.openapi.from_wsgi("/openapi.json", api.app)
        .include(path_regex=QUERY_INTEGERS)
        .exclude(path_regex=STREAMS)
    )
    token = api.token("admin")
    examples = EXAMPLES["postgres" if settings.database_url else "sqlite"]
    seen: set[tuple[str, int, bool]] = set()

    def fuzz(operation: Any) -> None:
        integers = [
            p["name"]
            for p in document["paths"][operation.path]["get"].get("parameters", [])
            if p["in"] == "query" and p["schema"].get("type") == "integer"
        ]
        valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        invalid = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

        @hypothesis_settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(valid, invalid), huge=st.one_of(st.none(), HUGE), pick=st.integers(0, 10))
        def run(case: Any, huge: int | None, pick: int) -> None:
            negative = case.meta is not None and case.meta.generation.mode.is_negative
            if huge is not None and integers:
                case.query = {**(case.query or {}), integers[pick % len(integers)]: str(huge)}
            # A documented 503 (a view not yet at ``min_position``) is not a server error here; a 500 is.
            checks = [
                c for c in ([*CHECKS, negative_data_rejection] if negative else CHECKS) if c is not not_a_server_error
            ]
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)
            assert response.status_code < 500 or (
                response.status_code == 503 and "min_position" in (case.query or {})
            ), (case.path, case.query, response.status_code, response.text[:300])
            if huge is not None and integers:
                assert response.status_code in (400, 401, 404, 422), (case.path, case.query, response.status_code)
            seen.add((case.path, response.status_code, huge is not None and bool(integers)))

        run()

    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/events", "/v1/audit/reads", "/v1/views/complaints"}
    for operation in operations:
        fuzz(operation)
    assert {path for path, _, _ in seen} == {op.path for op in operations}
    assert {(status, boosted) for _, status, boosted in seen} >= {(200, False), (422, True)}


MIB = 1024 * 1024


def test_a_chunked_body_gets_what_the_same_body_with_a_length_gets(api: Api) -> None:
    """Bodies of every size up to 2 MiB, to every kind of write, sent with Content-Length and then chunked
    (no length; the server marks the stream's end, as granian does): the same answer, 413 exactly over 1 MiB."""
    import io

    inspection = api.in_fieldwork("Durham", start="2011-06-06")
    paths = [
        "/v1/inspections",
        "/v1/complaints",
        f"/v1/inspections/{inspection}/cases",
        f"/v1/inspections/{inspection}/start-fieldwork",
    ]
    headers = {**api.headers("inspector"), "Content-Type": "application/json"}

    @hypothesis_settings(
        max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        size=st.one_of(st.integers(min_value=2, max_value=2 * MIB), st.sampled_from([MIB - 1, MIB, MIB + 1])),
        path=st.sampled_from(paths),
    )
    def run(size: int, path: str) -> None:
        raw = b"{" + b" " * (size - 2) + b"}"
        with_length = api.client.post(path, data=raw, headers=headers)
        chunked = api.client.post(
            path,
            input_stream=io.BytesIO(raw),
            headers={**headers, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
        assert chunked.status_code == with_length.status_code, (size, path, chunked.get_json())
        assert (chunked.status_code == 413) == (size > MIB), (size, path, chunked.status_code)

    run()
