"""Recommendation and Thematic aggregates: each step its event, each rule its named error; the policy's data."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from domain.base import Actor
from domain.calendar import add_working_days
from domain.errors import IllegalTransition, InvalidValue, RecordFrozen
from domain.inspection import Inspection
from domain.recommendation import AlreadyAnswered, Recommendation, UnjudgedRecommendations
from domain.recommendation_policy import POLICIES, recommendations_policy_for
from domain.thematic import NoFindings, Thematic
from tests.factories import FIELDWORK_START, body

CUMBRIA = Actor("Cumbria rep", "organisation", organisation="Cumbria", id="o1")
CHESHIRE = Actor("Cheshire rep", "organisation", organisation="Cheshire", id="o2")
MOJ = Actor("MoJ rep", "organisation", organisation="Ministry of Justice", id="o3")
ANN = Actor("Ann Inspector", "inspector", id="a1")


def topics(aggregate: object) -> list[str]:
    return [type(e).TOPIC for e in aggregate.collect_events()]  # type: ignore[attr-defined]


def made(to: str = "Cumbria", inspected: str | None = "Cumbria") -> Recommendation:
    kind = "inspection" if inspected else "thematic"
    return Recommendation.make(kind, uuid4(), body(inspected) if inspected else None, to, "Review every risk plan.")


def published(to: str = "Cumbria", inspected: str | None = "Cumbria") -> Recommendation:
    r = made(to, inspected)
    r.publish(date(2012, 1, 10), date(2012, 3, 6), "RECOMMENDATIONS-2009")
    return r


def test_made_then_published_with_the_due_day() -> None:
    r = published()
    assert topics(r) == ["recommendation.made.v1", "recommendation.published.v1"]
    assert (r.status, r.published_on, r.response_due_on) == ("published", date(2012, 1, 10), date(2012, 3, 6))
    with pytest.raises(RecordFrozen):
        r.publish(date(2012, 1, 11), date(2012, 3, 7), "RECOMMENDATIONS-2009")


@pytest.mark.parametrize(
    ("to", "text"),
    [
        ("", "x"),
        ("   ", "x"),
        ("Cumbria", ""),
        ("Cumbria", " \n "),
        ("x" * 201, "x"),
        ("Cumbria", "x" * 10_001),
        (3, "x"),
    ],
)
def test_absurd_addressees_and_texts_are_refused(to: object, text: object) -> None:
    with pytest.raises(InvalidValue):
        Recommendation.make("inspection", uuid4(), body(), to, text)  # type: ignore[arg-type]


def test_nothing_is_answered_before_publication() -> None:
    r = made()
    for step in (
        lambda: r.respond("agreed", None, date(2012, 1, 1)),
        lambda: r.report_progress("in_progress", None, date(2012, 1, 1)),
        lambda: r.judge("achieved", None, uuid4(), uuid4()),
    ):
        with pytest.raises(IllegalTransition):
            step()
    assert not r.mark_overdue(date(2030, 1, 1))


def test_answered_once_late_answers_say_so_and_progress_as_often_as_it_changes() -> None:
    r = published()
    with pytest.raises(InvalidValue):
        r.respond("maybe", None, date(2012, 2, 1))
    r.respond("partly_agreed", "not the staffing part", date(2012, 3, 7))
    assert (r.response, r.responded_late) == ("partly_agreed", True)
    with pytest.raises(AlreadyAnswered):
        r.respond("agreed", None, date(2012, 3, 8))
    r.report_progress("in_progress", None, date(2012, 4, 1))
    r.report_progress("achieved", "done", date(2012, 9, 1))
    with pytest.raises(InvalidValue):
        r.report_progress("finished", None, date(2012, 9, 2))
    assert [p["status"] for p in r.progress] == ["in_progress", "achieved"]


def test_overdue_once_the_due_day_has_passed_without_an_answer_and_only_once() -> None:
    r = published()
    assert not r.mark_overdue(date(2012, 3, 6))  # the due day itself is still in time
    assert r.mark_overdue(date(2026, 12, 4))
    assert not r.mark_overdue(date(2026, 12, 5))
    event = r.collect_events()[-1]
    assert type(event).TOPIC == "recommendation.response_overdue.v1"
    assert (event.due_on, event.marked_on) == (date(2012, 3, 6), date(2026, 12, 4))
    answered = published()
    answered.respond("agreed", None, date(2012, 2, 1))
    assert not answered.mark_overdue(date(2026, 12, 4))


def test_judged_revised_then_fixed_by_the_follow_up_publication() -> None:
    r = published()
    with pytest.raises(UnjudgedRecommendations):
        r.publish_judgement(date(2013, 6, 1))
    reinspection, follow_up = uuid4(), uuid4()
    r.judge("partly_achieved", None, reinspection, follow_up)
    r.judge("achieved", "seen in every case", reinspection, follow_up)
    with pytest.raises(InvalidValue):
        r.judge("mostly", None, reinspection, follow_up)
    r.publish_judgement(date(2013, 6, 1))
    assert r.judgement is not None and r.judgement["judgement"] == "achieved"
    with pytest.raises(RecordFrozen):
        r.judge("not_achieved", None, reinspection, follow_up)
    assert topics(r)[-1] == "recommendation.judgement_published.v1"


def test_who_reads_and_answers_it() -> None:
    draft = made("Ministry of Justice")
    assert draft.readable_by(ANN) and not draft.readable_by(CUMBRIA)  # before publication: nobody outside
    r = published("Ministry of Justice")
    assert r.readable_by(CUMBRIA) and r.readable_by(MOJ) and not r.readable_by(CHESHIRE)
    assert r.addressed_to("ministry of justice ") and r.addressed_to("Cumbria") and not r.addressed_to("Cheshire")
    thematic = published("Cheshire", inspected=None)
    assert thematic.readable_by(CHESHIRE) and not thematic.readable_by(CUMBRIA)


def test_an_inspection_takes_recommendations_until_published() -> None:
    inspection = Inspection.schedule("OMI2", body(), FIELDWORK_START)
    first = uuid4()
    inspection.link_recommendation(first)
    assert inspection.recommendation_ids == (first,)
    assert Inspection.recommendation_ids == ()  # the class default stays empty for inspections recorded before
    inspection.status = "published"
    with pytest.raises(RecordFrozen):
        inspection.link_recommendation(uuid4())


def test_the_response_period_is_data_with_its_source() -> None:
    policy = recommendations_policy_for(date(2012, 1, 10))
    assert policy is POLICIES[0] and policy.response_working_days == 40 and "SI 2001/799" in policy.source
    assert recommendations_policy_for(date(2001, 1, 1)) is POLICIES[0]
    # 40 working days from Tuesday 10 January 2012 (no bank holiday between): Tuesday 6 March.
    assert add_working_days(date(2012, 1, 10), policy.response_working_days, lambda d: False) == date(2012, 3, 6)


def announced(**overrides: object) -> Thematic:
    values: dict[str, object] = {
        "title": "Domestic abuse",
        "topic": "domestic abuse",
        "sector": "adult",
        "partners": ["HM Inspectorate of Prisons"],
        "announced_on": date(2018, 5, 18),
        "today": date(2018, 6, 1),
    }
    values.update(overrides)
    return Thematic.announce(**values)  # type: ignore[arg-type]


def test_a_thematic_is_announced_before_fieldwork_then_published_with_findings() -> None:
    t = announced(fieldwork_start=date(2018, 6, 4))
    assert t.joint and t.status == "announced" and t.planned_fieldwork_start == date(2018, 6, 4)
    with pytest.raises(InvalidValue):
        t.start_fieldwork(date(2018, 5, 18), date(2018, 6, 1))  # on the day of the announcement: not after it
    with pytest.raises(InvalidValue):
        t.start_fieldwork(date(2018, 6, 2), date(2018, 6, 1))  # in the future
    with pytest.raises(IllegalTransition):
        t.record_findings("too early")
    t.start_fieldwork(date(2018, 5, 21), date(2018, 6, 1))
    with pytest.raises(NoFindings):
        t.publish(date(2018, 12, 1), date(2018, 12, 1))
    t.record_findings("Risk was rarely reviewed.")
    with pytest.raises(InvalidValue):
        t.publish(date(2018, 5, 20), date(2018, 12, 1))  # before its fieldwork
    t.publish(date(2018, 12, 1), date(2018, 12, 1))
    with pytest.raises(RecordFrozen):
        t.link_recommendation(uuid4())
    assert topics(t) == [
        "thematic.announced.v1",
        "thematic.fieldwork_started.v1",
        "thematic.findings_recorded.v1",
        "thematic.report_published.v1",
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"sector": "space"},
        {"title": " "},
        {"partners": ["Ofsted", "ofsted"]},
        {"partners": [""]},
        {"partners": ["x"] * 21},
        {"announced_on": date(2018, 6, 2)},
        {"fieldwork_start": date(2018, 5, 18)},
        {"fieldwork_start": date(2018, 5, 1)},
    ],
)
def test_absurd_announcements_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidValue):
        announced(**overrides)
    assert not announced(partners=[]).joint
