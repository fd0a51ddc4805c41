"""The event store recorders: the library's built-in ones plus the queries the record needs.

Measured in shared/perf-baseline.md, the built-in ``eventsourcing.sqlite`` and
``eventsourcing.postgres`` recorders write about 2x and read 3-4x faster than
the SQLAlchemy ones, so events live there and SQLAlchemy serves the read side.
"""
from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


class SQLiteEventRecorder(SQLiteApplicationRecorder):
    def select_by_originators(self, originator_ids: Sequence[UUID]) -> list[Notification]:
        """Every event of the given aggregates in global (recorded) order."""
        if not originator_ids:
            return []
        marks = ",".join("?" * len(originator_ids))
        statement = (
            f"SELECT rowid, * FROM {self.events_table_name} "
            f"WHERE originator_id IN ({marks}) ORDER BY rowid"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [i.hex for i in originator_ids])
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]


class PostgresEventRecorder(PostgresApplicationRecorder):
    def select_by_originators(self, originator_ids: Sequence[UUID]) -> list[Notification]:
        if not originator_ids:
            return []
        statement = SQL(
            "SELECT * FROM {schema}.{table} WHERE originator_id = ANY(%s) ORDER BY notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [list(originator_ids)])
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]
