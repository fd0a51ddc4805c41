"""The register and selection plans through the application, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest

from application.app import InspectorateApp
from domain.base import Actor
from domain.body import Body, body_id_for
from domain.errors import DuplicateBody
from domain.inspection import Inspection
from domain.plan import Plan, plan_id_for
from infrastructure.config import Settings
from tests.factories import body
from web.bootstrap import build_app

ANN = Actor("Ann Inspector", "inspector", id="token-ann")
ORG = Actor("Cumbria rep", "organisation", organisation=" cumbria ", id="token-org")


@pytest.fixture
def app(settings: Settings) -> Iterator[InspectorateApp]:
    application = build_app(settings)
    yield application
    application.close()


def test_the_register_is_derived_for_inspections_scheduled_before_it(app: InspectorateApp) -> None:
    # as the service recorded an inspection before the register existed: no body id, no body
    old = Inspection.schedule("OMI2", body(" cumbria"), date(2010, 5, 3))
    app.save(old)
    expected = body_id_for("probation_trust", "Cumbria")
    assert app._find(Body, expected) is None
    assert app.get_inspection(old.id).inspected_body.get("id") is None
    assert app.derive_register() == 1
    derived = app._find(Body, expected)
    assert derived.name == "cumbria" and derived.inspections[0]["inspection_id"] == str(old.id)
    assert app.derive_register() == 0  # idempotent
    # a new inspection of the same body, however spelt, joins it
    new = app.schedule_inspection(ANN, "OMI2", body("CUMBRIA "), date(2011, 5, 3)).body
    assert new["inspected_body"]["id"] == str(expected)
    shown, _ = app.get_body(ANN, expected)
    assert [i["id"] for i in shown["inspections"]] == [new["id"], str(old.id)]


def test_registering_a_taken_name_is_refused(app: InspectorateApp) -> None:
    app.register_body(ANN, "Cumbria", "yot", "North West")
    with pytest.raises(DuplicateBody):
        app.register_body(ANN, " cumbria", "yot", "North West")


def test_a_plan_is_recorded_with_every_bodys_reasons_and_redrawn_as_a_revision(app: InspectorateApp) -> None:
    ids = {}
    for name, caseload in (("Cumbria", 300), ("Durham", 200), ("Wigan", 100)):
        ids[name] = UUID(app.register_body(ANN, name, "yot", "North").body["id"])
        app.record_indicators(ANN, ids[name], "2017-18", {"caseload": caseload})
    # a YOS inspection of Durham within the plan year is no inspection before it: all three never inspected
    app.schedule_inspection(ANN, "YOS", {"id": str(ids["Durham"])}, date(2018, 9, 3))
    first = app.draw_up_plan(ANN, "YOS", "2018-19", 2).body
    assert first["revision"] == 1 and first["criteria"]["code"] == "YOS-SELECTION-2018"
    assert [e["name"] for e in first["selected"]] == ["Cumbria", "Durham"]  # never inspected before 2018-19
    again = app.draw_up_plan(ANN, "YOS", "2018-19", 2).body
    assert again["revision"] == 2 and again["selected"] == first["selected"]
    plan = app._find(Plan, plan_id_for("YOS", "2018-19"))
    assert [e.TOPIC for e in app.events.get(plan.id)] == ["plan.drawn_up.v1", "plan.redrawn.v1"]
    # an organisation is told its own entry only
    org_view, _ = app.get_plan(ORG, "YOS", "2018-19")
    assert [e["name"] for e in org_view["selected"]] == ["Cumbria"] and org_view["not_selected"] == []
    assert any("selected first" in r for r in org_view["selected"][0]["reasons"])


def test_the_register_and_plans_read_as_history_summaries(app: InspectorateApp) -> None:
    from application.summaries import summarise
    from tests.api.audit_story import record_register_types

    crc = record_register_types(app)
    trust = UUID(app._find(Body, crc).succeeds[0])
    streams = [trust, crc, plan_id_for("PROBATION", "2018-19")]
    notifications = app.recorder.select_by_originators(streams)  # type: ignore[attr-defined]
    summaries = [summarise(app.describe(n)) for n in notifications]
    assert summaries == [
        "Ann Inspector (inspector) registered Cumbria Trust (probation trust, North West)",
        "Ann Inspector (inspector) registered Cumbria CRC (crc, North West), succeeding 1 body",
        f"Succeeded by crc {crc}",
        "Ann Inspector (inspector) recorded the figures of 2017-18: caseload 2400",
        "Ann Inspector (inspector) drew up the plan under PROBATION-SELECTION-2018: 1 selected of 1, capacity 1",
        "Ann Inspector (inspector) drew up the plan again under PROBATION-SELECTION-2018: 1 selected of 1, capacity 5",
    ]
