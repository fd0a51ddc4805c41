"""Inspections: scheduling, fieldwork, the 2018 framework's ratings and sample, and publication.

A mixin of ``InspectorateApp``: each command runs in the application's command
loop (``_run``: load, decide, save, retry a lost race). Publication loads the
inspection and its cases, asks ``domain.publication`` what the report is, and
records it with all that follows from it in one write.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.representations import inspection_dict
from application.results import Result
from application.use_cases import Decision, UseCases
from domain import clock
from domain.access import ensure_may_read
from domain.base import Actor, InspectorateAggregate
from domain.case_assessment import CaseAssessment
from domain.errors import DuplicateInspection, NotFound
from domain.inspection import Inspection
from domain.publication import inspection_ratings, publication
from domain.reinspection import Reinspection
from domain.scoring import Tally, tally_cases
from domain.standards import sample_report

if TYPE_CHECKING:
    from domain.body import Body
    from domain.recommendation import Recommendation
    from domain.thematic import Thematic


class InspectionCommands(UseCases):
    """An inspection from scheduling to publication, and its 2018 ratings and sample."""

    if TYPE_CHECKING:  # provided by BodiesMixin and RecommendationCommands

        def resolve_body(self, inspected_body: dict[str, Any]) -> Body: ...

        def _find(self, cls: type[Any], aggregate_id: UUID, *, copy: bool = True) -> Any: ...

        def _recommendations_at_publication(
            self, report: Inspection | Thematic, published_on: date
        ) -> list[Recommendation]: ...

    # -- from scheduling to publication --------------------------------------------

    def schedule_inspection(
        self,
        actor: Actor,
        programme: str,
        inspected_body: dict[str, Any],
        fieldwork_start: date,
        fieldwork_end: date | None = None,
        lead_inspector: str | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """Schedule an inspection of the body the register resolves ``inspected_body`` to (registering a new
        one), and link it to the body: both in one write, retried if the body changed meanwhile."""

        def decide() -> Decision:
            body = self.resolve_body(inspected_body)
            inspection = Inspection.schedule(
                programme, body.as_inspected_body(), fieldwork_start, fieldwork_end, lead_inspector
            )
            if self._find(Inspection, inspection.id, copy=False) is not None:
                raise DuplicateInspection(
                    f"{programme} inspection of '{body.name}' starting {fieldwork_start} "
                    f"already exists (id {inspection.id})"
                )
            body.link_inspection(inspection.id, programme, fieldwork_start)
            # The body's events first: the write's last position (Inspectorate-Position) is the inspection's.
            return [body, inspection], lambda: Result(inspection_dict(inspection), inspection.version, None)

        return self._run(actor, correlation_id, decide)

    def start_fieldwork(
        self,
        actor: Actor,
        inspection_id: UUID,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id, expected_version)
            inspection.start_fieldwork()
            return [inspection], lambda: Result(inspection_dict(inspection), inspection.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def complete_fieldwork(
        self,
        actor: Actor,
        inspection_id: UUID,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        short_sample_reason: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id, expected_version)
            cases = [self._get(CaseAssessment, cid) for cid in inspection.case_ids]
            inspection.complete_fieldwork([c.case_ref for c in cases if not c.judged], short_sample_reason)
            # Saving the cases too (unchanged) is not possible; the sample cannot grow
            # meanwhile because adding a case changes the inspection's version.
            return [inspection], lambda: Result(inspection_dict(inspection), inspection.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def publish(
        self,
        actor: Actor,
        inspection_id: UUID,
        published_on: date,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """Publish the report with the figures ``domain.publication`` makes of its cases, and record what
        follows from it: the 2018 ratings frozen, a reinspection when it is of concern, the cases locked,
        the recommendations published, and the reinspection it follows up (if any) completed."""

        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id, expected_version)
            today = clock.today()
            cases = [self._get(CaseAssessment, cid) for cid in inspection.case_ids]
            report = publication(inspection, [(c.characteristics, c.verdicts()) for c in cases], published_on, today)
            if report.ratings is not None:
                inspection.publish_ratings(report.ratings)
            changed: list[InspectorateAggregate] = [inspection]
            reinspection = None
            if report.reinspection_due_on is not None:
                reinspection = Reinspection(
                    origin_inspection_id=inspection.id,
                    programme=inspection.programme,
                    inspected_body=inspection.inspected_body,
                    published_on=published_on,
                    due_on=report.reinspection_due_on,
                    original_scores=report.headline_scores,
                )
                reinspection.become_due(today)
                changed.append(reinspection)
            inspection.publish(
                published_on,
                today,
                report.headline_scores,
                report.criteria_scores,
                report.of_concern,
                reinspection.id if reinspection else None,
                report.breakdown,
                report.profiles,
                report.profile_cases,
            )
            # Locking every case makes a rating that raced with publication lose
            # its optimistic-concurrency race instead of slipping past the scores.
            for case in cases:
                case.lock_for_publication()
            changed.extend(cases)
            changed.extend(self._recommendations_at_publication(inspection, published_on))
            if inspection.reinspection_of is not None:
                followed_up = self._get(Reinspection, inspection.reinspection_of)
                followed_up.complete(report.headline_scores)
                changed.append(followed_up)

            def respond() -> Result:
                body = inspection_dict(inspection)
                if inspection.ratings is not None:
                    body["ratings"] = published_ratings(inspection.ratings)
                body["reinspection"] = (
                    {"id": str(reinspection.id), "due_on": reinspection.due_on.isoformat()} if reinspection else None
                )
                return Result(body, inspection.version, None)

            return changed, respond

        return self._run(actor, correlation_id, decide, expected_version)

    # -- the 2018 standards framework -------------------------------------------

    def rate_standard(
        self,
        actor: Actor,
        inspection_id: UUID,
        code: str,
        rating: str,
        rationale: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id, expected_version)
            inspection.rate_standard(code, rating, rationale, actor.as_dict())
            return [inspection], lambda: Result(
                {**inspection_dict(inspection), "standard": code, **inspection.standard_ratings[code]},
                inspection.version,
                None,
            )

        return self._run(actor, correlation_id, decide, expected_version)

    def record_caseload(
        self,
        actor: Actor,
        inspection_id: UUID,
        population: int,
        by: dict[str, dict[str, int]],
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id, expected_version)
            ensure_may_read(actor, inspection.inspected_body, NotFound.record(Inspection.__name__, inspection_id))
            inspection.record_caseload(population, by)
            return [inspection], lambda: Result(self._sample_of(inspection), inspection.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def sample(self, inspection_id: UUID) -> dict[str, Any]:
        """The sample against the caseload: size, quotas, what was sampled, warnings (NotFound without a caseload)."""
        return self._sample_of(self._get(Inspection, inspection_id, copy=False))

    def _sample_of(self, inspection: Inspection) -> dict[str, Any]:
        rules = inspection.rules
        if rules.sampling is None:
            raise NotFound(f"{rules.code} has no caseload-linked sample")
        if inspection.caseload is None:
            raise NotFound("no caseload has been recorded for this inspection yet")
        caseload: dict[str, Any] = inspection.caseload
        cases = [self._get(CaseAssessment, cid, copy=False) for cid in inspection.case_ids]
        sampled: dict[str, dict[str, int]] = {}
        for dimension in caseload["by"]:
            counts = sampled[dimension] = {}
            for case in cases:
                value = str(case.characteristics.get(dimension))
                counts[value] = counts.get(value, 0) + 1
        return sample_report(caseload["population"], caseload["by"], sampled, len(cases), rules.sampling)

    def ratings(self, inspection_id: UUID, as_of: datetime | None = None) -> tuple[Inspection, dict[str, Any]]:
        """The inspection's ratings as they stand (or stood at ``as_of``): frozen once published."""
        inspection = self._load(Inspection, inspection_id, as_of)
        if not inspection.rules.rates_standards:
            raise NotFound(f"{inspection.framework} rates no standards; see the scores view")
        cases = [self._load(CaseAssessment, cid, as_of) for cid in inspection.case_ids]
        headline, _ = tally_cases((c.verdicts() for c in cases), inspection.rules.areas, ())
        return inspection, ratings_body(inspection, headline)

    def get_inspection(self, inspection_id: UUID, as_of: datetime | None = None) -> Inspection:
        return self._load(Inspection, inspection_id, as_of)


def published_ratings(ratings: dict[str, Any]) -> dict[str, Any]:
    """The ratings as ``publish`` answers them: overall, and each standard's rating, rule rating, percentage."""
    return {
        "overall": ratings["overall"],
        "standards": {
            code: {k: e.get(k) for k in ("rating", "rule_rating", "percentage", "overridden", "kind")}
            for code, e in ratings["standards"].items()
        },
    }


def ratings_body(inspection: Inspection, headline: dict[str, Tally]) -> dict[str, Any]:
    """The ratings view: live before publication, the published ratings after; key questions with ci95."""
    rules = inspection.rules
    ratings = inspection.ratings if inspection.ratings is not None else inspection_ratings(inspection, headline)
    if inspection.headline_scores is not None:  # published figures are the record
        headline = {k: Tally(int(v["sufficient"]), int(v["applicable"])) for k, v in inspection.headline_scores.items()}
    standards = {}
    for code, entry in ratings["standards"].items():
        body = {k: entry.get(k) for k in ("kind", "rating", "rule_rating", "percentage", "overridden")}
        if entry.get("rationale") is not None:
            body["rationale"] = entry["rationale"]
        if entry["kind"] == "case":
            body["key_questions"] = {
                q: headline.get(f"{code}/{q}", Tally()).as_dict_with_interval() for q in rules.key_questions
            }
        standards[code] = body
    return {
        "inspection_id": str(inspection.id),
        "framework": inspection.framework,
        "inspected_body": inspection.inspected_body.get("name"),
        "status": inspection.status,
        "frozen": inspection.ratings is not None,
        "overall": ratings["overall"],
        "standards": standards,
    }
