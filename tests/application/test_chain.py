"""The tamper-evident record on a real store: links written with the events, verification names the break."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
import sqlalchemy as sa

from application.app import InspectorateApp
from domain.base import Actor
from infrastructure.chain import GENESIS, link
from infrastructure.config import Settings
from tests.factories import FIELDWORK_START, body, characteristics, judgements
from web.bootstrap import build_app

ANN = Actor("Ann Inspector", "inspector")


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    application = build_app(settings)
    yield application
    application.close()


def record_some(app: InspectorateApp, name: str = "Cumbria", cases: int = 3) -> UUID:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), FIELDWORK_START).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    for n in range(cases):
        case_id = UUID(app.add_case(ANN, inspection_id, f"C{n}", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(True))
    return inspection_id


def execute(settings: Settings) -> Callable[[str, tuple], None]:
    """Run raw SQL against the event store, as someone with database access (not the app) would."""
    if settings.is_postgres:
        engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)  # type: ignore[arg-type]

        def run_pg(statement: str, params: tuple = ()) -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql(statement.replace("?", "%s").format(events="inspectorate_events"), params)

        return run_pg

    def run_sqlite(statement: str, params: tuple = ()) -> None:
        with sqlite3.connect(settings.events_path) as conn:
            conn.execute(statement.format(events="stored_events"), params)

    return run_sqlite


def position_column(settings: Settings) -> str:
    return "notification_id" if settings.is_postgres else "rowid"


def test_every_event_is_linked_and_the_chain_verifies(app: InspectorateApp) -> None:
    record_some(app)
    report = app.recorder.verify_chain()  # type: ignore[attr-defined]
    head = app.recorder.chain_head()  # type: ignore[attr-defined]
    last = app.recorder.max_notification_id()
    assert report.ok and report.first_broken is None
    assert report.checked == last == 4 + 3 * 3  # scheduling a new body's inspection: 3 events (with the register's)
    assert head == (last, bytes.fromhex(report.head_hash))


def test_links_are_sha256_over_the_stored_bytes(app: InspectorateApp) -> None:
    record_some(app, cases=0)
    report = app.recorder.verify_chain(page=1)  # type: ignore[attr-defined]
    assert report.ok and report.checked == 4
    expected = GENESIS
    for n in app.recorder.select_notifications(1, 10):
        expected = link(expected, n.id, n.originator_id.bytes, n.originator_version, n.topic, n.state)
    assert report.head_hash == expected.hex()


def test_edited_event_bytes_are_named(app: InspectorateApp, settings: Settings) -> None:
    record_some(app)
    pos = position_column(settings)
    execute(settings)(f"UPDATE {{events}} SET state = ? WHERE {pos} = 5", (b'{"tampered": true}',))
    report = app.recorder.verify_chain(page=3)  # type: ignore[attr-defined]
    assert not report.ok
    assert report.first_broken["position"] == 5
    assert "event bytes altered" in report.first_broken["reason"]
    assert report.checked == 4


def test_deleted_event_is_named(app: InspectorateApp, settings: Settings) -> None:
    record_some(app)
    execute(settings)(f"DELETE FROM {{events}} WHERE {position_column(settings)} = 7")
    report = app.recorder.verify_chain()  # type: ignore[attr-defined]
    assert report.first_broken["position"] == 7 and "missing" in report.first_broken["reason"]


def test_deleted_event_and_its_link_are_named(app: InspectorateApp, settings: Settings) -> None:
    record_some(app)
    run = execute(settings)
    run(f"DELETE FROM {{events}} WHERE {position_column(settings)} = 6")
    run("DELETE FROM {events}_chain WHERE position = 6")
    report = app.recorder.verify_chain()  # type: ignore[attr-defined]
    assert report.first_broken == {
        "position": 6,
        "reason": "event missing: the link at position 7 follows position 6, which is gone with its link",
    }


def test_edited_chain_link_is_named(app: InspectorateApp, settings: Settings) -> None:
    record_some(app)
    execute(settings)("UPDATE {events}_chain SET hash = ? WHERE position = 3", (bytes(32),))
    report = app.recorder.verify_chain()  # type: ignore[attr-defined]
    assert report.first_broken["position"] == 3
    assert "chain link altered" in report.first_broken["reason"]


def test_event_written_around_the_recorder_is_named(app: InspectorateApp, settings: Settings) -> None:
    record_some(app, cases=0)
    run = execute(settings)
    stray = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    if settings.is_postgres:
        run(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, 1, 'x', ?)",
            (stray, b"{}"),
        )
    else:
        run("INSERT INTO {events} VALUES (?, 1, 'x', ?)", (UUID(stray).hex, b"{}"))
    report = app.recorder.verify_chain()  # type: ignore[attr-defined]
    assert report.first_broken["position"] == 5 and "no chain link" in report.first_broken["reason"]


def test_a_rewritten_chain_is_caught_by_an_anchor_kept_elsewhere(app: InspectorateApp, settings: Settings) -> None:
    record_some(app, cases=1)
    kept_position, kept_hash = app.recorder.chain_head()  # type: ignore[attr-defined]
    assert app.recorder.verify_chain({kept_position: kept_hash}).anchors_checked == [kept_position]  # type: ignore[attr-defined]
    # Someone with database access alters an event and recomputes every link after it.
    run = execute(settings)
    run(f"UPDATE {{events}} SET state = ? WHERE {position_column(settings)} = 2", (b'{"rewritten": 1}',))
    run("DELETE FROM {events}_chain")
    notifications = app.recorder.select_notifications(1, 100)
    previous = GENESIS
    for n in notifications:
        previous = link(previous, n.id, n.originator_id.bytes, n.originator_version, n.topic, n.state)
        run("INSERT INTO {events}_chain VALUES (?, ?, ?)", (n.id, n.id - 1, previous))
    assert app.recorder.verify_chain().ok  # type: ignore[attr-defined]
    report = app.recorder.verify_chain({kept_position: kept_hash})  # type: ignore[attr-defined]
    assert report.first_broken["position"] == kept_position
    assert "anchored" in report.first_broken["reason"]


def test_two_independent_writers_interleave_without_breaking_the_chain(settings: Settings) -> None:
    """Two application instances (two connection pools: like two server processes) write at once."""
    apps = [build_app(settings), build_app(settings, create_table=False)]
    errors: list[BaseException] = []

    def write(app: InspectorateApp, n: int) -> None:
        try:
            record_some(app, name=f"Trust {n}", cases=4)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(apps[n % 2], n)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = apps[0].recorder.verify_chain(page=7)  # type: ignore[attr-defined]
    assert report.ok, report.first_broken
    assert report.checked == 6 * (4 + 4 * 3) == apps[1].recorder.max_notification_id()
    for app in apps:
        app.close()


def test_chain_covers_encrypted_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from eventsourcing.cryptography import AESCipher

    settings = Settings(data_dir=tmp_path / "var", cipher_key=AESCipher.create_key(16))
    app = build_app(settings)
    record_some(app, cases=1)
    stored = app.recorder.select_notifications(1, 1)[0].state
    assert b"Cumbria" not in stored  # the chain hashed ciphertext, and still verifies
    assert app.recorder.verify_chain().ok  # type: ignore[attr-defined]
    app.close()


def test_sqlite_writers_queue_on_a_file_lock_and_go_as_soon_as_it_is_released(sqlite_settings: Settings) -> None:
    """A writer waits on the writers' file lock (not in SQLite's sleeping retries) and goes when it frees."""
    import fcntl
    import os

    app = build_app(sqlite_settings)
    try:
        queue = app.recorder.writers_queue  # type: ignore[attr-defined]
        assert queue == f"{sqlite_settings.events_path}-writers.lock"
        fd = os.open(queue, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)  # another writer holds the turn
        done = threading.Event()
        writer = threading.Thread(target=lambda: (record_some(app, cases=0), done.set()))
        writer.start()
        assert not done.wait(0.5)  # queued behind the lock, nothing written
        assert (app.recorder.max_notification_id() or 0) == 0
        os.close(fd)  # the turn passes
        assert done.wait(10)
        writer.join()
        assert app.recorder.max_notification_id() == 4 and app.recorder.verify_chain().ok  # type: ignore[attr-defined]
    finally:
        app.close()
