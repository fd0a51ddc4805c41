"""The inspectorate application: one event store, one global order, the use cases combined.

``InspectorateApp`` is the application base (the event store's transcoder and
sealing mapper, saving, the aggregate cache, the command loop) combined with the
use-case mixins, one module each: inspections, cases, reinspections, complaints,
history, recommendations and thematics, the register of bodies and selection.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from copy import deepcopy
from datetime import date, datetime
from itertools import takewhile
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording

from application.bodies import BodiesMixin
from application.cases import CaseCommands
from application.complaints import ComplaintCommands
from application.history import HistoryQueries
from application.inspections import InspectionCommands
from application.personal_data import CaseKeys, SealedTranscoding, SealingMapper
from application.recommendations import RecommendationCommands
from application.reinspections import ReinspectionCommands
from application.results import Result
from application.transcodings import DateAsISO, Transcoder
from application.use_cases import Decision
from domain.base import Actor, InspectorateAggregate, caused_by
from domain.errors import NotFound, RuleViolation, VersionMismatch

T = TypeVar("T", bound=InspectorateAggregate)
MAX_ATTEMPTS = 30
# Within a command's first attempt: the ids of the aggregates its decision took from this process's
# cache as they were, without asking the store for newer events (``InspectorateApp._run``).
_TAKEN_AS_CACHED: ContextVar[set[UUID] | None] = ContextVar("taken_as_cached", default=None)


class ConcurrentUpdate(RuleViolation):
    title = "Concurrent update"


class InspectorateApp(
    InspectionCommands,
    CaseCommands,
    ReinspectionCommands,
    ComplaintCommands,
    HistoryQueries,
    RecommendationCommands,
    BodiesMixin,
    Application[UUID],
):
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
        decide: Callable[[], Decision],
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

    # -- reading ------------------------------------------------------------------

    def _load(self, cls: type[T], aggregate_id: UUID, as_of: datetime | None) -> T:
        """Current state, or the state as recorded at ``as_of`` (inclusive)."""
        if as_of is None:
            return self._get(cls, aggregate_id, copy=False)
        recorded = takewhile(lambda e: e.timestamp <= as_of, self.events.get(aggregate_id))  # type: ignore[attr-defined]
        aggregate = _project(None, recorded)
        if aggregate is None or not isinstance(aggregate, cls):
            raise NotFound.record(cls.__name__, aggregate_id, as_of)
        return aggregate

    def _ids_with_topic(self, topic: str, page: int = 1000) -> Iterable[UUID]:
        start = 0
        while True:
            notifications = self.recorder.select_notifications(start, page, topics=[topic], inclusive_of_start=False)
            for n in notifications:
                yield cast(UUID, n.originator_id)
            if len(notifications) < page:
                return
            start = notifications[-1].id


def _project(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's projector without its per-event isinstance check of a runtime Protocol,
    which is half the cost of rebuilding an aggregate (shared/perf-baseline.md)."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate
