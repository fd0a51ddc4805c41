"""Cases: sampling and rating them, moderation, and erasing their personal data.

A mixin of ``InspectorateApp``. A case's personal fields are sealed with its own
key (``application.personal_data``); erasing a case destroys the key, by request
or by the retention schedule, and again after a backup taken before is restored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import LRUCache

from application.personal_data import ERASED_TOPIC
from application.representations import case_dict
from application.results import Result
from application.use_cases import Decision, UseCases
from domain import clock
from domain.access import ensure_may_add_case, ensure_may_rate
from domain.base import SYSTEM, Actor, InspectorateAggregate
from domain.calendar import add_months
from domain.case_assessment import CaseAssessment
from domain.frameworks import framework_by_code
from domain.inspection import Inspection


class CaseCommands(UseCases):
    """The cases of an inspection's sample, and their erasure."""

    if TYPE_CHECKING:
        _retention_done: set[UUID]  # inspections whose cases the retention schedule has erased (InspectorateApp)

    def add_case(
        self,
        actor: Actor,
        inspection_id: UUID,
        case_ref: str,
        characteristics: dict[str, Any],
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            inspection = self._get(Inspection, inspection_id, expected_version)
            ensure_may_add_case(actor, inspection.inspected_body)
            case = CaseAssessment.sample(inspection.id, inspection.rules, case_ref, characteristics, actor)
            inspection.sample_case(case.id, case_ref)
            return [inspection, case], lambda: Result(case_dict(case, with_characteristics=False), case.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def rate_case(
        self,
        actor: Actor,
        case_id: UUID,
        judgements: list[dict[str, Any]],
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            case = self._get(CaseAssessment, case_id, expected_version)
            ensure_may_rate(actor, case.assessor)
            case.rate(framework_by_code(case.framework), judgements, actor)
            return [case], lambda: Result(case_dict(case), case.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def moderate_case(
        self,
        actor: Actor,
        case_id: UUID,
        judgements: list[dict[str, Any]],
        note: str,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            case = self._get(CaseAssessment, case_id, expected_version)
            case.moderate(framework_by_code(case.framework), judgements, note, actor)
            return [case], lambda: Result(case_dict(case), case.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def erase_case(self, actor: Actor, case_id: UUID, reason: str, correlation_id: str | None = None) -> Result:
        """Erase a case's personal data: its reference, characteristics and notes (crypto-shredding).

        The erasure event (no personal data, its reason) and the destruction of
        the case's key are one transaction (``infrastructure.eventstore``); the
        inspection drops the case's reference from its sample. A second erasure
        of the same case records nothing and answers the same (it destroys the
        key again, should a restored backup have brought it back).
        """

        def decide() -> Decision:
            case = self._get(CaseAssessment, case_id)
            inspection = self._get(Inspection, case.inspection_id)
            case.erase_personal_data(reason)
            inspection.forget_case_ref(case.id)
            changed: list[InspectorateAggregate] = [a for a in (case, inspection) if a.pending_events]
            return changed, lambda: Result({"erased": True}, case.version, None)

        result = self._run(actor, correlation_id, decide)
        self.case_keys.forget([case_id])
        if result.position is None and self.case_keys.store is not None:  # erased before: destroy the key again
            self.case_keys.store.destroy_case_keys([case_id.hex])
        return result

    def erase_expired_cases(self, years: int, today: date | None = None) -> list[UUID]:
        """The retention schedule: erase, with reason ``retention``, every case of every inspection
        published more than ``years`` years before today; once each (an erased case is passed by).
        The cases erased now. An inspection whose cases are all erased is not looked at again here."""
        today = today or clock.today()
        cutoff = add_months(today, -12 * years)  # published before this day: more than `years` years ago
        erased: list[UUID] = []
        for inspection_id in self._ids_with_topic("inspection.report_published.v1"):
            if inspection_id in self._retention_done:
                continue
            inspection = self._get(Inspection, inspection_id, copy=False)
            if inspection.published_on is None or inspection.published_on >= cutoff:
                continue
            for case_id in inspection.case_ids:
                if not getattr(self._get(CaseAssessment, case_id, copy=False), "erased", False):
                    self.erase_case(SYSTEM, case_id, "retention", correlation_id="retention")
                    erased.append(case_id)
            self._retention_done.add(inspection_id)  # (a published inspection's sample never grows)
        return erased

    def erased_case_ids(self) -> list[UUID]:
        """Every case whose personal data was erased, as the record says."""
        return list(self._ids_with_topic(ERASED_TOPIC))

    def reapply_erasures(self) -> int:
        """Destroy again the key of every case the record says was erased (after restoring a backup
        taken before some erasures); how many keys were still there."""
        ids = [i.hex for i in self.erased_case_ids()]
        if not ids or self.case_keys.store is None:
            return 0
        destroyed = self.case_keys.store.destroy_case_keys(ids)
        self.case_keys.forget(ids)
        cache = self.repository.cache
        if isinstance(cache, LRUCache):  # cached aggregates may hold what the keys sealed
            self.repository.cache = LRUCache(cache.maxsize)
        return destroyed

    def get_case(self, case_id: UUID, as_of: datetime | None = None) -> CaseAssessment:
        return self._load(CaseAssessment, case_id, as_of)

    def list_cases(self, inspection_id: UUID) -> list[CaseAssessment]:
        inspection = self._get(Inspection, inspection_id, copy=False)
        return [self._get(CaseAssessment, cid, copy=False) for cid in inspection.case_ids]
