"""Integer query parameters: anything outside 0..2**63-1 (or the parameter's own range) is a 422, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.api.api_client import Api, assert_problem

# Every integer query parameter the API takes, with the role that may ask and the range it accepts.
PARAMETERS = [
    ("/v1/events", "after", "integration", 0, 2**63 - 1),
    ("/v1/events", "limit", "integration", 1, 1000),
    ("/v1/events/stream", "after", "integration", 0, 2**63 - 1),
    ("/v1/events/stream", "max_events", "integration", 1, 100_000),
    ("/v1/audit/reads", "after", "admin", 0, 2**63 - 1),
    ("/v1/audit/reads", "limit", "admin", 1, 1000),
    ("/v1/views/complaints", "min_position", "admin", 0, 2**63 - 1),
    ("/v1/views/reinspections", "min_position", "admin", 0, 2**63 - 1),
    ("/v1/views/consistency", "min_position", "admin", 0, 2**63 - 1),
    ("/v1/views/programmes/CCI/years/2011-12", "min_position", "admin", 0, 2**63 - 1),
    ("/v1/views/inspections/00000000-0000-0000-0000-000000000000/scores", "min_position", "admin", 0, 2**63 - 1),
]
IDS = [f"{'/'.join(path.split('/')[2:4])}:{name}" for path, name, *_ in PARAMETERS]
OUT_OF_RANGE = [
    "9223372036854775808",
    "9" * 19,
    "9" * 30,
    "9" * 5000,
    "-9223372036854775809",
    "-1",
    "\u0661\u0662",
    "１",
    "1.0",
    "1e3",
    " 1",
    "0x10",
    "",
]


def test_the_reported_values_are_422(api: Api) -> None:
    """The values that reached the database as 500s (issue 16, item 5)."""
    for path in ("/v1/events?after=9223372036854775808", "/v1/events/stream?after=" + "9" * 30):
        problem = assert_problem(api.get(path, "integration"), 422)
        assert "after" in problem["errors"]
    problem = assert_problem(api.get("/v1/audit/reads?after=9223372036854775808", "admin"), 422)
    assert "after" in problem["errors"]


@pytest.mark.parametrize(("path", "name", "role", "low", "high"), PARAMETERS, ids=IDS)
def test_integer_parameters_out_of_range_are_422(
    api: Api, path: str, name: str, role: str, low: int, high: int
) -> None:
    for value in [*OUT_OF_RANGE, str(low - 1), str(high + 1)]:
        if value in ("-1",) and low < 0:
            continue
        response = api.get(path, role, query_string={name: value})
        problem = assert_problem(response, 422)
        assert name in problem["errors"], (value, problem)


def test_the_largest_position_is_accepted(api: Api) -> None:
    """2**63-1 is in range: the feed answers an empty page rather than refusing it."""
    page = api.ok(api.get(f"/v1/events?after={2**63 - 1}", "integration"))
    assert page["events"] == [] and page["next_after"] == 2**63 - 1
    assert api.ok(api.get(f"/v1/audit/reads?after={2**63 - 1}", "admin"))["items"] == []


@pytest.mark.parametrize(("path", "name", "role", "low", "high"), PARAMETERS, ids=IDS)
def test_any_integer_is_answered_without_a_server_error(
    api: Api, path: str, name: str, role: str, low: int, high: int
) -> None:
    """Fuzz: integers of any size (and digit strings of any script) are 2xx, 422 or 503, never 5xx otherwise."""
    api.app.config["INSPECTORATE_VIEW_WAIT_SECONDS"] = 0  # a position beyond the head: answer at once

    @hypothesis_settings(
        max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        value=st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.integers(min_value=2**62, max_value=2**64).map(str),
            st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=25),
        )
    )
    def run(value: str) -> None:
        query = {name: value, **({"timeout": "0"} if path.endswith("/stream") else {})}
        response = api.get(path, role, query_string=query)
        status = response.status_code
        assert status < 500 or status == 503, (value, status, response.get_data(as_text=True)[:300])
        in_range = value.isascii() and value.lstrip("-").isdigit() and low <= int(value) <= high
        if not in_range:
            assert status == 422, (value, status)

    run()
