"""PostgreSQL outage: requests fail fast with 503 while the database is down; the service recovers by itself.

Runs against a throw-away cluster of its own (started with scripts/start-test-postgres.sh,
then stopped and started with pg_ctl on the same data directory), never the shared one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from domain.base import Actor
from infrastructure.availability import DatabaseUnavailable
from infrastructure.config import Settings
from tests.reliability.helpers import REPO, Server, create_token, free_port, inspection_body, request, server_env
from web.bootstrap import build_app, migrate

INSPECTOR = Actor(name="Outage Inspector", role="inspector", organisation=None)
FAST = 2.0  # seconds: a request during the outage must be refused within this


@dataclass
class Cluster:
    """A PostgreSQL cluster this test may stop and start at will."""

    data_dir: Path
    port: int
    url: str
    bindir: Path

    def _pg_ctl(self, *args: str) -> None:
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args]
        if os.geteuid() == 0:  # as in the script: the cluster belongs to 'postgres'
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/", timeout=60)

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl("-w", "-t", "60", "-l", f"{self.data_dir}.log", "-o", options, "start")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not os.environ.get("INSPECTORATE_TEST_POSTGRES_URL") and not os.environ.get("CI"):
        pytest.skip("PostgreSQL tests are off (INSPECTORATE_TEST_POSTGRES_URL and CI unset)")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.fail("PostgreSQL server binaries are needed for the outage test (/usr/lib/postgresql/*/bin)")
    data_dir = Path(f"/tmp/pg-outage-{os.getpid()}")
    env = {**os.environ, "INSPECTORATE_PG_DIR": str(data_dir), "INSPECTORATE_PG_PORT": str(free_port())}
    script = REPO / "scripts" / "start-test-postgres.sh"
    out = subprocess.run([str(script)], env=env, check=True, capture_output=True, text=True, timeout=120).stdout
    url = re.search(r"INSPECTORATE_TEST_POSTGRES_URL=(\S+)", out).group(1)  # type: ignore[union-attr]
    port = int(re.search(r":(\d+)/", url).group(1))  # type: ignore[union-attr]
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
    yield Cluster(data_dir, port, url, bindir)
    subprocess.run([str(script), "stop"], env=env, capture_output=True, timeout=120)
    shutil.rmtree(data_dir, ignore_errors=True)
    Path(f"{data_dir}.log").unlink(missing_ok=True)


def test_the_event_store_fails_fast_while_down_and_recovers_without_a_restart(cluster: Cluster, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=cluster.url)
    migrate(settings)
    app = build_app(settings, create_table=False)
    try:
        inspection_id = uuid.UUID(
            app.schedule_inspection(
                INSPECTOR,
                "OMI2",
                {"name": "Direct", "type": "probation_trust", "region": "North West"},
                date(2011, 5, 3),
            ).body["id"]
        )
        cluster.stop()
        try:
            for attempt in (
                lambda: app.get_inspection(inspection_id),
                lambda: app.start_fieldwork(INSPECTOR, inspection_id),
            ):
                started = time.monotonic()
                with pytest.raises(DatabaseUnavailable):
                    attempt()
                assert time.monotonic() - started < FAST
        finally:
            cluster.start()
        started = time.monotonic()
        assert app.get_inspection(inspection_id).status == "scheduled"  # stale connections flushed, retried
        assert app.start_fieldwork(INSPECTOR, inspection_id).body["status"] == "fieldwork"
        assert time.monotonic() - started < FAST
    finally:
        app.close()


def views_current(port: int, token: str) -> None:
    """A new write reaches the views (a view read waits for its position, up to a few seconds)."""
    written = request(port, "POST", "/v1/inspections", inspection_body(f"Probe {uuid.uuid4().hex[:8]}"), token=token)
    assert written.status == 201
    path = (
        f"/v1/views/inspections/{written.json()['id']}/scores?min_position={written.headers['inspectorate-position']}"
    )
    for _ in range(5):  # each read waits up to 3 s; the worker may still be starting
        view = request(port, "GET", path, token=token)
        if view.status != 503:
            break
    assert view.status == 200, (view.status, view.data[:300])


@dataclass
class Outcome:
    started: float
    ended: float
    status: int
    retry_after: str | None = None
    problem: bool = False
    inspection_id: str | None = None


def test_http_under_load_503_fast_during_outage_then_recovers(cluster: Cluster, tmp_path: Path) -> None:
    server = Server(server_env(tmp_path / "var", INSPECTORATE_DATABASE_URL=cluster.url))
    token = create_token(server.env, "Load Inspector", "inspector").secret
    server.start()
    try:
        views_current(server.port, token)  # the projection worker is up before the outage begins
        outcomes: list[Outcome] = []
        stop = threading.Event()

        def writer(n: int) -> None:
            i = 0
            while not stop.is_set():
                i += 1
                started = time.monotonic()
                try:
                    reply = request(
                        server.port,
                        "POST",
                        "/v1/inspections",
                        inspection_body(f"Load {n}-{i}"),
                        token=token,
                        timeout=20,
                    )
                except OSError:
                    outcomes.append(Outcome(started, time.monotonic(), 0))
                    continue
                outcomes.append(
                    Outcome(
                        started,
                        time.monotonic(),
                        reply.status,
                        reply.headers.get("retry-after"),
                        reply.is_problem,
                        reply.json()["id"] if reply.status == 201 else None,
                    )
                )
                time.sleep(0.01)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        assert request(server.port, "GET", "/health").status == 200
        cluster.stop()
        down_at = time.monotonic()
        time.sleep(0.3)
        ready = request(server.port, "GET", "/health", timeout=5)  # readiness: the database does not answer
        live = request(server.port, "GET", "/health/live", timeout=5)  # liveness: the process does
        time.sleep(max(0.0, down_at + 2.5 - time.monotonic()))
        restarting_at = time.monotonic()  # the database may accept connections before pg_ctl returns
        cluster.start()
        up_at = time.monotonic()
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

        assert (ready.status, ready.is_problem, bool(ready.headers.get("retry-after"))) == (503, True, True)
        assert ready.elapsed < FAST, ready.elapsed
        assert live.status == 200 and live.json() == {"status": "ok"}
        assert request(server.port, "GET", "/health").status == 200  # ready again
        assert {o.status for o in outcomes} <= {201, 503}, sorted({o.status for o in outcomes})
        during = [o for o in outcomes if o.started >= down_at + 0.2 and o.ended <= restarting_at]
        assert len(during) >= 8, len(during)
        assert [o for o in during if not (o.status == 503 and o.problem and o.retry_after)] == []
        slowest = max(o.ended - o.started for o in during)
        assert slowest < FAST, slowest
        recovered = min(o.ended for o in outcomes if o.status == 201 and o.started >= restarting_at)
        recovery = max(0.0, recovered - up_at)
        after = [o for o in outcomes if o.started >= recovered]
        assert after and [(round(o.started - up_at, 2), o.status) for o in after if o.status != 201] == []
        longest = max(o.ended - o.started for o in outcomes)  # including any caught mid-statement at the stop
        assert longest < 3.0, longest
        print(
            f"\noutage: {len(during)} requests refused with 503, slowest {slowest * 1000:.0f} ms "
            f"(any request, across the stop and start: {longest * 1000:.0f} ms); "
            f"first success {recovery:.2f} s after the database was back; "
            f"{sum(o.status == 201 for o in outcomes)} writes accepted in all"
        )
        assert recovery < 5.0, recovery
        # Every acknowledged write survived the outage.
        for outcome in outcomes:
            if outcome.inspection_id:
                assert (
                    request(server.port, "GET", f"/v1/inspections/{outcome.inspection_id}", token=token).status == 200
                )
        views_current(server.port, token)  # the projection worker rode out the outage too
        assert "unhandled error" not in server.log_text()
    finally:
        server.stop()


def test_which_errors_mean_the_database_is_unavailable() -> None:
    """Connection-level failures are 503s; rule and data errors are not (they stay 4xx/500)."""
    import psycopg.errors
    import sqlalchemy.exc
    from eventsourcing.persistence import IntegrityError, OperationalError, ProgrammingError
    from psycopg_pool import PoolTimeout

    from infrastructure.availability import connection_lost, is_database_unavailable

    def wrapped(cause: BaseException) -> OperationalError:
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    assert connection_lost(wrapped(PoolTimeout("couldn't get a connection after 1.00 sec")))
    assert connection_lost(wrapped(psycopg.OperationalError("server closed the connection unexpectedly")))
    assert connection_lost(wrapped(psycopg.errors.AdminShutdown("terminating connection")))
    assert not connection_lost(wrapped(psycopg.errors.LockNotAvailable("lock timeout")))  # worth retrying
    assert not connection_lost(wrapped(psycopg.errors.QueryCanceled("statement timeout")))
    for unavailable in (
        DatabaseUnavailable("down"),
        OperationalError("locked"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("refused")),
        psycopg.OperationalError("refused"),
    ):
        assert is_database_unavailable(unavailable), unavailable
    for other in (
        IntegrityError("duplicate"),
        ProgrammingError("no such table"),
        ValueError("x"),
        sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate")),
    ):
        assert not is_database_unavailable(other), other


def test_a_database_error_during_a_request_is_a_fast_503_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    import sqlalchemy.exc

    from infrastructure.tokens import TokenStore
    from web import create_app

    def refuse(self: TokenStore, secret: str) -> None:
        raise sqlalchemy.exc.OperationalError("SELECT", {}, psycopg.OperationalError("connection refused"))

    app = create_app(Settings(data_dir=tmp_path / "var"))
    monkeypatch.setattr(TokenStore, "authenticate", refuse)
    reply = app.test_client().get(f"/v1/inspections/{uuid.uuid4()}", headers={"Authorization": "Bearer x"})
    assert reply.status_code == 503
    assert reply.mimetype == "application/problem+json"
    assert reply.headers["Retry-After"] == "2"
    assert reply.json["status"] == 503 and "unavailable" in reply.json["detail"]
