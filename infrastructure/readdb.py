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


def add_missing_columns(engine: sa.Engine) -> list[str]:
    """Add to tables made by an earlier version the nullable columns added since (``create_all`` makes
    missing tables, never missing columns); the ``table.column`` names added."""
    inspector = sa.inspect(engine)
    present = set(inspector.get_table_names())
    added = []
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name not in present:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                if not column.nullable:
                    raise RuntimeError(f"{table.name}.{column.name} is missing and cannot be added empty")
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
                added.append(f"{table.name}.{column.name}")
    return added
