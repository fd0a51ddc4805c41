"""Access control on the real server: hashed tokens, instant revocation, 401/403, another body's
records as 404 for an organisation, optional rate limits."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from infrastructure.config import Settings
from infrastructure.ratelimit import RateLimiter
from infrastructure.readdb import create_read_engine
from tests.conftest import _postgres_or_skip, reset_postgres
from tests.reliability.helpers import Server, cli, create_token, inspection_body, schedule

MISSING_ID = "00000000-0000-0000-0000-000000000000"


def every_stored_byte(data_dir: Path) -> bytes:
    """The raw bytes of every file the server keeps (databases and their WAL files)."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def test_tokens_are_stored_only_as_hashes(module_server: Server) -> None:
    token = create_token(module_server.env, "Hash Check", "inspector")
    assert (
        module_server.request("POST", "/v1/inspections", inspection_body("Hash Check"), token=token.secret).status
        == 201
    )
    with sqlite3.connect(module_server.data_dir / "views.sqlite") as db:
        rows = db.execute("SELECT * FROM api_tokens WHERE id = ?", (token.id,)).fetchall()
    assert len(rows) == 1
    assert hashlib.sha256(token.secret.encode()).hexdigest() in rows[0]
    assert not any(token.secret in str(value) for value in rows[0])
    assert token.secret.encode() not in every_stored_byte(module_server.data_dir)


def test_a_revoked_token_stops_working_at_once(module_server: Server) -> None:
    token = create_token(module_server.env, "Soon Revoked", "inspector")
    inspection_id = schedule(module_server.port, token.secret, "Revocation")
    path = f"/v1/inspections/{inspection_id}"
    assert module_server.request("GET", path, token=token.secret).status == 200
    assert "revoked" in cli(module_server.env, "token", "revoke", token.id).stdout
    # Several requests, so that every server worker is asked: none may trust a cached token.
    for _ in range(8):
        reply = module_server.request("GET", path, token=token.secret)
        assert reply.status == 401 and reply.is_problem, reply.data
        assert reply.headers.get("www-authenticate", "").lower().startswith("bearer")
    refused = module_server.request("POST", "/v1/inspections", inspection_body("After revocation"), token=token.secret)
    assert refused.status == 401


def test_missing_unknown_and_malformed_credentials_are_401(module_server: Server) -> None:
    path = f"/v1/inspections/{MISSING_ID}"
    for headers in (
        {},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": "Token abc"},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
    ):
        reply = module_server.request("GET", path, headers=headers)
        assert reply.status == 401 and reply.is_problem, (headers, reply.status)
        assert reply.json()["status"] == 401
    assert module_server.request("GET", "/health").status == 200  # no token needed


def test_roles_are_enforced_with_403(module_server: Server) -> None:
    auditor = create_token(module_server.env, "Read Only", "auditor").secret
    integration = create_token(module_server.env, "Feed Reader", "integration").secret
    reply = module_server.request("POST", "/v1/inspections", inspection_body("Auditor write"), token=auditor)
    assert reply.status == 403 and reply.is_problem
    inspector = create_token(module_server.env, "Role Inspector", "inspector").secret
    inspection_id = schedule(module_server.port, inspector, "Role checks")
    assert module_server.request("GET", f"/v1/inspections/{inspection_id}", token=auditor).status == 200
    assert module_server.request("GET", f"/v1/inspections/{inspection_id}", token=integration).status == 403


def test_an_organisation_cannot_tell_another_bodys_inspection_from_none(module_server: Server) -> None:
    """Inspection ids are predictable (uuid5 of programme, body and start): a 403 would tell an
    organisation that another body is inspected. It gets the unknown id's 404, word for word."""
    inspector = create_token(module_server.env, "Leak Inspector", "inspector").secret
    other = schedule(module_server.port, inspector, "Leak Other Body")
    own = schedule(module_server.port, inspector, "Leak Own Body")
    organisation = create_token(module_server.env, "Own Body rep", "organisation", "Leak Own Body").secret
    assert module_server.request("GET", f"/v1/inspections/{own}", token=organisation).status == 200
    for suffix in ("", "/history", "/cases", "?as_of=2999-01-01T00:00:00Z"):
        hidden = module_server.request("GET", f"/v1/inspections/{other}{suffix}", token=organisation)
        absent = module_server.request("GET", f"/v1/inspections/{MISSING_ID}{suffix}", token=organisation)
        assert (hidden.status, absent.status) == (404, 404) and hidden.is_problem, suffix
        assert hidden.json() == {**absent.json(), "detail": absent.json()["detail"].replace(MISSING_ID, other)}


def test_rate_limiting_is_off_by_default(module_server: Server) -> None:
    token = create_token(module_server.env, "Busy Client", "auditor").secret
    statuses = {module_server.request("GET", f"/v1/inspections/{MISSING_ID}", token=token).status for _ in range(80)}
    assert statuses == {404}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rate_limit_per_token_answers_429_with_retry_after(start_server: Callable[..., Server], backend: str) -> None:
    extra = {}
    if backend == "postgres":
        reset_postgres(_postgres_or_skip())
        extra["INSPECTORATE_DATABASE_URL"] = _postgres_or_skip()
    server = start_server(INSPECTORATE_RATE_LIMIT=10, start=False, **extra)
    busy = create_token(server.env, "Busy", "auditor").secret
    calm = create_token(server.env, "Calm", "auditor").secret
    server.start()  # both server workers create the counters table at once: either may win
    path = f"/v1/inspections/{MISSING_ID}"
    statuses = [server.request("GET", path, token=busy).status for _ in range(10)]
    if time.time() % 60 > 58:  # the minute window may have turned meanwhile: start again in the next one
        time.sleep(61 - time.time() % 60)
        statuses = [server.request("GET", path, token=busy).status for _ in range(10)]
    assert statuses == [404] * 10  # the limit counts across both server workers
    limited = server.request("GET", path, token=busy)
    assert limited.status == 429 and limited.is_problem, limited.data
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["status"] == 429
    assert server.request("POST", "/v1/inspections", inspection_body("Limited"), token=busy).status == 429
    assert server.request("GET", path, token=calm).status == 404  # per token, not global
    assert server.request("GET", "/health").status == 200


def test_rate_limiter_counts_atomically_on_each_backend(settings: Settings) -> None:
    """Concurrent hits from many threads: exactly the limit is allowed, on SQLite and PostgreSQL."""
    engine = create_read_engine(settings)
    try:
        limiter = RateLimiter(engine, per_minute=20)
        limiter.create_table()
        limiter.create_table()  # idempotent: every worker calls it at start
        with freeze_time("2011-05-03 10:00:05"), ThreadPoolExecutor(8) as pool:
            verdicts = list(pool.map(lambda _: limiter.hit("k" * 64), range(50)))
            other = limiter.hit("other")
        assert sum(v.allowed for v in verdicts) == 20
        assert {v.retry_after for v in verdicts} == {55}
        assert other.allowed
        with freeze_time("2011-05-03 10:01:00"):
            assert limiter.hit("k" * 64).allowed  # a new window
        with engine.connect() as conn:  # the old window was forgotten
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM api_rate_limits WHERE token_key = :k"), {"k": "k" * 64}
                ).scalar_one()
                == 1
            )
    finally:
        engine.dispose()
