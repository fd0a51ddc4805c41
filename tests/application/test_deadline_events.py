"""Deadline events carry the day they fall due, whatever day the deadline process runs (issue 16, item 11).

``reinspection.became_due.v1`` recorded ``on``, the day the process ran: a 2013 deadline marked by a
process first run in 2026 said 2026. Class version 2 records ``due_on`` (and the run day as ``marked_on``);
events stored by version 1 stay readable, upcast on read, and every reader takes the due day from the
reinspection where version 1 did not record it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from freezegun import freeze_time

from application.app import InspectorateApp
from application.feed import cloud_event
from application.summaries import inspection_history
from domain.base import SYSTEM, Actor, caused_by
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.reader import ViewReader
from tests.factories import FIELDWORK_START, body, characteristics, judgements
from web.bootstrap import build_app, build_projector, migrate

ANN = Actor("Ann Inspector", "inspector")
ADMIN = Actor("Ada Admin", "admin")
BECAME_DUE = "reinspection.became_due.v1"


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    migrate(settings)
    application = build_app(settings, create_table=False)
    yield application
    application.close()


def of_concern(app: InspectorateApp) -> tuple[UUID, UUID]:
    """A report of concern published 2012-01-10: its reinspection falls due on 2013-01-10."""
    with freeze_time("2012-01-10 09:00:00+00:00"):
        inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(), FIELDWORK_START).body["id"])
        app.start_fieldwork(ANN, inspection_id)
        case_id = UUID(app.add_case(ANN, inspection_id, "C1", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(False))
        app.complete_fieldwork(ANN, inspection_id)
        app.publish(ANN, inspection_id, date(2012, 1, 10))
    reinspection_id = app.get_inspection(inspection_id).reinspection_id
    assert reinspection_id is not None and app.get_reinspection(reinspection_id).due_on == date(2013, 1, 10)
    return inspection_id, reinspection_id


def became_due_notification(app: InspectorateApp) -> object:
    [notification] = [n for n in app.recorder.select_notifications(0, 1000) if n.topic == BECAME_DUE]
    return notification


def raw_state(app: InspectorateApp, notification: object) -> bytes:
    """The event's JSON as stored (decrypted when the store is encrypted)."""
    state = notification.state  # type: ignore[attr-defined]
    return app.mapper.cipher.decrypt(state) if app.mapper.cipher else state


def view_row(app: InspectorateApp, settings: Settings, reinspection_id: UUID) -> dict[str, object]:
    engine = create_projection_engine(settings)
    try:
        projector = build_projector(app, engine, settings, ["reinspections"])
        projector.ensure_tracking()
        projector.reset()
        projector.catch_up()
        [item] = [i for i in ViewReader(engine, app.mapper.cipher).reinspections() if i["id"] == str(reinspection_id)]
        return item
    finally:
        engine.dispose()


def test_a_deadline_marked_years_late_records_the_day_it_fell_due(app: InspectorateApp, settings: Settings) -> None:
    inspection_id, reinspection_id = of_concern(app)
    with freeze_time("2026-12-04 09:00:00+00:00"):  # the deadline process runs for the first time in years
        assert app.mark_due_reinspections() == 1
    notification = became_due_notification(app)
    stored = json.loads(raw_state(app, notification))
    assert stored["class_version"] == 2 and "on" not in stored
    event = app.mapper.to_domain_event(notification)
    assert (event.due_on, event.marked_on) == (date(2013, 1, 10), date(2026, 12, 4))

    data = cloud_event(app, notification, special_category=False)["data"]
    assert (data["due_on"], data["marked_on"]) == ("2013-01-10", "2026-12-04")
    [summary] = [e["summary"] for e in inspection_history(app, inspection_id, ADMIN) if e["type"] == BECAME_DUE]
    assert summary == "Reinspection became due on 2013-01-10"
    assert view_row(app, settings, reinspection_id)["became_due_on"] == "2013-01-10"


def store_as_version_1(app: InspectorateApp, reinspection_id: UUID, ran_on: date) -> None:
    """Append the became-due event exactly as version 1 of the class wrote it: ``{"on": <day the process ran>}``."""
    reinspection = app.get_reinspection(reinspection_id)
    with caused_by(SYSTEM, "deadline-process"):
        reinspection.become_due(ran_on)
    stored = app.mapper.to_stored_event(reinspection.collect_events()[-1])
    state = app.mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2 and state.pop("due_on") == date(2013, 1, 10)
    state["on"] = state.pop("marked_on")
    app.recorder.insert_events(
        [
            StoredEvent(
                stored.originator_id, stored.originator_version, stored.topic, app.mapper.transcoder.encode(state)
            )
        ]
    )


def test_a_version_1_event_stays_readable_and_readers_give_the_due_day(
    app: InspectorateApp, settings: Settings
) -> None:
    inspection_id, reinspection_id = of_concern(app)
    store_as_version_1(app, reinspection_id, date(2026, 12, 4))
    notification = became_due_notification(app)
    assert "due_on" not in json.loads(raw_state(app, notification))

    reinspection = app.repository.get(reinspection_id)  # replayed from the record, the v1 event upcast
    assert reinspection.status == "due"
    event = app.mapper.to_domain_event(notification)
    assert (event.due_on, event.marked_on) == (None, date(2026, 12, 4))  # v1 never recorded the due day
    data = cloud_event(app, notification, special_category=False)["data"]
    assert (data["due_on"], data["marked_on"]) == (None, "2026-12-04")
    [summary] = [e["summary"] for e in inspection_history(app, inspection_id, ADMIN) if e["type"] == BECAME_DUE]
    assert summary == "Reinspection became due (recorded by the deadline process on 2026-12-04)"
    # The view says when it fell due, not when the process ran.
    assert view_row(app, settings, reinspection_id)["became_due_on"] == "2013-01-10"
    assert app.recorder.verify_chain().ok  # type: ignore[attr-defined]
