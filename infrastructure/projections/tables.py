"""The read views' tables and the tracking table, in the shared read-side metadata.

Each view table has a string primary key ``id`` and one column per field of
the rows its view builds; nested values are JSON text (``Doc``).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import sqlalchemy as sa

from infrastructure.readdb import metadata


class Doc(sa.types.TypeDecorator):
    """A JSON value stored as text, encoded with orjson (portable and fast on both backends)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else orjson.loads(value)


def _sealed(name: str) -> sa.Column:
    """Case data (characteristics, case references): JSON text, encrypted when the record is (see Sealer)."""
    return sa.Column(name, sa.Text, info={"sealed": True})


class Sealer:
    """Encrypts the views' case data with the event store's cipher, when INSPECTORATE_CIPHER_KEY sets one.

    Special category data should not sit in plaintext in the read database
    when the record itself is encrypted.
    """

    def __init__(self, cipher: Any | None) -> None:
        self.cipher = cipher

    def seal(self, value: Any) -> str | None:
        if value is None:
            return None
        data = orjson.dumps(value)
        return base64.b64encode(self.cipher.encrypt(data)).decode() if self.cipher else data.decode()

    def unseal(self, text: str | None) -> Any:
        if text is None:
            return None
        return orjson.loads(self.cipher.decrypt(base64.b64decode(text)) if self.cipher else text)

    def open(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """The row with its sealed columns decrypted and decoded, in place."""
        for name in SEALED.get(table, ()):
            row[name] = self.unseal(row[name])
        return row


def _id() -> sa.Column:
    return sa.Column("id", sa.String(120), primary_key=True)


def _name(name: str, **kw: Any) -> sa.Column:
    return sa.Column(name, sa.String(200), **kw)


tracking = sa.Table(
    "view_tracking",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, default=0),
    sa.Column("fingerprint", sa.String(32), nullable=True),  # of the view's definition; see Projector
)

VIEW_TABLES: dict[str, sa.Table] = {
    t.name: t
    for t in (
        sa.Table(
            "vw_score_inspections",
            metadata,
            _id(),
            _name("programme"),
            _name("year"),
            _name("body"),
            _name("body_key", index=True),
            _name("status"),
            _name("published_on"),
            sa.Column("case_count", sa.Integer),
            # for the listing (GET /v1/inspections): newest first by fieldwork_start, then id
            _name("framework"),
            _name("fieldwork_start", index=True),
            sa.Column("inspected_body", Doc),
            sa.Column("headline", Doc),
            sa.Column("criteria", Doc),
            _sealed("profiles"),
            _sealed("profile_cases"),
            sa.Column("breakdown", Doc),  # as published (aggregate tallies by characteristic), else NULL
        ),
        # one row: the inspections whose rows still hold unopened profiles (ScoresView.settle)
        sa.Table("vw_score_pending", metadata, _id(), sa.Column("ids", Doc)),
        sa.Table(
            "vw_year_inspections",
            metadata,
            _id(),
            _name("programme"),
            _name("year"),
            _name("framework"),
            _name("body"),
            sa.Column("case_count", sa.Integer),
            sa.Column("ratings", Doc),
            sa.Column("reinspection", sa.Boolean),
        ),
        sa.Table(
            "vw_years",
            metadata,
            _id(),
            _name("programme"),
            _name("year"),
            sa.Column("areas", Doc),
            sa.Column("items", Doc),
        ),
        sa.Table(
            "vw_complaints",
            metadata,
            _id(),
            _name("inspection_id"),
            _name("body"),
            _name("body_key", index=True),
            _name("programme"),
            _name("category"),
            _name("status"),
            sa.Column("received_on", sa.Date),
            sa.Column("response_due_on", sa.Date),
            sa.Column("responded_on", sa.Date),
            sa.Column("escalated", sa.Boolean),
            _name("outcome"),
            sa.Column("closed_on", sa.Date),
        ),
        sa.Table("vw_complaint_inspections", metadata, _id(), _name("body"), _name("programme")),
        sa.Table(
            "vw_reinspections",
            metadata,
            _id(),
            _name("origin_inspection_id", index=True),
            _name("programme"),
            _name("body"),
            _name("body_key"),
            sa.Column("published_on", sa.Date),
            sa.Column("due_on", sa.Date),
            _name("status"),
            sa.Column("became_due_on", sa.Date),
            _name("reinspection_inspection_id"),
            sa.Column("original_scores", Doc),
            sa.Column("reinspection_scores", Doc),
            sa.Column("comparison", Doc),
        ),
        sa.Table("vw_cons_inspections", metadata, _id(), _name("programme"), _name("year")),
        sa.Table(
            "vw_moderations",
            metadata,
            _id(),
            _name("case_id"),
            _sealed("case_ref"),
            _name("inspection_id"),
            _name("programme"),
            _name("year"),
            _name("area"),
            _name("criterion"),
            _name("standard"),
            _name("question"),
            sa.Column("first", Doc),
            sa.Column("moderated", Doc),
            _name("first_id"),
            _name("first_name"),
            _name("first_role"),
            _name("moderator"),
            _name("moderator_id"),
            sa.Column("after_publication", sa.Boolean),
            sa.Column("position", sa.BigInteger),
            sa.Index("ix_vw_moderations_programme_year", "programme", "year"),
        ),
    )
}

SEALED: dict[str, tuple[str, ...]] = {
    name: sealed
    for name, table in VIEW_TABLES.items()
    if (sealed := tuple(c.name for c in table.c if c.info.get("sealed")))
}
