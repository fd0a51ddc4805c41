"""Recommendations through the application: published with the report, answered by their body, overdue on the
business calendar (the deadline process), judged by the reinspection; thematic inspections."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest
from freezegun import freeze_time

from application.app import InspectorateApp
from application.feed import cloud_event
from application.summaries import inspection_history
from domain.base import Actor
from domain.errors import IllegalTransition, NotFound, PermissionDenied, RecordFrozen
from domain.recommendation import AlreadyAnswered, UnjudgedRecommendations
from infrastructure.config import Settings
from infrastructure.projections.worker import run_deadlines
from tests.factories import FIELDWORK_START, body, characteristics, judgements
from web.bootstrap import build_app, migrate

ANN = Actor("Ann Inspector", "inspector", id="token-ann")
ADMIN = Actor("Ada Admin", "admin", id="token-ada")
CUMBRIA = Actor("Cumbria rep", "organisation", organisation="Cumbria", id="token-cumbria")
CHESHIRE = Actor("Cheshire rep", "organisation", organisation="Cheshire", id="token-cheshire")
OVERDUE = "recommendation.response_overdue.v1"


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    migrate(settings)
    application = build_app(settings, create_table=False)
    yield application
    application.close()


def ready_to_publish(app: InspectorateApp, start: date = FIELDWORK_START, verdict: bool = False) -> UUID:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(), start).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    case_id = UUID(app.add_case(ANN, inspection_id, "C1", characteristics()).body["id"])
    app.rate_case(ANN, case_id, judgements(verdict))
    app.complete_fieldwork(ANN, inspection_id)
    return inspection_id


def with_recommendations(app: InspectorateApp) -> tuple[UUID, list[UUID]]:
    """A report of concern with two recommendations (to Cumbria and to HMPPS), published 2012-01-10."""
    with freeze_time("2012-01-10 09:00:00+00:00"):
        inspection_id = ready_to_publish(app)
        ids = [
            UUID(app.make_recommendation(ANN, inspection_id, to, text).body["id"])
            for to, text in (("Cumbria", "Review every risk plan."), ("HMPPS", "Fund the training."))
        ]
        app.publish(ANN, inspection_id, date(2012, 1, 10))
    return inspection_id, ids


def test_published_with_the_report_and_invisible_to_organisations_before(app: InspectorateApp) -> None:
    with freeze_time("2012-01-10 09:00:00+00:00"):
        inspection_id = ready_to_publish(app)
        rid = UUID(app.make_recommendation(ANN, inspection_id, "Cumbria", "Review every risk plan.").body["id"])
        assert [i["status"] for i in app.recommendations_of(ANN, inspection_id)] == ["draft"]
        assert app.recommendations_of(CUMBRIA, inspection_id) == []
        with pytest.raises(NotFound):
            app.get_recommendation(CUMBRIA, rid)
        with pytest.raises(NotFound):  # it does not exist for them yet: answering is refused as for an unknown id
            app.respond_to_recommendation(CUMBRIA, rid, "agreed")
        published = app.publish(ANN, inspection_id, date(2012, 1, 10))
    [item] = app.recommendations_of(CUMBRIA, inspection_id)
    assert (item["status"], item["published_on"], item["response_due_on"]) == ("published", "2012-01-10", "2012-03-06")
    topics = [n.topic for n in app.recorder.select_notifications(0, 1000)]
    assert topics.count("recommendation.published.v1") == 1
    assert published.position == max(n.id for n in app.recorder.select_notifications(0, 1000))
    with freeze_time("2012-01-11"), pytest.raises(RecordFrozen):
        app.make_recommendation(ANN, inspection_id, "Cumbria", "Too late.")


def test_only_the_addressed_organisation_answers_after_publication(app: InspectorateApp) -> None:
    inspection_id, (to_cumbria, to_hmpps) = with_recommendations(app)
    with pytest.raises(NotFound):  # another body's inspection, and its recommendations, do not exist for Cheshire
        app.recommendations_of(CHESHIRE, inspection_id)
    for step in (
        lambda: app.respond_to_recommendation(CHESHIRE, to_cumbria, "agreed"),
        lambda: app.report_recommendation_progress(CHESHIRE, to_cumbria, "achieved"),
        lambda: app.get_recommendation(CHESHIRE, to_cumbria),
    ):
        with pytest.raises(NotFound):
            step()
    with pytest.raises(PermissionDenied):
        app.respond_to_recommendation(ANN, to_cumbria, "agreed")
    with freeze_time("2012-02-01"):
        answered = app.respond_to_recommendation(CUMBRIA, to_cumbria, "agreed", "By March.").body
        assert (answered["response"], answered["responded_late"]) == ("agreed", False)
        with pytest.raises(AlreadyAnswered):
            app.respond_to_recommendation(CUMBRIA, to_cumbria, "not_agreed")
        assert app.report_recommendation_progress(CUMBRIA, to_cumbria, "in_progress").body["progress"] == "in_progress"
    hmpps = Actor("HMPPS rep", "organisation", organisation="HMPPS", id="token-hmpps")
    assert app.get_recommendation(hmpps, to_hmpps)["to"] == "HMPPS"
    with pytest.raises(NotFound):
        app.get_recommendation(hmpps, to_cumbria)


def test_a_response_overdue_is_recorded_once_with_its_due_day_whenever_the_process_runs(
    app: InspectorateApp,
) -> None:
    inspection_id, (to_cumbria, to_hmpps) = with_recommendations(app)
    with freeze_time("2012-02-01"):
        app.respond_to_recommendation(CUMBRIA, to_cumbria, "agreed")
    with freeze_time("2012-03-06 23:00:00+00:00"):  # the due day itself (in London): still in time
        assert app.mark_overdue_responses() == 0
        assert app.get_recommendation(ANN, to_hmpps)["response_overdue"] is False
    with freeze_time("2026-12-04 09:00:00+00:00"):  # the deadline process (the worker's loop) first runs years later
        stop = _OneTurn()
        run_deadlines(app, stop)
        assert stop.turns == 1
        assert app.mark_overdue_responses() == 0  # idempotent
        assert app.get_recommendation(ANN, to_hmpps)["response_overdue"] is True
    [notification] = [n for n in app.recorder.select_notifications(0, 1000) if n.topic == OVERDUE]
    assert notification.originator_id == to_hmpps
    data = cloud_event(app, notification, special_category=False)["data"]
    assert (data["due_on"], data["marked_on"]) == ("2012-03-06", "2026-12-04")
    assert data["actor"]["role"] == "system"
    [summary] = [e["summary"] for e in inspection_history(app, inspection_id, ADMIN) if e["type"] == OVERDUE]
    assert summary == "No response from HMPPS by 2012-03-06: the response is overdue"
    with freeze_time("2026-12-07"):
        hmpps = Actor("HMPPS rep", "organisation", organisation="HMPPS", id="token-hmpps")
        assert app.respond_to_recommendation(hmpps, to_hmpps, "partly_agreed").body["responded_late"] is True


def test_the_due_day_skips_bank_holidays(app: InspectorateApp) -> None:
    """Published Thursday 1 December 2011: the 40 working days skip 26 December, 27 December (for Christmas Day, a
    Sunday) and 2 January 2012 (for New Year's Day): due 31 January, not 26 January."""
    with freeze_time("2011-12-01 09:00:00+00:00"):
        inspection_id = ready_to_publish(app, date(2011, 10, 3))
        rid = UUID(app.make_recommendation(ANN, inspection_id, "Cumbria", "Review.").body["id"])
        app.publish(ANN, inspection_id, date(2011, 12, 1))
    assert app.get_recommendation(ANN, rid)["response_due_on"] == "2012-01-31"


class _OneTurn(threading.Event):
    """A stop event that ends the deadline loop after its first turn."""

    turns = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.turns += 1
        self.set()
        return True


def follow_up_of(app: InspectorateApp, inspection_id: UUID) -> tuple[UUID, UUID]:
    """Schedule the reinspection's follow-up and take it to fieldwork complete (judged sufficient)."""
    reinspection_id = app.get_inspection(inspection_id).reinspection_id
    assert reinspection_id is not None
    with freeze_time("2013-02-01"):
        follow_up = UUID(app.schedule_inspection(ANN, "OMI2", body(), date(2013, 2, 4)).body["id"])
        app.schedule_reinspection(ANN, reinspection_id, follow_up)
        app.start_fieldwork(ANN, follow_up)
        case_id = UUID(app.add_case(ANN, follow_up, "R1", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(True))
        app.complete_fieldwork(ANN, follow_up)
    return reinspection_id, follow_up


def test_the_reinspection_judges_each_recommendation_and_its_comparison_shows_them(app: InspectorateApp) -> None:
    inspection_id, (to_cumbria, to_hmpps) = with_recommendations(app)
    with pytest.raises(IllegalTransition):  # no follow-up scheduled yet
        app.judge_recommendation(ANN, to_cumbria, "achieved")
    reinspection_id, follow_up = follow_up_of(app, inspection_id)
    with freeze_time("2013-06-01"):
        app.judge_recommendation(ANN, to_cumbria, "partly_achieved")
        with pytest.raises(UnjudgedRecommendations):  # every one of the origin's recommendations is judged first
            app.publish(ANN, follow_up, date(2013, 6, 1))
        app.judge_recommendation(ANN, to_cumbria, "achieved", "Every plan reviewed.")
        app.judge_recommendation(ANN, to_hmpps, "not_achieved")
        # Before the follow-up is published the organisation sees no judgement; the inspectorate does.
        assert [r["judgement"] for r in app.reinspection_state(reinspection_id, drafts=False)["recommendations"]] == [
            None,
            None,
        ]
        assert app.get_recommendation(CUMBRIA, to_cumbria)["judgement"] is None
        app.publish(ANN, follow_up, date(2013, 6, 1))
        with pytest.raises(RecordFrozen):
            app.judge_recommendation(ANN, to_cumbria, "not_achieved")
    state = app.reinspection_state(reinspection_id, drafts=False)
    assert state["status"] == "completed" and state["comparison"]
    assert [(r["to"], r["judgement"], r["judgement_published_on"]) for r in state["recommendations"]] == [
        ("Cumbria", "achieved", "2013-06-01"),
        ("HMPPS", "not_achieved", "2013-06-01"),
    ]
    assert app.get_recommendation(CUMBRIA, to_cumbria)["judged_in"] == {
        "reinspection_id": str(reinspection_id),
        "inspection_id": str(follow_up),
    }
    summaries = [
        e["summary"] for e in inspection_history(app, inspection_id, ADMIN) if e["type"].startswith("recommendation.")
    ]
    assert summaries[:2] == [
        "Ann Inspector (inspector) made a recommendation to Cumbria",
        "Ann Inspector (inspector) made a recommendation to HMPPS",
    ]
    assert "Ann Inspector (inspector) judged the recommendation to Cumbria in the reinspection: achieved" in summaries
    assert (
        "The reinspection's judgement of the recommendation to HMPPS was published on 2013-06-01: not achieved"
        in summaries
    )
    assert not any("Every plan reviewed" in s or "risk plan" in s for s in summaries)  # never free text


def test_a_follow_up_of_a_report_without_recommendations_publishes_as_before(app: InspectorateApp) -> None:
    with freeze_time("2012-01-10 09:00:00+00:00"):
        inspection_id = ready_to_publish(app)
        app.publish(ANN, inspection_id, date(2012, 1, 10))
    reinspection_id, follow_up = follow_up_of(app, inspection_id)
    with freeze_time("2013-06-01"):
        app.publish(ANN, follow_up, date(2013, 6, 1))
    assert app.reinspection_state(reinspection_id)["recommendations"] == []


def test_a_thematic_inspection_announced_then_published_with_its_recommendations(app: InspectorateApp) -> None:
    with freeze_time("2018-05-18 09:00:00+00:00"):
        thematic = app.announce_thematic(
            ADMIN,
            "Domestic abuse and CRCs",
            "domestic abuse",
            "adult",
            ["HM Inspectorate of Prisons"],
            date(2018, 5, 18),
        ).body
    tid = UUID(thematic["id"])
    assert (thematic["status"], thematic["joint"]) == ("announced", True)
    with freeze_time("2018-06-04 09:00:00+00:00"):
        app.start_thematic_fieldwork(ANN, tid)
        app.record_thematic_findings(ANN, tid, "Victims were rarely contacted.")
        rid = UUID(app.make_recommendation(ANN, tid, "Cheshire", "Contact every victim.").body["id"])
        assert app.recommendations_of(CHESHIRE, tid) == []
    with freeze_time("2018-12-03 09:00:00+00:00"):
        published = app.publish_thematic(ANN, tid, date(2018, 12, 3)).body
        with pytest.raises(RecordFrozen):
            app.make_recommendation(ANN, tid, "Cheshire", "Too late.")
    assert published["status"] == "published" and published["recommendation_ids"] == [str(rid)]
    [item] = app.recommendations_of(CHESHIRE, tid)
    assert (item["thematic_id"], item["status"], item["response_due_on"]) == (str(tid), "published", "2019-01-31")
    assert app.recommendations_of(CUMBRIA, tid) == []  # addressed to Cheshire only
    with freeze_time("2019-01-02"):
        assert app.respond_to_recommendation(CHESHIRE, rid, "agreed").body["response"] == "agreed"
        with pytest.raises(IllegalTransition):  # no reinspection follows a thematic
            app.judge_recommendation(ANN, rid, "achieved")
    assert [t.id for t in app.list_thematics(sector="adult", status="published")] == [tid]
    assert app.list_thematics(sector="youth") == []


def test_answers_leave_the_inspection_alone_and_none_is_left_behind_by_a_racing_publication(
    app: InspectorateApp,
) -> None:
    """An answer is written to the recommendation's stream only (the published inspection keeps its version), and
    recommendations made while the report is being published are either published with it or refused."""
    with freeze_time("2012-01-10 09:00:00+00:00"):
        inspection_id = ready_to_publish(app)
        app.make_recommendation(ANN, inspection_id, "Cumbria", "First.")
        outcomes: list[str] = []
        start = threading.Barrier(5)

        def make(n: int) -> None:
            start.wait()
            for k in range(5):
                try:
                    app.make_recommendation(ANN, inspection_id, "Cumbria", f"Made {n}.{k}.")
                    outcomes.append("made")
                except RecordFrozen:
                    outcomes.append("refused")

        def publish() -> None:
            start.wait()
            app.publish(ANN, inspection_id, date(2012, 1, 10))

        threads = [threading.Thread(target=make, args=(n,)) for n in range(4)] + [threading.Thread(target=publish)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    inspection = app.get_inspection(inspection_id)
    items = app.recommendations_of(ANN, inspection_id)
    assert len(items) == 1 + outcomes.count("made") and len(outcomes) == 20
    assert {i["status"] for i in items} == {"published"}
    made = [n for n in app.recorder.select_notifications(0, 10_000) if n.topic == "recommendation.made.v1"]
    assert len(made) == len(items)  # nothing recorded without its link to the report
    version = inspection.version
    with freeze_time("2012-02-01"):
        app.respond_to_recommendation(CUMBRIA, UUID(items[0]["id"]), "agreed")
        app.report_recommendation_progress(CUMBRIA, UUID(items[0]["id"]), "achieved")
    assert app.get_inspection(inspection_id).version == version
