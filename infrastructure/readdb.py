"""The read side: one SQLAlchemy engine for views, tokens and the read audit."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from infrastructure.config import Settings

metadata = sa.MetaData()


def create_read_engine(settings: Settings) -> sa.Engine:
    url = settings.read_url
    if url.startswith("sqlite"):
        settings.prepare_local_files()  # folder 0700, files 0600
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            # Deleted and replaced content (an erased case's reference, a forgotten answer) is zeroed.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
