"""Backups of the record: a consistent copy, taken while the service runs, that restores into an empty store.

A backup is a directory in the embedded SQLite backend's own layout, whatever
the source backend, so any backup restores into either backend:

- ``events.sqlite``: the stored events (``rowid`` = global position) and their
  hash-chain links, byte for byte as stored (still encrypted if a cipher key
  is configured: keep the key apart from the backups);
- ``views.sqlite``: the read-side tables that cannot be rebuilt from events
  (API token hashes, the read audit) and, from a SQLite source, the views;
- ``manifest.json``: format, source, time, head position, chain head and the
  SHA-256 of each file. Written last: a backup without one is incomplete.

From SQLite, sqlite3's online backup API copies each file as one consistent
snapshot while writers carry on; the read side is copied first, so its views
are never ahead of the events they were built from. From PostgreSQL, one
REPEATABLE READ READ ONLY transaction streams every row. A restore checks the
checksums, refuses a store that already holds events, copies (SQLite) or
streams (PostgreSQL) the rows back, and verifies the hash chain against the
head recorded in the manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import sqlalchemy as sa
from psycopg.sql import SQL, Identifier

import infrastructure.read_audit  # noqa: F401 - registers the read audit table on the metadata
from domain import clock
from infrastructure.composer import Composer
from infrastructure.config import Settings
from infrastructure.files import private_dir, private_file, private_tree
from infrastructure.readdb import metadata
from infrastructure.tokens import tokens_table

FORMAT = "inspectorate-backup/1"
EVENTS_FILE, VIEWS_FILE, MANIFEST_FILE = "events.sqlite", "views.sqlite", "manifest.json"
# Read-side tables that are not projections of the events: lost for good unless backed up.
KEPT_TABLES = (tokens_table.name, "read_audit")
BATCH = 5000


class BackupError(Exception):
    """The backup or restore cannot go ahead; the message says why."""


@dataclass(frozen=True)
class Manifest:
    format: str
    source: str
    created_at: str
    events: int
    head: int
    chain_head: str | None
    files: dict[str, str]

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_FILE
        if not path.is_file():
            raise BackupError(f"{directory} is not a complete backup: {MANIFEST_FILE} is missing")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {data.get('format')!r}; expected {FORMAT}")
        return cls(**data)


@dataclass(frozen=True)
class Names:
    """The event store's table names in one backend (the recorders choose them)."""

    events: str
    chain: str
    schema: str = ""


# -- backup ------------------------------------------------------------------------------


def backup(settings: Settings, target: Path, *, composer: Composer) -> Manifest:
    """Write a backup of the store described by ``settings`` into ``target`` (absent or empty)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty directory")
    private_dir(target)  # personal data and token hashes: the owner's alone (0700, files 0600)
    if settings.is_postgres:
        _stream_postgres(settings, target, composer)
    else:
        _copy_sqlite(settings, target)
    manifest = _write_manifest(target, "postgresql" if settings.is_postgres else "sqlite")
    private_tree(target)  # whatever else SQLite left there (a journal), should it outlive the copy
    return manifest


def _copy_sqlite(settings: Settings, target: Path) -> None:
    if not settings.events_path.is_file():
        raise BackupError(f"there is no event store at {settings.events_path}")
    views = settings.data_dir / VIEWS_FILE
    if views.is_file():  # first: the views must not be ahead of the events
        _online_copy(views, target / VIEWS_FILE)
    _online_copy(settings.events_path, target / EVENTS_FILE)


def _online_copy(source: Path, destination: Path) -> None:
    """sqlite3's online backup: one consistent snapshot, writers are not blocked (WAL)."""
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
        closing(sqlite3.connect(private_file(destination))) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it


def _stream_postgres(settings: Settings, target: Path, composer: Composer) -> None:
    names = _names(settings, composer)
    sqlite_names = _create_sqlite_store(target, composer)
    with (
        closing(psycopg.connect(_libpq_url(settings), autocommit=False)) as pg,
        closing(sqlite3.connect(target / EVENTS_FILE)) as events,
    ):
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        schema = names.schema
        rows = _server_side(
            pg,
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
                "ORDER BY notification_id"
            ).format(Identifier(schema), Identifier(names.events)),
        )
        _insert_batches(
            events,
            f"INSERT INTO {sqlite_names.events} (rowid, originator_id, originator_version, "
            "topic, state) VALUES (?, ?, ?, ?, ?)",
            ((p, UUID(str(o)).hex, v, t, bytes(s)) for p, o, v, t, s in rows),
        )
        links = _server_side(
            pg,
            SQL("SELECT position, prev_position, hash FROM {}.{} ORDER BY position").format(
                Identifier(schema), Identifier(names.chain)
            ),
        )
        _insert_batches(
            events, f"INSERT INTO {sqlite_names.chain} VALUES (?, ?, ?)", ((p, q, bytes(h)) for p, q, h in links)
        )
        keys = _server_side(
            pg,
            SQL("SELECT case_id, key FROM {}.{}").format(  # each case's key; NULL: erased
                Identifier(schema), Identifier(_keys_table(names.events))
            ),
        )
        _insert_batches(
            events,
            f"INSERT INTO {_keys_table(sqlite_names.events)} VALUES (?, ?)",
            ((UUID(str(c)).hex, None if k is None else bytes(k)) for c, k in keys),
        )
        events.commit()
        kept = {name: _select_all(pg, schema, name) for name in KEPT_TABLES if _pg_has_table(pg, schema, name)}
        pg.rollback()
    _write_kept_tables(target / VIEWS_FILE, kept)


def _create_sqlite_store(directory: Path, composer: Composer) -> Names:
    """An empty event store in the SQLite backend's layout (the recorder creates its own tables)."""
    app = composer.open_app(Settings(data_dir=directory), create_table=True)
    try:
        return Names(app.recorder.events_table_name, app.recorder.chain_table_name)  # type: ignore[attr-defined]
    finally:
        app.close()


def _server_side(pg: psycopg.Connection[Any], query: SQL | Any) -> Iterator[tuple[Any, ...]]:
    with pg.cursor(name=f"backup_{id(query)}") as cursor:
        cursor.itersize = BATCH
        cursor.execute(query)
        yield from cursor


def _insert_batches(db: sqlite3.Connection, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            db.executemany(statement, batch)
            batch.clear()
    if batch:
        db.executemany(statement, batch)


def _select_all(pg: psycopg.Connection[Any], schema: str, table: str) -> list[dict[str, Any]]:
    with pg.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(SQL("SELECT * FROM {}.{}").format(Identifier(schema), Identifier(table)))
        return cursor.fetchall()


def _write_kept_tables(path: Path, kept: dict[str, list[dict[str, Any]]]) -> None:
    engine = sa.create_engine(f"sqlite:///{private_file(path).resolve()}")
    try:
        tables = [metadata.tables[name] for name in kept if name in metadata.tables]
        metadata.create_all(engine, tables=tables)
        with engine.begin() as conn:
            for table in tables:
                if kept[table.name]:
                    conn.execute(table.insert(), kept[table.name])
    finally:
        engine.dispose()


def _write_manifest(target: Path, source: str) -> Manifest:
    with closing(sqlite3.connect(target / EVENTS_FILE)) as db:
        names = _sqlite_names(db)
        events, head = db.execute(f"SELECT count(*), coalesce(max(rowid), 0) FROM {names.events}").fetchone()
        link = db.execute(f"SELECT hash FROM {names.chain} ORDER BY position DESC LIMIT 1").fetchone()
    manifest = Manifest(
        format=FORMAT,
        source=source,
        created_at=clock.now().isoformat(),
        events=events,
        head=head,
        chain_head=bytes(link[0]).hex() if link else None,
        files={p.name: _sha256(p) for p in sorted(target.iterdir()) if p.suffix == ".sqlite"},
    )
    private_file(target / MANIFEST_FILE).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


# -- restore -----------------------------------------------------------------------------


def restore(settings: Settings, source: Path, *, composer: Composer) -> Manifest:
    """Restore a backup into the (empty) store described by ``settings``; verify the chain."""
    manifest = Manifest.read(source)
    for name, digest in manifest.files.items():
        if not (source / name).is_file() or _sha256(source / name) != digest:
            raise BackupError(f"{source / name} does not match its checksum: the backup is damaged")
    if settings.is_postgres:
        _restore_postgres(settings, source, composer)
    else:
        _restore_sqlite(settings, source)
    composer.migrate(settings)  # tables the backup did not carry (views of a PostgreSQL backup, newer tables)
    _verify(settings, manifest, composer)
    return manifest


def _restore_sqlite(settings: Settings, source: Path) -> None:
    present = [p.name for p in settings.data_dir.glob("*.sqlite*")] if settings.data_dir.exists() else []
    if present:
        raise BackupError(f"{settings.data_dir} is not empty ({', '.join(sorted(present))}); restore into a new one")
    private_dir(settings.data_dir)
    for name in (EVENTS_FILE, VIEWS_FILE):
        if (source / name).is_file():
            shutil.copyfile(source / name, private_file(settings.data_dir / name))  # (keeps the 0600)


def _restore_postgres(settings: Settings, source: Path, composer: Composer) -> None:
    composer.migrate(settings)
    names = _names(settings, composer)
    with (
        closing(psycopg.connect(_libpq_url(settings), autocommit=False)) as pg,
        closing(sqlite3.connect(source / EVENTS_FILE)) as events,
    ):
        schema = names.schema
        table, chain = Identifier(schema, names.events), Identifier(schema, names.chain)
        pg.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
        if pg.execute(SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table)).fetchone()[0]:  # type: ignore[index]
            raise BackupError("the PostgreSQL event store already holds events; restore into an empty database")
        local = _sqlite_names(events)
        with pg.cursor() as cursor:
            cursor.executemany(
                SQL(
                    "INSERT INTO {} (notification_id, originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s, %s)"
                ).format(table),
                (
                    (p, UUID(o), v, t, s)
                    for p, o, v, t, s in events.execute(
                        f"SELECT rowid, originator_id, originator_version, topic, state FROM {local.events} "
                        "ORDER BY rowid"
                    )
                ),
            )
            cursor.executemany(
                SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(chain),
                events.execute(f"SELECT position, prev_position, hash FROM {local.chain}"),
            )
            if _sqlite_has_table(events, _keys_table(local.events)):  # (backups from before per-case keys lack it)
                cursor.executemany(
                    SQL("INSERT INTO {} VALUES (%s, %s)").format(Identifier(schema, _keys_table(names.events))),
                    ((UUID(c), k) for c, k in events.execute(f"SELECT case_id, key FROM {_keys_table(local.events)}")),
                )
            # New events continue after the restored ones.
            cursor.execute(
                SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                    "greatest((SELECT max(notification_id) FROM {}), 1))"
                ).format(table),
                [f'"{schema}"."{names.events}"'],
            )
        pg.commit()
    _merge_kept_tables(settings, source / VIEWS_FILE)


def _merge_kept_tables(settings: Settings, views: Path) -> None:
    """Tokens and the read audit from the backup; rows already present (same key) are kept as they are."""
    if not views.is_file():
        return
    source = sa.create_engine(f"sqlite:///{views.resolve()}")
    target = sa.create_engine(settings.read_url)
    try:
        present = set(sa.inspect(source).get_table_names())
        for name in KEPT_TABLES:
            if name not in present or name not in metadata.tables:
                continue
            table = metadata.tables[name]
            with source.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(sa.select(table))]
            key = [c.name for c in table.primary_key.columns]
            with target.begin() as conn:
                existing = {tuple(r) for r in conn.execute(sa.select(*[table.c[k] for k in key]))}
                fresh = [r for r in rows if tuple(r[k] for k in key) not in existing]
                if fresh:
                    conn.execute(table.insert(), fresh)
    finally:
        source.dispose()
        target.dispose()


def _verify(settings: Settings, manifest: Manifest, composer: Composer) -> None:
    """The restored chain holds, and ends where the backed-up one did."""
    app = composer.open_app(settings)
    try:
        anchors = {manifest.head: bytes.fromhex(manifest.chain_head)} if manifest.chain_head else None
        report = app.recorder.verify_chain(anchors).as_dict()  # type: ignore[attr-defined]
    finally:
        app.close()
    if not report["ok"] or report["checked"] != manifest.events:
        raise BackupError(f"the restored record does not verify: {report}")


# -- small helpers -----------------------------------------------------------------------


def _names(settings: Settings, composer: Composer) -> Names:
    app = composer.open_app(settings)
    recorder: Any = app.recorder
    try:
        return Names(recorder.events_table_name, recorder.chain_table_name, recorder.datastore.schema)
    finally:
        app.close()


def _sqlite_names(db: sqlite3.Connection) -> Names:
    """The event and chain tables of a SQLite event store file (the one table with a ``_chain`` twin)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    events = [t for t in tables if f"{t}_chain" in tables]
    if len(events) != 1:
        raise BackupError(f"not an inspectorate event store (tables: {sorted(tables)})")
    return Names(events[0], f"{events[0]}_chain")


def _keys_table(events: str) -> str:
    """The event store's table of per-case keys (``infrastructure.eventstore``)."""
    return f"{events}_case_keys"


def _sqlite_has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


def _libpq_url(settings: Settings) -> str:
    return str(settings.database_url).replace("postgresql+psycopg://", "postgresql://", 1)


def _pg_has_table(pg: psycopg.Connection[Any], schema: str, name: str) -> bool:
    return pg.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}"."{name}"']).fetchone()[0]  # type: ignore[index]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
