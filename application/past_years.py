"""A programme year as it stood at a moment, from the recorded events (not from a view)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import Notification

from application.app import InspectorateApp
from application.projections.years import rating_summary, with_published, year_body
from domain.inspection import Inspection

PUBLISHED = "inspection.report_published.v1"
MAX_PAGE = 1000


def programme_year_as_of(app: InspectorateApp, programme: str, year: str, as_of: datetime) -> dict[str, Any]:
    """The programme-year figures as the record stood at ``as_of`` (inclusive), from the events.

    The inspections ``published_as_of`` finds, each as the view keeps it, are put into the year by the
    view's own ``with_published`` and answered by its ``year_body``: the same figures and shape as
    ``GET /v1/views/programmes/{p}/years/{y}`` (reinspections marked and left out of the pooled
    figures, ties named), with no second copy of the shaping.
    """
    row = None
    for inspection in published_as_of(app, programme, year, as_of):
        row = with_published(
            row,
            {
                "id": str(inspection.id),
                "programme": inspection.programme,
                "year": inspection.year,
                "framework": inspection.framework,
                "body": inspection.inspected_body.get("name", ""),
                "case_count": len(inspection.case_refs),
                "reinspection": inspection.reinspection_of is not None,
                "ratings": rating_summary(inspection.ratings) if inspection.ratings else None,
            },
            inspection.headline_scores or {},
        )
    return {**year_body(row, programme, year), "as_of": as_of.isoformat()}


def published_as_of(app: InspectorateApp, programme: str, year: str, as_of: datetime) -> list[Inspection]:
    """Published inspections of the programme whose fieldwork year is ``year`` and whose report was
    recorded at or before ``as_of``, in publication order, each as it stood at its publication."""
    published: list[Inspection] = []
    for notification in _all_with_topic(app, PUBLISHED):
        event = app.mapper.to_domain_event(notification)
        if event.timestamp > as_of:  # type: ignore[attr-defined]
            continue  # not break: two servers' clocks may disagree slightly with the recorded order
        inspection: Inspection = app.repository.get(
            cast(UUID, notification.originator_id), version=notification.originator_version
        )
        if inspection.programme == programme and inspection.year == year:
            published.append(inspection)
    return published


def _all_with_topic(app: InspectorateApp, topic: str, page: int = MAX_PAGE) -> Iterator[Notification]:
    after = 0
    while True:
        notifications = app.recorder.select_notifications(after, page, topics=[topic], inclusive_of_start=False)
        yield from notifications
        if len(notifications) < page:
            return
        after = notifications[-1].id
