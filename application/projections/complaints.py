"""Complaints: open and overdue counts, by category and outcome, with one item per complaint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from application.projections.store import Fact, Row, Tables, View, body_key, handles, text

COMPLAINTS, INSPECTIONS = "vw_complaints", "vw_complaint_inspections"


class ComplaintsView(View):
    name = "complaints"
    cost = 0.1
    tables = (COMPLAINTS, INSPECTIONS)

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        name = fact.state["inspected_body"]["name"]
        t[INSPECTIONS].put({"id": fact.key, "body": name, "programme": fact.state["programme"]})

    @handles("complaint.received.v1")
    def received(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        inspection = t[INSPECTIONS].get(str(s["inspection_id"])) or {}
        t[COMPLAINTS].put(
            {
                "id": fact.key,
                "inspection_id": str(s["inspection_id"]),
                "body": inspection.get("body"),
                "body_key": body_key(inspection.get("body")),
                "programme": inspection.get("programme"),
                "category": s["category"],
                "status": "received",
                "received_on": s["received_on"],
                "response_due_on": s["response_due_on"],
                "responded_on": None,
                "escalated": False,
                "outcome": None,
                "closed_on": None,
            }
        )

    @handles("complaint.acknowledged.v1")
    def acknowledged(self, fact: Fact, t: Tables) -> None:
        self._change(fact, t, status="acknowledged")

    @handles("complaint.responded.v1")
    def responded(self, fact: Fact, t: Tables) -> None:
        row = self._change(fact, t, status="responded")
        if row is not None and row["responded_on"] is None:
            row["responded_on"] = fact.state["on"]

    @handles("complaint.escalated.v1")
    def escalated(self, fact: Fact, t: Tables) -> None:
        self._change(fact, t, status="escalated", escalated=True)

    @handles("complaint.closed.v1")
    def closed(self, fact: Fact, t: Tables) -> None:
        self._change(fact, t, status="closed", outcome=fact.state["outcome"], closed_on=fact.state["on"])

    @staticmethod
    def _change(fact: Fact, t: Tables, **values: Any) -> Row | None:
        row = t[COMPLAINTS].get(fact.key)
        if row is not None:
            row.update(values)
            t[COMPLAINTS].put(row)
        return row


def is_overdue(row: Row, today: date) -> bool:
    """Open, not yet responded to, and its response date has passed."""
    return row["status"] != "closed" and row["responded_on"] is None and row["response_due_on"] < today


def complaints_body(rows: Iterable[Row], today: date) -> dict[str, Any]:
    """The complaints view as the API answers it, judged against ``today``."""
    rows = list(rows)
    open_rows = [r for r in rows if r["status"] != "closed"]
    return {
        "today": today.isoformat(),
        "total": len(rows),
        "open": len(open_rows),
        "overdue": sum(1 for r in open_rows if is_overdue(r, today)),
        "by_category": dict(sorted(Counter(r["category"] for r in rows).items())),
        "open_by_category": dict(sorted(Counter(r["category"] for r in open_rows).items())),
        "by_outcome": dict(sorted(Counter(r["outcome"] for r in rows if r["outcome"]).items())),
        "items": [
            {
                "id": r["id"],
                "inspection_id": r["inspection_id"],
                "inspected_body": r["body"],
                "category": r["category"],
                "status": r["status"],
                "received_on": text(r["received_on"]),
                "response_due_on": text(r["response_due_on"]),
                "responded_on": text(r["responded_on"]),
                "overdue": is_overdue(r, today),
                "escalated": r["escalated"],
                "outcome": r["outcome"],
                "closed_on": text(r["closed_on"]),
            }
            for r in rows
        ],
    }
