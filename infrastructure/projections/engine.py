"""The projections' own write engine: on SQLite every transaction begins IMMEDIATE.

BEGIN IMMEDIATE takes SQLite's write lock before the first read, so two
copies of a projection are serialised and each re-reads the tracked position
under the lock. A connection opened with the execution option
``snapshot=True`` begins a plain (deferred) read transaction instead.
(The shared read engine keeps pysqlite's lazy BEGIN.)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from infrastructure.config import Settings


def create_projection_engine(settings: Settings) -> sa.Engine:
    url = settings.read_url
    if not url.startswith("sqlite"):
        # No pre-ping: it would add a round trip to every page. A connection that died with the
        # database fails its page; the pool then drops it and the worker's loop retries the page.
        return sa.create_engine(url, pool_size=2, max_overflow=2)
    settings.prepare_local_files()  # folder 0700, files 0600
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Upserts by random ids touch pages all over the tables: keep them in memory
        # (256 MB of cache, and the file mapped rather than read page by page).
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.execute("PRAGMA mmap_size=2147483648")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # A rebuild's page writes tens of MB: checkpoint the WAL every 80 MB rather than every 4 MB,
        # so commits (and the write lock) are not held up by a checkpoint most of the time.
        cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # A projector's read of rows it does not cache asks for a snapshot: a plain BEGIN
        # (WAL readers never wait for the writer, nor block it).
        snapshot = connection.get_execution_options().get("snapshot")
        connection.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")

    return engine
