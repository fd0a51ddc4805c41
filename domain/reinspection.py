"""The Reinspection aggregate: a follow-up due about 12 months after a report of concern."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import InspectorateAggregate, explicit_topics, same_organisation
from domain.errors import IllegalTransition
from domain.scoring import compare

PENDING, DUE, SCHEDULED, COMPLETED = "pending", "due", "scheduled", "completed"


def status_on(status: str, due_on: date, today: date) -> str:
    """The status as of ``today``: 'due' from the due date on, even before the
    deadline process has recorded it (so every read agrees with the calendar)."""
    return DUE if status == PENDING and today >= due_on else status


@explicit_topics
class Reinspection(InspectorateAggregate):
    @event("Triggered", topic="reinspection.triggered.v1")
    def __init__(
        self,
        origin_inspection_id: UUID,
        programme: str,
        inspected_body: dict[str, Any],
        published_on: date,
        due_on: date,
        original_scores: dict[str, Any],
    ) -> None:
        self.origin_inspection_id = origin_inspection_id
        self.programme = programme
        self.inspected_body = inspected_body
        self.published_on = published_on
        self.due_on = due_on
        self.original_scores = original_scores
        self.status = PENDING
        self.reinspection_inspection_id: UUID | None = None
        self.comparison: dict[str, Any] | None = None

    def become_due(self, today: date) -> bool:
        """Mark due once the clock reaches the due date; idempotent. True if it changed.

        The event carries the day it fell due, not ``today``: the deadline process
        may run late (after downtime, or the first time in years) and the record
        must still say when the reinspection became due."""
        if self.status != PENDING or today < self.due_on:
            return False
        self._become_due(due_on=self.due_on, marked_on=today)
        return True

    def schedule(
        self,
        inspection_id: UUID,
        programme: str,
        inspected_body: dict[str, Any],
        status: str,
        fieldwork_start: date,
    ) -> None:
        """Link the follow-up: a still-scheduled inspection of the same body and programme whose
        fieldwork starts after the origin was published (it cannot follow up a report not yet out)."""
        if self.status not in (PENDING, DUE):
            raise IllegalTransition(f"cannot schedule a reinspection that is '{self.status}'")
        if inspection_id == self.origin_inspection_id:
            raise IllegalTransition("an inspection cannot be its own reinspection")
        if programme != self.programme or not same_organisation(
            inspected_body.get("name"), self.inspected_body.get("name")
        ):
            raise IllegalTransition("the follow-up must inspect the same body under the same programme")
        if status != "scheduled":
            raise IllegalTransition(f"the follow-up must be a scheduled inspection; it is '{status}'")
        if fieldwork_start <= self.published_on:
            raise IllegalTransition(
                f"the follow-up's fieldwork ({fieldwork_start.isoformat()}) must start after the origin "
                f"was published ({self.published_on.isoformat()})"
            )
        self._schedule(inspection_id=inspection_id)

    def complete(self, reinspection_scores: dict[str, Any]) -> None:
        if self.status != SCHEDULED:
            raise IllegalTransition(f"cannot complete a reinspection that is '{self.status}'")
        self._complete(
            reinspection_scores=reinspection_scores,
            comparison=compare(self.original_scores, reinspection_scores),
        )

    class BecameDue(InspectorateAggregate.Event):
        """The due day came: ``due_on`` is that day; ``marked_on`` the day the deadline process recorded it."""

        TOPIC = "reinspection.became_due.v1"
        class_version = 2
        due_on: date | None  # null only in events recorded before class version 2 (see upcast_v1_v2)
        marked_on: date

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 recorded one date, ``on``: the day the deadline process ran, which was the due
            day only if it ran on time. It is kept, under its true name; the due day, which version 1
            did not record, is the reinspection's ``due_on`` (readers take it from there)."""
            state["marked_on"] = state.pop("on")
            state["due_on"] = None

    @event(BecameDue)
    def _become_due(self, due_on: date, marked_on: date) -> None:
        self.status = DUE

    @event("Scheduled", topic="reinspection.scheduled.v1")
    def _schedule(self, inspection_id: UUID) -> None:
        self.status = SCHEDULED
        self.reinspection_inspection_id = inspection_id

    @event("Completed", topic="reinspection.completed.v1")
    def _complete(self, reinspection_scores: dict[str, Any], comparison: dict[str, Any]) -> None:
        self.status = COMPLETED
        self.comparison = comparison
