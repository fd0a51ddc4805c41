"""Per-token request counters in fixed one-minute windows, shared by every worker process.

The counters live in the read database (SQLite in the data dir, or PostgreSQL),
so the limit holds across server workers and API replicas. Keys are token
hashes, never secrets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from domain import clock
from infrastructure.readdb import metadata

WINDOW_SECONDS = 60

rate_limits_table = sa.Table(
    "api_rate_limits",
    metadata,
    sa.Column("token_key", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("hits", sa.Integer, nullable=False),
)

# One statement, atomic on both SQLite (3.35+) and PostgreSQL: count this hit, read the total.
_HIT = sa.text(
    "INSERT INTO api_rate_limits (token_key, window_start, hits) VALUES (:key, :window, 1) "
    "ON CONFLICT (token_key, window_start) DO UPDATE SET hits = api_rate_limits.hits + 1 "
    "RETURNING hits"
)
_FORGET = sa.text("DELETE FROM api_rate_limits WHERE token_key = :key AND window_start < :window")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window turns


class RateLimiter:
    def __init__(self, engine: sa.Engine, per_minute: int) -> None:
        self.engine = engine
        self.per_minute = per_minute

    def create_table(self) -> None:
        """Idempotent; two workers starting together may race to create it, and either winning is fine.

        (PostgreSQL reports the loser as a duplicate or as "tuple concurrently updated".)
        """
        try:
            rate_limits_table.create(self.engine, checkfirst=True)
        except DBAPIError:
            if not sa.inspect(self.engine).has_table(rate_limits_table.name):
                raise

    def hit(self, token_key: str) -> Verdict:
        now = clock.now().timestamp()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        with self.engine.begin() as conn:
            hits = conn.execute(_HIT, {"key": token_key, "window": window}).scalar_one()
            if hits == 1:  # first hit of a new window: drop this token's old windows
                conn.execute(_FORGET, {"key": token_key, "window": window})
        retry_after = max(1, math.ceil(window + WINDOW_SECONDS - now))
        return Verdict(hits <= self.per_minute, retry_after)
