"""Complaints about an inspection: received, acknowledged, answered, escalated, closed.

A mixin of ``InspectorateApp``. The response falls due a number of working days
after receipt, by the complaints policy in force that day (``domain.frameworks``).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from application.representations import complaint_dict
from application.results import Result
from application.use_cases import Decision, UseCases
from domain import clock
from domain.access import ensure_may_read
from domain.base import Actor
from domain.calendar import add_working_days
from domain.complaint import Complaint
from domain.errors import NotFound
from domain.frameworks import complaints_policy_for
from domain.inspection import Inspection


class ComplaintCommands(UseCases):
    """A complaint's steps, each in the application's command loop."""

    def receive_complaint(
        self,
        actor: Actor,
        inspection_id: UUID,
        category: str,
        summary: str,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id)
            # Another body's inspection does not exist for an organisation: the same 404 as an unknown id.
            ensure_may_read(actor, inspection.inspected_body, NotFound.record(Inspection.__name__, inspection_id))
            received_on = clock.today()
            policy = complaints_policy_for(received_on)
            complaint = Complaint.receive(
                inspection.id,
                category,
                summary,
                actor,
                received_on,
                add_working_days(received_on, policy.response_working_days, self.is_holiday),
            )
            inspection.link_complaint(complaint.id)
            return [complaint, inspection], lambda: Result(complaint_dict(complaint), complaint.version, None)

        return self._run(actor, correlation_id, decide)

    def acknowledge_complaint(
        self, actor: Actor, complaint_id: UUID, expected_version: int | None = None, correlation_id: str | None = None
    ) -> Result:
        return self._complaint_step(actor, complaint_id, lambda c: c.acknowledge(), expected_version, correlation_id)

    def respond_to_complaint(
        self,
        actor: Actor,
        complaint_id: UUID,
        response: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        return self._complaint_step(
            actor, complaint_id, lambda c: c.respond(response, clock.today()), expected_version, correlation_id
        )

    def escalate_complaint(
        self,
        actor: Actor,
        complaint_id: UUID,
        reason: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        return self._complaint_step(actor, complaint_id, lambda c: c.escalate(reason), expected_version, correlation_id)

    def close_complaint(
        self,
        actor: Actor,
        complaint_id: UUID,
        outcome: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        return self._complaint_step(
            actor, complaint_id, lambda c: c.close(outcome, clock.today()), expected_version, correlation_id
        )

    def _complaint_step(
        self,
        actor: Actor,
        complaint_id: UUID,
        step: Callable[[Complaint], None],
        expected_version: int | None,
        correlation_id: str | None,
    ) -> Result:
        def decide() -> Decision:
            complaint = self._get(Complaint, complaint_id, expected_version)
            step(complaint)
            return [complaint], lambda: Result(complaint_dict(complaint), complaint.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def get_complaint(self, complaint_id: UUID) -> Complaint:
        return self._get(Complaint, complaint_id, copy=False)
