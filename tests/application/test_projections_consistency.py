"""Consistency of judgements: agreement and Cohen's kappa, checked against scikit-learn."""

from __future__ import annotations

import random
from uuid import UUID

import pytest
from sklearn.metrics import cohen_kappa_score

from application.projections.consistency import consistency_body
from benchmarks.generate_history import Plan, play
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.reader import ViewReader
from web.bootstrap import build_app, build_projector, migrate

LABELS = {True: "sufficient", False: "insufficient", None: "not_applicable"}


def row(n: int, first: bool | None, moderated: bool | None, area: str, assessor: str) -> dict:
    return {
        "id": f"case{n}/{area}/outcomes",
        "case_id": f"case{n}",
        "case_ref": f"C{n}",
        "inspection_id": "i",
        "programme": "CCI",
        "year": "2011-12",
        "area": area,
        "criterion": "outcomes",
        "first": first,
        "moderated": moderated,
        "first_name": assessor,
        "first_role": "local_assessor" if "LA" in assessor else "inspector",
        "moderator": "QA",
        "after_publication": False,
        "position": n,
    }


def sklearn_kappa(rows: list[dict]) -> float:
    return cohen_kappa_score([LABELS[r["first"]] for r in rows], [LABELS[r["moderated"]] for r in rows])


def test_kappa_overall_and_by_group_matches_scikit_learn() -> None:
    rng = random.Random(5)
    rows = []
    for n in range(400):
        first = rng.choice((True, True, True, False, None))
        moderated = first if rng.random() < 0.8 else rng.choice((True, False, None))
        rows.append(
            row(n, first, moderated, rng.choice(("safeguarding", "risk_of_harm")), rng.choice(("Ann", "Bob", "LA Lee")))
        )
    body = consistency_body(rows)
    assert body["overall"]["kappa"] == pytest.approx(sklearn_kappa(rows), abs=1e-12)
    assert body["overall"]["agreement_rate"] == sum(r["first"] == r["moderated"] for r in rows) / 400
    for area, stats in body["by_area"].items():
        assert stats["kappa"] == pytest.approx(sklearn_kappa([r for r in rows if r["area"] == area]), abs=1e-12)
    for entry in body["by_assessor"]:
        group = [r for r in rows if r["first_name"] == entry["name"]]
        assert entry["pairs"] == len(group) and entry["kappa"] == pytest.approx(sklearn_kappa(group), abs=1e-12)
    assert set(body["by_role"]) == {"inspector", "local_assessor"}
    assert len(body["disagreements"]) == sum(r["first"] != r["moderated"] for r in rows)


def test_assessors_are_grouped_by_id_not_by_name() -> None:
    rows = [{**row(n, True, n % 2 == 0, "safeguarding", "LA Lee"), "first_id": f"token-{n % 2}"} for n in range(4)]
    rows.append(row(9, True, True, "safeguarding", "LA Lee"))  # recorded before ids: no id, its own group
    body = consistency_body(rows)
    assert sorted((a["id"] or "", a["name"], a["pairs"], a["agreements"]) for a in body["by_assessor"]) == [
        ("", "LA Lee", 1, 1),
        ("token-0", "LA Lee", 2, 2),
        ("token-1", "LA Lee", 2, 0),
    ]
    assert {d["first_assessor"]["id"] for d in body["disagreements"]} == {"token-1"}


def test_kappa_is_none_when_undefined() -> None:
    body = consistency_body([row(1, True, True, "safeguarding", "Ann")])
    assert body["overall"] == {"pairs": 1, "agreements": 1, "agreement_rate": 1.0, "kappa": None}
    assert consistency_body([])["overall"]["pairs"] == 0


def test_the_consistency_view_of_a_played_history_matches_scikit_learn(sqlite_settings: Settings) -> None:
    migrate(sqlite_settings)
    app = build_app(sqlite_settings, create_table=False)
    engine = create_projection_engine(sqlite_settings)
    play(app, 6, Plan(cases=(15, 25), moderate=0.4, agree=0.7, seed=11))
    projector = build_projector(app, engine, sqlite_settings)
    projector.ensure_tracking()
    projector.catch_up()
    firsts, seconds = [], []
    for case_id in set(app._ids_with_topic("case.moderated.v1")):
        for item in app.get_case(UUID(str(case_id))).moderations.values():
            firsts.append(LABELS[item["first"]])
            seconds.append(LABELS[item["sufficient"]])
    body = ViewReader(engine).consistency()
    assert body["overall"]["pairs"] == len(firsts) > 50
    assert body["overall"]["kappa"] == pytest.approx(cohen_kappa_score(firsts, seconds), abs=1e-12)
    app.close()
    engine.dispose()
