"""An inspection's history: every event of it and of what belongs to it, as plain values.

A mixin of ``InspectorateApp``, read by the history API, the audit and the CLI.
An event of an erased case says so (``erased: true``); its sealed fields read as None.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from application.personal_data import erased_case_id
from application.use_cases import UseCases
from domain.base import actor_of
from domain.inspection import Inspection


class HistoryQueries(UseCases):
    """The events of an inspection and of every aggregate whose events belong to its history."""

    def stream_ids_of(self, inspection: Inspection) -> list[UUID]:
        """The inspection and every aggregate whose events belong to its history."""
        ids = [inspection.id, *inspection.case_ids, *inspection.complaint_ids, *inspection.recommendation_ids]
        for linked in (inspection.reinspection_id, inspection.reinspection_of):
            if linked is not None:
                ids.append(linked)
        return ids

    def history(self, inspection_id: UUID) -> list[dict[str, Any]]:
        """Every event of the inspection, its cases, reinspection and complaints, in recorded order."""
        inspection = self._get(Inspection, inspection_id)
        notifications: list[Notification] = self.recorder.select_by_originators(  # type: ignore[attr-defined]
            self.stream_ids_of(inspection)
        )
        return [self.describe(n) for n in notifications]

    def describe(self, notification: Notification) -> dict[str, Any]:
        """A stored event as plain values: position, stream, version, type, time, actor, data."""
        domain_event = self.mapper.to_domain_event(notification)
        fields = dict(domain_event.__dict__)
        cause = fields.pop("cause", None) or {}
        for name in ("originator_id", "originator_version", "timestamp", "originator_topic"):
            fields.pop(name, None)
        return {
            "position": notification.id,
            "stream": str(notification.originator_id),
            "version": notification.originator_version,
            "type": notification.topic,
            "recorded_at": domain_event.timestamp.isoformat(),  # type: ignore[attr-defined]
            "actor": actor_of(cause),
            "correlation_id": cause.get("correlation_id"),
            "data": self.mark_erased(notification.topic, str(notification.originator_id), to_plain(fields)),
        }

    def mark_erased(self, topic: str, stream: str, data: dict[str, Any]) -> dict[str, Any]:
        """An event's plain data with ``erased: true`` when its personal fields belong to an erased case."""
        case_hex = erased_case_id(topic, stream, lambda: data)
        if case_hex is not None and self.case_keys.is_erased(case_hex):
            data["erased"] = True
        return data


def to_plain(value: Any) -> Any:
    """Event attribute values as JSON-ready plain values."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
