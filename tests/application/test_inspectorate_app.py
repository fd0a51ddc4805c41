"""The application on a real store: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from freezegun import freeze_time

from application.app import InspectorateApp
from application.results import Result
from domain.base import Actor
from domain.case_assessment import CaseAssessment
from domain.errors import (
    DuplicateInspection,
    NotFound,
    NotTheAssessor,
    OwnOrganisation,
    RecordFrozen,
    UnjudgedCases,
    VersionMismatch,
)
from infrastructure.config import Settings
from tests.factories import CRITERIA, FIELDWORK_START, OMI2_AREAS, body, characteristics, judgements
from web.bootstrap import build_app

ANN = Actor("Ann Inspector", "inspector", id="token-ann")
LEE = Actor("Lee Assessor", "local_assessor", organisation="Lancashire", id="token-lee")
ORG = Actor("Cumbria rep", "organisation", organisation=" cumbria", id="token-org")


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    application = build_app(settings)
    yield application
    application.close()


def in_fieldwork(app: InspectorateApp, name: str = "Cumbria") -> UUID:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), FIELDWORK_START).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    return inspection_id


def published(app: InspectorateApp, verdicts: list[bool], on: date = date(2012, 1, 10)) -> UUID:
    inspection_id = in_fieldwork(app)
    for n, verdict in enumerate(verdicts):
        case_id = UUID(app.add_case(ANN, inspection_id, f"C{n}", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(verdict))
    app.complete_fieldwork(ANN, inspection_id)
    app.publish(ANN, inspection_id, on)
    return inspection_id


def test_duplicate_inspection_is_refused(app: InspectorateApp) -> None:
    app.schedule_inspection(ANN, "OMI2", body(), FIELDWORK_START)
    with pytest.raises(DuplicateInspection):
        app.schedule_inspection(ANN, "OMI2", body(" CUMBRIA"), FIELDWORK_START)


def test_whole_inspection_publishes_frozen_scores(app: InspectorateApp) -> None:
    inspection_id = in_fieldwork(app)
    case_ids = [UUID(app.add_case(ANN, inspection_id, f"C{n}", characteristics()).body["id"]) for n in range(4)]
    with pytest.raises(UnjudgedCases):
        app.complete_fieldwork(ANN, inspection_id)
    for n, case_id in enumerate(case_ids):
        app.rate_case(ANN, case_id, judgements(n != 0))
    app.complete_fieldwork(ANN, inspection_id)
    result = app.publish(ANN, inspection_id, date(2012, 1, 10))
    assert result.body["status"] == "published"
    assert result.body["headline_scores"]["risk_of_harm"] == {"score": 75, "sufficient": 9, "applicable": 12}
    assert result.body["reinspection"] is None
    assert result.position is not None and result.position > 0
    with pytest.raises(RecordFrozen):
        app.rate_case(ANN, case_ids[0], judgements(True))
    with pytest.raises(RecordFrozen):
        app.publish(ANN, inspection_id, date(2012, 1, 11))


def test_replaying_from_events_gives_the_same_state_and_scores(app: InspectorateApp, settings: Settings) -> None:
    inspection_id = published(app, [True, False, True])
    before = app.get_inspection(inspection_id)
    fresh = build_app(settings)
    after = fresh.get_inspection(inspection_id)
    assert after.headline_scores == before.headline_scores
    assert after.__dict__.keys() == before.__dict__.keys()
    assert after.version == before.version and after.status == "published"
    fresh.close()


def test_local_assessor_never_on_own_organisation_and_only_rates_own_cases(app: InspectorateApp) -> None:
    inspection_id = in_fieldwork(app, "Lancashire")
    with pytest.raises(OwnOrganisation):
        app.add_case(LEE, inspection_id, "C1", characteristics())
    other = in_fieldwork(app, "Cumbria")
    case = app.add_case(LEE, other, "C1", characteristics()).body
    assert case["assessor"]["name"] == "Lee Assessor"
    app.rate_case(LEE, UUID(case["id"]), judgements(True))
    ann_case = app.add_case(ANN, other, "C2", characteristics()).body
    with pytest.raises(NotTheAssessor):
        app.rate_case(LEE, UUID(ann_case["id"]), judgements(True))


def test_the_cases_assessor_is_recognised_by_id_never_by_name(app: InspectorateApp) -> None:
    inspection_id = in_fieldwork(app, "Cumbria")
    case_id = UUID(app.add_case(LEE, inspection_id, "C1", characteristics()).body["id"])
    assert app.get_case(case_id).assessor == {
        "id": "token-lee",
        "name": "Lee Assessor",
        "role": "local_assessor",
        "organisation": "Lancashire",
    }
    namesake = Actor("Lee Assessor", "local_assessor", organisation="Lancashire", id="token-other-lee")
    with pytest.raises(NotTheAssessor):
        app.rate_case(namesake, case_id, judgements(True))
    renamed = Actor("Lee Assessor-Smith", "local_assessor", organisation="Lancashire", id="token-lee")
    app.rate_case(renamed, case_id, judgements(True))  # the same person (token), whatever the name now


def test_a_missing_id_never_matches(app: InspectorateApp) -> None:
    """A case sampled before actors had ids has an assessor without one: only an inspector may rate it."""
    inspection_id = in_fieldwork(app, "Cumbria")
    anonymous = Actor("Lee Assessor", "local_assessor", organisation="Lancashire")  # no id, as old events
    case_id = UUID(app.add_case(anonymous, inspection_id, "C1", characteristics()).body["id"])
    assert app.get_case(case_id).assessor["id"] is None
    for caller in (anonymous, LEE):
        with pytest.raises(NotTheAssessor):
            app.rate_case(caller, case_id, judgements(True))
    app.rate_case(ANN, case_id, judgements(True))


def test_events_recorded_before_actors_had_ids_stay_readable_and_match_nobody(app: InspectorateApp) -> None:
    """An old event's cause has no actor id or organisation, its assessor no id: read as null, never a match."""
    from application.feed import cloud_event
    from domain.base import _cause

    inspection_id = in_fieldwork(app)
    old_cause = {"actor_name": "Lee Assessor", "actor_role": "local_assessor", "correlation_id": None}
    token = _cause.set(old_cause)  # as events were stamped before actors had ids
    try:
        inspection = app.get_inspection(inspection_id)
        case = CaseAssessment(
            inspection_id=inspection_id,
            framework=inspection.framework,
            case_ref="OLD-1",
            characteristics=characteristics(),
            assessor={"name": "Lee Assessor", "role": "local_assessor", "organisation": "Lancashire"},
        )
        inspection.sample_case(case.id, "OLD-1")
        app.save(inspection, case)
    finally:
        _cause.reset(token)
    for caller in (LEE, Actor("Lee Assessor", "local_assessor", organisation="Lancashire")):
        with pytest.raises(NotTheAssessor):  # neither the namesake with an id nor one without
            app.rate_case(caller, case.id, judgements(True))
    app.rate_case(ANN, case.id, judgements(True))
    events = {e["type"]: e for e in app.history(inspection_id)}
    assert events["case.sampled.v1"]["actor"] == {
        "id": None,
        "name": "Lee Assessor",
        "role": "local_assessor",
        "organisation": None,
    }
    assert events["case.rated.v1"]["actor"]["id"] == "token-ann"
    notification = app.recorder.select_notifications(events["case.sampled.v1"]["position"], 1)[0]
    assert cloud_event(app, notification, special_category=False)["data"]["actor"]["id"] is None


def test_expected_version_mismatch_is_reported(app: InspectorateApp) -> None:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(), FIELDWORK_START).body["id"])
    with pytest.raises(VersionMismatch):
        app.start_fieldwork(ANN, inspection_id, expected_version=7)
    assert app.start_fieldwork(ANN, inspection_id, expected_version=1).version == 2


def test_unknown_ids_are_not_found(app: InspectorateApp) -> None:
    with pytest.raises(NotFound):
        app.start_fieldwork(ANN, uuid4())
    case_id = UUID(app.add_case(ANN, in_fieldwork(app), "C1", characteristics()).body["id"])
    with pytest.raises(NotFound):
        app.start_fieldwork(ANN, case_id)  # a case is not an inspection


def test_concurrent_writers_are_retried_and_none_is_lost(app: InspectorateApp) -> None:
    inspection_id = in_fieldwork(app)
    errors: list[Exception] = []

    def add(n: int) -> None:
        try:
            app.add_case(ANN, inspection_id, f"R{n}", characteristics())
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(app.get_inspection(inspection_id).case_refs) == 12
    sampled = [e for e in app.history(inspection_id) if e["type"] == "inspection.case_sampled.v1"]
    assert len(sampled) == 12


@pytest.fixture
def other(settings: Settings) -> Iterator[InspectorateApp]:
    """A second copy of the application on the same store, as in another server worker."""
    application = build_app(settings)
    yield application
    application.close()


def rated_in_both(app: InspectorateApp, other: InspectorateApp) -> UUID:
    """A case rated here (so this copy caches it at version 2), then again by the other copy (version 3)."""
    case_id = UUID(app.add_case(ANN, in_fieldwork(app), "C1", characteristics()).body["id"])
    assert app.rate_case(ANN, case_id, judgements(True)).version == 2
    assert other.rate_case(ANN, case_id, judgements(False)).version == 3
    return case_id


def test_a_command_on_a_copy_cached_before_another_process_wrote_is_decided_again_on_the_newest(
    app: InspectorateApp,
    other: InspectorateApp,
) -> None:
    case_id = rated_in_both(app, other)
    result = app.rate_case(ANN, case_id, judgements(True))
    assert result.version == 4
    assert [e.originator_version for e in app.repository.event_store.get(case_id)] == [1, 2, 3, 4]
    assert other.get_case(case_id).version == 4


def test_if_match_is_checked_against_the_newest_version_not_a_cached_one(
    app: InspectorateApp,
    other: InspectorateApp,
) -> None:
    case_id = rated_in_both(app, other)
    # Cached here at version 2; the newest is 3: no false 412.
    assert app.rate_case(ANN, case_id, judgements(True), expected_version=3).version == 4
    other.rate_case(ANN, case_id, judgements(False))
    # Cached here at version 4; the newest is 5: a true 412.
    with pytest.raises(VersionMismatch):
        app.rate_case(ANN, case_id, judgements(True), expected_version=4)


def test_a_refusal_is_decided_on_the_newest_state_not_a_cached_one(
    app: InspectorateApp,
    other: InspectorateApp,
) -> None:
    inspection_id = in_fieldwork(app)
    case_id = UUID(app.add_case(ANN, inspection_id, "C1", characteristics()).body["id"])
    app.get_inspection(inspection_id)
    # Cached here: the case unjudged. The other copy judges it, so fieldwork may now complete.
    other.rate_case(ANN, case_id, judgements(True))
    assert app.complete_fieldwork(ANN, inspection_id).body["status"] == "fieldwork_complete"
    # And the other way round: cached here, the case open; the other copy publishes, which locks it.
    other.publish(ANN, inspection_id, date(2012, 1, 10))
    with pytest.raises(RecordFrozen):
        app.rate_case(ANN, case_id, judgements(False))


def test_a_decision_on_a_cached_aggregate_it_does_not_write_is_made_again_on_the_newest(
    app: InspectorateApp,
    other: InspectorateApp,
) -> None:
    case_id = rated_in_both(app, other)
    seen: list[int] = []

    def decide() -> tuple[list[Any], Any]:
        seen.append(app._get(CaseAssessment, case_id).version)
        return [], lambda: Result({}, 0, None)

    app._run(ANN, None, decide)
    assert seen[-1] == 3  # the answer that counts was decided on the newest version
    assert seen in ([2, 3], [3])


def test_report_of_concern_triggers_reinspection_due_after_twelve_months(app: InspectorateApp) -> None:
    with freeze_time("2012-01-10 09:00:00+00:00"):
        inspection_id = published(app, [False, False, True], on=date(2012, 1, 10))
    reinspection_id = app.get_inspection(inspection_id).reinspection_id
    assert reinspection_id is not None
    reinspection = app.get_reinspection(reinspection_id)
    assert (reinspection.due_on, reinspection.status) == (date(2013, 1, 10), "pending")

    with freeze_time("2012-12-10 09:00:00+00:00"):
        assert app.mark_due_reinspections() == 0
    assert app.get_reinspection(reinspection_id).status == "pending"
    with freeze_time("2013-01-10 09:00:00+00:00"):
        assert app.mark_due_reinspections() == 1
        assert app.mark_due_reinspections() == 0
    with freeze_time("2013-06-01 09:00:00+00:00"):  # catching up after downtime changes nothing more
        assert app.mark_due_reinspections() == 0
    became_due = [e for e in app.history(inspection_id) if e["type"] == "reinspection.became_due.v1"]
    assert len(became_due) == 1


def test_reinspection_completes_with_comparison(app: InspectorateApp) -> None:
    origin = published(app, [False, False, True])
    reinspection_id = app.get_inspection(origin).reinspection_id
    follow_up = UUID(app.schedule_inspection(ANN, "OMI2", body(), date(2013, 1, 14)).body["id"])
    app.schedule_reinspection(ANN, reinspection_id, follow_up)
    app.start_fieldwork(ANN, follow_up)
    for n in range(4):
        case_id = UUID(app.add_case(ANN, follow_up, f"F{n}", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(n != 0))
    app.complete_fieldwork(ANN, follow_up)
    app.publish(ANN, follow_up, date(2013, 3, 1))
    reinspection = app.get_reinspection(reinspection_id)
    assert reinspection.status == "completed"
    assert reinspection.comparison["risk_of_harm"] == {"original": 33, "reinspection": 75, "change": 42}


def test_complaint_deadline_skips_bank_holidays_and_organisation_only_own_body(app: InspectorateApp) -> None:
    inspection_id = published(app, [True])
    with pytest.raises(NotFound) as hidden:  # another body's inspection does not exist for an organisation
        app.receive_complaint(Actor("x", "organisation", organisation="Durham", id="t"), inspection_id, "conduct", "x")
    with pytest.raises(NotFound) as unknown:
        app.receive_complaint(ORG, UUID(int=7), "conduct", "x")
    assert str(hidden.value) == str(unknown.value).replace(str(UUID(int=7)), str(inspection_id))
    with freeze_time("2011-12-15 10:00:00+00:00"):
        complaint = app.receive_complaint(ORG, inspection_id, "methodology", "sample too small").body
    assert complaint["status"] == "received"
    assert complaint["response_due_on"] == "2012-01-17"
    complaint_id = UUID(complaint["id"])
    app.acknowledge_complaint(ANN, complaint_id)
    app.respond_to_complaint(ANN, complaint_id, "explained")
    closed = app.close_complaint(ANN, complaint_id, "not_upheld").body
    assert (closed["status"], closed["outcome"]) == ("closed", "not_upheld")
    types = [e["type"] for e in app.history(inspection_id)]
    assert "complaint.received.v1" in types and "complaint.closed.v1" in types


def test_history_is_in_recorded_order_with_actor_and_as_of_time_travel(app: InspectorateApp) -> None:
    with freeze_time("2011-05-01 09:00:00+00:00"):
        inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(), FIELDWORK_START).body["id"])
    with freeze_time("2011-05-03 09:00:00.000001+00:00"):
        app.start_fieldwork(ANN, inspection_id)
    history = app.history(inspection_id)
    assert [e["position"] for e in history] == sorted(e["position"] for e in history)
    assert history[0]["actor"] == {
        "id": "token-ann",
        "name": "Ann Inspector",
        "role": "inspector",
        "organisation": None,
    }
    moment = datetime(2011, 5, 3, 9, 0, 0, tzinfo=UTC)
    assert app.get_inspection(inspection_id, as_of=moment).status == "scheduled"
    assert app.get_inspection(inspection_id, as_of=moment + timedelta(microseconds=1)).status == "fieldwork"
    with pytest.raises(NotFound):
        app.get_inspection(inspection_id, as_of=datetime(2011, 4, 1, tzinfo=UTC))


def test_moderation_after_publication_leaves_published_scores(app: InspectorateApp) -> None:
    inspection_id = published(app, [True, True])
    case = app.list_cases(inspection_id)[0]
    qa = Actor("Quinn", "qa_reviewer")
    item = [{"area": OMI2_AREAS[0], "criterion": CRITERIA[0], "sufficient": False}]
    app.moderate_case(qa, case.id, item, "dip sample after publication")
    assert app.get_inspection(inspection_id).headline_scores["risk_of_harm"]["score"] == 100
    assert app.get_case(case.id).moderations["risk_of_harm/assessment_and_planning"]["after_publication"]
