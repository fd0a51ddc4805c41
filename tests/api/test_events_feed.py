"""The event feed over HTTP: CloudEvents 1.0 pages after a kept position, filters, SSE, the catalogue."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from uuid import UUID

from cloudevents.core.formats.json import JSONFormat
from eventsourcing.utils import _topic_cache
from jsonschema import Draft202012Validator, FormatChecker

from application.catalogue import TOPIC_PATTERN, data_schemas, event_classes
from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.api.audit_story import (
    ANN,
    record_2018_types,
    record_every_type,
    record_recommendation_types,
    record_register_types,
)
from tests.factories import FIELDWORK_START, body, characteristics, judgements
from web import services_of


def feed(api: Api, query: str = "", role: str = "integration") -> dict[str, Any]:
    return api.ok(api.get(f"/v1/events{query}", role))


def everything(api: Api, role: str = "integration", limit: int = 1000, **filters: str) -> list[dict[str, Any]]:
    extra = "".join(f"&{k}={v}" for k, v in filters.items())
    events, after = [], 0
    while True:
        page = feed(api, f"?after={after}&limit={limit}{extra}", role)
        events.extend(page["events"])
        if not page["events"]:
            return events
        after = page["next_after"]


def test_every_event_type_is_a_valid_cloudevent_and_matches_its_published_schema(api: Api) -> None:
    app = services_of(api.app).app
    record_every_type(app)
    record_2018_types(app)
    record_recommendation_types(app)
    record_register_types(app)
    catalogue = api.ok(api.get("/v1/events/schemas", "integration"))
    events = everything(api, "auditor")
    assert {e["type"] for e in events} == set(event_classes()) == set(catalogue["types"])
    envelope = Draft202012Validator(catalogue["envelope"], format_checker=FormatChecker())
    validators = {
        topic: Draft202012Validator(schema, format_checker=FormatChecker())
        for topic, schema in catalogue["types"].items()
    }
    cloudevents = JSONFormat()
    stored = {n.id: n for n in app.recorder.select_notifications(1, 10_000)}
    for event in events:
        envelope.validate(event)
        validators[event["type"]].validate(event["data"])
        parsed = cloudevents.read(None, json.dumps(event))  # raises on anything not CloudEvents 1.0
        assert parsed.get_attributes()["position"] == event["position"]
        assert parsed.get_attributes()["time"].tzinfo is not None
        notification = stored[event["position"]]
        assert event["id"] == f"{notification.originator_id}:{notification.originator_version}"
        assert event["subject"] == str(notification.originator_id) and event["type"] == notification.topic
        assert event["source"] == "/inspectorate" and event["specversion"] == "1.0"
        assert event["datacontenttype"] == "application/json"
        assert event["data"]["actor"]["role"] and "correlation_id" in event["data"]


def test_pages_follow_positions_with_next_after_and_head(api: Api) -> None:
    app = services_of(api.app).app
    record_every_type(app)
    head = app.recorder.max_notification_id()
    first = feed(api, "?limit=5")
    assert [e["position"] for e in first["events"]] == [1, 2, 3, 4, 5]
    assert first["next_after"] == 5 and first["head"] == head
    second = feed(api, "?after=5&limit=3")
    assert [e["position"] for e in second["events"]] == [6, 7, 8]
    assert len(feed(api)["events"]) == min(100, head)  # default limit 100
    beyond = feed(api, f"?after={head}")
    assert beyond == {"events": [], "next_after": head, "head": head}
    ids = [e["id"] for e in everything(api, limit=7)]
    assert len(ids) == len(set(ids)) == head
    assert ids == [e["id"] for e in everything(api, limit=1000)]  # ids are stable across reads


def test_bad_feed_queries_are_422(api: Api) -> None:
    for query in (
        "?limit=0",
        "?limit=1001",
        "?limit=x",
        "?after=-1",
        "?types=case.nope.v1",
        "?inspection_id=not-a-uuid",
        "?colour=red",
    ):
        assert_problem(api.get(f"/v1/events{query}", "integration"), 422)


def test_who_may_read_the_feed(api: Api) -> None:
    for role in ("integration", "auditor", "admin"):
        assert api.get("/v1/events", role).status_code == 200
    for role in ("inspector", "local_assessor", "qa_reviewer", "organisation"):
        assert_problem(api.get("/v1/events", role), 403)
        assert_problem(api.get("/v1/events/stream?max_events=1", role), 403)
    assert_problem(api.get("/v1/events", None), 401)


def test_filters_by_type_and_by_inspection(api: Api) -> None:
    app = services_of(api.app).app
    story = record_every_type(app)
    other = record_every_type(app, name="Cheshire")
    rated = everything(api, limit=2, types="case.rated.v1,inspection.report_published.v1")
    assert {e["type"] for e in rated} == {"case.rated.v1", "inspection.report_published.v1"}
    assert len(rated) == 2 * (4 + 2)
    mine = everything(api, limit=4, inspection_id=str(story.inspection_id))
    history = api.ok(api.get(f"/v1/inspections/{story.inspection_id}/history", "auditor"))["events"]
    assert [e["position"] for e in mine] == [e["position"] for e in history]
    assert str(other.inspection_id) not in {e["subject"] for e in mine}
    published = feed(api, f"?inspection_id={story.inspection_id}&types=inspection.report_published.v1")
    assert [e["subject"] for e in published["events"]] == [str(story.inspection_id)]
    assert_problem(api.get("/v1/events?inspection_id=00000000-0000-4000-8000-000000000000", "integration"), 404)


def test_case_characteristics_never_reach_the_integration_role(api: Api) -> None:
    app = services_of(api.app).app
    record_every_type(app)
    sampled = [e for e in everything(api, "integration") if e["type"] == "case.sampled.v1"]
    assert sampled and all("characteristics" not in e["data"] for e in sampled)
    as_auditor = [e for e in everything(api, "auditor") if e["type"] == "case.sampled.v1"]
    assert all(e["data"]["characteristics"] == characteristics() for e in as_auditor)
    catalogue = api.ok(api.get("/v1/events/schemas", "integration"))
    assert "characteristics" not in catalogue["types"]["case.sampled.v1"]["required"]
    assert "integration" in catalogue["types"]["case.sampled.v1"]["description"]


def test_a_consumer_with_a_kept_cursor_sees_every_event_once_in_order_while_writers_write(api: Api) -> None:
    app = services_of(api.app).app
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            inspection_id = app.schedule_inspection(ANN, "OMI2", body(f"Trust {n}"), FIELDWORK_START).body["id"]
            app.start_fieldwork(ANN, UUID(inspection_id))
            for c in range(6):
                case_id = app.add_case(ANN, UUID(inspection_id), f"C{c}", characteristics()).body["id"]
                app.rate_case(ANN, UUID(case_id), judgements(c % 2 == 0))
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in writers:
        thread.start()
    seen: list[dict[str, Any]] = []
    after = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = not any(thread.is_alive() for thread in writers)
        page = feed(api, f"?after={after}&limit=7")
        seen.extend(page["events"])
        after = page["next_after"]
        if done and not page["events"] and after == page["head"]:
            break
    assert not errors
    positions = [e["position"] for e in seen]
    assert positions == sorted(positions) and len(positions) == len(set(positions))
    stored = app.recorder.select_notifications(1, 10_000)
    assert [(e["subject"], e["type"]) for e in seen] == [(str(n.originator_id), n.topic) for n in stored]
    # scheduling a new body's inspection also registers the body and links the inspection to it (2 events)
    assert len(seen) == 4 * (2 + 2 + 6 * 3)


SSE_EVENT = re.compile(r"id: (\d+)\nevent: ([a-z_.0-9]+)\ndata: (.+)\n\n")


def test_stream_sends_events_with_positions_and_resumes_from_last_event_id(api: Api) -> None:
    app = services_of(api.app).app
    record_every_type(app)
    response = api.get("/v1/events/stream?max_events=5", "integration")
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    text = response.get_data(as_text=True)
    assert text.startswith("retry: ")
    sent = SSE_EVENT.findall(text)
    assert [int(p) for p, _, _ in sent] == [1, 2, 3, 4, 5]
    assert all(json.loads(data)["position"] == int(p) and json.loads(data)["type"] == t for p, t, data in sent)
    resumed = api.get("/v1/events/stream?max_events=3&after=1", "integration", headers={"Last-Event-ID": "5"})
    assert [int(p) for p, _, _ in SSE_EVENT.findall(resumed.get_data(as_text=True))] == [6, 7, 8]
    sampled = api.get("/v1/events/stream?max_events=2&types=case.sampled.v1", "integration")
    for _, kind, data in SSE_EVENT.findall(sampled.get_data(as_text=True)):
        assert kind == "case.sampled.v1" and "characteristics" not in json.loads(data)["data"]


def test_stream_closes_by_itself_when_nothing_happens(api: Api) -> None:
    started = time.monotonic()
    response = api.get("/v1/events/stream?timeout=0.3", "integration")
    assert response.get_data(as_text=True) == "retry: 1000\n\n"
    assert time.monotonic() - started < 5
    assert_problem(api.get("/v1/events/stream?timeout=26", "integration"), 422)


def test_every_registered_event_type_has_a_schema_and_the_asyncapi_document_lists_them(api: Api) -> None:
    registered = {topic for topic in list(_topic_cache) if TOPIC_PATTERN.match(topic)}
    schemas = data_schemas()
    assert registered and registered <= set(schemas)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    document = api.ok(api.get("/v1/events/asyncapi.json", "integration"))
    assert document["asyncapi"].startswith("3.")
    assert set(document["components"]["messages"]) == set(schemas)
    assert document["channels"]["feed"]["address"] == "/v1/events"
    assert document["channels"]["stream"]["address"] == "/v1/events/stream"
    for operation in document["operations"].values():
        assert operation["action"] == "receive"


def test_the_fast_decoder_gives_what_the_mapper_gives_also_encrypted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from eventsourcing.cryptography import AESCipher

    from application.decoding import EventDecoder
    from infrastructure.config import Settings
    from web.bootstrap import build_app

    for cipher_key in (None, AESCipher.create_key(16)):
        app = build_app(Settings(data_dir=tmp_path / str(bool(cipher_key)), cipher_key=cipher_key))
        record_every_type(app)
        record_recommendation_types(app)
        decoder = EventDecoder(app.mapper)
        notifications = app.recorder.select_notifications(1, 10_000)
        assert len(notifications) > 30
        for n in notifications:
            assert decoder.plain(n) == decoder._via_mapper(n), n.topic
        app.close()
