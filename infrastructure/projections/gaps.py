"""PostgreSQL only: do not step over a position that may still be filled.

A position is handed out when a transaction inserts, and becomes visible when
it commits. The library's recorder takes an EXCLUSIVE lock on the events
table for every insert, so commits come in position order and a hole between
visible positions is a rolled-back insert that never fills. Anything that
inserts without that lock could commit a later position first, though, and a
projection that stepped over the hole would miss the event for good.

What we do: a page stops just before its first hole that is not settled.
We note the transactions then holding an insert lock on the events table;
once all of them have ended, any hole below the highest position we had seen
that is still empty on a fresh read can only be a rollback, and is settled.
The cost is one look at ``pg_locks`` per hole, and one extra read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

_HOLDERS = sa.text(
    "SELECT virtualtransaction FROM pg_locks "
    "WHERE locktype = 'relation' AND relation = CAST(:table AS regclass) AND granted "
    "AND mode IN ('RowExclusiveLock', 'ExclusiveLock') AND pid <> pg_backend_pid()"
)
RowT = TypeVar("RowT", bound=tuple[Any, ...])
_ALIVE = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY(:vxids)")


@dataclass(frozen=True)
class _Pending:
    horizon: int  # holes below this position are the ones being waited on
    holders: tuple[str, ...]


class GapGuard:
    def __init__(self, engine: sa.Engine, events_table: str) -> None:
        self.engine = engine
        self.events_table = events_table
        self.settled = 0  # every hole at or below this position is known to stay empty
        self.pending: _Pending | None = None

    @property
    def waiting(self) -> bool:
        return self.pending is not None

    def before_read(self) -> None:
        """Settle the pending holes if every insert that could fill them has ended (call before reading)."""
        if self.pending is None:
            return
        with self.engine.connect() as conn:
            alive = conn.execute(_ALIVE, {"vxids": list(self.pending.holders)}).scalar() if self.pending.holders else 0
        if not alive:
            self.settled = max(self.settled, self.pending.horizon)
            self.pending = None

    def settle_to_head(self) -> None:
        """Settle every position up to the head of the record, if no insert is in flight now; else wait
        for the inserts in flight to end (``before_read``). Then a reader may fetch below ``settled``
        only the events it wants, as on SQLite, instead of every position to find the holes.

        The head is read first: an insert that could still fill a position at or below it holds its
        lock until it ends, so it is among the holders seen just after.
        """
        if self.pending is not None:
            return
        with self.engine.connect() as conn:
            head = conn.execute(sa.text(f"SELECT max(notification_id) FROM {self.events_table}")).scalar() or 0
            holders = tuple(r[0] for r in conn.execute(_HOLDERS, {"table": self.events_table}))
        if holders:
            self.pending = _Pending(head, holders)
        else:
            self.settled = max(self.settled, head)

    def usable(self, after: int, rows: Sequence[RowT]) -> Sequence[RowT]:
        """The rows (position first) up to the first unsettled hole after position ``after``."""
        expected = after + 1
        for index, row in enumerate(rows):
            position = row[0]
            if position != expected and position - 1 > self.settled:
                if self.pending is None:
                    self.pending = _Pending(rows[-1][0], self._holders())
                return rows[:index]
            expected = position + 1
        return rows

    def _holders(self) -> tuple[str, ...]:
        with self.engine.connect() as conn:
            return tuple(r[0] for r in conn.execute(_HOLDERS, {"table": self.events_table}))
