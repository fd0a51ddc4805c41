"""Leadership among workers: exactly one leads; a standby takes over within seconds when it goes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from infrastructure.config import Settings
from infrastructure.leadership import (
    FileLeadership,
    Leadership,
    PostgresLeadership,
    Term,
    current_leader,
    leadership_for,
)


def _dsn(settings: Settings) -> str:
    return settings.database_url.replace("postgresql+psycopg", "postgresql", 1)  # type: ignore[union-attr]


def _pair(settings: Settings) -> tuple[Leadership, Leadership]:
    if settings.is_postgres:
        return PostgresLeadership(_dsn(settings), retry=0.2), PostgresLeadership(_dsn(settings), retry=0.2)
    path = settings.data_dir / "projection-worker.lock"
    return FileLeadership(path, retry=0.2), FileLeadership(path, retry=0.2)


class Contender:
    """A leadership asked for in a thread of its own, as a standby worker asks for it."""

    def __init__(self, leadership: Leadership) -> None:
        self.leadership = leadership
        self.stop = threading.Event()
        self.term: Term | None = None
        self.led_at: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.term = self.leadership.acquire(self.stop)
        if self.term is not None:
            self.led_at = time.monotonic()

    def wait(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return self.term is not None

    def end(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.leadership.release()


def test_one_leads_the_other_stands_by_and_takes_over_when_it_lets_go(settings: Settings) -> None:
    first, second = _pair(settings)
    term = first.acquire(threading.Event())
    assert term is not None and not term.lost.is_set()
    standby = Contender(second)
    try:
        assert not standby.wait(1.0), "two leaders at once"
        released = time.monotonic()
        first.release()
        assert term.lost.is_set()
        assert standby.wait(3.0)
        assert standby.led_at is not None and standby.led_at - released < 1.0  # its next try (every 0.2 s here)
    finally:
        standby.end()
        first.release()


def test_a_standby_that_is_stopped_never_leads(settings: Settings) -> None:
    first, second = _pair(settings)
    assert first.acquire(threading.Event()) is not None
    try:
        stop = threading.Event()
        threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        assert second.acquire(stop) is None
        assert time.monotonic() - started < 2
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_when_the_leaders_session_dies_it_stops_at_once_and_the_standby_leads_within_5_s(
    postgres_settings: Settings,
) -> None:
    """The leader's database session is cut (as when its process is killed, or the server drops it):
    PostgreSQL frees the lock at once, the standby leads at its next try, and the old leader, finding
    its lock connection gone, ends its term rather than carry on beside the new one."""
    first, second = PostgresLeadership(_dsn(postgres_settings)), PostgresLeadership(_dsn(postgres_settings))
    term = first.acquire(threading.Event())
    assert term is not None
    leader = current_leader(postgres_settings)
    assert leader is not None and leader.startswith("inspectorate-worker ")
    standby = Contender(second)
    try:
        assert not standby.wait(1.2)
        with psycopg.connect(_dsn(postgres_settings), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (leader,)
            )
        cut = time.monotonic()
        assert term.lost.wait(3.0), "the old leader did not notice it lost the lock"
        assert time.monotonic() - cut < 1.5  # it confirms every 0.5 s
        assert standby.wait(5.0)
        assert standby.led_at is not None and standby.led_at - cut < 5.0
        assert current_leader(postgres_settings) is not None
    finally:
        standby.end()
        first.release()
    assert current_leader(postgres_settings) is None


def test_the_lock_file_is_private(tmp_path: Path) -> None:
    leadership = leadership_for(Settings(data_dir=tmp_path / "var"))
    assert isinstance(leadership, FileLeadership)
    assert leadership.acquire(threading.Event()) is not None
    try:
        assert (leadership.path.stat().st_mode & 0o777) == 0o600
    finally:
        leadership.release()


class _SlowConnection:
    """A lock connection whose confirming query takes a while, and which notes a close under a query
    (psycopg frees the C connection on close: a query running on it then can crash the process)."""

    def __init__(self) -> None:
        self.closed = False
        self.in_query = threading.Event()
        self.closed_under_a_query = False
        self._running = 0

    def execute(self, query: str, params: tuple[object, ...] = ()) -> _SlowConnection:
        if query.startswith("SELECT pg_try_advisory_lock"):
            return self
        self._running += 1
        self.in_query.set()
        time.sleep(0.5)
        self._running -= 1
        return self

    def fetchone(self) -> tuple[bool]:
        return (True,)

    def close(self) -> None:
        self.closed_under_a_query = self.closed_under_a_query or self._running > 0
        self.closed = True


def test_the_lock_connection_is_never_closed_under_a_confirming_query(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = _SlowConnection()
    monkeypatch.setattr(psycopg, "connect", lambda *args, **kwargs: connection)
    leadership = PostgresLeadership("postgresql://unused", confirm=0.01)
    term = leadership.acquire(threading.Event())
    assert term is not None
    assert connection.in_query.wait(5)  # the confirming thread is inside its query
    leadership.release()  # as a worker does when it steps down
    assert connection.closed and not connection.closed_under_a_query
