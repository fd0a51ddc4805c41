"""The inspectorate application: one event store, one global order, four aggregates."""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from copy import deepcopy
from datetime import date, datetime
from itertools import takewhile
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Notification, Recording

from application.bodies import BodiesMixin
from application.personal_data import ERASED_TOPIC, CaseKeys, SealedTranscoding, SealingMapper, erased_case_id
from application.projections.scores import breakdown, profile_key, profile_tallies
from application.recommendations import RecommendationCommands
from application.representations import case_dict, complaint_dict, inspection_dict, reinspection_dict
from application.results import Result
from application.transcodings import DateAsISO, Transcoder
from domain import clock
from domain.access import ensure_may_add_case, ensure_may_rate, ensure_may_read
from domain.base import SYSTEM, Actor, InspectorateAggregate, actor_of, caused_by
from domain.body import Body
from domain.calendar import add_months, add_working_days
from domain.case_assessment import CaseAssessment
from domain.complaint import Complaint
from domain.errors import (
    DuplicateInspection,
    NotFound,
    RuleViolation,
    VersionMismatch,
)
from domain.frameworks import complaints_policy_for, framework_by_code
from domain.inspection import Inspection
from domain.plan import Plan
from domain.recommendation import Recommendation
from domain.reinspection import Reinspection, status_on
from domain.scoring import Tally, is_of_concern, tally_cases
from domain.standards import rate_standards, sample_report
from domain.thematic import Thematic

T = TypeVar("T", bound=InspectorateAggregate)
AGGREGATE_TYPES: dict[str, type[InspectorateAggregate]] = {
    "inspection": Inspection,
    "case": CaseAssessment,
    "reinspection": Reinspection,
    "complaint": Complaint,
    "recommendation": Recommendation,
    "thematic": Thematic,
    "body": Body,
    "plan": Plan,
}
MAX_ATTEMPTS = 30
# Within a command's first attempt: the ids of the aggregates its decision took from this process's
# cache as they were, without asking the store for newer events (``InspectorateApp._run``).
_TAKEN_AS_CACHED: ContextVar[set[UUID] | None] = ContextVar("taken_as_cached", default=None)


class ConcurrentUpdate(RuleViolation):
    title = "Concurrent update"


class InspectorateApp(RecommendationCommands, BodiesMixin, Application[UUID]):
    name = "inspectorate"
    # Each process keeps recently used aggregates and fast-forwards them with only
    # the events recorded since (also by other processes), instead of replaying
    # whole streams on every command; `get` hands out deep copies, so a command
    # that fails or loses a race never touches the cached state. The environment
    # may override the size ("0" or "" turns the cache off).
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        is_holiday: Callable[[date], bool],
    ) -> None:
        self.case_keys = CaseKeys()  # before the mapper is made: its transcoding opens sealed values
        self._retention_done: set[UUID] = set()  # inspections whose cases the retention schedule has erased
        super().__init__(env)
        if hasattr(self.recorder, "select_case_keys"):  # the event store keeps the keys (infrastructure.eventstore)
            self.recorder.case_keys = self.case_keys  # type: ignore[attr-defined]
            self.case_keys.store = self.recorder  # type: ignore[assignment]
        self.is_holiday = is_holiday
        self.public_url = "http://127.0.0.1:8000"  # the base of events' dataschema URLs (set from settings)
        self.on_recorded: Callable[[int], None] | None = None  # told how many events each save recorded (metrics)

    def construct_transcoder(self) -> Transcoder:
        transcoder = Transcoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(SealedTranscoding(self.case_keys))

    def construct_mapper(self) -> SealingMapper:
        """The library's mapper, sealing each case's personal fields with the case's key."""
        mapper = super().construct_mapper()
        return SealingMapper(mapper.transcoder, self.case_keys, mapper.compressor, mapper.cipher)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save``, collecting our aggregates' events directly.

        ``ProcessingEvent.collect_events`` asks of each object whether it is a
        domain event or an aggregate through runtime-checkable Protocols, which
        walk every attribute of the class: 3% of a rating. Our commands save
        only aggregates, whose class is known; anything else goes the library's way.
        """
        if kwargs or not all(isinstance(obj, InspectorateAggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        if self.on_recorded is not None and recordings:
            self.on_recorded(len(recordings))

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Record, then keep the saved aggregates as the cached ones.

        The library caches saved aggregates only without fast-forwarding; with
        it, the next command would fetch, decode and apply again the event it
        has just written (a sixth of a rating's cost). A saved aggregate is
        exactly its recorded state, and it is not mutated after ``save`` (each
        command works on its own deep copy, and only reads it afterwards), so
        it is cached as is. Fast-forwarding still brings it up to date with
        other processes' events, so a cached state is never relied on to be
        the newest: an older one never replaces a newer one here, all the same.
        """
        recordings = super()._record(processing_event)
        cache = self.repository.cache
        if cache is not None and self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                try:
                    cached = cache.get(aggregate_id)
                except KeyError:
                    cached = None
                if cached is None or cached.version < aggregate.version:
                    cache.put(aggregate_id, aggregate)
        return recordings

    # -- the command loop ---------------------------------------------------

    def _run(
        self,
        actor: Actor,
        correlation_id: str | None,
        decide: Callable[[], tuple[list[InspectorateAggregate], Callable[[], Result]]],
        expected_version: int | None = None,
    ) -> Result:
        """Load, decide, save; on a lost optimistic-concurrency race, start again.

        With an expected version the caller asked for that exact state, so a
        race is reported (412) instead of retried.

        The first attempt decides on the aggregates this process has cached, as
        they are, without first asking the store for events other processes
        may have added (a tenth of a rating's cost). That is safe only for an
        aggregate the command then writes: its next version is taken in the
        store only if nobody wrote it meanwhile, so a decision on a stale copy
        cannot be recorded. Whenever that attempt cannot be trusted, it is
        done again on the newest state, and only that answer counts: when it
        fails (a refusal or a mismatched version may come from a stale copy),
        loses the race to write, or took a cached aggregate it does not write.
        """
        fresh = self.repository.cache is None or not self.repository.fastforward
        attempt = 0
        while attempt < MAX_ATTEMPTS:
            taken: set[UUID] | None = None if fresh else set()
            token = _TAKEN_AS_CACHED.set(taken)
            try:
                with caused_by(actor, correlation_id):
                    changed, respond = decide()
            except Exception:
                if not taken:
                    raise
                fresh = True
                continue
            finally:
                _TAKEN_AS_CACHED.reset(token)
            if taken and not taken <= {a.id for a in changed if a.pending_events}:
                fresh = True
                continue
            try:
                recordings = self.save(*changed)
            except IntegrityError:
                if taken:
                    fresh = True
                    continue
                if expected_version is not None:
                    raise VersionMismatch("the aggregate changed meanwhile; reload and retry") from None
                attempt += 1
                time.sleep(random.uniform(0, 0.002 * attempt))
                continue
            result = respond()
            position = max((r.notification.id for r in recordings), default=None)
            return Result(result.body, result.version, position)
        raise ConcurrentUpdate("too many concurrent updates of the same record; try again")

    def _get(self, cls: type[T], aggregate_id: UUID, expected_version: int | None = None, *, copy: bool = True) -> T:
        """The current aggregate. Queries pass ``copy=False``: they never mutate it, so the
        cached instance itself will do (a deep copy of an inspection of 160 cases is ~0.1 ms)."""
        taken = _TAKEN_AS_CACHED.get() if copy else None
        cached = None
        if taken is not None:  # a command's first attempt (see _run)
            with contextlib.suppress(KeyError):
                cached = self.repository.cache.get(aggregate_id)  # type: ignore[union-attr]
        try:
            if cached is not None:
                aggregate = deepcopy(cached)
                taken.add(aggregate_id)  # type: ignore[union-attr]
            else:
                aggregate = self.repository.get(aggregate_id, projector_func=_project, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise NotFound.record(cls.__name__, aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFound.record(cls.__name__, aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatch(f"version is {aggregate.version}, not {expected_version}; reload and retry")
        return aggregate

    # -- inspections --------------------------------------------------------

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

        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
            inspection = self._get(Inspection, inspection_id, expected_version)
            inspection.start_fieldwork()
            return [inspection], lambda: Result(inspection_dict(inspection), inspection.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    def add_case(
        self,
        actor: Actor,
        inspection_id: UUID,
        case_ref: str,
        characteristics: dict[str, Any],
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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

        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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

    def complete_fieldwork(
        self,
        actor: Actor,
        inspection_id: UUID,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        short_sample_reason: str | None = None,
    ) -> Result:
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
            inspection = self._get(Inspection, inspection_id, expected_version)
            today = clock.today()
            inspection.check_publication(published_on, today)  # before a due date is derived from it
            rules = inspection.rules
            cases = [self._get(CaseAssessment, cid) for cid in inspection.case_ids]
            headline, criteria = tally_cases((c.verdicts() for c in cases), rules.areas, rules.criteria)
            headline_scores = {area: t.as_dict() for area, t in headline.items()}
            criteria_scores = {criterion: t.as_dict() for criterion, t in criteria.items()}
            if rules.rates_standards:
                # 2018: headline holds the key questions (code/question); the rating rules decide concern.
                ratings = inspection_ratings(inspection, headline)
                inspection.publish_ratings(ratings)
                of_concern = ratings["overall"]["rating"] in rules.rating_rules.of_concern  # type: ignore[union-attr]
            else:
                of_concern = is_of_concern(headline, rules.concern_threshold)
            changed: list[InspectorateAggregate] = [inspection]
            reinspection = None
            if of_concern and inspection.status != "published":
                reinspection = Reinspection(
                    origin_inspection_id=inspection.id,
                    programme=inspection.programme,
                    inspected_body=inspection.inspected_body,
                    published_on=published_on,
                    due_on=add_months(published_on, rules.reinspection_interval_months),
                    original_scores=headline_scores,
                )
                reinspection.become_due(today)
                changed.append(reinspection)
            profiles = profile_tallies((c.characteristics, c.verdicts()) for c in cases)
            profile_cases = Counter(profile_key(c.characteristics) for c in cases)
            inspection.publish(
                published_on,
                today,
                headline_scores,
                criteria_scores,
                of_concern,
                reinspection.id if reinspection else None,
                breakdown(profiles),
                profiles,
                dict(profile_cases),
            )
            # Locking every case makes a rating that raced with publication lose
            # its optimistic-concurrency race instead of slipping past the scores.
            for case in cases:
                case.lock_for_publication()
            changed.extend(cases)
            changed.extend(self._recommendations_at_publication(inspection, published_on))
            if inspection.reinspection_of is not None:
                followed_up = self._get(Reinspection, inspection.reinspection_of)
                followed_up.complete(headline_scores)
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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

    # -- reinspections --------------------------------------------------------

    def schedule_reinspection(
        self,
        actor: Actor,
        reinspection_id: UUID,
        inspection_id: UUID,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
            reinspection = self._get(Reinspection, reinspection_id, expected_version)
            follow_up = self._get(Inspection, inspection_id)
            reinspection.schedule(
                follow_up.id,
                follow_up.programme,
                follow_up.inspected_body,
                follow_up.status,
                follow_up.fieldwork_start,
            )
            follow_up.designate_as_reinspection(reinspection.id)
            return [reinspection, follow_up], lambda: Result(
                reinspection_dict(reinspection), reinspection.version, None
            )

        return self._run(actor, correlation_id, decide, expected_version)

    def mark_due_reinspections(self, today: date | None = None) -> int:
        """The deadline process: mark every pending reinspection whose due date has come.

        Idempotent, and it catches up after downtime because it looks at every
        reinspection ever triggered rather than at a timer that could be missed.
        """
        today = today or clock.today()
        marked = 0
        for reinspection_id in self._ids_with_topic("reinspection.triggered.v1"):

            def decide(rid: UUID = reinspection_id) -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
                reinspection = self._get(Reinspection, rid)
                changed = reinspection.become_due(today)
                return ([reinspection] if changed else []), lambda: Result({"changed": changed}, 0, None)

            result = self._run(SYSTEM, "deadline-process", decide)
            marked += bool(result.body["changed"])
        return marked

    def _ids_with_topic(self, topic: str, page: int = 1000) -> Iterable[UUID]:
        start = 0
        while True:
            notifications = self.recorder.select_notifications(start, page, topics=[topic], inclusive_of_start=False)
            for n in notifications:
                yield cast(UUID, n.originator_id)
            if len(notifications) < page:
                return
            start = notifications[-1].id

    # -- complaints -----------------------------------------------------------

    def receive_complaint(
        self,
        actor: Actor,
        inspection_id: UUID,
        category: str,
        summary: str,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
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
        def decide() -> tuple[list[InspectorateAggregate], Callable[[], Result]]:
            complaint = self._get(Complaint, complaint_id, expected_version)
            step(complaint)
            return [complaint], lambda: Result(complaint_dict(complaint), complaint.version, None)

        return self._run(actor, correlation_id, decide, expected_version)

    # -- queries --------------------------------------------------------------

    def get_inspection(self, inspection_id: UUID, as_of: datetime | None = None) -> Inspection:
        return self._load(Inspection, inspection_id, as_of)

    def get_case(self, case_id: UUID, as_of: datetime | None = None) -> CaseAssessment:
        return self._load(CaseAssessment, case_id, as_of)

    def get_reinspection(self, reinspection_id: UUID) -> Reinspection:
        return self._get(Reinspection, reinspection_id, copy=False)

    def get_complaint(self, complaint_id: UUID) -> Complaint:
        return self._get(Complaint, complaint_id, copy=False)

    def reinspection_state(self, reinspection_id: UUID, drafts: bool = True) -> dict[str, Any]:
        """A reinspection as plain values, its status as of today (see ``_status_today``), with the origin's
        recommendations and their judgements (``drafts=False``: only judgements already published)."""
        reinspection = self._get(Reinspection, reinspection_id, copy=False)
        return self.with_judged_recommendations(_status_today(reinspection_dict(reinspection)), reinspection, drafts)

    def list_reinspections(
        self, origin_inspection_id: UUID | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Reinspections in the order they were triggered, optionally of one inspection, in one status.

        Reads the event store (a view may back this later); filtering by the
        origin inspection goes straight to its one reinspection.
        """
        if origin_inspection_id is not None:
            try:
                origin = self._get(Inspection, origin_inspection_id, copy=False)
            except NotFound:
                return []
            ids: Iterable[UUID] = [origin.reinspection_id] if origin.reinspection_id else []
        else:
            ids = self._ids_with_topic("reinspection.triggered.v1")
        items = [_status_today(reinspection_dict(self._get(Reinspection, rid, copy=False))) for rid in ids]
        return [item for item in items if status is None or item["status"] == status]

    def list_cases(self, inspection_id: UUID) -> list[CaseAssessment]:
        inspection = self._get(Inspection, inspection_id, copy=False)
        return [self._get(CaseAssessment, cid, copy=False) for cid in inspection.case_ids]

    def _load(self, cls: type[T], aggregate_id: UUID, as_of: datetime | None) -> T:
        """Current state, or the state as recorded at ``as_of`` (inclusive)."""
        if as_of is None:
            return self._get(cls, aggregate_id, copy=False)
        recorded = takewhile(lambda e: e.timestamp <= as_of, self.events.get(aggregate_id))  # type: ignore[attr-defined]
        aggregate = _project(None, recorded)
        if aggregate is None or not isinstance(aggregate, cls):
            raise NotFound.record(cls.__name__, aggregate_id, as_of)
        return aggregate

    def stream_ids_of(self, inspection: Inspection) -> list[UUID]:
        """The inspection and every aggregate whose events belong to its history."""
        ids = [inspection.id, *inspection.case_ids, *inspection.complaint_ids, *inspection.recommendation_ids]
        for linked in (inspection.reinspection_id, inspection.reinspection_of):
            if linked is not None:
                ids.append(linked)
        return ids

    def history(self, inspection_id: UUID) -> list[dict[str, Any]]:
        """Every event of the inspection, its cases, reinspection and complaints, in recorded order."""
        inspection = self._get(Inspection, inspection_id)
        notifications: list[Notification] = self.recorder.select_by_originators(  # type: ignore[attr-defined]
            self.stream_ids_of(inspection)
        )
        return [self.describe(n) for n in notifications]

    def describe(self, notification: Notification) -> dict[str, Any]:
        """A stored event as plain values: position, stream, version, type, time, actor, data."""
        domain_event = self.mapper.to_domain_event(notification)
        fields = dict(domain_event.__dict__)
        cause = fields.pop("cause", None) or {}
        for name in ("originator_id", "originator_version", "timestamp", "originator_topic"):
            fields.pop(name, None)
        return {
            "position": notification.id,
            "stream": str(notification.originator_id),
            "version": notification.originator_version,
            "type": notification.topic,
            "recorded_at": domain_event.timestamp.isoformat(),  # type: ignore[attr-defined]
            "actor": actor_of(cause),
            "correlation_id": cause.get("correlation_id"),
            "data": self.mark_erased(notification.topic, str(notification.originator_id), to_plain(fields)),
        }

    def mark_erased(self, topic: str, stream: str, data: dict[str, Any]) -> dict[str, Any]:
        """An event's plain data with ``erased: true`` when its personal fields belong to an erased case."""
        case_hex = erased_case_id(topic, stream, lambda: data)
        if case_hex is not None and self.case_keys.is_erased(case_hex):
            data["erased"] = True
        return data


def inspection_ratings(inspection: Inspection, headline: dict[str, Tally]) -> dict[str, Any]:
    """The ratings the rules give an inspection's key-question tallies and its inspectors' ratings."""
    rules = inspection.rules
    return rate_standards(
        rules.standards_for_body(inspection.inspected_body.get("type")),
        rules.key_questions,
        headline,
        inspection.standard_ratings,
        rules.rating_rules,  # type: ignore[arg-type]
    )


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


def to_plain(value: Any) -> Any:
    """Event attribute values as JSON-ready plain values."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _project(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's projector without its per-event isinstance check of a runtime Protocol,
    which is half the cost of rebuilding an aggregate (shared/perf-baseline.md)."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


def _status_today(body: dict[str, Any]) -> dict[str, Any]:
    """The reinspection's status as of today (``domain.reinspection.status_on``)."""
    body["status"] = status_on(body["status"], date.fromisoformat(body["due_on"]), clock.today())
    return body


def _last_position(recordings: list[Recording[UUID]]) -> int | None:
    return max((r.notification.id for r in recordings), default=None)
