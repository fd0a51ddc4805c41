"""`inspectorate backup` / `inspectorate restore`: consistent while writing, exact, verified, refusing damage."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from domain.base import Actor
from infrastructure.backup import BackupError, Manifest, backup, restore
from infrastructure.config import Settings
from tests.conftest import reset_postgres
from tests.reliability.helpers import (
    CHARACTERISTICS,
    Server,
    cli,
    create_token,
    inspection_body,
    judgements,
    open_fieldwork,
    request,
    server_env,
    view_rows,
    wait_views_current,
)
from web.bootstrap import COMPOSER, build_services

INSPECTOR = Actor(name="Backup Inspector", role="inspector", organisation=None)


def stored(events_file: Path, upto: int) -> list[tuple]:  # type: ignore[type-arg]
    with closing(sqlite3.connect(events_file)) as db:
        return db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "WHERE rowid <= ? ORDER BY rowid",
            (upto,),
        ).fetchall()


def test_backup_while_writing_restores_an_exact_verified_prefix(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server()
    token = create_token(server.env, "Backup Inspector", "inspector")
    admin = create_token(server.env, "Backup Admin", "admin").secret
    inspection_id = open_fieldwork(server.port, token.secret, "Backed Up Trust")
    acked: list[tuple[str, int]] = []
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            added = request(
                server.port,
                "POST",
                f"/v1/inspections/{inspection_id}/cases",
                {"case_ref": f"B-{n}", "characteristics": CHARACTERISTICS},
                token=token.secret,
            )
            assert added.status == 201, added.data
            acked.append((added.json()["id"], int(added.headers["inspectorate-position"])))
            rated = request(
                server.port,
                "POST",
                f"/v1/cases/{added.json()['id']}/ratings",
                {"judgements": judgements(n % 2 == 0)},
                token=token.secret,
            )
            assert rated.status == 200

    writer = threading.Thread(target=write)
    writer.start()
    while len(acked) < 20:
        stop.wait(0.02)
    before = len(acked)
    done = cli(server.env, "backup", str(tmp_path / "backup"))
    stop.set()
    writer.join(timeout=30)
    assert "backed up" in done.stdout
    manifest = Manifest.read(tmp_path / "backup")
    assert manifest.events == manifest.head >= acked[before - 1][1]  # everything acknowledged before it began
    server.stop()
    live_head = len(stored(server.data_dir / "events.sqlite", 10**9))
    assert live_head > manifest.head  # writes carried on during and after the backup

    restored_env = server_env(tmp_path / "restored")
    restored = cli(restored_env, "restore", str(tmp_path / "backup"))
    assert "hash chain verified" in restored.stdout
    # Byte for byte the live record up to the backup's head: a consistent snapshot, not a torn copy.
    assert stored(tmp_path / "restored" / "events.sqlite", manifest.head) == stored(
        server.data_dir / "events.sqlite", manifest.head
    )

    again = start_server("restored")
    # Tokens came with it; every case acknowledged before the backup is there.
    for case_id, position in acked[:before]:
        assert position <= manifest.head
        assert again.request("GET", f"/v1/cases/{case_id}", token=token.secret).status == 200
    assert again.request("POST", "/v1/inspections", inspection_body("After restore"), token=token.secret).status == 201
    wait_views_current(again, admin)
    again.stop()
    live_views = view_rows(again.data_dir)
    cli(again.env, "views", "rebuild")
    assert view_rows(again.data_dir) == live_views
    assert cli(again.env, "audit", "verify").returncode == 0


def test_refuses_to_overwrite_and_refuses_a_damaged_backup(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    write_some(settings)
    backup(settings, tmp_path / "b", composer=COMPOSER)
    with pytest.raises(BackupError, match="not an empty directory"):
        backup(settings, tmp_path / "b", composer=COMPOSER)
    with pytest.raises(BackupError, match="not empty"):  # the live data dir
        restore(settings, tmp_path / "b", composer=COMPOSER)

    damaged = tmp_path / "b" / "events.sqlite"
    data = bytearray(damaged.read_bytes())
    data[-100] ^= 0xFF
    damaged.write_bytes(bytes(data))
    refused = cli(server_env(tmp_path / "new"), "restore", str(tmp_path / "b"), check=False)
    assert refused.returncode == 1 and "damaged" in refused.stderr, refused.stderr
    assert not (tmp_path / "new" / "events.sqlite").exists()
    (tmp_path / "b" / "manifest.json").unlink()
    with pytest.raises(BackupError, match=r"manifest\.json is missing"):
        restore(Settings(data_dir=tmp_path / "new"), tmp_path / "b", composer=COMPOSER)


def write_some(settings: Settings) -> tuple[uuid.UUID, uuid.UUID, str]:
    services = build_services(settings, create_tables=True)
    app = services.app
    try:
        inspection_id = uuid.UUID(
            app.schedule_inspection(
                INSPECTOR, "OMI2", inspection_body("Portable Trust")["inspected_body"], date(2011, 5, 3)
            ).body["id"]
        )
        app.start_fieldwork(INSPECTOR, inspection_id)
        case_id = uuid.UUID(app.add_case(INSPECTOR, inspection_id, "P-1", CHARACTERISTICS).body["id"])
        app.rate_case(INSPECTOR, case_id, judgements(True))
        _, secret = services.tokens.create("Portable Token", "auditor")
    finally:
        services.close()
    return inspection_id, case_id, secret


def check_restored(settings: Settings, inspection_id: uuid.UUID, case_id: uuid.UUID, secret: str, head: int) -> None:
    services = build_services(settings)
    app = services.app
    try:
        assert app.get_inspection(inspection_id).status == "fieldwork"
        assert app.get_case(case_id).judged
        assert services.tokens.authenticate(secret) is not None
        # New events continue after the restored ones, and the chain still holds.
        result = app.rate_case(INSPECTOR, case_id, judgements(False))
        assert result.position == head + 1
        assert app.recorder.verify_chain().as_dict()["ok"]  # type: ignore[attr-defined]
    finally:
        services.close()


@pytest.mark.postgres
def test_postgresql_backup_restores_into_sqlite_and_back_into_postgresql(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    inspection_id, case_id, secret = write_some(postgres_settings)
    manifest = backup(postgres_settings, tmp_path / "from-pg", composer=COMPOSER)
    # scheduled (with its body registered and linked: 3 events), fieldwork, case sampled (2), rated
    assert manifest.source == "postgresql" and manifest.events == manifest.head == 7
    assert json.loads((tmp_path / "from-pg" / "manifest.json").read_text())["chain_head"] == manifest.chain_head

    into_sqlite = Settings(data_dir=tmp_path / "sqlite")
    restore(into_sqlite, tmp_path / "from-pg", composer=COMPOSER)
    with pytest.raises(BackupError, match="not empty"):
        restore(into_sqlite, tmp_path / "from-pg", composer=COMPOSER)
    check_restored(into_sqlite, inspection_id, case_id, secret, manifest.head)

    # And the SQLite store, backed up in turn, restores into an empty PostgreSQL database.
    second = backup(into_sqlite, tmp_path / "from-sqlite", composer=COMPOSER)
    assert second.events == manifest.head + 1
    reset_postgres(str(postgres_settings.database_url))
    restore(postgres_settings, tmp_path / "from-sqlite", composer=COMPOSER)
    with pytest.raises(BackupError, match="already holds events"):
        restore(postgres_settings, tmp_path / "from-sqlite", composer=COMPOSER)
    check_restored(postgres_settings, inspection_id, case_id, secret, second.head)


def test_an_encrypted_store_backs_up_as_ciphertext_and_restores_with_its_key(tmp_path: Path) -> None:
    from eventsourcing.cryptography import AESCipher

    settings = Settings(data_dir=tmp_path / "var", cipher_key=AESCipher.create_key(32))
    inspection_id, case_id, secret = write_some(settings)
    backup(settings, tmp_path / "b", composer=COMPOSER)
    assert b"P-1" not in (tmp_path / "b" / "events.sqlite").read_bytes()
    restored = replace(settings, data_dir=tmp_path / "restored")
    restore(restored, tmp_path / "b", composer=COMPOSER)
    check_restored(restored, inspection_id, case_id, secret, 7)
