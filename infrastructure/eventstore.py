"""The event store recorders: the library's built-in ones, chained, plus the queries the record needs.

The built-in ``eventsourcing.sqlite`` and ``eventsourcing.postgres`` recorders
write and read the record several times faster than the SQLAlchemy ones
(docs/performance.md), so events live there and SQLAlchemy serves the read side.

Both recorders write a hash-chain link (``infrastructure.chain``) for every
event in the SAME transaction as the event, in a table ``<events table>_chain``
(position, prev_position, hash). Reading the previous link must not race with
another writer: SQLite writes in ``BEGIN IMMEDIATE`` transactions (the write
lock is taken before anything is read), PostgreSQL writes after the library's
``LOCK TABLE ... IN EXCLUSIVE MODE`` on the events table, so links are always
appended by one writer at a time, in position order.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore, SQLiteTransaction
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from application.personal_data import ERASED_TOPIC, SAMPLED_TOPIC, CaseKeys
from domain.ids import uuid_text
from infrastructure.chain import EventRow, Joined, Report, chain_rows, id_bytes, verify, with_orphan_links

VERIFY_PAGE = 5000


def _notification(row: Any, position: int, originator_id: Any, state: bytes) -> Notification:
    return Notification(
        id=position,
        originator_id=originator_id,
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=state,
    )


class _ImmediateTransaction(SQLiteTransaction):
    """A write transaction that takes SQLite's write lock before reading anything.

    Writers first queue on an OS file lock beside the database (``flock``,
    one per transaction, so threads and processes alike wait their turn):
    the kernel wakes the next writer the moment the lock is released. Left
    to SQLite alone, a writer that finds the database locked sleeps in steps
    of up to 100 ms before trying again, which under load put tens to
    hundreds of milliseconds on requests whose turn came after a millisecond.
    SQLite's own lock still guards against writers that do not take the file
    lock (a restore, a tool), as before.
    """

    def __init__(self, connection: Any, *, commit: bool = False, queue: str | None = None) -> None:
        super().__init__(connection, commit=commit)
        self.queue = queue
        self._fd: int | None = None

    def __enter__(self) -> SQLiteCursor:
        if self.queue is not None:
            self._fd = os.open(self.queue, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        cursor = self.connection.cursor()
        if not getattr(self.connection, "secure_delete", False):  # once per pooled connection
            # Deleted content (a destroyed case key) is overwritten with zeros, not left in free space.
            cursor.execute("PRAGMA secure_delete=ON")
            self.connection.secure_delete = True  # type: ignore[attr-defined]
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:  # "database is locked" after the busy timeout
            self._release()
            raise OperationalError(error) from error
        return cursor

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self._release()

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # (closing releases the flock)
            self._fd = None


def _key_rows(case_keys: CaseKeys | None, stored_events: Sequence[StoredEvent]) -> tuple[list[Any], list[str]]:
    """The new cases' keys to write with their first events, and the cases whose keys an erasure destroys."""
    new, erased = [], []
    for s in stored_events:
        if s.topic == SAMPLED_TOPIC and case_keys is not None:
            key = case_keys.take_pending(UUID(str(s.originator_id)).hex)
            if key is not None:
                new.append((s.originator_id, key))
        elif s.topic == ERASED_TOPIC:
            erased.append(UUID(str(s.originator_id)).hex)
    return new, erased


class SQLiteEventRecorder(SQLiteApplicationRecorder):
    case_keys: CaseKeys | None = None  # the application's (``application.personal_data``)

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        self.chain_table_name = f"{events_table_name}_chain"
        self.keys_table_name = f"{events_table_name}_case_keys"
        super().__init__(datastore, events_table_name)
        name, pool = datastore.pool.db_name, datastore.pool
        plain_file = bool(name) and not pool.is_sqlite_memory_mode and not name.startswith("file:")
        self.writers_queue = f"{name}-writers.lock" if plain_file else None
        self._select_after = (
            f"SELECT originator_version, topic, state FROM {events_table_name} "
            "WHERE originator_id=? AND originator_version>? ORDER BY originator_version"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} ("
            "position INTEGER PRIMARY KEY, prev_position INTEGER NOT NULL, hash BLOB NOT NULL)",
            # Each case's key (application.personal_data); NULL once the case's personal data is erased.
            f"CREATE TABLE IF NOT EXISTS {self.keys_table_name} (case_id TEXT PRIMARY KEY, key BLOB)",
        ]

    # -- writing ----------------------------------------------------------------

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with (
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True, queue=self.writers_queue) as c,
            c,
        ):
            positions = self._insert_events(c, stored_events, **kwargs)
        if any(s.topic == ERASED_TOPIC for s in stored_events):
            self.checkpoint()
        return positions

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        positions = list(super()._insert_events(c, stored_events, **kwargs) or [])
        new, erased = _key_rows(self.case_keys, stored_events)
        if new:
            c.executemany(f"INSERT INTO {self.keys_table_name} VALUES (?,?)", [(i.hex, k) for i, k in new])
        if erased:
            self._destroy(c, erased)
        c.execute(f"SELECT position, hash FROM {self.chain_table_name} ORDER BY position DESC LIMIT 1")
        head = c.fetchone()
        rows = chain_rows(
            (head["position"], head["hash"]) if head else None,
            (
                EventRow(p, id_bytes(s.originator_id), s.originator_version, s.topic, s.state)
                for p, s in zip(positions, stored_events, strict=True)
            ),
        )
        c.executemany(f"INSERT INTO {self.chain_table_name} VALUES (?,?,?)", rows)
        return positions

    def _destroy(self, c: SQLiteCursor, case_hexes: Sequence[str]) -> int:
        """Delete each key (secure_delete zeroes it) and leave a NULL in its place: the case is erased."""
        marks = ",".join("?" * len(case_hexes))
        c.execute(f"DELETE FROM {self.keys_table_name} WHERE case_id IN ({marks}) AND key IS NOT NULL", case_hexes)
        c.execute("SELECT changes()")
        destroyed = c.fetchone()[0]
        c.executemany(f"INSERT OR REPLACE INTO {self.keys_table_name} VALUES (?, NULL)", [(h,) for h in case_hexes])
        return destroyed

    def insert_case_keys(self, keys: dict[str, bytes]) -> None:
        """Keys made elsewhere (a record copied here as stored: benchmarks.generate_history)."""
        with self.datastore.transaction(commit=True) as c:
            c.executemany(f"INSERT OR REPLACE INTO {self.keys_table_name} VALUES (?,?)", list(keys.items()))

    def destroy_case_keys(self, case_ids: list[str]) -> int:
        destroyed = 0
        for start in range(0, len(case_ids), 500):
            with (
                self.datastore.get_connection(commit=True) as conn,
                _ImmediateTransaction(conn, commit=True, queue=self.writers_queue) as c,
                c,
            ):
                destroyed += self._destroy(c, case_ids[start : start + 500])
        self.checkpoint()
        return destroyed

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it, so no earlier page (a destroyed key) stays in it."""
        with self.datastore.get_connection(commit=False) as conn:
            cursor = conn.cursor()
            for _ in range(20):
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                if cursor.fetchone()[0] == 0:  # not blocked by a reader
                    return
                time.sleep(0.05)

    def select_case_keys(self, case_ids: list[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            with self.datastore.get_connection(commit=False) as conn, conn.cursor() as c:
                c.execute(
                    f"SELECT case_id, key FROM {self.keys_table_name} WHERE case_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((row[0], None if row[1] is None else bytes(row[1])) for row in c.fetchall())
        return found

    # -- reading ----------------------------------------------------------------

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """An aggregate's events after a version, in order: what fast-forwarding a cached aggregate asks for
        on every command and read (a fifth of a read's cost through the library's path).

        One SELECT on a pooled connection, in auto-commit mode: a single statement reads one consistent
        snapshot, so the library's explicit BEGIN and ROLLBACK around it add nothing but two round trips.
        Other forms of the query go the library's way.
        """
        if gt is None or lte is not None or desc or limit is not None:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        key = originator_id.hex if isinstance(originator_id, UUID) else originator_id
        with self.datastore.get_connection(commit=False) as conn, conn.cursor() as c:
            c.execute(self._select_after, (key, gt))
            rows = c.fetchall()
        if not rows:
            return []
        originator = originator_id if isinstance(originator_id, UUID) else self.convert_originator_id(originator_id)
        return [StoredEvent(originator, row[0], row[1], row[2]) for row in rows]

    def select_by_originators(
        self,
        originator_ids: Sequence[UUID],
        *,
        after: int = 0,
        limit: int | None = None,
        topics: Sequence[str] = (),
    ) -> list[Notification]:
        """Events of the given aggregates after a position, in global (recorded) order."""
        if not originator_ids:
            return []
        params: list[Any] = [i.hex for i in originator_ids]
        statement = (
            f"SELECT rowid, * FROM {self.events_table_name} "
            f"WHERE originator_id IN ({','.join('?' * len(originator_ids))}) AND rowid > ?"
        )
        params.append(after)
        if topics:
            statement += f" AND topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        statement += " ORDER BY rowid"
        if limit is not None:
            statement += " LIMIT ?"
            params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                _notification(row, row["rowid"], self.convert_originator_id(row["originator_id"]), row["state"])
                for row in c.fetchall()
            ]

    def select_feed_rows(
        self,
        after: int,
        limit: int,
        topics: Sequence[str] = (),
        stop: int | None = None,
        bare: Sequence[str] = (),
    ) -> list[tuple[int, str, int, str, bytes]]:
        """(position, stream, version, topic, state) after a position (up to ``stop``): the feed's and the
        projections' hot path, no UUID objects. Events of the ``bare`` topics come without their state."""
        state = f"CASE WHEN topic IN ({','.join('?' * len(bare))}) THEN NULL ELSE state END" if bare else "state"
        statement = (
            f"SELECT rowid, originator_id, originator_version, topic, {state} FROM {self.events_table_name}"
            " WHERE rowid > ?"
        )
        params: list[Any] = [*bare, after]
        if stop is not None:
            statement += " AND rowid <= ?"
            params.append(stop)
        if topics:
            statement += f" AND topic IN ({','.join('?' * len(topics))})"
            params.extend(topics)
        statement += " ORDER BY rowid LIMIT ?"
        params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.row_factory = None  # type: ignore[attr-defined]
            c.execute(statement, params)
            return [(p, uuid_text(i), v, t, s) for p, i, v, t, s in c.fetchall()]

    def select_streams_rows(
        self, streams: Sequence[str], topics: Sequence[str]
    ) -> list[tuple[int, str, int, str, bytes]]:
        """(position, stream, version, topic, state) of every event of the given streams, of the given
        topics, by stream and version: streams' histories (what a projection derives a stream's state from)."""
        found: list[tuple[int, str, int, str, bytes]] = []
        for start in range(0, len(streams), 500):
            chunk = list(streams[start : start + 500])
            statement = (
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name}"
                f" WHERE originator_id IN ({','.join('?' * len(chunk))}) AND topic IN ({','.join('?' * len(topics))})"
                " ORDER BY originator_id, originator_version"
            )
            with self.datastore.transaction(commit=False) as c:
                c.row_factory = None  # type: ignore[attr-defined]
                c.execute(statement, [*(UUID(s).hex for s in chunk), *topics])
                found.extend((p, uuid_text(i), v, t, s) for p, i, v, t, s in c.fetchall())
        return found

    def chain_head(self) -> tuple[int, bytes] | None:
        """The last link: (position, hash), or None for an empty record."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT position, hash FROM {self.chain_table_name} ORDER BY position DESC LIMIT 1")
            row = c.fetchone()
            return (row["position"], bytes(row["hash"])) if row else None

    def verify_chain(self, anchors: Mapping[int, bytes] | None = None, page: int = VERIFY_PAGE) -> Report:
        return verify(self._joined(page), anchors)

    def _joined(self, page: int) -> Iterator[Joined]:
        """Events LEFT JOIN their links, a page at a time, plus any link whose event is gone."""
        events, chain = self.events_table_name, self.chain_table_name
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT max(coalesce((SELECT max(rowid) FROM {events}), 0),"
                f" coalesce((SELECT max(position) FROM {chain}), 0))"
            )
            stop = c.fetchone()[0]
        after = 0
        while after < stop:
            with self.datastore.transaction(commit=False) as c:
                c.row_factory = None  # type: ignore[attr-defined]  # plain tuples: the walk is the hot path
                c.execute(
                    f"SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, l.prev_position,"
                    f" l.hash FROM {events} e LEFT JOIN {chain} l ON l.position = e.rowid"
                    " WHERE e.rowid > ? AND e.rowid <= ? ORDER BY e.rowid LIMIT ?",
                    (after, stop, page),
                )
                fetched = c.fetchall()
                upto = fetched[-1][0] if len(fetched) == page else stop
                rows = [(r[0], bytes.fromhex(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in fetched]
                linked = sum(1 for r in fetched if r[6] is not None)
                c.execute(f"SELECT count(*) FROM {chain} WHERE position > ? AND position <= ?", (after, upto))
                if c.fetchone()[0] != linked:  # some link has no event: find them (only ever after tampering)
                    c.execute(
                        f"SELECT position, prev_position, hash FROM {chain} l WHERE position > ? AND position <= ?"
                        f" AND NOT EXISTS (SELECT 1 FROM {events} WHERE rowid = l.position) ORDER BY position",
                        (after, upto),
                    )
                    rows = with_orphan_links(rows, c.fetchall())  # type: ignore[arg-type,assignment]
            yield from rows
            after = upto


class PostgresEventRecorder(PostgresApplicationRecorder):
    case_keys: CaseKeys | None = None  # the application's (``application.personal_data``)

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain_table_name = f"{events_table_name}_chain"
        self.keys_table_name = f"{events_table_name}_case_keys"
        self.check_identifier_length(self.chain_table_name)
        self.check_identifier_length(self.keys_table_name)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {schema}.{keys} (case_id uuid PRIMARY KEY, key bytea)").format(
                schema=Identifier(self.datastore.schema), keys=Identifier(self.keys_table_name)
            )
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{chain} ("
                "position bigint PRIMARY KEY, prev_position bigint NOT NULL, hash bytea NOT NULL)"
            ).format(schema=Identifier(self.datastore.schema), chain=Identifier(self.chain_table_name))
        )

    def _sql(self, text: str) -> Composed:
        return SQL(text).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            chain=Identifier(self.chain_table_name),
            keys=Identifier(self.keys_table_name),
        )

    # -- writing ----------------------------------------------------------------

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Lock, insert the events, append their links, commit: one transaction.

        Replaces the library's pipelined version (and ignores its optional DB
        function), because the links must be computed from the positions the
        insert returns while the table lock is still held.
        """
        if not stored_events:
            return []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)  # takes the EXCLUSIVE table lock
            positions = list(self._fetch_ids_after_insert_events(curs, stored_events, **kwargs) or [])
            curs.execute(self._sql("SELECT position, hash FROM {schema}.{chain} ORDER BY position DESC LIMIT 1"))
            head = curs.fetchone()
            rows = chain_rows(
                (head["position"], bytes(head["hash"])) if head else None,
                (
                    EventRow(p, id_bytes(s.originator_id), s.originator_version, s.topic, s.state)
                    for p, s in zip(positions, stored_events, strict=True)
                ),
            )
            curs.executemany(self._sql("INSERT INTO {schema}.{chain} VALUES (%s, %s, %s)"), rows)
            new, erased = _key_rows(self.case_keys, stored_events)
            if new:
                curs.executemany(self._sql("INSERT INTO {schema}.{keys} VALUES (%s, %s)"), new)
            if erased:
                self._destroy(curs, erased)
        if erased:
            self.vacuum_keys()
        return positions

    def _destroy(self, curs: Any, case_hexes: Sequence[str]) -> int:
        """Delete each key and leave a NULL in its place: the case is erased."""
        ids = [UUID(h) for h in case_hexes]
        curs.execute(self._sql("DELETE FROM {schema}.{keys} WHERE case_id = ANY(%s) AND key IS NOT NULL"), [ids])
        destroyed = curs.rowcount
        curs.executemany(
            self._sql("INSERT INTO {schema}.{keys} VALUES (%s, NULL) ON CONFLICT (case_id) DO UPDATE SET key = NULL"),
            [(i,) for i in ids],
        )
        return destroyed

    def insert_case_keys(self, keys: dict[str, bytes]) -> None:
        """Keys made elsewhere (a record copied here as stored: benchmarks.generate_history)."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.executemany(
                self._sql("INSERT INTO {schema}.{keys} VALUES (%s, %s) ON CONFLICT (case_id) DO UPDATE SET key = %s"),
                [(UUID(h), k, k) for h, k in keys.items()],
            )

    def destroy_case_keys(self, case_ids: list[str]) -> int:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            destroyed = self._destroy(curs, case_ids)
        self.vacuum_keys()
        return destroyed

    def vacuum_keys(self) -> None:
        """Reclaim the deleted keys' row versions now rather than at autovacuum's leisure."""
        with self.datastore.get_connection() as conn:
            autocommit = conn.autocommit
            conn.autocommit = True
            try:
                conn.execute(self._sql("VACUUM {schema}.{keys}"))
            finally:
                conn.autocommit = autocommit

    def select_case_keys(self, case_ids: list[str]) -> dict[str, bytes | None]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(
                self._sql("SELECT case_id, key FROM {schema}.{keys} WHERE case_id = ANY(%s)"),
                [[UUID(h) for h in case_ids]],
                binary=True,
            )
            return {row[0].hex: None if row[1] is None else bytes(row[1]) for row in curs.fetchall()}

    # -- reading ----------------------------------------------------------------

    def select_by_originators(
        self,
        originator_ids: Sequence[UUID],
        *,
        after: int = 0,
        limit: int | None = None,
        topics: Sequence[str] = (),
    ) -> list[Notification]:
        """Events of the given aggregates after a position, in global (recorded) order."""
        if not originator_ids:
            return []
        statement = self._sql("SELECT * FROM {schema}.{table} WHERE originator_id = ANY(%s) AND notification_id > %s")
        params: list[Any] = [list(originator_ids), after]
        if topics:
            statement += SQL(" AND topic = ANY(%s)")
            params.append(list(topics))
        statement += SQL(" ORDER BY notification_id")
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return [
                _notification(row, row["notification_id"], row["originator_id"], bytes(row["state"]))
                for row in curs.fetchall()
            ]

    def select_feed_rows(
        self,
        after: int,
        limit: int,
        topics: Sequence[str] = (),
        stop: int | None = None,
        bare: Sequence[str] = (),
    ) -> list[tuple[int, str, int, str, bytes]]:
        """(position, stream, version, topic, state) after a position (up to ``stop``): the feed's and the
        projections' hot path, no UUID objects. Events of the ``bare`` topics come without their state."""
        statement = self._sql(
            "SELECT notification_id, originator_id::text, originator_version, topic,"
            " CASE WHEN topic = ANY(%s) THEN NULL ELSE state END"
            " FROM {schema}.{table} WHERE notification_id > %s"
        )
        params: list[Any] = [list(bare), after]
        if stop is not None:
            statement += SQL(" AND notification_id <= %s")
            params.append(stop)
        if topics:
            statement += SQL(" AND topic = ANY(%s)")
            params.append(list(topics))
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True, binary=True)
            return curs.fetchall()

    def select_streams_rows(
        self, streams: Sequence[str], topics: Sequence[str]
    ) -> list[tuple[int, str, int, str, bytes]]:
        """(position, stream, version, topic, state) of every event of the given streams, of the given
        topics, by stream and version: streams' histories (what a projection derives a stream's state from)."""
        statement = self._sql(
            "SELECT notification_id, originator_id::text, originator_version, topic, state FROM {schema}.{table}"
            " WHERE originator_id = ANY(%s) AND topic = ANY(%s) ORDER BY originator_id, originator_version"
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, [[UUID(s) for s in streams], list(topics)], prepare=True, binary=True)
            return curs.fetchall()

    def select_projection_rows(
        self, after: int, limit: int, topics: Sequence[str], bare: Sequence[str] = ()
    ) -> list[tuple[int, str, int, str, bytes | None]]:
        """Every position after ``after`` (the gap guard must see them all), with the stream and state
        only of the events whose topic is in ``topics`` (the state not for the ``bare`` ones, as in
        ``select_feed_rows``): the others are not sent over the wire."""
        statement = self._sql(
            "SELECT notification_id, CASE WHEN topic = ANY(%s) THEN originator_id::text END, originator_version,"
            " topic, CASE WHEN topic = ANY(%s) AND NOT topic = ANY(%s) THEN state END"
            " FROM {schema}.{table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            params = [list(topics), list(topics), list(bare), after, limit]
            curs.execute(statement, params, prepare=True, binary=True)
            return curs.fetchall()

    def chain_head(self) -> tuple[int, bytes] | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._sql("SELECT position, hash FROM {schema}.{chain} ORDER BY position DESC LIMIT 1"))
            row = curs.fetchone()
            return (row["position"], bytes(row["hash"])) if row else None

    def verify_chain(self, anchors: Mapping[int, bytes] | None = None, page: int = VERIFY_PAGE) -> Report:
        return verify(self._joined(page), anchors)

    def _joined(self, page: int) -> Iterator[Joined]:
        """Events LEFT JOIN their links, a page at a time, plus any link whose event is gone."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            # A link commits with its event, so everything at or below this snapshot's
            # maximum is complete; later writes are left for the next verification.
            curs.execute(
                self._sql(
                    "SELECT greatest((SELECT max(notification_id) FROM {schema}.{table}),"
                    " (SELECT max(position) FROM {schema}.{chain}), 0)"
                )
            )
            stop = curs.fetchone()[0]  # type: ignore[index]
            after = 0
            while after < stop:
                curs.execute(
                    self._sql(
                        "SELECT e.notification_id, uuid_send(e.originator_id), e.originator_version, e.topic,"
                        " e.state, l.prev_position, l.hash FROM {schema}.{table} e"
                        # The range on l too: otherwise a merge join scans the links from the start every page.
                        " LEFT JOIN {schema}.{chain} l ON l.position = e.notification_id"
                        " AND l.position > %s AND l.position <= %s"
                        " WHERE e.notification_id > %s AND e.notification_id <= %s"
                        " ORDER BY e.notification_id LIMIT %s"
                    ),
                    (after, stop, after, stop, page),
                    binary=True,  # bytea as bytes on the wire: half the bytes, no hex decoding
                )
                rows: list[Joined] = curs.fetchall()
                upto = rows[-1][0] if len(rows) == page else stop
                linked = sum(1 for r in rows if r[6] is not None)
                curs.execute(
                    self._sql("SELECT count(*) FROM {schema}.{chain} WHERE position > %s AND position <= %s"),
                    (after, upto),
                )
                if curs.fetchone()[0] != linked:  # type: ignore[index]
                    curs.execute(
                        self._sql(
                            "SELECT position, prev_position, hash FROM {schema}.{chain} l"
                            " WHERE position > %s AND position <= %s AND NOT EXISTS"
                            " (SELECT 1 FROM {schema}.{table} WHERE notification_id = l.position)"
                            " ORDER BY position"
                        ),
                        (after, upto),
                    )
                    rows = with_orphan_links(rows, curs.fetchall())
                yield from rows
                after = upto
