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
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson
import sqlalchemy as sa

from application.projections.store import Fact, Row, Tables, View
from infrastructure.projections.gaps import GapGuard
from infrastructure.projections.tables import VIEW_TABLES, Doc, Sealer, tracking

EventRow = tuple[int, str, int, str, "bytes | None"]  # (position, stream, version, topic, state), as recorded


class Decoder(Protocol):
    """Stored rows to the facts the views handle (``application.decoding.EventDecoder``)."""

    def facts(
        self,
        rows: Iterable[EventRow],
        topics: frozenset[str] | None = None,
        bare: frozenset[str] = frozenset(),
        keys_ahead: bool = True,
    ) -> list[Fact]: ...


log = logging.getLogger("inspectorate.projections")

PAGE_SIZE = 10_000  # events a page; see benchmarks/projections_rebuild.py
MAX_CACHED_ROWS_PER_TABLE = 300_000  # about 1 KB each


class Projector:
    """Keeps a set of views current from the application's event record."""

    def __init__(
        self,
        engine: sa.Engine,
        recorder: Any,
        decoder: Decoder,
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
        self.tables = {v.name: Tables(v.tables, self._load, self.history) for v in self.views}
        self.topics = frozenset(topic for v in self.views for topic in v.handlers)  # others are not decoded
        self._topic_list = sorted(self.topics)
        # Topics no view here reads the state of (View.keys_only): their events are never decoded.
        self.bare = frozenset(
            topic
            for topic in self.topics
            if all(topic in view.keys_only for view in self.views if topic in view.handlers)
        )
        self._bare_list = sorted(self.bare)
        self.positions: dict[str, int] | None = None  # as committed by this projector, or just read
        self.before_commit: Callable[[sa.Connection], None] | None = None  # a test's fault injection
        self.conflicts = 0  # pages done again because another copy committed first
        self.yield_on_conflict = False  # the live worker sets it: a rebuild then goes first
        # A rebuild sets it: on PostgreSQL, settle the record up to its head when nothing inserts, and read
        # below that only the events of the views' topics (GapGuard.settle_to_head).
        self.settle_head = False
        self._snapshot: sa.Connection | None = None  # a page's read of rows not cached
        self._expected: dict[str, int] = {}  # the positions the page's cached rows stand for
        self._positions_query = sa.select(tracking.c.name, tracking.c.position).where(tracking.c.name.in_(self.names))
        self._locking_query = self._positions_query.order_by(tracking.c.name).with_for_update()
        self._upserts: dict[str, Upsert] = {}
        self._advance = tracking.update().where(tracking.c.name == sa.bindparam("n")).values(position=sa.bindparam("p"))
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
            found = dict(
                conn.execute(
                    sa.select(tracking.c.name, tracking.c.fingerprint).where(tracking.c.name.in_(self.names))
                ).all()
            )
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
            return self._positions(conn, self._positions_query)

    def _positions(self, conn: sa.Connection, query: sa.Select) -> dict[str, int]:
        """Each view's tracked position as ``query`` reads it (0 for a view not tracked yet)."""
        found = dict(conn.execute(query).all())
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

        Optimistic: the page is read, decoded and applied to the cached rows
        outside any lock (a row not cached is read in a snapshot checked to be
        at the positions the cache stands for), and the changed rows are
        encoded. Then one short write transaction locks the tracking rows,
        checks that no other copy moved them, writes the rows and the new
        positions, and commits: rows and positions move together or not at
        all. A copy that lost the race drops its cache and does the page again
        from the new positions, so two copies never count an event twice; and
        the write lock (all of SQLite's, on SQLite) is held only to write, so
        views rebuilt in parallel processes really run side by side.
        """
        # A page makes a million short-lived objects and no reference cycles: the cyclic
        # collector would only walk them again and again (reference counting frees them).
        gc.disable()
        try:
            return self._step()
        finally:
            gc.enable()

    def _step(self) -> int:
        lost = 0
        while True:
            positions = self.positions if self.positions is not None else self._reload()
            start = min(positions.values(), default=0)
            try:
                page, last = self._read(start)
                if last <= start:
                    return 0
                # (no view opens personal fields as it reads a page's events: the scores view reads
                # them unopened; the consistency view reads its cases' history, with keys ahead)
                facts = self.decoder.facts(page, self.topics, self.bare, keys_ahead=False)
                # the last page known for now (View.settle): short, or ending at the head
                final = len(page) < self.page_size or last >= (self.recorder.max_notification_id() or 0)
                self._expected = positions
                try:
                    changes = [self._apply(view, facts, positions[view.name], last, final) for view in self.views]
                finally:
                    self._end_snapshot()
                with self.engine.begin() as conn:
                    if self._lock(conn) != positions:
                        raise _Moved
                    for upsert, params in (change for changed in changes for change in changed):
                        upsert(conn, params)
                    moved = [{"n": view.name, "p": last} for view in self.views if positions[view.name] < last]
                    if moved:
                        conn.execute(self._advance, moved)
                    if self.before_commit is not None:
                        self.before_commit(conn)
            except _Moved:
                self.conflicts += 1
                self._forget()  # another copy (or a rebuild) moved on: start again from where it stands
                lost += 1
                if self.yield_on_conflict:
                    # A live worker racing a rebuild (or another worker) would redo every page
                    # it loses: let the other go on, longer the more often it has lost in a row.
                    time.sleep(min(2.0, 0.01 * 2**lost))
                continue
            except BaseException:
                self._forget()
                raise
            self.positions = {name: max(p, last) for name, p in positions.items()}
            for tables in self.tables.values():
                tables.trim(MAX_CACHED_ROWS_PER_TABLE)
            # Cached rows live long and hold no reference cycles: keep the cyclic collector
            # from walking them again after every page (reference counting still frees them).
            gc.freeze()
            return last - start

    def _reload(self) -> dict[str, int]:
        """The committed positions; the cache is dropped (it stood for other ones)."""
        positions = self.read_positions()
        self._forget(positions)
        return positions

    def _read(self, start: int) -> tuple[Sequence[EventRow], int]:
        """The next page after ``start`` as plain rows, and the last position it covers.

        On SQLite every position up to the head is final (writers are serialised,
        and a rolled-back insert leaves no hole), so only the topics the views use
        are fetched, up to the head read just before: a short page covers up to
        that head. On PostgreSQL every position is fetched (the state only of the
        topics the views use), up to the first hole that may still fill (see gaps.py);
        below a position known settled, only the topics used, as on SQLite.
        """
        if self.gaps is None:
            head = self.recorder.max_notification_id() or 0
            if head <= start:
                return [], start
            page = self.recorder.select_feed_rows(
                start, self.page_size, self._topic_list, stop=head, bare=self._bare_list
            )
            return page, (page[-1][0] if len(page) == self.page_size else head)
        if self.settle_head and start >= self.gaps.settled:
            self.gaps.settle_to_head()
        self.gaps.before_read()
        if start < self.gaps.settled:  # every position up to there is final: only the topics used
            stop = self.gaps.settled
            page = self.recorder.select_feed_rows(
                start, self.page_size, self._topic_list, stop=stop, bare=self._bare_list
            )
            return page, (page[-1][0] if len(page) == self.page_size else stop)
        page = self.recorder.select_projection_rows(start, self.page_size, self._topic_list, self._bare_list)
        page = self.gaps.usable(start, page)
        return page, (page[-1][0] if page else start)

    def _apply(
        self, view: View, facts: list[Fact], position: int, last: int, final: bool = True
    ) -> list[tuple[Upsert, list[tuple]]]:
        """Apply the facts after ``position`` to the view's rows; the changed rows, encoded for writing."""
        if position >= last:
            return []
        tables, handlers = self.tables[view.name], view.handlers
        if view.reads_history:
            tables.streams = self._read_ahead(view, facts, position)
        for fact in facts:  # (View.apply, inlined: this loop runs for every event and view)
            if fact.position > position:
                handler = handlers.get(fact.topic)
                if handler is not None:
                    handler(view, fact, tables)
        tables.streams = {}
        tables.upto = last
        view.settle(tables, final)
        changes = []
        for name in view.tables:
            rows = tables[name].take_changes()
            if rows:
                upsert = self._upsert(name)
                changes.append((upsert, upsert.params(rows)))
        return changes

    def _lock(self, conn: sa.Connection) -> dict[str, int]:
        """Lock the tracking rows (PostgreSQL row locks; SQLite's BEGIN IMMEDIATE already holds the lock)."""
        return self._positions(conn, self._locking_query)

    def _load(self, table: str, key: str) -> Row | None:
        """A committed row the cache does not hold, read in the page's snapshot."""
        if self._snapshot is None:
            conn = self.engine.connect().execution_options(snapshot=True)  # SQLite: a plain (deferred) BEGIN
            self._snapshot = conn
            if self._positions(conn, self._positions_query) != self._expected:
                raise _Moved
        row = self._snapshot.execute(self._selects[table], {"key": key}).mappings().first()
        return self.sealer.open(table, dict(row)) if row is not None else None

    def _read_ahead(self, view: View, facts: list[Fact], position: int) -> dict[str, list[Fact]]:
        """The streams of the page's facts whose handlers read history, in one query per topic set."""
        wanted: dict[frozenset[str], set[str]] = {}
        for fact in facts:
            topics = view.reads_history.get(fact.topic)
            if topics is not None and fact.position > position:
                wanted.setdefault(topics, set()).add(fact.key)
        streams: dict[str, list[Fact]] = {}
        for topics, keys in wanted.items():
            for fact in self.decoder.facts(self.recorder.select_streams_rows(sorted(keys), sorted(topics))):
                streams.setdefault(fact.key, []).append(fact)
        return streams

    def history(self, stream: str, before_version: int, topics: frozenset[str]) -> list[Fact]:
        """A stream's earlier events from the record (immutable: no snapshot needed)."""
        rows = self.recorder.select_streams_rows([stream], sorted(topics))
        return self.decoder.facts(row for row in rows if row[2] < before_version)

    def _end_snapshot(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None

    def _upsert(self, table: str) -> Upsert:
        statement = self._upserts.get(table)
        if statement is None:
            statement = self._upserts[table] = Upsert(VIEW_TABLES[table], self.engine.dialect, self.sealer)
        return statement

    def _forget(self, positions: dict[str, int] | None = None) -> None:
        """Drop cached rows; a view at position 0 is known empty, so its cache starts complete."""
        self.positions = positions
        for name, t in self.tables.items():
            t.forget(complete=positions is not None and positions[name] == 0)


class _Moved(Exception):
    """Another copy committed since this one read its positions."""


def fingerprint(view: View, sealed: bool) -> str:
    """What a view's stored rows depend on: its version, its tables' columns, whether case data is sealed."""
    shape = [(name, [(c.name, str(c.type)) for c in VIEW_TABLES[name].c]) for name in view.tables]
    return hashlib.sha256(repr((view.version, shape, sealed)).encode()).hexdigest()[:16]


def _insert_ignoring_duplicates(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql as chosen
    else:
        from sqlalchemy.dialects import sqlite as chosen  # type: ignore[no-redef]
    return chosen.insert(tracking).on_conflict_do_nothing(index_elements=[tracking.c.name])


class Upsert:
    """INSERT ... ON CONFLICT (id) DO UPDATE, rendered once and run through the driver's executemany.

    Going past SQLAlchemy's per-row parameter processing halves the cost of writing a page.
    """

    def __init__(self, table: sa.Table, dialect: sa.Dialect, sealer: Sealer) -> None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        names = [c.name for c in table.c]
        quoted = [dialect.identifier_preparer.quote(n) for n in names]
        updates = ", ".join(f"{q} = excluded.{q}" for n, q in zip(names, quoted, strict=True) if n != "id")
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(quoted)}) VALUES ({', '.join(mark for _ in names)}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        self.values = operator.itemgetter(*names)
        encoders = (sealer.seal if c.info.get("sealed") else _encoder(c.type, dialect) for c in table.c)
        self.encoders = [(i, e) for i, e in enumerate(encoders) if e is not None]

    def params(self, rows: list[Row]) -> list[tuple]:
        """The rows as the driver's parameters (encoded before the write lock is taken)."""
        values, encoders = self.values, self.encoders
        if not encoders:
            return [values(row) for row in rows]
        params = []
        for row in rows:
            param = list(values(row))
            for index, encode in encoders:
                param[index] = encode(param[index])
            params.append(tuple(param))
        return params

    def __call__(self, conn: sa.Connection, params: list[tuple]) -> None:
        conn.exec_driver_sql(self.sql, params)


def _encoder(column_type: Any, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """The bind processor of a column type, or None when values pass as they are."""
    if isinstance(column_type, Doc):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    return column_type.bind_processor(dialect)
