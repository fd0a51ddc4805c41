"""Idempotency keys: a POST's answer kept for 24 hours per (token, key), in the read database.

A request with a key first claims it with a plain INSERT on the primary key
(token, key): of two requests at once, on either backend, exactly one inserts
and goes ahead; the other finds the claim and is told the first is in flight.
The winner's answer is stored over its claim; later requests with the same key
and the same request get that answer back and record nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from domain import clock
from infrastructure.readdb import metadata

KEEP_SECONDS = 24 * 3600
# A claim whose request never finished (its process died) stops blocking the key after this.
ABANDONED_SECONDS = 300
MAX_KEY = 255

idempotency_table = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("token_key", sa.String(64), primary_key=True),  # the token's hash, never the secret
    sa.Column("key", sa.String(MAX_KEY), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False, index=True),  # epoch seconds
    sa.Column("status", sa.Integer, nullable=True),  # NULL while the first request is in flight
    sa.Column("headers", sa.Text, nullable=True),  # JSON: the headers to answer again
    sa.Column("body", sa.LargeBinary, nullable=True),
)


@dataclass(frozen=True)
class Stored:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What a claim found: ``claimed`` (go ahead), or ``replay`` / ``in_flight`` / ``mismatch``."""

    kind: str
    stored: Stored | None = None


class IdempotencyStore:
    def __init__(self, engine: sa.Engine, cipher: Any | None = None) -> None:
        self.engine = engine
        # An answer may hold personal data (a case's reference): sealed with the record's cipher when
        # INSPECTORATE_CIPHER_KEY sets one, as the views' case data is.
        self.cipher = cipher
        t = idempotency_table
        self._find = sa.select(t).where(t.c.token_key == sa.bindparam("token"), t.c.key == sa.bindparam("key"))

    def claim(self, token: str, key: str, request_hash: str) -> Outcome:
        now = clock.now().timestamp()
        if random.random() < 0.005:  # now and then, forget answers past their 24 hours
            self.forget_expired(now)
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        idempotency_table.insert().values(
                            token_key=token, key=key, request_hash=request_hash, created_at=now
                        )
                    )
                return Outcome("claimed")
            except IntegrityError:
                pass
            with self.engine.connect() as conn:
                row = conn.execute(self._find, {"token": token, "key": key}).first()
            if row is None:
                continue  # released meanwhile: claim again
            stale = row.created_at < now - (KEEP_SECONDS if row.status is not None else ABANDONED_SECONDS)
            if stale:
                self._drop(token, key, row.created_at)
                continue
            if row.request_hash != request_hash:
                return Outcome("mismatch")
            if row.status is None:
                return Outcome("in_flight")
            body = row.body or b""
            if self.cipher is not None and body:
                body = self.cipher.decrypt(body)
            return Outcome("replay", Stored(row.status, orjson.loads(row.headers or "{}"), body))
        return Outcome("in_flight")

    def store(self, token: str, key: str, stored: Stored) -> None:
        t = idempotency_table
        body = self.cipher.encrypt(stored.body) if self.cipher is not None and stored.body else stored.body
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.token_key == token, t.c.key == key, t.c.status.is_(None))
                .values(status=stored.status, headers=orjson.dumps(stored.headers).decode(), body=body)
            )

    def release(self, token: str, key: str) -> None:
        """Forget a claim whose request failed on the server's side: the client may try again."""
        t = idempotency_table
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.token_key == token, t.c.key == key, t.c.status.is_(None)))

    def _drop(self, token: str, key: str, created_at: float) -> None:
        t = idempotency_table
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.token_key == token, t.c.key == key, t.c.created_at == created_at))

    def forget_all(self) -> int:
        """Forget every kept answer (say, after a case's personal data is erased: an answer may quote it)."""
        with self.engine.begin() as conn:
            return conn.execute(idempotency_table.delete().where(idempotency_table.c.status.is_not(None))).rowcount

    def forget_mentioning(self, text: str) -> int:
        """Forget every kept answer whose body holds ``text`` (a case's id, when its personal data is
        erased: the answer to sampling, rating or moderating it may quote that data)."""
        t = idempotency_table
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(t.c.token_key, t.c.key, t.c.body).where(t.c.status.is_not(None))).all()
            needle = text.encode()
            doomed = [
                (row.token_key, row.key)
                for row in rows
                if row.body and needle in (self.cipher.decrypt(row.body) if self.cipher is not None else row.body)
            ]
            for token, key in doomed:
                conn.execute(t.delete().where(t.c.token_key == token, t.c.key == key))
        return len(doomed)

    def forget_expired(self, now: float | None = None) -> int:
        now = clock.now().timestamp() if now is None else now
        t = idempotency_table
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(t.c.created_at < now - KEEP_SECONDS, t.c.status.is_not(None))).rowcount


def stored_headers(headers: Any) -> dict[str, str]:
    """The headers an answer is replayed with."""
    kept = ("Content-Type", "ETag", "Inspectorate-Position", "Location")
    return {name: headers[name] for name in kept if name in headers}
