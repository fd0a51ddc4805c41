"""Reinspections: one follows up a report of concern; the deadline process marks it due.

A mixin of ``InspectorateApp``. Publication triggers a reinspection
(``InspectionCommands.publish``); here one is scheduled as a follow-up
inspection, marked due when its day comes, and read with its status as of today.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.representations import reinspection_dict
from application.results import Result
from application.use_cases import Decision, UseCases
from domain import clock
from domain.base import SYSTEM, Actor
from domain.errors import NotFound
from domain.inspection import Inspection
from domain.reinspection import Reinspection, status_on


class ReinspectionCommands(UseCases):
    """Scheduling a reinspection, the deadline process, and reading reinspections."""

    if TYPE_CHECKING:  # provided by RecommendationCommands

        def with_judged_recommendations(
            self, body: dict[str, Any], reinspection: Reinspection, drafts: bool = True
        ) -> dict[str, Any]: ...

    def schedule_reinspection(
        self,
        actor: Actor,
        reinspection_id: UUID,
        inspection_id: UUID,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            reinspection = self._get(Reinspection, reinspection_id, expected_version)
            follow_up = self._get(Inspection, inspection_id)
            reinspection.schedule(
                follow_up.id,
                follow_up.programme,
                follow_up.inspected_body,
                follow_up.status,
                follow_up.fieldwork_start,
            )
            follow_up.designate_as_reinspection(reinspection.id)
            return [reinspection, follow_up], lambda: Result(
                reinspection_dict(reinspection), reinspection.version, None
            )

        return self._run(actor, correlation_id, decide, expected_version)

    def mark_due_reinspections(self, today: date | None = None) -> int:
        """The deadline process: mark every pending reinspection whose due date has come.

        Idempotent, and it catches up after downtime because it looks at every
        reinspection ever triggered rather than at a timer that could be missed.
        """
        today = today or clock.today()
        marked = 0
        for reinspection_id in self._ids_with_topic("reinspection.triggered.v1"):

            def decide(rid: UUID = reinspection_id) -> Decision:
                reinspection = self._get(Reinspection, rid)
                changed = reinspection.become_due(today)
                return ([reinspection] if changed else []), lambda: Result({"changed": changed}, 0, None)

            result = self._run(SYSTEM, "deadline-process", decide)
            marked += bool(result.body["changed"])
        return marked

    def get_reinspection(self, reinspection_id: UUID) -> Reinspection:
        return self._get(Reinspection, reinspection_id, copy=False)

    def reinspection_state(self, reinspection_id: UUID, drafts: bool = True) -> dict[str, Any]:
        """A reinspection as plain values, its status as of today (see ``_status_today``), with the origin's
        recommendations and their judgements (``drafts=False``: only judgements already published)."""
        reinspection = self._get(Reinspection, reinspection_id, copy=False)
        return self.with_judged_recommendations(_status_today(reinspection_dict(reinspection)), reinspection, drafts)

    def list_reinspections(
        self, origin_inspection_id: UUID | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Reinspections in the order they were triggered, optionally of one inspection, in one status.

        Reads the event store (a view may back this later); filtering by the
        origin inspection goes straight to its one reinspection.
        """
        if origin_inspection_id is not None:
            try:
                origin = self._get(Inspection, origin_inspection_id, copy=False)
            except NotFound:
                return []
            ids: Iterable[UUID] = [origin.reinspection_id] if origin.reinspection_id else []
        else:
            ids = self._ids_with_topic("reinspection.triggered.v1")
        items = [_status_today(reinspection_dict(self._get(Reinspection, rid, copy=False))) for rid in ids]
        return [item for item in items if status is None or item["status"] == status]


def _status_today(body: dict[str, Any]) -> dict[str, Any]:
    """The reinspection's status as of today (``domain.reinspection.status_on``)."""
    body["status"] = status_on(body["status"], date.fromisoformat(body["due_on"]), clock.today())
    return body
