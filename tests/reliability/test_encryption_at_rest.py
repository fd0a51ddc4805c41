"""Encryption at rest: with INSPECTORATE_CIPHER_KEY set, stored events are ciphertext.

No case reference, characteristic or note appears in the raw bytes of the
event store (the SQLite file and its WAL, or the PostgreSQL rows), while the
application reads everything back.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import psycopg
from eventsourcing.cryptography import AESCipher

from domain.base import Actor
from infrastructure.config import Settings
from tests.reliability.helpers import Server, create_token, inspection_body, judgements, open_fieldwork
from web.bootstrap import build_app, migrate

INSPECTOR = Actor(name="Cipher Inspector", role="inspector", organisation=None)
CASE_REF = "SECRETREF123"
NOTE = "NOTESECRET456 about the family"
BODY = "BODYSECRET789 Trust"
# Every characteristic at a value no other field uses, so its presence would be telling.
DISTINCT = {
    "gender": "other",
    "ethnicity": "white",
    "age_band": "50+",
    "disability": True,
    "looked_after": True,
    "disposal": "licence",
    "risk_level": "very_high",
}
SECRETS = (
    CASE_REF,
    NOTE.split()[0],
    BODY.split()[0],
    "very_high",
    "licence",
    "looked_after",
    "characteristics",
    "age_band",
)


def leaks(raw: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in raw]


def test_the_cipher_topic_is_the_cryptography_aes_gcm_cipher(tmp_path: Path) -> None:
    env = Settings(data_dir=tmp_path, cipher_key=AESCipher.create_key(32)).event_store_env()
    assert env["CIPHER_TOPIC"] == "eventsourcing.cryptography:AESCipher"


def test_sqlite_files_hold_no_plaintext_case_data(start_server: Callable[..., Server]) -> None:
    server = start_server(INSPECTORATE_CIPHER_KEY=AESCipher.create_key(32))
    token = create_token(server.env, "Cipher Inspector", "inspector").secret
    inspection_id = open_fieldwork(server.port, token, BODY)
    added = server.request(
        "POST",
        f"/v1/inspections/{inspection_id}/cases",
        {"case_ref": CASE_REF, "characteristics": DISTINCT},
        token=token,
    )
    assert added.status == 201, added.data
    case_id = added.json()["id"]
    rating = judgements(True)
    rating[0]["note"] = NOTE
    assert server.request("POST", f"/v1/cases/{case_id}/ratings", {"judgements": rating}, token=token).status == 200

    # Read back through the application: everything decrypts.
    case = server.request("GET", f"/v1/cases/{case_id}", token=token).json()
    assert case["case_ref"] == CASE_REF
    history = server.request("GET", f"/v1/inspections/{inspection_id}/history", token=token)
    assert NOTE in history.data.decode() and CASE_REF in history.data.decode()

    events = server.data_dir / "events.sqlite"
    wal = Path(f"{events}-wal")
    assert wal.exists() and wal.stat().st_size > 0  # recent pages are in the WAL while it runs
    assert leaks(events.read_bytes() + wal.read_bytes()) == []
    server.stop()  # checkpoints the WAL into the main file
    assert leaks(b"".join(p.read_bytes() for p in server.data_dir.glob("events.sqlite*"))) == []


def test_the_views_database_holds_no_case_data_in_plaintext(start_server: Callable[..., Server]) -> None:
    """The read side encrypts case references and characteristics with the same cipher.

    Body names stay readable there: they are organisations, not people, and the
    views filter and display by them.
    """
    server = start_server(INSPECTORATE_CIPHER_KEY=AESCipher.create_key(32))
    token = create_token(server.env, "Cipher Inspector", "inspector").secret
    inspection_id = open_fieldwork(server.port, token, BODY)
    added = server.request(
        "POST",
        f"/v1/inspections/{inspection_id}/cases",
        {"case_ref": CASE_REF, "characteristics": DISTINCT},
        token=token,
    )
    assert added.status == 201
    assert (
        server.request(
            "GET",
            f"/v1/views/inspections/{inspection_id}/scores?min_position={added.headers['inspectorate-position']}",
            token=token,
        ).status
        == 200
    )
    server.stop()
    raw = b"".join(p.read_bytes() for p in server.data_dir.glob("views.sqlite*"))
    assert BODY.split()[0].encode() in raw  # the views were written: the check below is not vacuous
    case_data = [s for s in leaks(raw) if s != BODY.split()[0]]
    assert case_data == []


def test_stored_event_rows_are_ciphertext_on_each_backend(settings: Settings) -> None:
    settings = replace(settings, cipher_key=AESCipher.create_key(32))
    migrate(settings)
    app = build_app(settings, create_table=False)
    try:
        inspection = app.schedule_inspection(
            INSPECTOR, "OMI2", inspection_body(BODY)["inspected_body"], date(2011, 5, 3)
        )
        inspection_id = uuid.UUID(inspection.body["id"])
        app.start_fieldwork(INSPECTOR, inspection_id)
        case = app.add_case(INSPECTOR, inspection_id, CASE_REF, DISTINCT)
        rating = judgements(True)
        rating[0]["note"] = NOTE
        app.rate_case(INSPECTOR, uuid.UUID(case.body["id"]), rating)
        assert app.get_case(uuid.UUID(case.body["id"])).case_ref == CASE_REF
        table = app.recorder.events_table_name  # type: ignore[attr-defined]
        rows = raw_rows(settings, table)
    finally:
        app.close()
    assert len(rows) >= 5
    assert leaks(b"".join(rows)) == []


def raw_rows(settings: Settings, table: str) -> list[bytes]:
    """Every column of every stored event, as bytes, straight from the database."""
    if settings.is_postgres:
        url = settings.database_url.replace("postgresql+psycopg://", "postgresql://")  # type: ignore[union-attr]
        with psycopg.connect(url) as conn:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
    else:
        with sqlite3.connect(settings.events_path) as db:
            rows = db.execute(f"SELECT * FROM {table}").fetchall()
    return [b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row) for row in rows]
