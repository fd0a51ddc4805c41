"""Secrets that every API node must hold alike, kept in the database they share.

One machine keeps such a secret (the pages' session signing key) in its data
folder. Several API nodes behind a load balancer have a data folder each, so a
cookie signed by one would be refused by the next: on PostgreSQL the first node
to need the secret makes it and stores it, and every node reads that one.
It is sealed with the record's cipher when INSPECTORATE_CIPHER_KEY is set, as
webhook secrets are. (INSPECTORATE_SECRET_KEY, when set, is used instead.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from infrastructure.readdb import metadata
from infrastructure.webhooks import open_secret, seal_secret

shared_secrets_table = sa.Table(
    "shared_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(500), nullable=False),
)


def shared_secret(engine: sa.Engine, name: str, make: Callable[[], str], cipher: Any | None = None) -> str:
    """The secret called ``name``: the one stored first by any node (made with ``make`` if none is)."""
    t = shared_secrets_table
    try:
        t.create(engine, checkfirst=True)  # (a database migrated by an older version)
    except DBAPIError:
        if not sa.inspect(engine).has_table(t.name):
            raise
    with engine.begin() as conn:
        conn.execute(pg_insert(t).values(name=name, value=seal_secret(make(), cipher)).on_conflict_do_nothing())
        stored = conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar_one()
    return open_secret(stored, cipher)
