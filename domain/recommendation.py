"""The Recommendation aggregate: made by inspectors in a report, answered by the body it names.

A recommendation is an aggregate of its own, not part of its Inspection (or
Thematic): after publication the organisation answers it and reports progress
for months, while the inspection's record is frozen; had those steps been
events of the inspection they would have raced with every inspector's command
on it (optimistic concurrency is per stream) and reopened a published record.
The report keeps the ids of its recommendations (``recommendation_made``), so
adding one races with publication on the report's stream, and a
recommendation is never added to a report just published without being
published with it.

Lifecycle: made (draft, seen by the inspectorate only) → published with the
report (response due N working days later, ``domain.recommendation_policy``)
→ answered (agreed, partly agreed, not agreed) and progress reported by the
addressee; the deadline process records ``response_overdue`` once when the
due day passes without an answer; a reinspection judges it (achieved, partly
achieved, not achieved) and the judgement is fixed when the follow-up's
report is published.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.access import may_read
from domain.base import Actor, InspectorateAggregate, explicit_topics, same_organisation
from domain.errors import IllegalTransition, InvalidValue, RecordFrozen, RuleViolation
from domain.recommendation_policy import JUDGEMENTS, PROGRESS, RESPONSES

DRAFT, PUBLISHED = "draft", "published"
INSPECTION, THEMATIC = "inspection", "thematic"
MAX_TO, MAX_TEXT, MAX_NOTE = 200, 10_000, 10_000


class AlreadyAnswered(RuleViolation):
    title = "Recommendation already answered"


class UnjudgedRecommendations(RuleViolation):
    title = "Recommendations without a judgement"


def _text(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(field, "must be a non-blank string")
    if len(value) > limit:
        raise InvalidValue(field, f"must be at most {limit} characters")
    return value


def _note(value: object) -> None:
    """A note is optional; given, it is text like any other."""
    if value is not None:
        _text("note", value, MAX_NOTE)


@explicit_topics
class Recommendation(InspectorateAggregate):
    @classmethod
    def make(
        cls,
        report_kind: str,
        report_id: UUID,
        inspected_body: dict[str, Any] | None,
        to: str,
        text: str,
        to_body_id: UUID | None = None,
    ) -> Recommendation:
        if report_kind not in (INSPECTION, THEMATIC):
            raise InvalidValue("report_kind", "must be inspection or thematic")
        return cls(
            report_kind=report_kind,
            report_id=report_id,
            inspected_body=dict(inspected_body) if inspected_body is not None else None,
            to=_text("to", to, MAX_TO),
            to_body_id=to_body_id,
            text=_text("text", text, MAX_TEXT),
        )

    @event("Made", topic="recommendation.made.v1")
    def __init__(
        self,
        report_kind: str,
        report_id: UUID,
        inspected_body: dict[str, Any] | None,
        to: str,
        to_body_id: UUID | None,
        text: str,
    ) -> None:
        self.report_kind = report_kind
        self.report_id = report_id
        self.inspected_body = inspected_body  # the inspection's body (None on a thematic): who reads it
        self.to = to
        self.to_body_id = to_body_id  # the register's id of the addressee, when given (checked by the application)
        self.text = text
        self.status = DRAFT
        self.published_on: date | None = None
        self.response_due_on: date | None = None
        self.policy: str | None = None
        self.response: str | None = None
        self.response_note: str | None = None
        self.responded_on: date | None = None
        self.responded_late: bool | None = None
        self.progress: list[dict[str, Any]] = []
        self.overdue_since: date | None = None
        self.judgement: dict[str, Any] | None = None
        self.judgement_published_on: date | None = None

    # -- who may read and answer it ----------------------------------------------------------

    def addressed_to(self, organisation: str | None) -> bool:
        """The organisation answers for it: it is the addressee, or the inspected body of its report."""
        if same_organisation(organisation, self.to):
            return True
        return self.inspected_body is not None and same_organisation(organisation, self.inspected_body.get("name"))

    def readable_by(self, actor: Actor) -> bool:
        """The inspectorate's roles read every recommendation; an organisation only a published one it
        answers for (before publication, and for anybody else, it does not exist: 404 as an unknown id)."""
        if actor.role != "organisation":
            return True
        if self.status != PUBLISHED:
            return False
        if self.inspected_body is not None and may_read(actor, self.inspected_body):
            return True
        return self.addressed_to(actor.organisation)

    # -- commands -----------------------------------------------------------------------------

    def publish(self, published_on: date, response_due_on: date, policy: str) -> None:
        if self.status == PUBLISHED:
            raise RecordFrozen("the recommendation is already published")
        self._publish(published_on=published_on, response_due_on=response_due_on, policy=policy)

    def respond(self, response: str, note: str | None, on: date) -> None:
        if response not in RESPONSES:
            raise InvalidValue("response", f"must be one of {', '.join(RESPONSES)}")
        _note(note)
        self._require_published("answer")
        if self.response is not None:
            raise AlreadyAnswered(f"the recommendation was answered '{self.response}' on {self.responded_on}")
        late = self.response_due_on is not None and on > self.response_due_on
        self._respond(response=response, note=note, on=on, late=late)

    def report_progress(self, status: str, note: str | None, on: date) -> None:
        if status not in PROGRESS:
            raise InvalidValue("status", f"must be one of {', '.join(PROGRESS)}")
        _note(note)
        self._require_published("report progress on")
        self._report_progress(status=status, note=note, on=on)

    def mark_overdue(self, today: date) -> bool:
        """Record once that the response is overdue, once the due day has passed without one; idempotent.
        True if it changed. The event carries the due day, whatever day the deadline process runs."""
        if (
            self.status != PUBLISHED
            or self.response is not None
            or self.overdue_since is not None
            or self.response_due_on is None
            or today <= self.response_due_on
        ):
            return False
        self._mark_overdue(due_on=self.response_due_on, marked_on=today)
        return True

    def judge(self, judgement: str, note: str | None, reinspection_id: UUID, inspection_id: UUID) -> None:
        """A reinspection's judgement of what was achieved; it may be revised until the follow-up is published."""
        if judgement not in JUDGEMENTS:
            raise InvalidValue("judgement", f"must be one of {', '.join(JUDGEMENTS)}")
        _note(note)
        self._require_published("judge")
        if self.judgement_published_on is not None:
            raise RecordFrozen("the reinspection's report is published; its judgement never changes")
        self._judge(judgement=judgement, note=note, reinspection_id=reinspection_id, inspection_id=inspection_id)

    def publish_judgement(self, published_on: date) -> None:
        """Fix the judgement: the follow-up's report that makes it is published."""
        if self.judgement is None:
            raise UnjudgedRecommendations(f"recommendation {self.id} has no judgement from the reinspection yet")
        if self.judgement_published_on is not None:
            raise RecordFrozen("the judgement is already published")
        self._publish_judgement(
            judgement=self.judgement["judgement"],
            reinspection_id=UUID(str(self.judgement["reinspection_id"])),
            inspection_id=UUID(str(self.judgement["inspection_id"])),
            published_on=published_on,
        )

    def _require_published(self, action: str) -> None:
        if self.status != PUBLISHED:
            raise IllegalTransition(f"cannot {action} a recommendation before its report is published")

    # -- events -------------------------------------------------------------------------------

    @event("Published", topic="recommendation.published.v1")
    def _publish(self, published_on: date, response_due_on: date, policy: str) -> None:
        self.status = PUBLISHED
        self.published_on = published_on
        self.response_due_on = response_due_on
        self.policy = policy

    @event("Responded", topic="recommendation.responded.v1")
    def _respond(self, response: str, note: str | None, on: date, late: bool) -> None:
        self.response = response
        self.response_note = note
        self.responded_on = on
        self.responded_late = late

    @event("ProgressReported", topic="recommendation.progress_reported.v1")
    def _report_progress(self, status: str, note: str | None, on: date) -> None:
        self.progress = [*self.progress, {"status": status, "note": note, "on": on}]

    @event("ResponseOverdue", topic="recommendation.response_overdue.v1")
    def _mark_overdue(self, due_on: date, marked_on: date) -> None:
        self.overdue_since = due_on

    @event("Judged", topic="recommendation.judged.v1")
    def _judge(self, judgement: str, note: str | None, reinspection_id: UUID, inspection_id: UUID) -> None:
        self.judgement = {
            "judgement": judgement,
            "note": note,
            "reinspection_id": reinspection_id,
            "inspection_id": inspection_id,
        }

    @event("JudgementPublished", topic="recommendation.judgement_published.v1")
    def _publish_judgement(
        self, judgement: str, reinspection_id: UUID, inspection_id: UUID, published_on: date
    ) -> None:
        self.judgement_published_on = published_on
