"""The read audit: who read which case data or history, as whom, and when.

Case data is special category personal data, so reading it leaves a trace
too. The trace lives in the read database (not the event store): it records
access, not a fact of the inspection, and must not appear in the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain import clock
from domain.base import Actor
from infrastructure.readdb import metadata

read_audit = sa.Table(
    "read_audit",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("actor_id", sa.String(200), nullable=True),  # the token's id (null in reads recorded before ids)
    sa.Column("actor_role", sa.String(40), nullable=False),
    sa.Column("actor_organisation", sa.String(200), nullable=True),
    sa.Column("what", sa.String(80), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=True),
    sa.Column("correlation_id", sa.String(64), nullable=True),
    sa.Index("read_audit_subject", "subject_id"),
)


@dataclass(frozen=True)
class ReadRecord:
    id: int
    at: datetime
    actor_id: str | None
    actor_name: str
    actor_role: str
    actor_organisation: str | None
    what: str
    subject_id: str | None
    correlation_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": {
                "id": self.actor_id,
                "name": self.actor_name,
                "role": self.actor_role,
                "organisation": self.actor_organisation,
            },
            "what": self.what,
            "subject_id": self.subject_id,
            "correlation_id": self.correlation_id,
        }


class ReadAudit:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, actor: Actor, what: str, subject_id: str | None, correlation_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                read_audit.insert().values(
                    at=clock.now(),
                    actor_id=actor.id and actor.id[:200],
                    actor_name=actor.name[:200],
                    actor_role=actor.role[:40],
                    actor_organisation=(actor.organisation or None) and actor.organisation[:200],
                    what=what[:80],
                    subject_id=subject_id,
                    correlation_id=correlation_id,
                )
            )

    def list(
        self,
        after: int = 0,
        limit: int = 100,
        subject_id: str | None = None,
        actor_name: str | None = None,
        actor_id: str | None = None,
    ) -> list[ReadRecord]:
        query = sa.select(read_audit).where(read_audit.c.id > after).order_by(read_audit.c.id).limit(limit)
        if subject_id is not None:
            query = query.where(read_audit.c.subject_id == subject_id)
        if actor_name is not None:
            query = query.where(read_audit.c.actor_name == actor_name)
        if actor_id is not None:  # a person by identity: two people may share a name, never a token id
            query = query.where(read_audit.c.actor_id == actor_id)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]


def _record(row: Any) -> ReadRecord:
    at = row["at"]
    if at.tzinfo is None:  # SQLite hands back naive datetimes: they were stored in UTC
        at = at.replace(tzinfo=UTC)
    return ReadRecord(
        id=row["id"],
        at=at,
        actor_id=row["actor_id"],
        actor_name=row["actor_name"],
        actor_role=row["actor_role"],
        actor_organisation=row["actor_organisation"],
        what=row["what"],
        subject_id=row["subject_id"],
        correlation_id=row["correlation_id"],
    )
