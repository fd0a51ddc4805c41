"""The pure view folds, fact by fact, with rows in memory (no database)."""

from __future__ import annotations

from datetime import date
from itertools import count
from typing import Any
from uuid import UUID, uuid4

from freezegun import freeze_time

from application.projections.complaints import ComplaintsView, complaints_body
from application.projections.scores import CASES, INSPECTIONS, ScoresView, scores_body
from application.projections.store import Fact, Rows, Tables, View
from domain import clock
from tests.factories import OMI2_AREAS, characteristics, judgements

positions = count(1)


versions: dict[str, int] = {}


def fact(topic: str, stream: UUID, **state: Any) -> Fact:
    key = str(stream)
    versions[key] = versions.get(key, 0) + 1
    return Fact(next(positions), topic, state, key, versions[key])


def fold(view: View, *facts: Fact, memos: bool = True) -> Tables:
    """Apply the facts in order; the tables read a stream's earlier facts from those applied so far.

    With ``memos=False`` every memo is dropped after each fact, so state is always
    derived again from the record, as after a restart.
    """
    applied: list[Fact] = []

    def history(key: str, before: int, topics: frozenset[str]) -> list[Fact]:
        return [f for f in applied if f.key == key and f.version < before and f.topic in topics]

    tables = Tables(view.tables, lambda table, key: None, history)
    for f in facts:
        view.apply(f, tables)
        applied.append(f)
        if not memos:
            tables.memos.clear()
    return tables


INSPECTION, CASE = uuid4(), uuid4()
SCHEDULED = fact(
    "inspection.scheduled.v1",
    INSPECTION,
    programme="OMI2",
    framework="OMI2-2009",
    year="2011-12",
    fieldwork_start="2011-05-03",
    inspected_body={"name": "Cumbria", "type": "probation_trust", "region": "North West"},
)
SAMPLED = fact(
    "case.sampled.v1",
    CASE,
    inspection_id=INSPECTION,
    framework="OMI2-2009",
    case_ref="C1",
    characteristics=characteristics(gender="male", disability=True),
)
BY = {"name": "Ann", "role": "inspector", "organisation": None}


def test_a_later_judgement_of_the_same_item_replaces_the_earlier_one() -> None:
    tables = fold(
        ScoresView(),
        SCHEDULED,
        SAMPLED,
        fact("case.rated.v1", CASE, judgements=judgements(True), by=BY),
        fact(
            "case.rated.v1",
            CASE,
            judgements=[{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": False}],
            by=BY,
        ),
        fact(
            "case.rated.v1",
            CASE,
            judgements=[{"area": "risk_of_harm", "criterion": "interventions", "sufficient": None}],
            by=BY,
        ),
    )
    body = scores_body(tables[INSPECTIONS].get(str(INSPECTION)))
    assert body["headline"]["risk_of_harm"] == {"score": 50, "sufficient": 1, "applicable": 2, "ci95": [9.5, 90.5]}
    assert body["headline"]["likelihood_of_reoffending"]["score"] == 100
    assert body["criteria"]["outcomes"] == {"score": 67, "sufficient": 2, "applicable": 3, "ci95": [20.8, 93.9]}
    assert body["breakdown"]["gender"]["male"]["risk_of_harm"]["sufficient"] == 1
    assert body["breakdown"]["disability"]["true"]["risk_of_harm"]["applicable"] == 2
    assert body["case_count"] == 1 and not body["frozen"]
    assert tables.memo(CASES)[str(CASE)]["verdicts"]["risk_of_harm", "interventions"] is None


def test_case_state_derived_from_the_record_gives_the_same_scores_as_state_kept_in_memory() -> None:
    other = uuid4()
    facts = (
        SCHEDULED,
        SAMPLED,
        fact(
            "case.sampled.v1",
            other,
            inspection_id=INSPECTION,
            framework="OMI2-2009",
            case_ref="C2",
            characteristics=characteristics(gender="female"),
        ),
        fact("case.rated.v1", CASE, judgements=judgements(True), by=BY),
        fact("case.rated.v1", other, judgements=judgements(False), by=BY),
        fact("case.rated.v1", CASE, judgements=judgements(None)[:2], by=BY),
        fact("case.rated.v1", other, judgements=judgements(True)[1:], by=BY),
    )
    kept, derived = fold(ScoresView(), *facts), fold(ScoresView(), *facts, memos=False)
    assert kept[INSPECTIONS].get(str(INSPECTION)) == derived[INSPECTIONS].get(str(INSPECTION))
    assert scores_body(kept[INSPECTIONS].get(str(INSPECTION)))["headline"]["risk_of_harm"]["applicable"] == 1 + 3


def test_published_scores_are_the_record_and_nothing_after_changes_them() -> None:
    published = {a: {"score": 75, "sufficient": 3, "applicable": 4} for a in OMI2_AREAS}
    tables = fold(
        ScoresView(),
        SCHEDULED,
        SAMPLED,
        fact("case.rated.v1", CASE, judgements=judgements(True), by=BY),
        fact(
            "inspection.report_published.v1",
            INSPECTION,
            published_on=date(2012, 1, 10),
            headline_scores=published,
            criteria_scores={},
            of_concern=False,
            reinspection_id=None,
        ),
        fact("case.rated.v1", CASE, judgements=judgements(False), by=BY),  # refused by the aggregate anyway
        fact("case.moderated.v1", CASE, judgements=judgements(False), note="n", by=BY, after_publication=True),
    )
    body = scores_body(tables[INSPECTIONS].get(str(INSPECTION)))
    assert body["frozen"] and body["published_on"] == "2012-01-10"
    assert {
        a: {k: v[k] for k in ("score", "sufficient", "applicable")} for a, v in body["headline"].items()
    } == published


def test_overdue_means_open_unanswered_and_past_its_due_date() -> None:
    complaint = uuid4()
    tables = fold(
        ComplaintsView(),
        SCHEDULED,
        fact(
            "complaint.received.v1",
            complaint,
            inspection_id=INSPECTION,
            category="conduct",
            received_on=date(2011, 12, 20),
            response_due_on=date(2012, 1, 20),
        ),
    )
    rows = [tables["vw_complaints"].get(str(complaint))]
    assert rows[0]["body"] == "Cumbria"
    with freeze_time("2012-01-20T23:30:00Z"):  # already the 20th... and still the 20th in London
        assert complaints_body(rows, clock.today())["overdue"] == 0
    with freeze_time("2012-01-21T00:30:00Z"):
        assert complaints_body(rows, clock.today())["overdue"] == 1
    ComplaintsView().apply(fact("complaint.acknowledged.v1", complaint), tables)
    ComplaintsView().apply(fact("complaint.responded.v1", complaint, response="r", on=date(2012, 1, 25)), tables)
    assert complaints_body(rows, date(2012, 2, 1))["overdue"] == 0 and rows[0]["status"] == "responded"


def test_a_subclass_keeps_its_parents_handlers_and_a_bounded_cache_forgets_its_oldest_rows() -> None:
    class Quiet(ScoresView):
        pass

    assert Quiet.handlers.keys() == ScoresView.handlers.keys()
    rows = Rows("t", lambda table, key: {"id": key, "loaded": True})
    rows.complete = True
    for n in range(10):
        rows.put({"id": str(n)})
    rows.take_changes()
    rows.trim(8)
    assert list(rows.cache) == ["6", "7", "8", "9"] and not rows.complete
    assert rows.get("0") == {"id": "0", "loaded": True}
