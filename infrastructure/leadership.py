"""Which worker works: of several `inspectorate project` processes, exactly one leads at a time.

The leader runs everything that must happen once: the projections, the deadline
process and webhook delivery. The others stand by, asking again every second, and
do nothing else.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a
connection of its own. PostgreSQL gives it up the moment that session ends: a
leader killed outright (SIGKILL, the OOM killer) closes its socket as it dies, so
a standby takes over within its next try (a second). A leader whose machine or
network vanishes without closing the socket is dropped by the server's TCP
keepalives (set on the session: about 4 s). The leader confirms its connection
every half second; once that fails, or has not answered for 2 s, it has lost the
lead (``Term.lost``) and its work stops within a second: the page or delivery in hand
finishes. Overlapping a successor that briefly is safe (a projection page commits only if
the views' positions are unchanged; a deadline event only on the aggregate's next version;
a webhook event is at worst sent twice); leadership is there so that the work is done once,
not so that it is correct.

SQLite: an exclusive ``flock`` on a file in the data folder, which the kernel
releases when its holder dies. (One machine: the data folder is that machine's.)
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psycopg

from infrastructure.config import Settings
from infrastructure.files import private_dir, private_file

log = logging.getLogger("inspectorate.leadership")

# The advisory lock's key: one bigint, below 2**31, so that pg_locks shows it as classid 0, objid KEY.
WORKER_LOCK_KEY = 0x494E5350  # "INSP"
MIGRATION_LOCK_KEY = 0x494E534D  # "INSM": schema changes, one process at a time
RETRY_SECONDS = 1.0  # a standby asks again this often
CONFIRM_SECONDS = 0.5  # the leader confirms its lock connection this often
LOST_AFTER_SECONDS = 2.0  # ... and stops working when no confirmation has come back for this long
LOCK_FILE = "projection-worker.lock"  # SQLite: in the data folder
APPLICATION_NAME = "inspectorate-worker"  # the lock session's name in pg_stat_activity: `views status` shows it

# libpq's and the server's TCP settings for the lock session: a peer gone without a word is noticed in seconds.
_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 1,
    "keepalives_interval": 1,
    "keepalives_count": 2,
    "tcp_user_timeout": 3000,
    "connect_timeout": 3,
}
_SERVER_KEEPALIVES = "-c tcp_keepalives_idle=2 -c tcp_keepalives_interval=1 -c tcp_keepalives_count=2"

# Who leads now, as the database sees it (PostgreSQL): the lock's holder and its session's name.
LEADER_QUERY = (
    "SELECT a.application_name, a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def identity() -> str:
    """This process as the other workers and an operator see it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Term:
    """One spell of leadership: ``lost`` is set when it ends (leadership gone, or the worker stopping)."""

    def __init__(self) -> None:
        self.lost = threading.Event()


class _Terms:
    """A term of leadership and the thread that watches it: started and ended alike by both leaderships."""

    _term: Term | None = None
    _watch: threading.Thread | None = None

    def _begin(self, watch: Callable[[Term], None]) -> Term:
        term = self._term = Term()
        self._watch = threading.Thread(target=watch, args=(term,), name="leadership-watch", daemon=True)
        self._watch.start()
        return term

    def _end(self) -> None:
        if self._term is not None:
            self._term.lost.set()
            self._term = None
        if self._watch is not None:
            self._watch.join(timeout=2)
            self._watch = None


class Leadership(Protocol):
    def acquire(self, stop: threading.Event, waiting: Callable[[], None] | None = None) -> Term | None:
        """Block until this process leads (a Term), or ``stop`` is set (None). ``waiting`` runs between tries."""

    def release(self) -> None:
        """Give up the lead (a standby takes over at its next try)."""


def leadership_for(settings: Settings) -> Leadership:
    if settings.is_postgres:
        return PostgresLeadership(_dsn(settings))
    return FileLeadership(settings.data_dir / LOCK_FILE)


def _dsn(settings: Settings) -> str:
    return settings.database_url.replace("postgresql+psycopg", "postgresql", 1)  # type: ignore[union-attr]


class PostgresLeadership(_Terms):
    """The advisory lock on a connection of its own, confirmed by a thread while held."""

    def __init__(
        self,
        dsn: str,
        key: int = WORKER_LOCK_KEY,
        *,
        retry: float = RETRY_SECONDS,
        confirm: float = CONFIRM_SECONDS,
        lost_after: float = LOST_AFTER_SECONDS,
    ) -> None:
        self.dsn, self.key = dsn, key
        self.retry, self.confirm, self.lost_after = retry, confirm, lost_after
        self._conn: psycopg.Connection | None = None
        # Held while the confirming thread queries the lock's connection. Closing a psycopg connection
        # while another thread is inside a query on it can crash the process (the C connection is
        # freed under the query), so the connection is closed only between queries.
        self._querying = threading.Lock()

    def acquire(self, stop: threading.Event, waiting: Callable[[], None] | None = None) -> Term | None:
        said = False
        while not stop.is_set():
            if waiting is not None:
                waiting()
            try:
                if self._try():
                    log.warning("worker %s leads: projections, deadlines and webhooks run here", identity())
                    return self._lead(stop)
                if not said:
                    log.warning("worker %s stands by: another worker leads", identity())
                    said = True
            except psycopg.Error as error:
                log.warning("leadership: %s; trying again", type(error).__name__)
                self._close()
            stop.wait(self.retry)
        return None

    def _try(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.dsn,
                autocommit=True,
                application_name=f"{APPLICATION_NAME} {identity()}"[:63],
                options=_SERVER_KEEPALIVES,
                **_KEEPALIVES,
            )
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def _lead(self, stop: threading.Event) -> Term:
        confirmed = [time.monotonic()]
        done = threading.Event()

        def confirm(term: Term) -> None:  # its own thread: a query that hangs must not stop the clock below
            conn = self._conn
            while not done.is_set():
                try:
                    with self._querying:
                        if conn is None or conn.closed:
                            raise psycopg.OperationalError("the lock's connection is closed")
                        conn.execute("SELECT 1")
                    confirmed[0] = time.monotonic()
                except Exception as error:  # whatever it is, the lock may be gone
                    log.warning("leadership: lock connection lost (%s)", type(error).__name__)
                    term.lost.set()
                    return
                done.wait(self.confirm)

        def watch(term: Term) -> None:
            threading.Thread(target=confirm, args=(term,), name="leadership-confirm", daemon=True).start()
            while not term.lost.is_set():
                if stop.is_set():
                    term.lost.set()
                elif time.monotonic() - confirmed[0] > self.lost_after:
                    log.warning("leadership: lock connection silent for %.1f s; stepping down", self.lost_after)
                    term.lost.set()
                term.lost.wait(0.1)
            done.set()

        return self._begin(watch)

    def release(self) -> None:
        self._end()
        self._close()  # the session ends: the lock with it (also after a lost connection)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # Not under a confirming query (see _querying). One that hangs past the keepalives' reach leaves
        # the connection to be closed when it is collected, rather than crash the process.
        if self._querying.acquire(timeout=self.lost_after + 10):
            try:
                with contextlib.suppress(Exception):  # already gone
                    conn.close()
            finally:
                self._querying.release()


class FileLeadership(_Terms):
    """SQLite: an exclusive flock on a file in the data folder; the kernel drops it when the holder dies."""

    def __init__(self, path: Path, *, retry: float = RETRY_SECONDS) -> None:
        self.path, self.retry = path, retry
        self._fd: int | None = None

    def acquire(self, stop: threading.Event, waiting: Callable[[], None] | None = None) -> Term | None:
        private_dir(self.path.parent)
        private_file(self.path)
        said = False
        while not stop.is_set():
            if waiting is not None:
                waiting()
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not said:
                    log.warning("worker %s stands by: another worker leads", identity())
                    said = True
                stop.wait(self.retry)
                continue
            self._fd = fd
            log.info("worker %s leads", identity())
            return self._lead(stop)
        return None

    def _lead(self, stop: threading.Event) -> Term:
        def watch(term: Term) -> None:  # a file lock is not lost while held: the term ends only with the worker
            while not term.lost.wait(0.1):
                if stop.is_set():
                    term.lost.set()

        return self._begin(watch)

    def release(self) -> None:
        self._end()
        if self._fd is not None:
            os.close(self._fd)  # the flock goes with the last descriptor of its open file
            self._fd = None


def current_leader(settings: Settings) -> str | None:
    """The leading worker's session name (``inspectorate-worker host:pid``), or None: nobody leads.

    PostgreSQL only (on SQLite the lock is a file, and the one worker normally runs inside `serve`).
    """
    if not settings.is_postgres:
        return None
    with psycopg.connect(_dsn(settings), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(LEADER_QUERY, (WORKER_LOCK_KEY,)).fetchone()
    return str(row[0]) if row else None


@contextmanager
def migration_lock(settings: Settings) -> Iterator[None]:
    """PostgreSQL: one process at a time creates the schema, so that API nodes and workers starting
    together do not race on CREATE TABLE (PostgreSQL answers the loser with a duplicate or
    "tuple concurrently updated"). The lock is a session lock on its own connection, freed when it closes."""
    if not settings.is_postgres:
        yield
        return
    with psycopg.connect(_dsn(settings), autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
