"""The Thematic aggregate: a thematic (or, with partner inspectorates, joint) inspection of a topic.

Policy (HMI Probation, 2018): topics are chosen by risk and impact, and "we will
announce all selected thematic inspections prior to their commencement": the
announcement is recorded first and fieldwork may start only after the day it
was announced. Lifecycle: announced → fieldwork → published, with its findings
and recommendations (``domain.recommendation``, made before publication and
published with it).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from domain.base import InspectorateAggregate, explicit_topics
from domain.errors import IllegalTransition, InvalidValue, RecordFrozen, RuleViolation

ANNOUNCED, FIELDWORK, PUBLISHED = "announced", "fieldwork", "published"
SECTORS = ("adult", "youth")
MAX_PARTNERS = 20


class NoFindings(RuleViolation):
    title = "Findings not recorded"


def _name(field: str, value: object, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(field, "must be a non-blank string")
    if len(value) > limit:
        raise InvalidValue(field, f"must be at most {limit} characters")
    return value.strip()


@explicit_topics
class Thematic(InspectorateAggregate):
    @classmethod
    def announce(
        cls,
        title: str,
        topic: str,
        sector: str,
        partners: list[str],
        announced_on: date,
        today: date,
        fieldwork_start: date | None = None,
    ) -> Thematic:
        if sector not in SECTORS:
            raise InvalidValue("sector", f"must be one of {', '.join(SECTORS)}")
        if len(partners) > MAX_PARTNERS:
            raise InvalidValue("partners", f"at most {MAX_PARTNERS} partner inspectorates")
        names = [_name("partners", p) for p in partners]
        if len({n.casefold() for n in names}) != len(names):
            raise InvalidValue("partners", "a partner inspectorate is named twice")
        if announced_on > today:
            raise InvalidValue("announced_on", f"an announcement is recorded once made (today is {today.isoformat()})")
        if fieldwork_start is not None and fieldwork_start <= announced_on:
            raise InvalidValue("fieldwork_start", "a thematic inspection is announced before its fieldwork starts")
        return cls(
            title=_name("title", title),
            topic=_name("topic", topic),
            sector=sector,
            partners=names,
            announced_on=announced_on,
            planned_fieldwork_start=fieldwork_start,
        )

    @event("Announced", topic="thematic.announced.v1")
    def __init__(
        self,
        title: str,
        topic: str,
        sector: str,
        partners: list[str],
        announced_on: date,
        planned_fieldwork_start: date | None,
    ) -> None:
        self.title = title
        self.topic = topic
        self.sector = sector
        self.partners = partners
        self.announced_on = announced_on
        self.planned_fieldwork_start = planned_fieldwork_start
        self.status = ANNOUNCED
        self.fieldwork_start: date | None = None
        self.findings: str | None = None
        self.published_on: date | None = None
        self.recommendation_ids: tuple[UUID, ...] = ()

    @property
    def joint(self) -> bool:
        """Joint: carried out with partner inspectorates."""
        return bool(self.partners)

    def start_fieldwork(self, fieldwork_start: date, today: date) -> None:
        self._require(ANNOUNCED, "start fieldwork")
        if fieldwork_start <= self.announced_on:
            raise InvalidValue(
                "fieldwork_start",
                f"fieldwork starts after the announcement ({self.announced_on.isoformat()}), never on or before it",
            )
        if fieldwork_start > today:
            raise InvalidValue("fieldwork_start", f"fieldwork has not started yet (today is {today.isoformat()})")
        self._start_fieldwork(fieldwork_start=fieldwork_start)

    def record_findings(self, findings: str) -> None:
        self._require(FIELDWORK, "record findings")
        _name("findings", findings, 100_000)
        self._record_findings(findings=findings)

    def check_publication(self, published_on: date, today: date) -> None:
        self._require(FIELDWORK, "publish")
        if self.findings is None:
            raise NoFindings("record the findings before publishing the report")
        assert self.fieldwork_start is not None
        if published_on < self.fieldwork_start:
            raise InvalidValue(
                "published_on",
                f"a report cannot be published before its fieldwork started ({self.fieldwork_start.isoformat()})",
            )
        if published_on > today:
            raise InvalidValue("published_on", f"a report cannot be published in the future (today is {today})")

    def publish(self, published_on: date, today: date) -> None:
        self.check_publication(published_on, today)
        self._publish(published_on=published_on)

    def link_recommendation(self, recommendation_id: UUID) -> None:
        if self.status == PUBLISHED:
            raise RecordFrozen("cannot make a recommendation: the report is published")
        self._link_recommendation(recommendation_id=recommendation_id)

    def _require(self, status: str, action: str) -> None:
        if self.status != status:
            if self.status == PUBLISHED:
                raise RecordFrozen(f"cannot {action}: the thematic inspection is published")
            raise IllegalTransition(f"cannot {action} while the thematic inspection is '{self.status}'")

    @event("FieldworkStarted", topic="thematic.fieldwork_started.v1")
    def _start_fieldwork(self, fieldwork_start: date) -> None:
        self.status = FIELDWORK
        self.fieldwork_start = fieldwork_start

    @event("FindingsRecorded", topic="thematic.findings_recorded.v1")
    def _record_findings(self, findings: str) -> None:
        self.findings = findings

    @event("ReportPublished", topic="thematic.report_published.v1")
    def _publish(self, published_on: date) -> None:
        self.status = PUBLISHED
        self.published_on = published_on

    @event("RecommendationMade", topic="thematic.recommendation_made.v1")
    def _link_recommendation(self, recommendation_id: UUID) -> None:
        self.recommendation_ids = (*self.recommendation_ids, recommendation_id)
