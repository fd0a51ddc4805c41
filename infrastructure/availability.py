"""Database outages: fail fast while the database is down, recover by itself when it is back.

Two pieces:

- ``is_database_unavailable(error)`` tells the web layer which errors mean
  "the database cannot be reached now" (503 with Retry-After), without the
  web layer knowing SQLAlchemy, psycopg or the event store library.
- ``FailFastPostgresFactory`` is the library's PostgreSQL factory with
  connection handling tuned for outages. Left as it is, the library retries a
  failed statement 10 times, each waiting up to the pool timeout, and its
  pool backs off reconnecting for up to five minutes, so a request during an
  outage hung for a minute and the service took a while to notice the
  database was back. Here a lost connection is retried once (after flushing
  dead connections from the pool); a second loss, or no connection within
  the pool timeout, raises ``DatabaseUnavailable``, which the library does
  not retry.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any, cast

import psycopg
import sqlalchemy.exc
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from psycopg_pool import PoolTimeout

# A pool slot whose reconnection keeps failing is given up after this long, so
# that the next request opens a fresh connection at once instead of waiting
# for an exponential back-off timer once the database is back.
RECONNECT_TIMEOUT = 1.0
# libpq's own limit for opening a connection (an unreachable host, not a refused port).
CONNECT_TIMEOUT = 2
# A second lost connection within this window means the database is down, not one stale connection.
SECOND_LOSS_WINDOW = 1.0
RETRY_AFTER_SECONDS = 2

# SQLSTATEs that mean the connection itself is gone: class 08 (connection exception),
# 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now.
_LOST_STATES = ("57P01", "57P02", "57P03")


class DatabaseUnavailable(PersistenceError):
    """The database cannot be reached now. Deliberately not an OperationalError: not retried."""


def is_database_unavailable(error: BaseException) -> bool:
    """Whether an error means the database is unreachable or refusing work for now (503, not 500)."""
    if isinstance(error, (DatabaseUnavailable, OperationalError, InterfaceError)):
        return True
    if type(error) is PersistenceError:  # the library's wrapper for any other driver-level error
        return True
    if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlalchemy.exc.TimeoutError):  # SQLAlchemy's own pool timed out
        return True
    return isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError))


def connection_lost(error: BaseException) -> bool:
    """A lost or unobtainable connection, as opposed to e.g. a lock timeout (which is worth retrying)."""
    cause = error.__cause__
    if isinstance(cause, PoolTimeout):
        return True
    if isinstance(cause, psycopg.Error):
        state = cause.sqlstate
        return state is None or state.startswith("08") or state in _LOST_STATES
    return False


class FailFastDatastore(PostgresDatastore):
    """The library's datastore, failing fast on a lost database (see the module docstring)."""

    _losses: threading.local

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        try:
            with super().get_connection() as conn:
                yield conn
        except (OperationalError, InterfaceError) as error:
            if not connection_lost(error):
                raise
            if isinstance(error.__cause__, PoolTimeout) or self._lost_again():
                raise DatabaseUnavailable(f"the database is unavailable: {error}") from error
            # Perhaps only this connection went stale (the database restarted): drop every
            # dead one now, and let the library's retry try once more on a fresh connection.
            self.pool.check()
            raise

    def _lost_again(self) -> bool:
        now = monotonic()
        last = getattr(self._losses, "at", None)
        self._losses.at = now
        return last is not None and now - last < SECOND_LOSS_WINDOW


class FailFastPostgresFactory(PostgresFactory):
    """PERSISTENCE_MODULE for PostgreSQL: the library's factory with a fail-fast datastore."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # The library builds its PostgresDatastore from about twenty settings; rather than
        # repeat that, keep the built object and change only how it hands out connections.
        self.datastore.__class__ = FailFastDatastore
        datastore = cast(FailFastDatastore, self.datastore)
        datastore._losses = threading.local()
        pool = datastore.pool
        pool.reconnect_timeout = RECONNECT_TIMEOUT
        pool.kwargs = {**cast("dict[str, Any]", pool.kwargs or {}), "connect_timeout": CONNECT_TIMEOUT}
