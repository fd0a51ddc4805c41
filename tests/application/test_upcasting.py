"""Event versioning: an event stored by version 1 of a class is read as version 2 (upcast on read).

Demonstrated on a test-only aggregate: no production event has needed a new
version yet, and the stored record must never be rewritten to get one. The
mechanism is the library's: ``class_version = 2`` on the event class and an
``upcast_v1_v2`` static method that fills in what version 1 did not record.
The public type (the topic) stays ``*.v1`` because the change only adds a
field; a change that breaks consumers would get a new topic instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import msgspec
import pytest
from eventsourcing.domain import event
from eventsourcing.persistence import StoredEvent

from application.app import InspectorateApp
from application.decoding import EventDecoder
from application.feed import cloud_event
from domain.base import Actor, InspectorateAggregate, caused_by, explicit_topics
from infrastructure.config import Settings
from web.bootstrap import build_app


@explicit_topics
class SiteVisit(InspectorateAggregate):
    """A test-only aggregate: a visit whose notes were judged."""

    class Recorded(InspectorateAggregate.Created):
        TOPIC = "testsitevisit.recorded.v1"
        class_version = 2
        place: str
        judgements: list[dict[str, Any]]
        judgement_count: int  # new in class version 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 did not record the count: derive it from what it did record."""
            state["judgement_count"] = len(state["judgements"])

    @event(Recorded)
    def __init__(self, place: str, judgements: list[dict[str, Any]], judgement_count: int) -> None:
        self.place = place
        self.judgements = judgements
        self.judgement_count = judgement_count


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    application = build_app(settings)
    yield application
    application.close()


def store_as_version_1(app: InspectorateApp) -> UUID:
    """Record a visit, then store its event again exactly as version 1 of the class wrote it."""
    with caused_by(Actor("Ann Inspector", "inspector", id="token-ann"), "c-1"):
        visit = SiteVisit(place="Kendal", judgements=[{"sufficient": True}, {"sufficient": False}], judgement_count=2)
    stored = app.mapper.to_stored_event(visit.collect_events()[0])
    state = app.mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2 and state.pop("judgement_count") == 2
    v1 = StoredEvent(stored.originator_id, stored.originator_version, stored.topic, app.mapper.transcoder.encode(state))
    app.recorder.insert_events([v1])
    return visit.id


def test_a_version_1_event_is_read_as_version_2(app: InspectorateApp) -> None:
    visit_id = store_as_version_1(app)
    stored = app.recorder.select_events(visit_id)[0]
    assert b"judgement_count" not in stored.state and b"class_version" not in stored.state
    visit = app.repository.get(visit_id)
    assert isinstance(visit, SiteVisit)
    assert (visit.place, visit.judgement_count) == ("Kendal", 2)


def test_new_events_are_stored_as_version_2(app: InspectorateApp) -> None:
    with caused_by(Actor("Ann Inspector", "inspector"), None):
        visit = SiteVisit(place="Penrith", judgements=[], judgement_count=0)
    app.save(visit)
    state = json.loads(app.recorder.select_events(visit.id)[0].state)
    assert state["class_version"] == 2 and state["judgement_count"] == 0


def test_feed_shows_the_upcast_event_and_the_chain_still_holds(app: InspectorateApp) -> None:
    visit_id = store_as_version_1(app)
    notification = app.recorder.select_notifications(1, 1)[0]
    assert notification.originator_id == visit_id
    as_cloud_event = cloud_event(app, notification, special_category=False)
    assert as_cloud_event["type"] == "testsitevisit.recorded.v1"
    assert as_cloud_event["data"]["judgement_count"] == 2
    assert as_cloud_event["data"]["actor"] == {
        "id": "token-ann",
        "name": "Ann Inspector",
        "role": "inspector",
        "organisation": None,
    }
    # The chain covers the bytes as stored; reading them upcast changes nothing there.
    assert app.recorder.verify_chain().ok  # type: ignore[attr-defined]


class VisitCount(msgspec.Struct):
    """A projection's shape of the few fields it reads of a visit."""

    place: str
    judgement_count: int


def test_projections_read_the_upcast_state_whole_or_into_a_shape(app: InspectorateApp) -> None:
    store_as_version_1(app)
    decoder = EventDecoder(app.mapper)
    [fact] = decoder.facts(app.recorder.select_feed_rows(0, 10))
    assert fact.read(VisitCount) == VisitCount("Kendal", 2)  # not straight from the stored v1 JSON
    assert fact.state["judgement_count"] == 2 and "class_version" not in fact.state
