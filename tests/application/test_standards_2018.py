"""A YOS and a PROBATION inspection carried through to publication, beside a 2011 one (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from application.app import InspectorateApp
from domain.base import Actor
from domain.errors import InvalidValue, NotFound, RecordFrozen, ShortSample, UnratedStandards
from infrastructure.config import Settings
from tests.factories import FIELDWORK_START, body, characteristics, judgements
from web.bootstrap import build_app

ANN = Actor("Ann Inspector", "inspector")
ORG_STANDARDS_YOS = ("1.1", "1.2", "1.3", "1.4", "3.4")


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    application = build_app(settings)
    yield application
    application.close()


def key_questions(
    standards: tuple[str, ...], questions: tuple[str, ...], sufficient: bool | None
) -> list[dict[str, Any]]:
    return [{"standard": s, "question": q, "sufficient": sufficient} for s in standards for q in questions]


YOS_QUESTIONS = ("desistance", "safety_and_wellbeing", "risk_of_harm")
PROBATION_QUESTIONS = ("engagement", "desistance", "keeping_safe")


def schedule(app: InspectorateApp, programme: str, name: str, type_: str, start: date) -> str:
    return app.schedule_inspection(ANN, programme, body(name, type_), start).body["id"]


def test_a_yos_inspection_runs_to_publication_beside_a_2011_one(app: InspectorateApp) -> None:
    from uuid import UUID

    old = UUID(schedule(app, "OMI2", "Cumbria", "probation_trust", FIELDWORK_START))
    yos = UUID(schedule(app, "YOS", "Cumbria YOS", "yot", date(2019, 3, 4)))
    assert app.get_inspection(yos).framework == "YOS-2018"
    for iid in (old, yos):
        app.start_fieldwork(ANN, iid)
    old_case = UUID(app.add_case(ANN, old, "O-1", characteristics()).body["id"])
    app.rate_case(ANN, old_case, judgements(True))

    app.record_caseload(ANN, yos, 20, {"gender": {"male": 16, "female": 4}})
    assert app.sample(yos)["sample_size"] == 14

    court, pre_court = [], []
    for n in range(10):
        court.append(UUID(app.add_case(ANN, yos, f"C-{n}", characteristics(disposal="community")).body["id"]))
    for n in range(4):
        pre_court.append(UUID(app.add_case(ANN, yos, f"P-{n}", characteristics(disposal="pre_court")).body["id"]))
    # 7 of 10 court cases sufficient on every key question (70%: good), out-of-court all sufficient.
    for n, cid in enumerate(court):
        app.rate_case(ANN, cid, key_questions(("2.1", "2.2", "2.3", "2.4"), YOS_QUESTIONS, n < 7))
    for cid in pre_court:
        app.rate_case(ANN, cid, key_questions(("3.1", "3.2", "3.3"), YOS_QUESTIONS, True))

    with pytest.raises(InvalidValue):  # a court case does not answer the out-of-court standards
        app.rate_case(ANN, court[0], key_questions(("3.1",), ("desistance",), True))
    with pytest.raises(InvalidValue):  # the 2009 shape on a 2018 framework
        app.rate_case(ANN, court[0], judgements(True))
    with pytest.raises(InvalidValue):  # the 2018 shape on a 2009 framework
        app.rate_case(ANN, old_case, key_questions(("2.1",), ("desistance",), True))

    app.complete_fieldwork(ANN, yos)
    with pytest.raises(UnratedStandards):
        app.publish(ANN, yos, date(2019, 6, 1))
    for code in ORG_STANDARDS_YOS:
        app.rate_standard(ANN, yos, code, "good", "evidence seen on site")
    # An override keeps the rule's rating beside the inspectors'.
    app.rate_standard(ANN, yos, "2.1", "requires_improvement", "the plans were not shared with the child")

    published = app.publish(ANN, yos, date(2019, 6, 1)).body
    ratings = published["ratings"]
    assert ratings["standards"]["2.2"] == {
        "rating": "good",
        "rule_rating": "good",
        "percentage": 70,
        "overridden": False,
        "kind": "case",
    }
    assert ratings["standards"]["2.1"]["rating"] == "requires_improvement"
    assert ratings["standards"]["2.1"]["rule_rating"] == "good"
    assert ratings["standards"]["2.1"]["overridden"] is True
    assert ratings["standards"]["3.1"]["rating"] == "outstanding"
    # 5 org good (10) + 2.1 RI (1) + 2.2-2.4 good (6) + 3.1-3.3 outstanding (9) = 26 of 36: good
    assert ratings["overall"] == {"rating": "good", "score": 26, "max": 36}
    assert published["reinspection"] is None

    with pytest.raises(RecordFrozen):
        app.rate_standard(ANN, yos, "1.1", "inadequate", "too late")
    _, view = app.ratings(yos)
    assert view["frozen"] is True
    assert view["standards"]["2.2"]["key_questions"]["desistance"]["score"] == 70

    # The 2011 inspection is still scored by its own rules.
    app.complete_fieldwork(ANN, old)
    old_published = app.publish(ANN, old, date(2011, 9, 1)).body
    assert "ratings" not in old_published
    assert old_published["headline_scores"]["risk_of_harm"]["score"] == 100

    history = [e["type"] for e in app.history(yos)]
    assert "inspection.standard_rated.v1" in history
    assert "inspection.caseload_recorded.v1" in history
    assert history.index("inspection.ratings_published.v1") < history.index("inspection.report_published.v1")


def test_a_probation_inspection_rated_inadequate_triggers_a_reinspection(app: InspectorateApp) -> None:
    from uuid import UUID

    with pytest.raises(InvalidValue):
        schedule(app, "PROBATION", "Somewhere", "yot", date(2019, 3, 4))
    crc = UUID(schedule(app, "PROBATION", "Durham Tees Valley CRC", "crc", date(2019, 3, 4)))
    app.start_fieldwork(ANN, crc)
    app.record_caseload(ANN, crc, 5, {"risk_level": {"high": 2, "medium": 3}})
    case_ids = [UUID(app.add_case(ANN, crc, f"A-{n}", characteristics()).body["id"]) for n in range(4)]
    for cid in case_ids:
        app.rate_case(ANN, cid, key_questions(("2.1", "2.2", "2.3", "2.4"), PROBATION_QUESTIONS, False))
    with pytest.raises(ShortSample):
        app.complete_fieldwork(ANN, crc)
    app.complete_fieldwork(ANN, crc, short_sample_reason="one case file could not be found")
    with pytest.raises(InvalidValue):  # an NPS division's standard is not a CRC's
        app.rate_standard(ANN, crc, "3.1", "good", "n/a")
    for code in ("1.1", "1.2", "1.3", "1.4", "4.1", "4.2"):
        app.rate_standard(ANN, crc, code, "inadequate", "no evidence of delivery")
    body_ = app.publish(ANN, crc, date(2019, 6, 1)).body
    assert body_["ratings"]["overall"] == {"rating": "inadequate", "score": 0, "max": 30}
    assert body_["of_concern"] is True
    assert body_["reinspection"]["due_on"] == "2020-06-01"
    with pytest.raises(NotFound):
        app.ratings(UUID(schedule(app, "CCI", "Wigan YOT", "yot", FIELDWORK_START)))
