"""Many clients writing the same records at once over HTTP, on the real server.

Unconditional writes that lose an optimistic-concurrency race are retried by
the server and succeed; conditional ones (If-Match) get 2xx or 412; the
history holds exactly the accepted events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import _postgres_or_skip, reset_postgres
from tests.reliability.helpers import (
    CHARACTERISTICS,
    Reply,
    Server,
    create_token,
    judgements,
    open_fieldwork,
    server_env,
)

CLIENTS = 8
PER_CLIENT = 6


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    extra = {}
    if request.param == "postgres":
        url = _postgres_or_skip()
        reset_postgres(url)
        extra["INSPECTORATE_DATABASE_URL"] = url
    started = Server(server_env(tmp_path_factory.mktemp("concurrency") / "var", **extra))
    started.tokens["inspector"] = create_token(started.env, "Busy Inspector", "inspector").secret
    yield started.start()
    started.stop()


def many(calls: list) -> list[Reply]:  # type: ignore[type-arg]
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_same_cases_and_same_inspection_written_at_once(server: Server) -> None:
    token = server.tokens["inspector"]
    inspection_id = open_fieldwork(server.port, token, "Contended")
    cases_path = f"/v1/inspections/{inspection_id}/cases"

    def add(ref: str, if_match: str | None = None):  # type: ignore[no-untyped-def]
        headers = {"If-Match": if_match} if if_match else {}
        return lambda: server.request(
            "POST", cases_path, {"case_ref": ref, "characteristics": CHARACTERISTICS}, token=token, headers=headers
        )

    # Adding cases to one inspection from every client at once: each add changes the inspection.
    added = many([add(f"C-{n}") for n in range(CLIENTS * PER_CLIENT // 2)])
    assert [r.status for r in added] == [201] * len(added), Counter(r.status for r in added)
    case_ids = [r.json()["id"] for r in added][:3]

    # Conditional adds against one version of the inspection: exactly one can win.
    version = server.request("GET", f"/v1/inspections/{inspection_id}", token=token).headers["etag"]
    conditional_adds = many([add(f"IFM-{n}", version) for n in range(CLIENTS)])
    assert Counter(r.status for r in conditional_adds) == {201: 1, 412: CLIENTS - 1}
    assert all(r.is_problem for r in conditional_adds if r.status == 412)
    case_count = server.request("GET", f"/v1/inspections/{inspection_id}", token=token).json()["case_count"]
    assert case_count == len(added) + 1

    # Unconditional ratings of the same three cases from every client: all accepted.
    def rate(case_id: str, sufficient: bool | None, if_match: str | None = None):  # type: ignore[no-untyped-def]
        headers = {"If-Match": if_match} if if_match else {}
        return lambda: server.request(
            "POST", f"/v1/cases/{case_id}/ratings", {"judgements": judgements(sufficient)}, token=token, headers=headers
        )

    plain = many([rate(case_ids[n % 3], [True, False, None][n % 3]) for n in range(CLIENTS * PER_CLIENT)])
    assert [r.status for r in plain] == [200] * len(plain), Counter(r.status for r in plain)
    accepted = Counter(case_ids[n % 3] for n in range(len(plain)))

    # Conditional ratings: each client reads the version, then writes If-Match it.
    def read_then_rate(case_id: str) -> Reply:
        etag = server.request("GET", f"/v1/cases/{case_id}", token=token).headers["etag"]
        reply = rate(case_id, True, etag)()
        if reply.status == 200:
            assert int(reply.headers["etag"].strip('"')) == int(etag.strip('"')) + 1
        return reply

    conditional = many([lambda n=n: read_then_rate(case_ids[n % 3]) for n in range(CLIENTS * PER_CLIENT)])
    statuses = Counter(r.status for r in conditional)
    assert set(statuses) <= {200, 412}, statuses
    assert statuses[200] >= 3  # at least the first of each case
    for n, reply in enumerate(conditional):
        if reply.status == 200:
            accepted[case_ids[n % 3]] += 1
    # No two accepted conditional writes produced the same version of a case.
    versions = [(case_ids[n % 3], r.headers["etag"]) for n, r in enumerate(conditional) if r.status == 200]
    assert len(versions) == len(set(versions))

    history = server.request("GET", f"/v1/inspections/{inspection_id}/history", token=token).json()["events"]
    rated = Counter(e["stream"] for e in history if e["type"] == "case.rated.v1")
    assert rated == accepted
    positions = [e["position"] for e in history]
    assert positions == sorted(set(positions))
    print(
        f"\nconcurrency: {len(plain)} unconditional ratings all 200; conditional {dict(statuses)}; "
        f"{sum(rated.values())} case.rated.v1 events = accepted"
    )
    assert "unhandled error" not in server.log_text()
