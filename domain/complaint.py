"""The Complaint aggregate: received → acknowledged → responded → (escalated) → closed."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import Actor, InspectorateAggregate, explicit_topics
from domain.errors import IllegalTransition, InvalidValue
from domain.frameworks import complaints_policy_for

RECEIVED, ACKNOWLEDGED, RESPONDED, ESCALATED, CLOSED = (
    "received",
    "acknowledged",
    "responded",
    "escalated",
    "closed",
)


@explicit_topics
class Complaint(InspectorateAggregate):
    @classmethod
    def receive(
        cls,
        inspection_id: UUID,
        category: str,
        summary: str,
        complainant: Actor,
        received_on: date,
        response_due_on: date,
    ) -> Complaint:
        policy = complaints_policy_for(received_on)
        if category not in policy.categories:
            raise InvalidValue("category", f"must be one of {', '.join(policy.categories)}")
        return cls(
            inspection_id=inspection_id,
            category=category,
            summary=summary,
            complainant=complainant.as_dict(),
            received_on=received_on,
            response_due_on=response_due_on,
            policy=policy.code,
        )

    @event("Received", topic="complaint.received.v1")
    def __init__(
        self,
        inspection_id: UUID,
        category: str,
        summary: str,
        complainant: dict[str, Any],
        received_on: date,
        response_due_on: date,
        policy: str,
    ) -> None:
        self.inspection_id = inspection_id
        self.category = category
        self.summary = summary
        self.complainant = complainant
        self.received_on = received_on
        self.response_due_on = response_due_on
        self.policy = policy
        self.status = RECEIVED
        self.responses: list[str] = []
        self.escalation_reason: str | None = None
        self.outcome: str | None = None
        self.responded_on: date | None = None
        self.closed_on: date | None = None

    def acknowledge(self) -> None:
        self._require({RECEIVED}, "acknowledge")
        self._acknowledge()

    def respond(self, response: str, on: date) -> None:
        self._require({ACKNOWLEDGED, ESCALATED}, "respond to")
        self._respond(response=response, on=on)

    def escalate(self, reason: str) -> None:
        self._require({RESPONDED}, "escalate")
        self._escalate(reason=reason)

    def close(self, outcome: str, on: date) -> None:
        policy = complaints_policy_for(self.received_on)
        if outcome not in policy.outcomes:
            raise InvalidValue("outcome", f"must be one of {', '.join(policy.outcomes)}")
        if outcome == "withdrawn":
            self._require({RECEIVED, ACKNOWLEDGED, RESPONDED, ESCALATED}, "close")
        else:
            self._require({RESPONDED, ESCALATED}, f"close as '{outcome}'")
        self._close(outcome=outcome, on=on)

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED

    def _require(self, allowed: set[str], action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(f"cannot {action} a complaint that is '{self.status}'")

    @event("Acknowledged", topic="complaint.acknowledged.v1")
    def _acknowledge(self) -> None:
        self.status = ACKNOWLEDGED

    @event("Responded", topic="complaint.responded.v1")
    def _respond(self, response: str, on: date) -> None:
        self.status = RESPONDED
        self.responses.append(response)
        if self.responded_on is None:
            self.responded_on = on

    @event("Escalated", topic="complaint.escalated.v1")
    def _escalate(self, reason: str) -> None:
        self.status = ESCALATED
        self.escalation_reason = reason

    @event("Closed", topic="complaint.closed.v1")
    def _close(self, outcome: str, on: date) -> None:
        self.status = CLOSED
        self.outcome = outcome
        self.closed_on = on
