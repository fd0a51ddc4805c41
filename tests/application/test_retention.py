"""The retention schedule (INSPECTORATE_RETENTION_YEARS): the deadline process erases the cases of
inspections published more than that many years ago, once each, with reason ``retention``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from uuid import UUID

import pytest
from freezegun import freeze_time

from application.app import InspectorateApp
from domain.base import Actor
from infrastructure.config import Settings
from infrastructure.projections.worker import apply_retention, run_deadlines
from tests.factories import FIELDWORK_START, body, characteristics, judgements
from web.bootstrap import build_app, migrate

ANN = Actor("Ann Inspector", "inspector", id="token-ann")
ERASED = "case.personal_data_erased.v1"


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    migrate(settings)
    application = build_app(settings, create_table=False)
    yield application
    application.close()


def published(app: InspectorateApp, name: str, on: date, refs: tuple[str, ...]) -> list[UUID]:
    inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(name), FIELDWORK_START).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    cases = [UUID(app.add_case(ANN, inspection_id, ref, characteristics()).body["id"]) for ref in refs]
    for case_id in cases:
        app.rate_case(ANN, case_id, judgements(True))
    app.complete_fieldwork(ANN, inspection_id)
    app.publish(ANN, inspection_id, on)
    return cases


def erasures(app: InspectorateApp) -> list[dict]:
    notifications = app.recorder.select_notifications(0, 10_000, topics=[ERASED])
    return [app.describe(n) for n in notifications]


def test_cases_published_more_than_the_retention_years_ago_are_erased_once_each(
    settings: Settings, app: InspectorateApp
) -> None:
    settings = replace(settings, retention_years=6)
    old = published(app, "Cumbria", date(2012, 1, 10), ("OLD-1", "OLD-2"))
    newer = published(app, "Lancashire", date(2013, 3, 1), ("NEW-1",))
    with freeze_time("2018-01-10"):  # exactly six years: not more
        assert apply_retention(app, settings) == 0
    with freeze_time("2018-01-11"):
        assert apply_retention(app, settings) == 2
        assert apply_retention(app, settings) == 0  # once each
    assert [app.get_case(c).erased for c in old] == [True, True]
    assert app.get_case(newer[0]).case_ref == "NEW-1" and not app.get_case(newer[0]).erased
    events = erasures(app)
    assert {UUID(e["stream"]) for e in events} == set(old)
    assert {e["data"]["reason"] for e in events} == {"retention"}
    assert {e["actor"]["role"] for e in events} == {"system"}
    # Another process (a restarted worker) passes the erased cases by too.
    other = build_app(settings, create_table=False)
    try:
        with freeze_time("2019-03-02"):
            assert apply_retention(other, settings) == 1
            assert apply_retention(other, settings) == 0
    finally:
        other.close()
    assert len(erasures(app)) == 3
    assert app.get_case(newer[0]).case_ref is None


def test_without_retention_years_nothing_is_erased(settings: Settings, app: InspectorateApp) -> None:
    assert Settings.from_env({}).retention_years is None
    assert Settings.from_env({"INSPECTORATE_RETENTION_YEARS": "7"}).retention_years == 7
    published(app, "Cumbria", date(2012, 1, 10), ("OLD-1",))
    assert apply_retention(app, settings) == 0
    assert erasures(app) == []


def test_the_deadline_process_applies_the_retention_schedule(settings: Settings, app: InspectorateApp) -> None:
    settings = replace(settings, retention_years=6)
    cases = published(app, "Cumbria", date(2012, 1, 10), ("OLD-1",))
    stop = threading.Event()
    deadlines = threading.Thread(target=run_deadlines, args=(app, stop, 3600, settings))
    deadlines.start()
    try:
        deadline = time.monotonic() + 10
        while not erasures(app) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        deadlines.join(timeout=10)
    assert [UUID(e["stream"]) for e in erasures(app)] == cases
