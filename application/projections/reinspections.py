"""Reinspections: pending, due, scheduled and completed, with due dates and the before/after comparison."""

from __future__ import annotations

from typing import Any

from application.projections.store import Fact, Row, Tables, View, body_key, handles, text

REINSPECTIONS = "vw_reinspections"


class ReinspectionsView(View):
    name = "reinspections"
    cost = 0.1
    tables = (REINSPECTIONS,)

    @handles("reinspection.triggered.v1")
    def triggered(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        t[REINSPECTIONS].put(
            {
                "id": fact.key,
                "origin_inspection_id": str(s["origin_inspection_id"]),
                "programme": s["programme"],
                "body": s["inspected_body"]["name"],
                "body_key": body_key(s["inspected_body"]["name"]),
                "published_on": s["published_on"],
                "due_on": s["due_on"],
                "status": "pending",
                "became_due_on": None,
                "reinspection_inspection_id": None,
                "original_scores": s["original_scores"],
                "reinspection_scores": None,
                "comparison": None,
            }
        )

    @handles("reinspection.became_due.v1")
    def became_due(self, fact: Fact, t: Tables) -> None:
        """The day it fell due: the event's ``due_on``, or (an event of class version 1, which recorded only
        the day the deadline process ran) the reinspection's own due date."""
        row = t[REINSPECTIONS].get(fact.key)
        if row is not None:
            row.update(status="due", became_due_on=fact.state.get("due_on") or row["due_on"])
            t[REINSPECTIONS].put(row)

    @handles("reinspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        self._change(fact, t, status="scheduled", reinspection_inspection_id=str(fact.state["inspection_id"]))

    @handles("reinspection.completed.v1")
    def completed(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        self._change(
            fact, t, status="completed", reinspection_scores=s["reinspection_scores"], comparison=s["comparison"]
        )

    @staticmethod
    def _change(fact: Fact, t: Tables, **values: Any) -> None:
        row = t[REINSPECTIONS].get(fact.key)
        if row is not None:
            row.update(values)
            t[REINSPECTIONS].put(row)


def reinspection_item(row: Row) -> dict[str, Any]:
    """One reinspection as ``GET /v1/reinspections`` lists it."""
    return {
        "id": row["id"],
        "origin_inspection_id": row["origin_inspection_id"],
        "programme": row["programme"],
        "inspected_body": row["body"],
        "published_on": text(row["published_on"]),
        "due_on": text(row["due_on"]),
        "status": row["status"],
        "became_due_on": text(row["became_due_on"]),
        "reinspection_inspection_id": row["reinspection_inspection_id"],
        "original_scores": row["original_scores"],
        "reinspection_scores": row["reinspection_scores"],
        "comparison": row["comparison"],
    }
