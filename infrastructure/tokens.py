"""API tokens: random secrets handed out once, stored only as SHA-256 hashes."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa

from domain import clock
from domain.access import ORGANISATION_ROLES
from domain.base import Actor
from infrastructure.readdb import metadata

ROLES = ("admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation", "integration")

tokens_table = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


class OrganisationRequired(ValueError):
    """A local assessor's or an organisation's token must name the organisation it speaks for.

    Without one the organisation rules (a local assessor never inspects their
    own body; an organisation reads only its own) could not be applied.
    """


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    role: str
    organisation: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def actor(self) -> Actor:
        """The caller as events record it: identified by the token's id, never by its name."""
        return Actor(name=self.name, role=self.role, organisation=self.organisation, id=self.id)


class TokenStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # Every request checks its token. The token's details are kept per process once read;
        # whether it is still live is asked of the database every time (revocation is immediate),
        # with one plain SQL statement: SQLAlchemy's statement building cost more than the query.
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._live = f"SELECT revoked_at IS NULL FROM {tokens_table.name} WHERE token_hash = {mark}"
        self._known: dict[str, TokenInfo] = {}
        self._idle: list[Any] = []

    def create(self, name: str, role: str, organisation: str | None = None) -> tuple[TokenInfo, str]:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name.strip():
            raise ValueError("name must not be empty")
        if organisation is not None and not organisation.strip():
            organisation = None
        if role in ORGANISATION_ROLES and organisation is None:
            raise OrganisationRequired(f"a {role} token needs an organisation (--organisation)")
        secret = secrets.token_urlsafe(32)
        info = TokenInfo(str(uuid4()), name.strip(), role, organisation, clock.now(), None)
        with self.engine.begin() as conn:
            conn.execute(
                tokens_table.insert().values(
                    id=info.id,
                    name=info.name,
                    role=role,
                    organisation=organisation,
                    token_hash=hash_token(secret),
                    created_at=info.created_at,
                )
            )
        return info, secret

    def authenticate(self, secret: str) -> TokenInfo | None:
        """The live token for a secret, or None. Looked up by hash, then compared in constant time."""
        digest = hash_token(secret)
        known = self._known.get(digest)
        if known is not None:
            return known if self._is_live(digest) else None  # None: revoked, or gone
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tokens_table).where(tokens_table.c.token_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
            return None
        info = _info(row)
        if len(self._known) >= 10_000:
            self._known.clear()
        self._known[digest] = info
        return info

    def live_by_id(self, token_id: str) -> TokenInfo | None:
        """The token with this id while it is live (a page session holds the id, never the secret)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tokens_table).where(tokens_table.c.id == token_id)).first()
        return None if row is None or row.revoked_at is not None else _info(row)

    def _is_live(self, digest: str) -> bool:
        """One indexed lookup on a driver connection kept idle for these checks.

        A pool checkout and check-in cost more than the query itself (a sixth
        of a read's time), so the connections used here are kept in a list of
        idle ones rather than returned to the pool: a check takes one (or
        checks a new one out), and puts it back. The list never grows beyond
        the checks running at once, whatever threads come and go. The read
        transaction is ended after each lookup, so no snapshot is held between
        requests. A connection that fails is dropped and the lookup tried once
        more on a new one.
        """
        for attempt in (1, 2):
            try:
                conn = self._idle.pop()  # (list.pop and append are atomic: no lock needed)
            except IndexError:
                conn = self.engine.raw_connection()
            try:
                cursor = conn.cursor()
                cursor.execute(self._live, (digest,))
                row = cursor.fetchone()
                cursor.close()
                conn.rollback()
            except Exception:
                with contextlib.suppress(Exception):
                    conn.invalidate()
                if attempt == 2:
                    raise
                continue
            self._idle.append(conn)
            return bool(row and row[0])
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Return the idle connections to the pool (before the engine is disposed)."""
        while self._idle:
            self._idle.pop().close()

    def list(self) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tokens_table).order_by(tokens_table.c.created_at)).all()
        return [_info(r) for r in rows]

    def revoke(self, token_id: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                tokens_table.update()
                .where(tokens_table.c.id == token_id, tokens_table.c.revoked_at.is_(None))
                .values(revoked_at=clock.now())
            )
        return result.rowcount == 1


def _info(row: sa.Row) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.role, row.organisation, row.created_at, row.revoked_at)
