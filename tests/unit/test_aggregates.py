"""Aggregates: each command raises the right events, each rule its named error."""

from datetime import date
from uuid import uuid4

import pytest

from domain.base import Actor, caused_by
from domain.case_assessment import CaseAssessment
from domain.complaint import Complaint
from domain.errors import (
    DuplicateCase,
    IllegalTransition,
    InvalidValue,
    NothingToModerate,
    RecordFrozen,
    UnjudgedCases,
)
from domain.frameworks import framework_by_code
from domain.inspection import Inspection
from domain.reinspection import Reinspection
from tests.factories import FIELDWORK_START, body, characteristics

ANN = Actor("Ann Inspector", "inspector", id="token-ann")
OMI2 = framework_by_code("OMI2-2009")


def topics(aggregate) -> list[str]:
    return [type(e).TOPIC for e in aggregate.collect_events()]


def scheduled() -> Inspection:
    return Inspection.schedule("OMI2", body(), FIELDWORK_START)


def test_scheduling_records_framework_year_and_cause() -> None:
    with caused_by(ANN, "corr-1"):
        inspection = scheduled()
    (event,) = inspection.collect_events()
    assert type(event).TOPIC == "inspection.scheduled.v1"
    assert event.framework == "OMI2-2009" and event.year == "2011-12"
    assert event.cause == {
        "actor_id": "token-ann",
        "actor_name": "Ann Inspector",
        "actor_role": "inspector",
        "actor_organisation": None,
        "correlation_id": "corr-1",
    }


def test_same_natural_key_gives_same_id_whatever_the_case_of_the_name() -> None:
    a = Inspection.schedule("OMI2", body("Cumbria"), FIELDWORK_START)
    b = Inspection.schedule("OMI2", body("  CUMBRIA "), FIELDWORK_START)
    assert a.id == b.id
    assert Inspection.schedule("CCI", body("Cumbria", "yot"), FIELDWORK_START).id != a.id


def test_schedule_rejects_end_before_start_and_unknown_body_type() -> None:
    with pytest.raises(InvalidValue) as error:
        Inspection.schedule("OMI2", body(), FIELDWORK_START, fieldwork_end=date(2011, 5, 1))
    assert error.value.field == "fieldwork_end"
    with pytest.raises(InvalidValue):
        Inspection.schedule("OMI2", body(type_="school"), FIELDWORK_START)


def test_lifecycle_events_and_illegal_steps() -> None:
    inspection = scheduled()
    with pytest.raises(IllegalTransition):
        inspection.sample_case(uuid4(), "C1")
    with pytest.raises(IllegalTransition):
        inspection.complete_fieldwork([])
    inspection.start_fieldwork()
    with pytest.raises(IllegalTransition):
        inspection.start_fieldwork()
    inspection.sample_case(uuid4(), "C1")
    with pytest.raises(DuplicateCase):
        inspection.sample_case(uuid4(), "C1")
    with pytest.raises(UnjudgedCases):
        inspection.complete_fieldwork(["C1"])
    inspection.complete_fieldwork([])
    with pytest.raises(IllegalTransition):
        inspection.sample_case(uuid4(), "C2")
    inspection.publish(date(2012, 1, 5), date(2012, 1, 5), {}, {}, False, None)
    with pytest.raises(RecordFrozen):
        inspection.publish(date(2012, 1, 6), date(2012, 1, 6), {}, {}, False, None)
    assert topics(inspection) == [
        "inspection.scheduled.v1",
        "inspection.fieldwork_started.v1",
        "inspection.case_sampled.v1",
        "inspection.fieldwork_completed.v1",
        "inspection.report_published.v1",
    ]


def test_case_rating_validates_framework_items_and_replaces_earlier_judgement() -> None:
    case = CaseAssessment.sample(uuid4(), OMI2, "C1", characteristics(), ANN)
    with pytest.raises(InvalidValue):
        case.rate(OMI2, [{"area": "safeguarding", "criterion": "outcomes", "sufficient": True}], ANN)
    with pytest.raises(InvalidValue):
        case.rate(OMI2, [{"area": "risk_of_harm", "criterion": "leadership", "sufficient": True}], ANN)
    with pytest.raises(InvalidValue):
        case.rate(OMI2, [], ANN)
    case.rate(OMI2, [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": False}], ANN)
    case.rate(OMI2, [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True}], ANN)
    assert case.verdicts() == {("risk_of_harm", "outcomes"): True}
    assert topics(case) == ["case.sampled.v1", "case.rated.v1", "case.rated.v1"]


def test_case_characteristics_are_checked() -> None:
    with pytest.raises(InvalidValue) as error:
        CaseAssessment.sample(uuid4(), OMI2, "C1", characteristics(gender="robot"), ANN)
    assert error.value.field == "characteristics.gender"
    with pytest.raises(InvalidValue):
        CaseAssessment.sample(uuid4(), OMI2, "C1", characteristics(disability="yes"), ANN)
    CaseAssessment.sample(uuid4(), OMI2, "C1", characteristics(disability="unknown", looked_after=None), ANN)


def test_moderation_needs_a_first_judgement_and_never_changes_the_published_one() -> None:
    case = CaseAssessment.sample(uuid4(), OMI2, "C1", characteristics(), ANN)
    item = [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": False}]
    with pytest.raises(NothingToModerate):
        case.moderate(OMI2, item, "dip sample", Actor("Quinn", "qa_reviewer"))
    case.rate(OMI2, [{**item[0], "sufficient": True}], ANN)
    case.lock_for_publication()
    with pytest.raises(RecordFrozen):
        case.rate(OMI2, item, ANN)
    case.moderate(OMI2, item, "dip sample", Actor("Quinn", "qa_reviewer"))
    assert case.verdicts() == {("risk_of_harm", "outcomes"): True}
    moderation = case.moderations["risk_of_harm/outcomes"]
    assert moderation["first"] is True and moderation["sufficient"] is False
    assert moderation["after_publication"] is True


def test_reinspection_becomes_due_once_on_its_date() -> None:
    reinspection = Reinspection(
        origin_inspection_id=uuid4(),
        programme="OMI2",
        inspected_body=body(),
        published_on=date(2012, 1, 10),
        due_on=date(2013, 1, 10),
        original_scores={},
    )
    assert not reinspection.become_due(date(2013, 1, 9))
    assert reinspection.become_due(date(2013, 1, 10))
    assert not reinspection.become_due(date(2013, 1, 11))
    assert topics(reinspection) == ["reinspection.triggered.v1", "reinspection.became_due.v1"]
    with pytest.raises(IllegalTransition):
        reinspection.schedule(uuid4(), "CCI", body(), "scheduled", date(2013, 2, 1))
    with pytest.raises(IllegalTransition):
        reinspection.complete({})


def test_complaint_lifecycle() -> None:
    complaint = Complaint.receive(uuid4(), "methodology", "sample too small", ANN, date(2012, 2, 1), date(2012, 2, 29))
    with pytest.raises(IllegalTransition):
        complaint.respond("explained", date(2012, 2, 2))
    with pytest.raises(IllegalTransition):
        complaint.close("upheld", date(2012, 2, 2))
    complaint.acknowledge()
    complaint.respond("explained", date(2012, 2, 3))
    complaint.escalate("not satisfied")
    complaint.respond("reviewed", date(2012, 2, 10))
    complaint.close("partly_upheld", date(2012, 2, 11))
    with pytest.raises(IllegalTransition):
        complaint.close("withdrawn", date(2012, 2, 12))
    assert topics(complaint) == [
        "complaint.received.v1",
        "complaint.acknowledged.v1",
        "complaint.responded.v1",
        "complaint.escalated.v1",
        "complaint.responded.v1",
        "complaint.closed.v1",
    ]
    with pytest.raises(InvalidValue):
        Complaint.receive(uuid4(), "food", "x", ANN, date(2012, 2, 1), date(2012, 2, 29))


def test_reinspection_status_as_of_a_day_is_due_from_its_due_date() -> None:
    from domain.reinspection import status_on

    assert status_on("pending", date(2013, 1, 10), date(2013, 1, 9)) == "pending"
    assert status_on("pending", date(2013, 1, 10), date(2013, 1, 10)) == "due"
    assert status_on("scheduled", date(2013, 1, 10), date(2014, 1, 1)) == "scheduled"


def test_a_copy_of_a_case_for_a_command_cannot_change_the_original() -> None:
    """The aggregate cache hands each command a copy (CaseAssessment.__deepcopy__ copies containers only)."""
    import copy
    import pickle

    qa = Actor("Quinn QA", "qa_reviewer")
    original = CaseAssessment.sample(uuid4(), OMI2, "C1", characteristics(), ANN)
    original.rate(OMI2, [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True}], ANN)
    original.collect_events()
    before = pickle.dumps(original.__dict__)
    fast, full = copy.deepcopy(original), copy.copy(original)
    full.__dict__ = copy.deepcopy(original.__dict__)  # what a generic deep copy gives
    assert type(fast) is CaseAssessment and fast.__dict__ == full.__dict__
    for case in (fast, full):
        case.rate(
            OMI2,
            [
                {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": False},
                {"area": "risk_of_harm", "criterion": "interventions", "sufficient": None},
            ],
            ANN,
        )
        case.moderate(OMI2, [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": True}], "QA", qa)
        case.lock_for_publication()
    assert fast.__dict__.keys() == full.__dict__.keys()
    assert {k: v for k, v in fast.__dict__.items() if k not in ("_pending_events", "_modified_on")} == {
        k: v for k, v in full.__dict__.items() if k not in ("_pending_events", "_modified_on")
    }
    assert len(fast.collect_events()) == 3
    assert pickle.dumps(original.__dict__) == before  # the original is untouched
