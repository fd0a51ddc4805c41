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
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
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

OURS = r"^/v1/(inspections|cases|reinspections|complaints)"
NOT_OURS = r"/history$"  # the audit module's, tested there
# Inspectors may do most things, so they get half the requests; the other roles mostly meet 403s.
ROLE_MIX = ("inspector", "inspector", "inspector", "admin", "qa_reviewer", "local_assessor", "organisation")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {"sqlite": 40, "postgres": 20}  # per operation; each backend stays well under a minute


def known_records(api: Api) -> dict[str, list[str]]:
    """Real ids for each path parameter: a published inspection of concern, one in fieldwork, their cases."""
    published = api.published([False, False, True])
    open_one = api.in_fieldwork("Durham", start="2011-06-06")
    case = api.add_case(open_one, "D1")
    complaint = api.ok(api.post("/v1/complaints", {"inspection_id": open_one, "category": "other",
                                                   "summary": "Fuzz."}), 201)["id"]
    published_cases = [item["id"] for item in api.ok(api.get(f"/v1/inspections/{published['id']}/cases"))["items"]]
    return {
        "inspection_id": [published["id"], open_one, api.schedule("Cumbria", start="2012-12-03")],
        "case_id": [case, *published_cases],
        "reinspection_id": [published["reinspection"]["id"]],
        "complaint_id": [complaint],
    }


def test_fuzzing_finds_no_server_error_and_no_undocumented_response(api: Api, settings: Settings) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api.app).include(path_regex=OURS).exclude(
        path_regex=NOT_OURS
    )
    ids = known_records(api)
    tokens = {role: api.token(role) for role in set(ROLE_MIX)}
    examples = EXAMPLES["postgres" if settings.database_url else "sqlite"]
    seen: set[tuple[str, str, int]] = set()

    def fuzz(operation: Any) -> None:
        valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        invalid = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)

        @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(valid, invalid), role=st.sampled_from(ROLE_MIX), real_ids=st.booleans(),
               pick=st.integers(min_value=0, max_value=10))
        def run(case: Any, role: str, real_ids: bool, pick: int) -> None:
            negative = case.meta is not None and case.meta.generation.mode.is_negative
            if real_ids and not negative and case.path_parameters:
                case.path_parameters = {
                    name: ids[name][pick % len(ids[name])] if name in ids else value
                    for name, value in case.path_parameters.items()
                }
            checks = [*CHECKS, negative_data_rejection] if negative else CHECKS
            response = case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"}, checks=checks)
            seen.add((case.method, case.path, response.status_code))

        run()

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20  # the contract's lifecycle commands and aggregate reads, and the inspections listing
    for operation in operations:
        fuzz(operation)
    # Every operation was reached, and the run got past authentication and validation into the application.
    assert {(method, path) for method, path, _ in seen} == {(op.method.upper(), op.path) for op in operations}
    assert {status for *_, status in seen} >= {200, 201, 400, 403, 404, 409, 422}
