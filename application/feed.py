"""The event feed for integrating systems: stored events as CloudEvents, a page at a time or followed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from eventsourcing.persistence import Notification

from application.app import InspectorateApp
from application.catalogue import (
    DEFAULT_PUBLIC_URL,
    SOURCE,
    SPECIAL_CATEGORY_FIELDS,
    schema_url,
)
from application.decoding import EventDecoder, FeedRow
from domain.access import may_see_characteristics
from domain.base import Actor, actor_of
from domain.errors import InvalidValue

MAX_PAGE = 1000

_decoders: WeakKeyDictionary[InspectorateApp, EventDecoder] = WeakKeyDictionary()


def _decoder(app: InspectorateApp) -> EventDecoder:
    decoder = _decoders.get(app)
    if decoder is None:
        decoder = _decoders[app] = EventDecoder(app.mapper)
    return decoder


def cloud_event(app: InspectorateApp, row: FeedRow | Notification, *, special_category: bool) -> dict[str, Any]:
    """A stored event as a CloudEvents 1.0 structured-mode JSON object (plain JSON values)."""
    return cloud_events(app, [row if isinstance(row, FeedRow) else FeedRow.of(row)], special_category)[0]


def cloud_events(app: InspectorateApp, rows: Sequence[FeedRow], special_category: bool) -> list[dict[str, Any]]:
    decoder = _decoder(app)
    public_url = getattr(app, "public_url", DEFAULT_PUBLIC_URL)
    return [_cloud_event(decoder, row, special_category, public_url) for row in rows]


def _cloud_event(decoder: EventDecoder, row: FeedRow, special_category: bool, public_url: str) -> dict[str, Any]:
    data = decoder.plain(row)
    time = data.pop("timestamp")
    cause = data.pop("cause", None) or {}
    data.pop("originator_topic", None)
    if not special_category:
        for name in SPECIAL_CATEGORY_FIELDS.get(row.topic, ()):
            data.pop(name, None)
    data["actor"] = actor_of(cause)
    data["correlation_id"] = cause.get("correlation_id")
    return {
        "specversion": "1.0",
        "id": f"{row.stream}:{row.version}",
        "source": SOURCE,
        "type": row.topic,
        "subject": row.stream,
        "time": time,
        "datacontenttype": "application/json",
        "dataschema": schema_url(row.topic, public_url),
        "position": row.position,
        "data": data,
    }


def select_page(
    app: InspectorateApp,
    after: int,
    limit: int,
    types: Sequence[str] = (),
    inspection_id: UUID | None = None,
) -> Sequence[FeedRow]:
    """Stored events after a position, optionally of some types or of one inspection's streams."""
    recorder: Any = app.recorder
    if inspection_id is not None:
        streams = app.stream_ids_of(app.get_inspection(inspection_id))
        notifications = recorder.select_by_originators(streams, after=after, limit=limit, topics=list(types))
        return [FeedRow.of(n) for n in notifications]
    if hasattr(recorder, "select_feed_rows"):  # the project's recorders: plain rows, no UUID objects
        return [FeedRow(*row) for row in recorder.select_feed_rows(after, limit, list(types))]
    notifications = recorder.select_notifications(after, limit, topics=list(types), inclusive_of_start=False)
    return [FeedRow.of(n) for n in notifications]


def feed_page(
    app: InspectorateApp,
    reader: Actor,
    after: int = 0,
    limit: int = 100,
    types: Sequence[str] = (),
    inspection_id: UUID | None = None,
) -> dict[str, Any]:
    """``{events, next_after, head}``: at most ``limit`` events after position ``after``, in order.

    Positions only grow but may skip numbers (PostgreSQL sequences); a consumer
    keeps ``next_after`` and asks again. The PostgreSQL recorder commits in
    position order (table lock), SQLite has one writer at a time, so nothing
    appears later behind a position already handed out.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("limit", f"must be between 1 and {MAX_PAGE}")
    if after < 0:
        raise InvalidValue("after", "must be 0 or more")
    head = app.recorder.max_notification_id() or 0
    rows = select_page(app, after, limit, types, inspection_id)
    special = may_see_characteristics(reader)
    events = cloud_events(app, rows, special)
    return {
        "events": events,
        "next_after": rows[-1].position if rows else after,
        "head": max(head, rows[-1].position if rows else 0),
    }


def follow(
    app: InspectorateApp,
    reader: Actor,
    after: int,
    types: Sequence[str] = (),
    page: int = 200,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of events after a position, forever: an empty page means nothing new yet."""
    special = may_see_characteristics(reader)
    while True:
        rows = select_page(app, after, page, types)
        if rows:
            after = rows[-1].position
        yield cloud_events(app, rows, special)
