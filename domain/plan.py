"""The Plan aggregate: a programme's selection of bodies to inspect in a business year, with its reasons.

One plan per programme and year (its id derives from them); drawing it up again
(new figures, a new capacity) records the new selection beside the old one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import InspectorateAggregate, explicit_topics

PLAN_NAMESPACE = UUID("8c3e2b71-4f0a-4d6e-b5a9-1e7d2c9f6a30")


def plan_id_for(programme: str, year: str) -> UUID:
    return uuid5(PLAN_NAMESPACE, f"{programme}|{year}")


@explicit_topics
class Plan(InspectorateAggregate):
    @staticmethod
    def create_id(programme: str, year: str, **_: Any) -> UUID:
        return plan_id_for(programme, year)

    @event("DrawnUp", topic="plan.drawn_up.v1")
    def __init__(
        self,
        programme: str,
        year: str,
        criteria: str,
        capacity: int,
        selected: list[dict[str, Any]],
        not_selected: list[dict[str, Any]],
    ) -> None:
        self.programme = programme
        self.year = year
        self._set(criteria, capacity, selected, not_selected)

    def redraw(
        self, criteria: str, capacity: int, selected: list[dict[str, Any]], not_selected: list[dict[str, Any]]
    ) -> None:
        self._redraw(criteria=criteria, capacity=capacity, selected=selected, not_selected=not_selected)

    @event("Redrawn", topic="plan.redrawn.v1")
    def _redraw(
        self, criteria: str, capacity: int, selected: list[dict[str, Any]], not_selected: list[dict[str, Any]]
    ) -> None:
        self._set(criteria, capacity, selected, not_selected)

    def _set(
        self, criteria: str, capacity: int, selected: list[dict[str, Any]], not_selected: list[dict[str, Any]]
    ) -> None:
        self.criteria = criteria
        self.capacity = capacity
        self.selected = selected
        self.not_selected = not_selected

    def entries(self) -> list[dict[str, Any]]:
        return [
            *({**e, "selected": True} for e in self.selected),
            *({**e, "selected": False} for e in self.not_selected),
        ]
