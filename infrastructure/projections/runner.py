"""The projection mechanism: pages of events -> facts -> rows, one transaction per page.

Each page's transaction locks the views' tracking rows, re-reads their
positions, applies the facts after each view's position in memory, writes
the changed rows and the new positions, and commits: rows and position move
together or not at all, so a crash anywhere leaves a consistent view that
resumes where it stopped, and two copies never count an event twice.
"""
from __future__ import annotations

import gc
import hashlib
import logging
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from eventsourcing.persistence import Notification

from application.projections.store import Fact, Row, Tables, View
from infrastructure.projections.decoding import FactDecoder
from infrastructure.projections.gaps import GapGuard
from infrastructure.projections.tables import VIEW_TABLES, Doc, Sealer, tracking

log = logging.getLogger("inspectorate.projections")

PAGE_SIZE = 1000
MAX_CACHED_ROWS_PER_TABLE = 300_000  # about 1 KB each


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
        sealer: Sealer | None = None,
    ) -> None:
        self.engine = engine
        self.recorder = recorder
        self.decoder = decoder
        self.views = sorted(views, key=lambda v: v.name)
        self.names = [v.name for v in self.views]
        self.gaps = gaps
        self.page_size = page_size
        self.sealer = sealer or Sealer(None)
        self.tables = {v.name: Tables(v.tables, self._load) for v in self.views}
        self.topics = frozenset(topic for v in self.views for topic in v.handlers)  # others are not decoded
        self._topic_list = sorted(self.topics)
        self.positions: dict[str, int] | None = None  # as committed by this projector, or just read
        self.before_commit: Callable[[sa.Connection], None] | None = None  # a test's fault injection
        self._conn: sa.Connection | None = None
        self._upserts: dict[str, Upsert] = {}
        self._advance = tracking.update().where(tracking.c.name == sa.bindparam("n")).values(
            position=sa.bindparam("p")
        )
        self._selects = {name: t.select().where(t.c.id == sa.bindparam("key")) for name, t in VIEW_TABLES.items()}

    # -- setup ------------------------------------------------------------------

    def ensure_tracking(self) -> None:
        """A tracking row for each view; a view whose definition changed since it was built starts again.

        Each row keeps a fingerprint of its view (version, table shapes, whether
        case data is sealed). A worker started with changed code or settings
        finds a different one, recreates that view's tables and rebuilds it
        from position 0, so rows of an older shape are never mixed with new ones.
        """
        fingerprints = {view.name: fingerprint(view, self.sealed) for view in self.views}
        with self.engine.begin() as conn:
            insert = _insert_ignoring_duplicates(conn.dialect.name)
            conn.execute(insert, [{"name": n, "position": 0, "fingerprint": f} for n, f in fingerprints.items()])
        with self.engine.begin() as conn:
            self._lock(conn)
            found = dict(conn.execute(sa.select(tracking.c.name, tracking.c.fingerprint)
                                      .where(tracking.c.name.in_(self.names))).all())
            stale = [view for view in self.views if found.get(view.name) != fingerprints[view.name]]
            for view in stale:
                log.warning("view %s changed since it was built: rebuilding it from the first event", view.name)
            self._recreate(conn, stale)
        if stale:
            self._forget()

    def reset(self) -> None:
        """Drop and recreate the views' tables at position 0, in one transaction (a rebuild's start)."""
        self.ensure_tracking()
        with self.engine.begin() as conn:
            self._lock(conn)
            self._recreate(conn, self.views)
        self._forget()

    def _recreate(self, conn: sa.Connection, views: Sequence[View]) -> None:
        for view in views:
            for name in view.tables:
                VIEW_TABLES[name].drop(conn, checkfirst=True)
                VIEW_TABLES[name].create(conn)
            mark = fingerprint(view, self.sealed)
            conn.execute(tracking.update().where(tracking.c.name == view.name).values(position=0, fingerprint=mark))

    @property
    def sealed(self) -> bool:
        return self.sealer.cipher is not None

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
            found = dict(rows.all())
        return {name: found.get(name, 0) for name in self.names}

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Process pages until nothing is left; how many positions were passed (events and holes)."""
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
        """Process one page of events; how many positions it passed, 0 when there was nothing to do.

        The page is read after the tracking rows are locked, so a second copy
        waits for the lock and then carries on from the first one's position.
        """
        try:
            with self.engine.begin() as conn:
                positions = self._lock(conn)
                if positions != self.positions:  # another copy (or a rebuild) moved on: drop what we hold
                    self._forget(positions)
                start = min(positions.values(), default=0)
                page, last = self._read(start)
                if last <= start:
                    return 0
                facts = self.decoder.facts(page, self.topics)
                self._conn = conn
                new = {view.name: self._apply(view, facts, positions[view.name], last) for view in self.views}
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
        for tables in self.tables.values():
            tables.trim(MAX_CACHED_ROWS_PER_TABLE)
        # Cached rows live long and hold no reference cycles: keep the cyclic collector
        # from walking them again after every page (reference counting still frees them).
        gc.freeze()
        return last - start

    def _read(self, start: int) -> tuple[Sequence[Notification], int]:
        """The next page after ``start``, and the last position it covers.

        On SQLite every position up to the head is final (writers are serialised,
        and a rolled-back insert leaves no hole), so only the topics the views use
        are fetched, up to the head read just before: a short page covers up to
        that head. On PostgreSQL every event is fetched, up to the first hole that
        may still fill (see gaps.py).
        """
        if self.gaps is None:
            head = self.recorder.max_notification_id() or 0
            if head <= start:
                return [], start
            page = self.recorder.select_notifications(
                start, self.page_size, stop=head, topics=self._topic_list, inclusive_of_start=False
            )
            return page, (page[-1].id if len(page) == self.page_size else head)
        self.gaps.before_read()
        page = self.recorder.select_notifications(start, self.page_size, inclusive_of_start=False)
        page = self.gaps.usable(start, page)
        return page, (page[-1].id if page else start)

    def _apply(self, view: View, facts: list[Fact], position: int, last: int) -> int:
        """Apply the facts after ``position``, queue the changed rows; the view's new position."""
        if position >= last:
            return position
        tables, handlers = self.tables[view.name], view.handlers
        for fact in facts:  # (View.apply, inlined: this loop runs for every event and view)
            if fact.position > position:
                handler = handlers.get(fact.topic)
                if handler is not None:
                    handler(view, fact, tables)
        assert self._conn is not None
        for name in view.tables:
            rows = tables[name].take_changes()
            if rows:
                self._upsert(name, self._conn.dialect)(self._conn, rows)
        return last

    def _lock(self, conn: sa.Connection) -> dict[str, int]:
        """Lock the tracking rows (PostgreSQL row locks; SQLite's BEGIN IMMEDIATE already holds the lock)."""
        query = sa.select(tracking.c.name, tracking.c.position).where(tracking.c.name.in_(self.names))
        query = query.order_by(tracking.c.name).with_for_update()
        found = dict(conn.execute(query).all())
        return {name: found.get(name, 0) for name in self.names}

    def _load(self, table: str, key: str) -> Row | None:
        assert self._conn is not None, "rows are loaded only inside a page's transaction"
        row = self._conn.execute(self._selects[table], {"key": key}).mappings().first()
        return self.sealer.open(table, dict(row)) if row is not None else None

    def _upsert(self, table: str, dialect: sa.Dialect) -> Upsert:
        statement = self._upserts.get(table)
        if statement is None:
            statement = self._upserts[table] = Upsert(VIEW_TABLES[table], dialect, self.sealer)
        return statement

    def _forget(self, positions: dict[str, int] | None = None) -> None:
        """Drop cached rows; a view at position 0 is known empty, so its cache starts complete."""
        self.positions = positions
        for name, t in self.tables.items():
            t.forget(complete=positions is not None and positions[name] == 0)


def fingerprint(view: View, sealed: bool) -> str:
    """What a view's stored rows depend on: its version, its tables' columns, whether case data is sealed."""
    shape = [(name, [(c.name, str(c.type)) for c in VIEW_TABLES[name].c]) for name in view.tables]
    return hashlib.sha256(repr((view.version, shape, sealed)).encode()).hexdigest()[:16]


def _insert_ignoring_duplicates(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(tracking).on_conflict_do_nothing(index_elements=[tracking.c.name])


class Upsert:
    """INSERT ... ON CONFLICT (id) DO UPDATE, rendered once and run through the driver's executemany.

    Going past SQLAlchemy's per-row parameter processing halves the cost of writing a page.
    """

    def __init__(self, table: sa.Table, dialect: sa.Dialect, sealer: Sealer) -> None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        names = [c.name for c in table.c]
        quoted = [dialect.identifier_preparer.quote(n) for n in names]
        updates = ", ".join(f"{q} = excluded.{q}" for n, q in zip(names, quoted) if n != "id")
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(quoted)}) VALUES ({', '.join(mark for _ in names)}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        self.values = operator.itemgetter(*names)
        encoders = (sealer.seal if c.info.get("sealed") else _encoder(c.type, dialect) for c in table.c)
        self.encoders = [(i, e) for i, e in enumerate(encoders) if e is not None]

    def __call__(self, conn: sa.Connection, rows: list[Row]) -> None:
        values, encoders = self.values, self.encoders
        params = []
        for row in rows:
            param = list(values(row))
            for index, encode in encoders:
                param[index] = encode(param[index])
            params.append(tuple(param))
        conn.exec_driver_sql(self.sql, params)


def _encoder(column_type: Any, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """The bind processor of a column type, or None when values pass as they are."""
    if isinstance(column_type, Doc):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    return column_type.bind_processor(dialect)
