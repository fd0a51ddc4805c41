"""The projection mechanism: pages of events -> facts -> rows, one transaction per page.

Each page's transaction locks the views' tracking rows, re-reads their
positions, applies the facts after each view's position in memory, writes
the changed rows and the new positions, and commits: rows and position move
together or not at all, so a crash anywhere leaves a consistent view that
resumes where it stopped, and two copies never count an event twice.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import Notification

from application.projections.store import Fact, Row, Tables, View
from infrastructure.projections.decoding import FactDecoder
from infrastructure.projections.gaps import GapGuard
from infrastructure.projections.tables import VIEW_TABLES, tracking

log = logging.getLogger("inspectorate.projections")

PAGE_SIZE = 1000
MAX_CACHED_ROWS = 400_000


class Projector:
    """Keeps a set of views current from the application's event record."""

    def __init__(
        self,
        engine: sa.Engine,
        recorder: Any,
        decoder: FactDecoder,
        views: Sequence[View],
        *,
        gaps: GapGuard | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.engine = engine
        self.recorder = recorder
        self.decoder = decoder
        self.views = sorted(views, key=lambda v: v.name)
        self.names = [v.name for v in self.views]
        self.gaps = gaps
        self.page_size = page_size
        self.tables = {v.name: Tables(v.tables, self._load) for v in self.views}
        self.positions: dict[str, int] | None = None  # as committed by this projector, or just read
        self.before_commit: Callable[[sa.Connection], None] | None = None  # a test's fault injection
        self._conn: sa.Connection | None = None
        self._upserts: dict[str, Any] = {}
        self._advance = tracking.update().where(tracking.c.name == sa.bindparam("n")).values(
            position=sa.bindparam("p")
        )
        self._selects = {name: t.select().where(t.c.id == sa.bindparam("key")) for name, t in VIEW_TABLES.items()}

    # -- setup ------------------------------------------------------------------

    def ensure_tracking(self) -> None:
        """A tracking row at position 0 for each view that has none yet."""
        with self.engine.begin() as conn:
            have = set(conn.execute(sa.select(tracking.c.name).where(tracking.c.name.in_(self.names))).scalars())
            missing = [{"name": n, "position": 0} for n in self.names if n not in have]
            if missing:
                conn.execute(tracking.insert(), missing)

    def reset(self) -> None:
        """Empty the views' tables and set their positions to 0, in one transaction (a rebuild's start)."""
        self.ensure_tracking()
        with self.engine.begin() as conn:
            self._lock(conn)
            for view in self.views:
                for table in view.tables:
                    conn.execute(VIEW_TABLES[table].delete())
            conn.execute(tracking.update().where(tracking.c.name.in_(self.names)).values(position=0))
        self._forget()

    # -- running ----------------------------------------------------------------

    @property
    def position(self) -> int:
        """The lowest position this projector knows its views to have processed."""
        if self.positions is None:
            self.positions = self.read_positions()
        return min(self.positions.values(), default=0)

    def read_positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tracking.c.name, tracking.c.position).where(tracking.c.name.in_(self.names)))
            found = dict(rows.tuples().all())
        return {name: found.get(name, 0) for name in self.names}

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Process pages until nothing is left; the number of events processed."""
        done = 0
        while True:
            count = self.step()
            if count == 0:
                if self.gaps is not None and self.gaps.waiting:
                    time.sleep(0.01)  # an insert that may fill a hole is still running
                    continue
                return done
            done += count
            if progress is not None:
                progress(self.position)

    def step(self) -> int:
        """Process one page of events; the number processed, 0 when there was nothing to do.

        The page is read after the tracking rows are locked, so a second copy
        waits for the lock and then carries on from the first one's position.
        """
        try:
            with self.engine.begin() as conn:
                positions = self._lock(conn)
                if positions != self.positions:  # another copy (or a rebuild) moved on: drop what we hold
                    self._forget(positions)
                facts = self._read(min(positions.values(), default=0))
                if not facts:
                    return 0
                self._conn = conn
                new = {view.name: self._apply(view, facts, positions[view.name], conn) for view in self.views}
                changed = [{"n": n, "p": p} for n, p in new.items() if p != positions[n]]
                if changed:
                    conn.execute(self._advance, changed)
                if self.before_commit is not None:
                    self.before_commit(conn)
        except BaseException:
            self._forget()
            raise
        finally:
            self._conn = None
        self.positions = new
        if sum(t.size() for t in self.tables.values()) > MAX_CACHED_ROWS:
            for t in self.tables.values():
                t.forget()
        return len(facts)

    def _read(self, start: int) -> list[Fact]:
        if self.gaps is not None:
            self.gaps.before_read()
        notifications: Sequence[Notification] = self.recorder.select_notifications(
            start, self.page_size, inclusive_of_start=False
        )
        if self.gaps is not None:
            notifications = self.gaps.usable(start, notifications)
        return self.decoder.facts(notifications)

    def _apply(self, view: View, facts: list[Fact], position: int, conn: sa.Connection) -> int:
        tables = self.tables[view.name]
        last = position
        for fact in facts:
            if fact.position > position:
                view.apply(fact, tables)
                last = fact.position
        for name in view.tables:
            rows = tables[name].take_changes()
            if rows:
                conn.execute(self._upsert(name, conn.dialect.name), rows)
        return last

    def _lock(self, conn: sa.Connection) -> dict[str, int]:
        """Lock the tracking rows (PostgreSQL row locks; SQLite's BEGIN IMMEDIATE already holds the lock)."""
        query = sa.select(tracking.c.name, tracking.c.position).where(tracking.c.name.in_(self.names))
        query = query.order_by(tracking.c.name).with_for_update()
        found = dict(conn.execute(query).tuples().all())
        return {name: found.get(name, 0) for name in self.names}

    def _load(self, table: str, key: str) -> Row | None:
        assert self._conn is not None, "rows are loaded only inside a page's transaction"
        row = self._conn.execute(self._selects[table], {"key": key}).mappings().first()
        return dict(row) if row is not None else None

    def _upsert(self, table: str, dialect: str) -> Any:
        statement = self._upserts.get(table)
        if statement is None:
            statement = self._upserts[table] = upsert(VIEW_TABLES[table], dialect)
        return statement

    def _forget(self, positions: dict[str, int] | None = None) -> None:
        """Drop cached rows; a view at position 0 is known empty, so its cache starts complete."""
        self.positions = positions
        for name, t in self.tables.items():
            t.forget(complete=positions is not None and positions[name] == 0)


def upsert(table: sa.Table, dialect: str) -> Any:
    """INSERT ... ON CONFLICT (id) DO UPDATE every other column, for executemany."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.id], set_={c.name: statement.excluded[c.name] for c in table.c if c.name != "id"}
    )
