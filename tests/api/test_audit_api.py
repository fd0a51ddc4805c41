"""Chain verification and head over HTTP and the CLI, and the log of reads."""

from __future__ import annotations

import pytest

from infrastructure.config import Settings
from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.api.audit_story import record_every_type
from tests.application.test_chain import execute, position_column
from web import services_of
from web.cli import main as cli


def test_verify_and_head_for_auditors_and_admins_only(api: Api) -> None:
    empty = api.ok(api.get("/v1/audit/verify", "auditor"))
    assert empty == {
        "ok": True,
        "checked": 0,
        "head_position": 0,
        "head_hash": None,
        "first_broken": None,
        "anchors_checked": [],
    }
    assert api.ok(api.get("/v1/audit/head", "admin")) == {"position": 0, "hash": None}
    record_every_type(services_of(api.app).app)
    head = api.ok(api.get("/v1/audit/head", "auditor"))
    report = api.ok(api.get("/v1/audit/verify", "admin"))
    assert report["ok"] and report["checked"] == head["position"] > 30
    assert (report["head_position"], report["head_hash"]) == (head["position"], head["hash"])
    anchored = api.ok(api.get(f"/v1/audit/verify?anchor={head['position']}:{head['hash']}", "auditor"))
    assert anchored["ok"] and anchored["anchors_checked"] == [head["position"]]
    for role in ("inspector", "local_assessor", "qa_reviewer", "organisation", "integration"):
        assert_problem(api.get("/v1/audit/verify", role), 403)
        assert_problem(api.get("/v1/audit/head", role), 403)
    for bad in ("5", "0:" + "0" * 64, "5:xyz", "5:" + "A" * 64):
        assert_problem(api.get(f"/v1/audit/verify?anchor={bad}", "auditor"), 422)


def test_verify_names_an_edited_event_and_a_wrong_anchor(api: Api, settings: Settings) -> None:
    record_every_type(services_of(api.app).app)
    head = api.ok(api.get("/v1/audit/head", "auditor"))
    wrong = api.ok(api.get(f"/v1/audit/verify?anchor={head['position']}:{'0' * 64}", "auditor"))
    assert wrong["ok"] is False and wrong["first_broken"]["position"] == head["position"]
    execute(settings)(f"UPDATE {{events}} SET state = ? WHERE {position_column(settings)} = 9", (b"{}",))
    report = api.ok(api.get("/v1/audit/verify", "auditor"))
    assert report["ok"] is False and report["checked"] == 8
    assert report["first_broken"]["position"] == 9
    assert "altered" in report["first_broken"]["reason"]


def test_cli_verify_exits_1_on_a_broken_chain(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record_every_type(services_of(api.app).app)
    monkeypatch.setenv("INSPECTORATE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("INSPECTORATE_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("INSPECTORATE_DATABASE_URL", raising=False)
    assert cli(["audit", "head"]) == 0
    kept = capsys.readouterr().out.strip()
    assert cli(["audit", "verify", "--anchor", kept]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    execute(settings)("DELETE FROM {events}_chain WHERE position = 4")
    assert cli(["audit", "verify", "--json"]) == 1
    out = capsys.readouterr().out
    assert '"position": 4' in out and '"ok": false' in out
    assert cli(["audit", "verify", "--anchor", "nonsense"]) == 2


def test_reads_of_case_data_and_history_are_listed_for_admins_with_paging(api: Api) -> None:
    story = record_every_type(services_of(api.app).app)
    api.ok(api.get(f"/v1/inspections/{story.inspection_id}/history", "auditor"))
    api.ok(api.get(f"/v1/inspections/{story.inspection_id}/history?format=csv", "inspector"))
    first = api.ok(api.get("/v1/audit/reads?limit=1", "admin"))
    assert len(first["items"]) == 1 and first["items"][0]["what"] == "inspection.history"
    assert first["items"][0]["actor"]["role"] == "auditor" and first["items"][0]["at"].endswith("+00:00")
    rest = api.ok(api.get(f"/v1/audit/reads?after={first['next_after']}", "admin"))
    assert [r["actor"]["role"] for r in rest["items"]][:1] == ["inspector"]
    by_actor = api.ok(api.get("/v1/audit/reads?actor=Inspector (HMI Probation)", "admin"))["items"]
    assert {r["actor"]["role"] for r in by_actor} == {"inspector"}
    for role in ("auditor", "inspector", "integration", "organisation"):
        assert_problem(api.get("/v1/audit/reads", role), 403)
    assert_problem(api.get("/v1/audit/reads?limit=0", "admin"), 422)


def test_reads_of_a_case_and_of_a_case_list_are_recorded(api: Api) -> None:
    story = record_every_type(services_of(api.app).app)
    case_id = story.case_ids[1]
    api.ok(api.get(f"/v1/cases/{case_id}", "qa_reviewer"))
    api.ok(api.get(f"/v1/inspections/{story.inspection_id}/cases", "organisation"))
    assert_problem(api.get("/v1/cases/00000000-0000-4000-8000-000000000000", "qa_reviewer"), 404)
    items = api.ok(api.get("/v1/audit/reads", "admin"))["items"]
    assert [(r["what"], r["subject_id"], r["actor"]["role"]) for r in items] == [
        ("case", str(case_id), "qa_reviewer"),
        ("case.list", str(story.inspection_id), "organisation"),
    ]


def test_reads_name_the_reader_by_token_id_and_one_person_is_found_by_it(api: Api) -> None:
    """Two reviewers who share a name are two people: each read carries the reader's token id, and
    ``actor_id=`` finds one of them, where ``actor=`` (the name) finds both."""
    story = record_every_type(services_of(api.app).app)
    tokens = services_of(api.app).tokens
    (first, first_secret), (second, second_secret) = (tokens.create("Sam Reviewer", "qa_reviewer") for _ in range(2))
    for secret, case_id in ((first_secret, story.case_ids[0]), (second_secret, story.case_ids[1])):
        response = api.client.get(f"/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200
    by_name = api.ok(api.get("/v1/audit/reads?actor=Sam Reviewer", "admin"))["items"]
    assert [(r["actor"]["id"], r["subject_id"]) for r in by_name] == [
        (first.id, str(story.case_ids[0])),
        (second.id, str(story.case_ids[1])),
    ]
    one = api.ok(api.get(f"/v1/audit/reads?actor_id={second.id}", "admin"))["items"]
    assert [(r["actor"]["id"], r["subject_id"]) for r in one] == [(second.id, str(story.case_ids[1]))]
    assert_problem(api.get("/v1/audit/reads?actor_id=", "admin"), 422)


def test_a_read_audit_made_before_reader_ids_gains_the_column_and_keeps_its_reads(settings: Settings) -> None:
    """``migrate`` adds the columns added since a table was made (here ``read_audit.actor_id``); the
    reads already recorded stay, with no id."""
    import sqlalchemy as sa

    from infrastructure.read_audit import ReadAudit
    from infrastructure.readdb import create_read_engine
    from web.bootstrap import migrate

    engine = create_read_engine(settings)
    with engine.begin() as conn:  # the table as an earlier version made it
        conn.execute(
            sa.text(
                "CREATE TABLE read_audit (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, actor_name VARCHAR(200) "
                "NOT NULL, actor_role VARCHAR(40) NOT NULL, actor_organisation VARCHAR(200), what VARCHAR(80) "
                "NOT NULL, subject_id VARCHAR(64), correlation_id VARCHAR(64))"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO read_audit VALUES (1, '2026-01-05 10:00:00+00:00', 'Old Reader', 'auditor', NULL,"
                " 'case', 'c1', NULL)"
            )
        )
    migrate(settings)
    migrate(settings)  # again: nothing more to add
    [old] = ReadAudit(engine).list()
    assert (old.actor_id, old.actor_name, old.subject_id) == (None, "Old Reader", "c1")
    engine.dispose()
