"""Recommendations and thematic inspections: the use cases, mixed into ``InspectorateApp``.

They use the application's command loop (``_run``: load, decide, save, retry
a lost race) like every other command; only their own aggregates
(``domain.recommendation``, ``domain.thematic``) and the report's link to its
recommendations are written here. Publication of an inspection calls
``_recommendations_at_publication`` from ``InspectionCommands.publish`` (``application.inspections``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.results import Result
from application.use_cases import Decision, UseCases
from domain import clock
from domain.access import ensure_may_read
from domain.base import SYSTEM, Actor, InspectorateAggregate
from domain.body import Body
from domain.calendar import add_working_days
from domain.errors import IllegalTransition, InvalidValue, NotFound, PermissionDenied, RecordFrozen
from domain.inspection import Inspection
from domain.recommendation import INSPECTION, THEMATIC, Recommendation
from domain.recommendation_policy import recommendations_policy_for
from domain.reinspection import COMPLETED, SCHEDULED, Reinspection
from domain.thematic import Thematic

PUBLISHED_TOPIC = "recommendation.published.v1"
ANNOUNCED_TOPIC = "thematic.announced.v1"


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def recommendation_dict(r: Recommendation, today: date, *, drafts: bool = True) -> dict[str, Any]:
    """A recommendation as plain values. ``drafts=False`` (an organisation) leaves out a reinspection's
    judgement until the follow-up's report that makes it is published."""
    latest = r.progress[-1] if r.progress else None
    judgement = r.judgement if r.judgement is not None and (drafts or r.judgement_published_on) else None
    return {
        "id": str(r.id),
        "report": {"kind": r.report_kind, "id": str(r.report_id)},
        "inspection_id": str(r.report_id) if r.report_kind == INSPECTION else None,
        "thematic_id": str(r.report_id) if r.report_kind == THEMATIC else None,
        "to": r.to,
        "to_body_id": str(r.to_body_id) if r.to_body_id else None,
        "text": r.text,
        "status": r.status,
        "published_on": _iso(r.published_on),
        "response_due_on": _iso(r.response_due_on),
        "response": r.response,
        "response_note": r.response_note,
        "responded_on": _iso(r.responded_on),
        "responded_late": r.responded_late,
        "response_overdue": r.response is None and r.response_due_on is not None and today > r.response_due_on,
        "progress": latest["status"] if latest else None,
        "progress_note": latest["note"] if latest else None,
        "progress_reported_on": _iso(latest["on"]) if latest else None,
        "progress_reports": [{"status": p["status"], "note": p["note"], "on": _iso(p["on"])} for p in r.progress],
        "judgement": judgement["judgement"] if judgement else None,
        "judgement_note": judgement["note"] if judgement else None,
        "judged_in": {
            "reinspection_id": str(judgement["reinspection_id"]),
            "inspection_id": str(judgement["inspection_id"]),
        }
        if judgement
        else None,
        "judgement_published_on": _iso(r.judgement_published_on) if judgement else None,
        "version": r.version,
    }


def thematic_dict(t: Thematic, *, drafts: bool = True) -> dict[str, Any]:
    """A thematic inspection as plain values; ``drafts=False`` (an organisation) leaves out its findings
    until they are published."""
    return {
        "id": str(t.id),
        "title": t.title,
        "topic": t.topic,
        "sector": t.sector,
        "partners": list(t.partners),
        "joint": t.joint,
        "announced_on": _iso(t.announced_on),
        "planned_fieldwork_start": _iso(t.planned_fieldwork_start),
        "status": t.status,
        "fieldwork_start": _iso(t.fieldwork_start),
        "findings": t.findings if drafts or t.status == "published" else None,
        "published_on": _iso(t.published_on),
        "recommendation_ids": [str(r) for r in t.recommendation_ids],
        "version": t.version,
    }


class RecommendationCommands(UseCases):
    """Recommendations (make, answer, report progress, judge, the response deadline) and thematics."""

    if TYPE_CHECKING:  # provided by BodiesMixin

        def _find(self, cls: type[Any], aggregate_id: UUID, *, copy: bool = True) -> Any: ...

    # -- recommendations --------------------------------------------------------------------

    def make_recommendation(
        self,
        actor: Actor,
        report_id: UUID,
        to: str,
        text: str,
        to_body_id: UUID | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """A recommendation in an inspection's (or a thematic's) report, before it is published."""

        def decide() -> Decision:
            report = self._report(report_id, expected_version)
            if to_body_id is not None and self._find(Body, to_body_id) is None:
                raise InvalidValue("to_body_id", f"no body with id {to_body_id} is registered")
            if isinstance(report, Inspection):
                recommendation = Recommendation.make(INSPECTION, report.id, report.inspected_body, to, text, to_body_id)
            else:
                recommendation = Recommendation.make(THEMATIC, report.id, None, to, text, to_body_id)
            report.link_recommendation(recommendation.id)
            return [report, recommendation], lambda: Result(
                recommendation_dict(recommendation, clock.today()), recommendation.version, None
            )

        return self._run(actor, correlation_id, decide, expected_version)

    def respond_to_recommendation(
        self,
        actor: Actor,
        recommendation_id: UUID,
        response: str,
        note: str | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """The addressee's answer: agreed, partly agreed or not agreed (once; late answers say so)."""
        return self._answer(
            actor,
            recommendation_id,
            lambda r: r.respond(response, note, clock.today()),
            expected_version,
            correlation_id,
        )

    def report_recommendation_progress(
        self,
        actor: Actor,
        recommendation_id: UUID,
        status: str,
        note: str | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """The addressee's progress: not started, in progress, achieved (as often as it changes)."""
        return self._answer(
            actor,
            recommendation_id,
            lambda r: r.report_progress(status, note, clock.today()),
            expected_version,
            correlation_id,
        )

    def _answer(
        self,
        actor: Actor,
        recommendation_id: UUID,
        step: Callable[[Recommendation], None],
        expected_version: int | None,
        correlation_id: str | None,
    ) -> Result:
        def decide() -> Decision:
            recommendation = self._get(Recommendation, recommendation_id, expected_version)
            if not recommendation.readable_by(actor):  # before publication, or another body's: no such record
                raise NotFound.record(Recommendation.__name__, recommendation_id)
            if actor.role != "organisation":
                raise PermissionDenied("only the organisation it is addressed to answers a recommendation")
            step(recommendation)
            return [recommendation], lambda: Result(
                recommendation_dict(recommendation, clock.today(), drafts=False), recommendation.version, None
            )

        return self._run(actor, correlation_id, decide, expected_version)

    def judge_recommendation(
        self,
        actor: Actor,
        recommendation_id: UUID,
        judgement: str,
        note: str | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """The reinspection judges what was achieved, while its follow-up inspection is not yet published."""

        def decide() -> Decision:
            recommendation = self._get(Recommendation, recommendation_id, expected_version)
            if recommendation.report_kind != INSPECTION:
                raise IllegalTransition("a thematic inspection's recommendations are not judged by a reinspection")
            origin = self._get(Inspection, recommendation.report_id, copy=False)
            if origin.reinspection_id is None:
                raise IllegalTransition("the report of this recommendation triggered no reinspection")
            reinspection = self._get(Reinspection, origin.reinspection_id, copy=False)
            if reinspection.status == COMPLETED:
                raise RecordFrozen("the reinspection's report is published; its judgements never change")
            if reinspection.status != SCHEDULED or reinspection.reinspection_inspection_id is None:
                raise IllegalTransition(
                    f"a reinspection judges recommendations while its follow-up is under way; "
                    f"this one is '{reinspection.status}'"
                )
            recommendation.judge(judgement, note, reinspection.id, reinspection.reinspection_inspection_id)
            return [recommendation], lambda: Result(
                recommendation_dict(recommendation, clock.today()), recommendation.version, None
            )

        return self._run(actor, correlation_id, decide, expected_version)

    def get_recommendation(self, actor: Actor, recommendation_id: UUID) -> dict[str, Any]:
        recommendation = self._get(Recommendation, recommendation_id, copy=False)
        if not recommendation.readable_by(actor):
            raise NotFound.record(Recommendation.__name__, recommendation_id)
        return recommendation_dict(recommendation, clock.today(), drafts=actor.role != "organisation")

    def recommendations_of(self, actor: Actor, report_id: UUID) -> list[dict[str, Any]]:
        """The report's recommendations the actor may read, in the order they were made."""
        report = self._report(report_id, copy=False)
        if isinstance(report, Inspection):
            ensure_may_read(actor, report.inspected_body, NotFound.record(Inspection.__name__, report_id))
        today, drafts = clock.today(), actor.role != "organisation"
        items = [self._get(Recommendation, rid, copy=False) for rid in report.recommendation_ids]
        return [recommendation_dict(r, today, drafts=drafts) for r in items if r.readable_by(actor)]

    def mark_overdue_responses(self, today: date | None = None) -> int:
        """The deadline process: record once for each published recommendation whose response due day has
        passed without an answer. Idempotent; catches up after downtime (it looks at every published one)."""
        today = today or clock.today()
        marked = 0
        for recommendation_id in self._ids_with_topic(PUBLISHED_TOPIC):
            current = self._get(Recommendation, recommendation_id, copy=False)
            if (
                current.response is not None
                or current.overdue_since is not None
                or current.response_due_on is None
                or today <= current.response_due_on
            ):
                continue  # (read first: most have an answer, and a command per recommendation a minute is waste)

            def decide(rid: UUID = recommendation_id) -> Decision:
                recommendation = self._get(Recommendation, rid)
                changed = recommendation.mark_overdue(today)
                return ([recommendation] if changed else []), lambda: Result({"changed": changed}, 0, None)

            marked += bool(self._run(SYSTEM, "deadline-process", decide).body["changed"])
        return marked

    def _recommendations_at_publication(
        self, report: Inspection | Thematic, published_on: date
    ) -> list[Recommendation]:
        """Publishing a report publishes its recommendations (their response falls due N working days
        later), and publishing a reinspection's follow-up fixes its judgement of each of the origin's
        (every one must have been judged)."""
        changed = []
        policy = recommendations_policy_for(published_on)
        due_on = add_working_days(published_on, policy.response_working_days, self.is_holiday)
        for recommendation_id in report.recommendation_ids:
            recommendation = self._get(Recommendation, recommendation_id)
            recommendation.publish(published_on, due_on, policy.code)
            changed.append(recommendation)
        if isinstance(report, Inspection) and report.reinspection_of is not None:
            reinspection = self._get(Reinspection, report.reinspection_of, copy=False)
            origin = self._get(Inspection, reinspection.origin_inspection_id, copy=False)
            for recommendation_id in origin.recommendation_ids:
                recommendation = self._get(Recommendation, recommendation_id)
                recommendation.publish_judgement(published_on)
                changed.append(recommendation)
        return changed

    def with_judged_recommendations(
        self, body: dict[str, Any], reinspection: Reinspection, drafts: bool = True
    ) -> dict[str, Any]:
        """The reinspection's comparison with the origin's recommendations and the reinspection's judgements."""
        origin = self._get(Inspection, reinspection.origin_inspection_id, copy=False)
        today = clock.today()
        body["recommendations"] = [
            {
                key: item[key]
                for key in (
                    "id",
                    "to",
                    "text",
                    "response",
                    "progress",
                    "judgement",
                    "judgement_note",
                    "judgement_published_on",
                )
            }
            for item in (
                recommendation_dict(self._get(Recommendation, rid, copy=False), today, drafts=drafts)
                for rid in origin.recommendation_ids
            )
        ]
        return body

    def _report(
        self, report_id: UUID, expected_version: int | None = None, *, copy: bool = True
    ) -> Inspection | Thematic:
        """An inspection or a thematic inspection: the reports recommendations are made in."""
        try:
            report = self._get(InspectorateAggregate, report_id, expected_version, copy=copy)
        except NotFound:
            raise NotFound.record(Inspection.__name__, report_id) from None
        if not isinstance(report, (Inspection, Thematic)):
            raise NotFound.record(Inspection.__name__, report_id)
        return report

    # -- thematic inspections ----------------------------------------------------------------

    def announce_thematic(
        self,
        actor: Actor,
        title: str,
        topic: str,
        sector: str,
        partners: list[str],
        announced_on: date,
        fieldwork_start: date | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            thematic = Thematic.announce(title, topic, sector, partners, announced_on, clock.today(), fieldwork_start)
            return [thematic], lambda: Result(thematic_dict(thematic), thematic.version, None)

        return self._run(actor, correlation_id, decide)

    def start_thematic_fieldwork(
        self,
        actor: Actor,
        thematic_id: UUID,
        fieldwork_start: date | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        return self._thematic_step(
            actor,
            thematic_id,
            lambda t: t.start_fieldwork(fieldwork_start or clock.today(), clock.today()),
            expected_version,
            correlation_id,
        )

    def record_thematic_findings(
        self,
        actor: Actor,
        thematic_id: UUID,
        findings: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        return self._thematic_step(
            actor, thematic_id, lambda t: t.record_findings(findings), expected_version, correlation_id
        )

    def publish_thematic(
        self,
        actor: Actor,
        thematic_id: UUID,
        published_on: date,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """Publish the findings with the recommendations (each then falls due for an answer)."""

        def decide() -> Decision:
            thematic = self._get(Thematic, thematic_id, expected_version)
            thematic.check_publication(published_on, clock.today())
            changed: list[InspectorateAggregate] = [thematic]
            changed.extend(self._recommendations_at_publication(thematic, published_on))
            thematic.publish(published_on, clock.today())
            return changed, lambda: Result(thematic_dict(thematic), thematic.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def _thematic_step(
        self,
        actor: Actor,
        thematic_id: UUID,
        step: Callable[[Thematic], None],
        expected_version: int | None,
        correlation_id: str | None,
    ) -> Result:
        def decide() -> Decision:
            thematic = self._get(Thematic, thematic_id, expected_version)
            step(thematic)
            return [thematic], lambda: Result(thematic_dict(thematic), thematic.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def get_thematic(self, actor: Actor, thematic_id: UUID) -> Thematic:
        return self._get(Thematic, thematic_id, copy=False)

    def list_thematics(self, sector: str | None = None, status: str | None = None) -> list[Thematic]:
        """Thematic inspections in the order they were announced (a handful a year: read from the record)."""
        thematics = [self._get(Thematic, tid, copy=False) for tid in self._ids_with_topic(ANNOUNCED_TOPIC)]
        return [
            t for t in thematics if (sector is None or t.sector == sector) and (status is None or t.status == status)
        ]
