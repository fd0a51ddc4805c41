"""Erasing a case's personal data (crypto-shredding), on SQLite and PostgreSQL: nothing of it is left in the
database files, the rows or a backup taken afterwards; reads show it erased; the chain verifies; published
figures do not change; a rebuild gives the live views."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from application.audit import verify_record
from infrastructure.backup import backup
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.rebuild import rebuild
from infrastructure.projections.tables import VIEW_TABLES
from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.api.test_views_api import project
from tests.factories import CRITERIA, characteristics, judgements
from web import services_of
from web.bootstrap import COMPOSER, build_projector

REF = "ZQXREF7731"  # distinctive: found only where the case's reference is
NOTE = "ZQXNOTE5522 seen at home"  # a judgement's note
MODERATION_NOTE = "ZQXMOD9911 second look"
SECRETS = (REF, "ZQXNOTE5522", "ZQXMOD9911")
OTHER_REF = "ZQXKEEP4410"  # another case's, never erased


def _found_in_bytes(data: bytes) -> set[str]:
    return {s for s in SECRETS if s.encode() in data or s.encode().hex() in data.decode("latin-1")}


def sqlite_files_hold(settings: Settings) -> set[str]:
    """The secrets found in the raw SQLite files (database and WAL, after a checkpoint) of the data folder."""
    found: set[str] = set()
    for db in sorted(settings.data_dir.glob("*.sqlite")):
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for path in (db, Path(f"{db}-wal")):
            if path.exists():
                found |= _found_in_bytes(path.read_bytes())
    return found


def postgres_rows_hold(settings: Settings) -> set[str]:
    """The secrets found in any row of any table of the PostgreSQL database, each row cast to text
    (bytea as hex, so the hex of a secret is looked for too)."""
    engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)  # type: ignore[arg-type]
    found: set[str] = set()
    try:
        with engine.connect() as conn:
            tables = (
                conn.execute(sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
                .scalars()
                .all()
            )
            assert any(t.endswith("_case_keys") for t in tables)
            for table in tables:
                for (text,) in conn.execute(sa.text(f'SELECT t::text FROM public."{table}" t')):
                    lowered = text.lower()
                    found |= {s for s in SECRETS if s in text or s.encode().hex() in lowered}
    finally:
        engine.dispose()
    return found


def store_holds(settings: Settings) -> set[str]:
    return postgres_rows_hold(settings) if settings.is_postgres else sqlite_files_hold(settings)


def event_store_holds(settings: Settings) -> set[str]:
    """The secrets in the event store alone (events, links, keys)."""
    if settings.is_postgres:
        engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)  # type: ignore[arg-type]
        try:
            with engine.connect() as conn:
                texts = conn.execute(sa.text("SELECT t::text FROM public.inspectorate_events t")).scalars().all()
        finally:
            engine.dispose()
        blob = "\n".join(texts).lower()
        return {s for s in SECRETS if s in blob or s.encode().hex() in blob}
    with sqlite3.connect(settings.events_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return _found_in_bytes(settings.events_path.read_bytes())


def views_snapshot(settings: Settings) -> dict[str, Any]:
    engine = create_projection_engine(settings)
    try:
        with engine.connect() as conn:
            return {
                name: [dict(r) for r in conn.execute(t.select().order_by(t.c.id)).mappings()]
                for name, t in VIEW_TABLES.items()
            }
    finally:
        engine.dispose()


def noted(sufficient: bool) -> list[dict[str, Any]]:
    return [{**j, "note": NOTE} for j in judgements(sufficient)]


def sampled(api: Api, verdicts: tuple[bool, ...], *, name: str = "Cumbria") -> tuple[str, list[str]]:
    """An inspection in fieldwork with one case per verdict, rated; the first case is the one to erase
    (reference REF, a note on each judgement, a moderation with a note); the others keep theirs."""
    inspection_id = api.in_fieldwork(name)
    case_ids = []
    for n, verdict in enumerate(verdicts):
        ref = REF if n == 0 else f"{OTHER_REF}-{n}"
        data = {"case_ref": ref, "characteristics": characteristics(gender="female" if n == 0 else "male")}
        created = api.ok(
            api.post(f"/v1/inspections/{inspection_id}/cases", data, headers={"Idempotency-Key": f"add-{name}-{n}"}),
            201,
        )
        case_ids.append(created["id"])
        api.ok(
            api.post(
                f"/v1/cases/{created['id']}/ratings", {"judgements": noted(verdict) if n == 0 else judgements(verdict)}
            )
        )
    moderation = {"judgements": judgements(not verdicts[0])[:1], "note": MODERATION_NOTE}
    api.ok(api.post(f"/v1/cases/{case_ids[0]}/moderations", moderation, "qa_reviewer"))
    return inspection_id, case_ids


def erase(api: Api, case_id: str, role: str = "admin") -> Any:
    return api.post(f"/v1/cases/{case_id}/erasure", {"reason": "the person asked for erasure"}, role)


def test_an_erased_case_leaves_no_trace_in_the_store_or_a_backup_and_the_published_figures_stand(
    api: Api, tmp_path: Path
) -> None:
    settings = services_of(api.app).settings
    inspection_id, (case_id, *others) = sampled(api, (True, False, True))
    api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
    api.ok(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": "2012-01-10"}))
    project(api)
    scores = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    assert scores["breakdown"]["gender"]["female"] and scores["breakdown"]["gender"]["male"]

    # Before: the event store holds the case's data only sealed with its key; the views and the kept
    # answer to the Idempotency-Key hold its reference in the clear (no store-wide cipher here).
    assert event_store_holds(settings) == set()
    assert REF in store_holds(settings)
    assert api.ok(api.get(f"/v1/cases/{case_id}", "auditor"))["case_ref"] == REF

    assert api.ok(erase(api, case_id)) == {"erased": True}
    project(api)

    # After: none of its text anywhere, in the database files (WAL included) or the rows.
    assert store_holds(settings) == set()
    # Reads: null with erased: true wherever the case appears.
    case = api.ok(api.get(f"/v1/cases/{case_id}", "auditor"))
    assert case["erased"] is True and case["case_ref"] is None and case["characteristics"] is None
    assert all(j["note"] is None for j in case["judgements"])
    assert all(m["moderation_note"] is None for m in case["moderations"])
    other = api.ok(api.get(f"/v1/cases/{others[0]}", "auditor"))
    assert other["erased"] is False and other["case_ref"] == f"{OTHER_REF}-1"
    listed = {c["id"]: c for c in api.ok(api.get(f"/v1/inspections/{inspection_id}/cases"))["items"]}
    assert listed[case_id]["case_ref"] is None and listed[case_id]["erased"] is True
    assert listed[others[0]]["case_ref"] == f"{OTHER_REF}-1"
    history = api.ok(api.get(f"/v1/inspections/{inspection_id}/history", "admin"))
    history = history["events"] if isinstance(history, dict) else history
    of_case = [e for e in history if e["stream"] == case_id or e["data"].get("case_id") == case_id]
    assert {e["type"] for e in of_case} >= {
        "case.sampled.v1",
        "case.rated.v1",
        "case.moderated.v1",
        "inspection.case_sampled.v1",
        "case.personal_data_erased.v1",
    }
    for event in of_case:
        if event["type"] in ("case.sampled.v1", "case.rated.v1", "case.moderated.v1", "inspection.case_sampled.v1"):
            assert event["data"].get("erased") is True, event
    assert not any(s in str(history) for s in SECRETS) and f"{OTHER_REF}-1" in str(history)
    erasure = next(e for e in of_case if e["type"] == "case.personal_data_erased.v1")
    assert erasure["data"]["reason"] == "the person asked for erasure" and erasure["actor"]["role"] == "admin"
    csv_text = api.get(f"/v1/inspections/{inspection_id}/history?format=csv", "admin").get_data(as_text=True)
    assert not any(s in csv_text for s in SECRETS) and list(csv.DictReader(io.StringIO(csv_text)))
    feed = api.ok(api.get("/v1/events?limit=1000", "auditor"))["events"]
    sampled_event = next(e for e in feed if e["type"] == "case.sampled.v1" and e["subject"] == case_id)
    assert sampled_event["data"]["erased"] is True and sampled_event["data"]["case_ref"] is None
    assert sampled_event["data"]["characteristics"] is None
    assert not any(s in str(feed) for s in SECRETS)
    consistency = api.ok(api.get("/v1/views/consistency", "admin"))
    assert not any(s in str(consistency) for s in SECRETS)
    # The published figures, ratings and diversity breakdown stand; the record still verifies.
    assert api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores")) == scores
    assert verify_record(services_of(api.app).app)["ok"] is True
    # A rebuild gives the live views exactly.
    live = views_snapshot(settings)
    rebuild(settings, composer=COMPOSER, processes=1)
    assert views_snapshot(settings) == live
    assert api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores")) == scores
    # A backup taken now holds none of it either.
    backup(settings, tmp_path / "backup", composer=COMPOSER)
    for path in (tmp_path / "backup").iterdir():
        assert _found_in_bytes(path.read_bytes()) == set(), path.name
    # Erasing again records nothing and answers the same.
    api.ok(erase(api, case_id))
    assert (
        sum(
            e["type"] == "case.personal_data_erased.v1"
            for e in api.ok(api.get(f"/v1/inspections/{inspection_id}/history", "admin"))["events"]
        )
        == 1
    )


def test_before_publication_an_erased_case_leaves_the_breakdown_live_as_in_a_rebuild(api: Api) -> None:
    settings = services_of(api.app).settings
    inspection_id, (case_id, other_id) = sampled(api, (True, False))
    project(api)
    before = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    api.ok(erase(api, case_id))
    project(api)
    after = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    # The headline keeps the erased case's verdicts; the breakdown no longer knows its characteristics.
    assert after["headline"] == before["headline"] and after["case_count"] == 2
    assert "female" in before["breakdown"]["gender"] and "female" not in after["breakdown"]["gender"]
    assert after["breakdown"]["gender"]["male"] == before["breakdown"]["gender"]["male"]
    live = views_snapshot(settings)
    rebuild(settings, composer=COMPOSER, processes=1)
    assert views_snapshot(settings) == live
    # The other case re-rated after the erasure: its profile's tallies follow, once, live as rebuilt.
    api.ok(api.post(f"/v1/cases/{other_id}/ratings", {"judgements": judgements(True)}))
    project(api)
    rerated = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    male = rerated["breakdown"]["gender"]["male"]  # the one male case: each area's criteria, all sufficient
    assert male and all(t["sufficient"] == t["applicable"] == len(CRITERIA) for t in male.values())
    live = views_snapshot(settings)
    rebuild(settings, composer=COMPOSER, processes=1)
    assert views_snapshot(settings) == live
    # The erased case can be judged no more; the inspection goes on to publication without it in the breakdown.
    assert_problem(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(True)}), 409)
    api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
    api.ok(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": "2012-01-10"}))
    project(api)
    published = api.ok(api.get(f"/v1/views/inspections/{inspection_id}/scores"))
    assert published["breakdown"] == rerated["breakdown"] and published["headline"] == rerated["headline"]


def test_a_case_rated_in_the_page_of_another_cases_erasure_is_counted_once(api: Api) -> None:
    """The erasure derives the inspection's profiles again; a rating of another case projected with it,
    in one page, moves that case's profile once, live as in a rebuild."""
    services = services_of(api.app)
    settings = services.settings
    inspection_id, (erased_id, rerated_id, _) = sampled(api, (True, False, True))
    engine = create_projection_engine(settings)
    worker = build_projector(services.app, engine, settings)  # one worker: what it holds stays held
    worker.ensure_tracking()
    worker.catch_up()
    api.ok(erase(api, erased_id))
    api.ok(api.post(f"/v1/cases/{rerated_id}/ratings", {"judgements": judgements(True)}))
    worker.catch_up()  # (both events in one page)
    engine.dispose()
    male = services.views.scores(UUID(inspection_id))["breakdown"]["gender"]["male"]
    assert male and all(t["sufficient"] == t["applicable"] == 2 * len(CRITERIA) for t in male.values())
    live = views_snapshot(settings)
    rebuild(settings, composer=COMPOSER, processes=1)
    assert views_snapshot(settings) == live


@pytest.mark.parametrize(
    "role", ["inspector", "local_assessor", "qa_reviewer", "auditor", "organisation", "integration"]
)
def test_only_an_admin_erases(api: Api, role: str) -> None:
    inspection_id = api.in_fieldwork()
    case_id = api.add_case(inspection_id, REF)
    assert_problem(erase(api, case_id, role), 403)
    assert api.ok(api.get(f"/v1/cases/{case_id}", "auditor"))["case_ref"] == REF


def test_an_erasure_needs_a_reason_and_an_existing_case(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    case_id = api.add_case(inspection_id, REF)
    assert_problem(api.post(f"/v1/cases/{case_id}/erasure", {}, "admin"), 422)
    assert_problem(api.post(f"/v1/cases/{case_id}/erasure", {"reason": ""}, "admin"), 422)
    assert_problem(api.post(f"/v1/cases/{inspection_id}/erasure", {"reason": "x"}, "admin"), 404)


def test_restoring_a_backup_taken_before_an_erasure_then_reapplying_the_erasures(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from infrastructure.backup import restore
    from web.cli import cli

    settings = services_of(api.app).settings
    _, (case_id, *_) = sampled(api, (True, False))
    project(api)
    backup(settings, tmp_path / "before", composer=COMPOSER)  # holds the case's key, and its reference in the views
    api.ok(erase(api, case_id))
    for name in [n for n in __import__("os").environ if n.startswith("INSPECTORATE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("INSPECTORATE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("INSPECTORATE_DATABASE_URL", settings.database_url)
    listing = CliRunner().invoke(cli, ["erasures", "list"])
    assert listing.exit_code == 0, listing.output
    assert case_id in listing.output and "the person asked for erasure" in listing.output
    (tmp_path / "erasures.jsonl").write_text(listing.output)

    restored = Settings(data_dir=tmp_path / "restored")
    restore(restored, tmp_path / "before", composer=COMPOSER)
    from web.bootstrap import build_app

    app = build_app(restored, create_table=False)
    try:  # the restored record has the case's key again, and no erasure
        assert app.get_case(__import__("uuid").UUID(case_id)).case_ref == REF
    finally:
        app.close()
    if not settings.is_postgres:  # (a PostgreSQL backup carries no views: they are rebuilt)
        assert REF in sqlite_files_hold(restored)  # the restored views quote it
    monkeypatch.setenv("INSPECTORATE_DATA_DIR", str(restored.data_dir))
    monkeypatch.delenv("INSPECTORATE_DATABASE_URL", raising=False)
    done = CliRunner().invoke(cli, ["erasures", "reapply", str(tmp_path / "erasures.jsonl")])
    assert done.exit_code == 0, done.output
    assert "1 case(s) erased again" in done.output
    rebuilt = CliRunner().invoke(cli, ["views", "rebuild", "--processes", "1"])
    assert rebuilt.exit_code == 0, rebuilt.output
    from infrastructure.idempotency import IdempotencyStore
    from infrastructure.readdb import create_read_engine

    engine = create_read_engine(restored)
    IdempotencyStore(engine).forget_mentioning(case_id)  # (the API does this on an erasure; here by hand)
    engine.dispose()
    assert sqlite_files_hold(restored) == set()
    app = build_app(restored, create_table=False)
    try:
        assert app.get_case(__import__("uuid").UUID(case_id)).case_ref is None
    finally:
        app.close()
