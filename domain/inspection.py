"""The Inspection aggregate: one inspection of one body under one programme."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any, cast
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import InspectorateAggregate, explicit_topics
from domain.body import BODY_TYPES
from domain.case_assessment import CHARACTERISTICS
from domain.errors import (
    DuplicateCase,
    IllegalTransition,
    InvalidValue,
    RecordFrozen,
    ShortSample,
    UnjudgedCases,
    UnratedStandards,
)
from domain.frameworks import Framework, business_year, framework_by_code, framework_for
from domain.standards import CASE, ORGANISATIONAL, RATINGS, sample_size

SCHEDULED, FIELDWORK, FIELDWORK_COMPLETE, PUBLISHED = "scheduled", "fieldwork", "fieldwork_complete", "published"

# Fixed namespace: the id of an inspection derives from its natural key, so two
# racing requests to schedule the same inspection collide in the event store.
INSPECTION_NAMESPACE = UUID("0b5f4d0e-7d0c-4a49-9a5e-4b3f1c0f2a11")


def erased_ref(case_id: UUID) -> str:
    """Where an erased case sits in ``Inspection.case_refs`` (by reference otherwise): a reference
    never holds a control character (the API refuses them), so this never meets a real one."""
    return f"\x00erased {case_id.hex}"


def inspection_id_for(programme: str, body_name: str, fieldwork_start: date) -> UUID:
    key = f"{programme}|{body_name.strip().casefold()}|{fieldwork_start.isoformat()}"
    return uuid5(INSPECTION_NAMESPACE, key)


@explicit_topics
class Inspection(InspectorateAggregate):
    # The 2018 framework's state; class defaults, so inspections recorded before it existed read the same.
    # (unannotated: annotated class attributes would become fields of the aggregate's dataclass)
    caseload = None  # {population, by}
    standard_ratings = MappingProxyType({})  # type: ignore[var-annotated]  # code -> {rating, rationale, kind, by}; replaced, never changed in place
    ratings = None  # frozen at publication
    short_sample_reason = None
    recommendation_ids = ()  # type: tuple[UUID, ...]  # replaced, never changed in place

    @staticmethod
    def create_id(programme: str, inspected_body: dict[str, Any], fieldwork_start: date, **_: Any) -> UUID:
        return inspection_id_for(programme, inspected_body["name"], fieldwork_start)

    @classmethod
    def schedule(
        cls,
        programme: str,
        inspected_body: dict[str, Any],
        fieldwork_start: date,
        fieldwork_end: date | None = None,
        lead_inspector: str | None = None,
    ) -> Inspection:
        framework = framework_for(programme, fieldwork_start)
        if not str(inspected_body.get("name") or "").strip():
            raise InvalidValue("inspected_body.name", "the inspected body needs a name, not only spaces")
        if inspected_body.get("type") not in BODY_TYPES:
            raise InvalidValue("inspected_body.type", f"must be one of {', '.join(BODY_TYPES)}")
        if framework.body_types and inspected_body.get("type") not in framework.body_types:
            raise InvalidValue(
                "inspected_body.type", f"{programme} inspects bodies of type {', '.join(framework.body_types)}"
            )
        if fieldwork_end is not None and fieldwork_end < fieldwork_start:
            raise InvalidValue("fieldwork_end", "fieldwork cannot end before it starts")
        return cls(
            programme=programme,
            framework=framework.code,
            year=business_year(fieldwork_start),
            inspected_body=dict(inspected_body),
            fieldwork_start=fieldwork_start,
            fieldwork_end=fieldwork_end,
            lead_inspector=lead_inspector,
        )

    @event("Scheduled", topic="inspection.scheduled.v1")
    def __init__(
        self,
        programme: str,
        framework: str,
        year: str,
        inspected_body: dict[str, Any],
        fieldwork_start: date,
        fieldwork_end: date | None,
        lead_inspector: str | None,
    ) -> None:
        self.programme = programme
        self.framework = framework
        self.year = year
        self.inspected_body = inspected_body
        self.fieldwork_start = fieldwork_start
        self.fieldwork_end = fieldwork_end
        self.lead_inspector = lead_inspector
        self.status = SCHEDULED
        self.case_refs: dict[str, str] = {}  # case_ref -> case id (hex)
        self.published_on: date | None = None
        self.headline_scores: dict[str, Any] | None = None
        self.criteria_scores: dict[str, Any] | None = None
        self.of_concern: bool | None = None
        self.reinspection_id: UUID | None = None
        self.reinspection_of: UUID | None = None  # set when this inspection follows up a reinspection
        self.complaint_ids: list[UUID] = []

    # -- commands ---------------------------------------------------------

    def start_fieldwork(self) -> None:
        self._require(SCHEDULED, "start fieldwork")
        self._start_fieldwork()

    def sample_case(self, case_id: UUID, case_ref: str) -> None:
        self._require(FIELDWORK, "add a case")
        if case_ref in self.case_refs:
            raise DuplicateCase(f"case_ref '{case_ref}' is already in this inspection's sample")
        self._sample_case(case_id=case_id, case_ref=case_ref)

    def complete_fieldwork(self, unjudged_case_refs: list[str], short_sample_reason: str | None = None) -> None:
        self._require(FIELDWORK, "complete fieldwork")
        if unjudged_case_refs:
            raise UnjudgedCases(f"{len(unjudged_case_refs)} sampled case(s) have no judgement yet")
        if self.caseload is not None:
            size = self.sample_size
            sampled = len(self.case_refs)
            if sampled < size:
                if not (short_sample_reason or "").strip():
                    raise ShortSample(
                        f"{sampled} case(s) sampled of a sample size of {size}; "
                        "sample more, or give short_sample_reason"
                    )
                self._accept_short_sample(reason=str(short_sample_reason), sample_size=size, sampled=sampled)
        self._complete_fieldwork()

    def record_caseload(self, population: int, by: dict[str, dict[str, int]]) -> None:
        """The body's caseload behind the sample (2018 frameworks): each dimension adds up to the population."""
        rules = self.rules
        if rules.sampling is None:
            raise InvalidValue("caseload", f"{rules.code} has no caseload-linked sample")
        if self.status == PUBLISHED:
            raise RecordFrozen("cannot record the caseload: the inspection is published")
        if self.status == FIELDWORK_COMPLETE:
            raise IllegalTransition("cannot record the caseload once fieldwork is complete")
        if type(population) is not int or population < 1:
            raise InvalidValue("population", "must be a whole number of at least 1")
        for dimension, counts in by.items():
            if dimension not in rules.sampling.dimensions:
                raise InvalidValue(
                    f"by.{dimension}", f"not a sampling dimension; known: {', '.join(rules.sampling.dimensions)}"
                )
            allowed = {str(v) for v in CHARACTERISTICS[dimension]}
            for value, count in counts.items():
                if value not in allowed:
                    raise InvalidValue(f"by.{dimension}", f"'{value}' is not a value of {dimension}")
                if type(count) is not int or count < 0:
                    raise InvalidValue(f"by.{dimension}.{value}", "must be a whole number, 0 or more")
            if sum(counts.values()) != population:
                raise InvalidValue(
                    f"by.{dimension}", f"adds up to {sum(counts.values())}, not the population of {population}"
                )
        self._record_caseload(population=population, counts={d: dict(c) for d, c in by.items()})

    def rate_standard(self, code: str, rating: str, rationale: str, by: dict[str, Any]) -> None:
        """An inspector rates an organisational standard, or overrides a case standard's rule (both kept)."""
        rules = self.rules
        if not rules.rates_standards:
            raise InvalidValue("code", f"{rules.code} has no standards to rate")
        standard = next((s for s in rules.standards_for_body(self.inspected_body.get("type")) if s.code == code), None)
        if standard is None:
            raise InvalidValue(
                "code", f"'{code}' is not a standard of {rules.code} for a {self.inspected_body.get('type')}"
            )
        if rating not in RATINGS:
            raise InvalidValue("rating", f"must be one of {', '.join(RATINGS)}")
        if not rationale.strip():
            raise InvalidValue("rationale", "a rating needs its rationale")
        if self.status == PUBLISHED:
            raise RecordFrozen("the report is published; its ratings never change")
        kind = "override" if standard.kind == CASE else ORGANISATIONAL
        self._rate_standard(standard=code, rating=rating, rationale=rationale, kind=kind, by=by)

    def unrated_standards(self) -> list[str]:
        return [
            s.code
            for s in self.rules.standards_for_body(self.inspected_body.get("type"))
            if s.kind == ORGANISATIONAL and s.code not in self.standard_ratings
        ]

    def publish_ratings(self, ratings: dict[str, Any]) -> None:
        """Freeze the 2018 ratings; ``publish`` follows in the same command."""
        if self.status == PUBLISHED:
            raise RecordFrozen("the report is already published; published figures never change")
        self._require(FIELDWORK_COMPLETE, "publish")
        unrated = self.unrated_standards()
        if unrated:
            raise UnratedStandards(f"organisational standard(s) not rated yet: {', '.join(unrated)}")
        self._publish_ratings(ratings=ratings)

    def check_publication(self, published_on: date, today: date) -> None:
        """May the report be published, dated ``published_on``, today? (Before anything is derived from the date.)"""
        if self.status == PUBLISHED:
            raise RecordFrozen("the report is already published; published figures never change")
        self._require(FIELDWORK_COMPLETE, "publish")
        if published_on < self.fieldwork_start:
            raise InvalidValue(
                "published_on",
                f"a report cannot be published before its fieldwork started ({self.fieldwork_start.isoformat()})",
            )
        if published_on > today:
            raise InvalidValue(
                "published_on", f"a report cannot be published in the future (today is {today.isoformat()})"
            )

    def publish(
        self,
        published_on: date,
        today: date,
        headline_scores: dict[str, Any],
        criteria_scores: dict[str, Any],
        of_concern: bool,
        reinspection_id: UUID | None,
        breakdown: dict[str, Any] | None = None,
        profiles: dict[str, Any] | None = None,
        profile_cases: dict[str, int] | None = None,
    ) -> None:
        self.check_publication(published_on, today)
        self._publish(
            published_on=published_on,
            headline_scores=headline_scores,
            criteria_scores=criteria_scores,
            of_concern=of_concern,
            reinspection_id=reinspection_id,
            breakdown=breakdown,
            profiles=profiles,
            profile_cases=profile_cases,
        )

    def designate_as_reinspection(self, reinspection_id: UUID) -> None:
        if self.reinspection_of is not None:
            raise IllegalTransition("this inspection is already the follow-up of a reinspection")
        if self.status != SCHEDULED:
            raise IllegalTransition(
                f"only a scheduled inspection can become a reinspection; this one is '{self.status}'"
            )
        self._designate_as_reinspection(reinspection_id=reinspection_id)

    def link_complaint(self, complaint_id: UUID) -> None:
        """Complaints stay linked to their inspection, also after publication (not a change of findings)."""
        self._link_complaint(complaint_id=complaint_id)

    def link_recommendation(self, recommendation_id: UUID) -> None:
        """A recommendation is made in the report, so only before it is published (it is published with it)."""
        if self.status == PUBLISHED:
            raise RecordFrozen("cannot make a recommendation: the report is published")
        self._link_recommendation(recommendation_id=recommendation_id)

    # -- queries ----------------------------------------------------------

    @property
    def case_ids(self) -> list[UUID]:
        return [UUID(hex_id) for hex_id in self.case_refs.values()]

    @property
    def rules(self) -> Framework:
        return framework_by_code(self.framework)

    @property
    def sample_size(self) -> int:
        rules = self.rules
        if self.caseload is None or rules.sampling is None:
            return 0
        population = cast(int, self.caseload["population"])
        return sample_size(population, rules.sampling.confidence, rules.sampling.margin)

    # -- events -----------------------------------------------------------

    def _require(self, status: str, action: str) -> None:
        if self.status != status:
            if self.status == PUBLISHED:
                raise RecordFrozen(f"cannot {action}: the inspection is published")
            raise IllegalTransition(f"cannot {action} while the inspection is '{self.status}'")

    @event("FieldworkStarted", topic="inspection.fieldwork_started.v1")
    def _start_fieldwork(self) -> None:
        self.status = FIELDWORK

    @event("CaseSampled", topic="inspection.case_sampled.v1")
    def _sample_case(self, case_id: UUID, case_ref: str | None) -> None:
        # An erased case's reference reads as None: it is held under a key no reference can be.
        self.case_refs[case_ref if case_ref is not None else erased_ref(case_id)] = case_id.hex

    def forget_case_ref(self, case_id: UUID) -> None:
        """Drop an erased case's reference from the sample (the case stays in it, by id)."""
        if erased_ref(case_id) not in self.case_refs:
            self._forget_case_ref(case_id=case_id)

    @event("CaseRefErased", topic="inspection.case_ref_erased.v1")
    def _forget_case_ref(self, case_id: UUID) -> None:
        self.case_refs = {
            (erased_ref(case_id) if hex_id == case_id.hex else ref): hex_id for ref, hex_id in self.case_refs.items()
        }

    @event("FieldworkCompleted", topic="inspection.fieldwork_completed.v1")
    def _complete_fieldwork(self) -> None:
        self.status = FIELDWORK_COMPLETE

    class ReportPublished(InspectorateAggregate.Event):
        """The report is published with its figures; since version 2 also the diversity breakdown as
        published (headline tallies by characteristic and value, in aggregate), so that erasing a
        case's characteristics later never changes it."""

        TOPIC = "inspection.report_published.v1"
        class_version = 2
        published_on: date
        headline_scores: dict[str, Any]
        criteria_scores: dict[str, Any]
        of_concern: bool
        reinspection_id: UUID | None
        breakdown: dict[str, Any] | None  # null only in events recorded before class version 2
        # The same in the form the views pool across inspections: headline tallies and cases by case
        # profile (the combination of characteristics; domain.diversity.profile_key).
        profiles: dict[str, Any] | None
        profile_cases: dict[str, int] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 did not record the breakdown: readers derive it from the cases, as they did."""
            state["breakdown"] = None
            state["profiles"] = None
            state["profile_cases"] = None

    @event(ReportPublished)
    def _publish(
        self,
        published_on: date,
        headline_scores: dict[str, Any],
        criteria_scores: dict[str, Any],
        of_concern: bool,
        reinspection_id: UUID | None,
        breakdown: dict[str, Any] | None,
        profiles: dict[str, Any] | None,
        profile_cases: dict[str, int] | None,
    ) -> None:
        self.status = PUBLISHED
        self.published_on = published_on
        self.headline_scores = headline_scores
        self.criteria_scores = criteria_scores
        self.of_concern = of_concern
        self.reinspection_id = reinspection_id

    @event("DesignatedAsReinspection", topic="inspection.designated_as_reinspection.v1")
    def _designate_as_reinspection(self, reinspection_id: UUID) -> None:
        self.reinspection_of = reinspection_id

    @event("ComplaintLinked", topic="inspection.complaint_linked.v1")
    def _link_complaint(self, complaint_id: UUID) -> None:
        self.complaint_ids.append(complaint_id)

    @event("RecommendationMade", topic="inspection.recommendation_made.v1")
    def _link_recommendation(self, recommendation_id: UUID) -> None:
        self.recommendation_ids = (*self.recommendation_ids, recommendation_id)

    @event("CaseloadRecorded", topic="inspection.caseload_recorded.v1")
    def _record_caseload(self, population: int, counts: dict[str, dict[str, int]]) -> None:
        self.caseload = {"population": population, "by": counts}

    @event("StandardRated", topic="inspection.standard_rated.v1")
    def _rate_standard(self, standard: str, rating: str, rationale: str, kind: str, by: dict[str, Any]) -> None:
        self.standard_ratings = {  # type: ignore[assignment]
            **self.standard_ratings,
            standard: {"rating": rating, "rationale": rationale, "kind": kind, "by": by},
        }

    @event("ShortSampleAccepted", topic="inspection.short_sample_accepted.v1")
    def _accept_short_sample(self, reason: str, sample_size: int, sampled: int) -> None:
        self.short_sample_reason = reason

    @event("RatingsPublished", topic="inspection.ratings_published.v1")
    def _publish_ratings(self, ratings: dict[str, Any]) -> None:
        self.ratings = ratings
