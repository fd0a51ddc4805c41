"""The Body aggregate: one inspected body in the register (a YOT, a probation trust, an NPS division, ...).

A body's id derives from its type and its name ignoring case and surrounding
spaces (``body_id_for``): two spellings of one name are one body, and two
requests racing to register it collide in the event store, so the second
loses the optimistic-concurrency race and is told the name is taken.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import InspectorateAggregate, explicit_topics
from domain.errors import InvalidValue
from domain.selection_criteria import INDICATORS

BODY_TYPES = (
    "yot",
    "probation_trust",
    "nps_division",
    "crc",
    "prison",
    "probation_region",
    "probation_delivery_unit",
    "other",
)

# Who may succeed whom (policy: trusts were replaced in 2014 by NPS divisions and CRCs, and these in
# 2021 by probation regions and their delivery units; YOTs merge). Successor type -> predecessor types.
SUCCESSIONS: dict[str, tuple[str, ...]] = {
    "yot": ("yot",),
    "probation_trust": ("probation_trust",),
    "nps_division": ("probation_trust",),
    "crc": ("probation_trust",),
    "probation_region": ("nps_division", "crc"),
    "probation_delivery_unit": ("nps_division", "crc", "probation_trust"),
    "prison": ("prison",),
    "other": BODY_TYPES,
}

# Fixed namespace: never change it, every body's id derives from it.
BODY_NAMESPACE = UUID("5d0f1c2a-9b7e-4e43-8a51-3c2f6b9d7e14")
_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


def name_key(name: str) -> str:
    """A body's name as it is matched: case and surrounding spaces ignored."""
    return name.strip().casefold()


def body_id_for(body_type: str, name: str) -> UUID:
    """The id of the body of this type and name (registered or not yet)."""
    return uuid5(BODY_NAMESPACE, f"{body_type}|{name_key(name)}")


def with_body_id(inspected_body: dict[str, Any]) -> dict[str, Any]:
    """An inspection's ``inspected_body`` with its register id: as recorded, or (an inspection scheduled
    before the register existed) derived from its type and name, which is the id the register gives it."""
    if inspected_body.get("id") or not inspected_body.get("name") or not inspected_body.get("type"):
        return inspected_body
    return {**inspected_body, "id": str(body_id_for(inspected_body["type"], inspected_body["name"]))}


def check_year(field: str, year: str) -> None:
    """A business year written '2018-19'."""
    match = _YEAR.match(year)
    if match is None or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise InvalidValue(field, "must be a business year such as 2018-19")


@explicit_topics
class Body(InspectorateAggregate):
    @staticmethod
    def create_id(name: str, type: str, **_: Any) -> UUID:
        return body_id_for(type, name)

    @classmethod
    def register(
        cls, name: str, type: str, region: str, predecessors: list[Body] | None = None, field: str = ""
    ) -> Body:
        """A new body of the register; ``predecessors`` are the bodies it succeeds (each told in turn,
        see ``succeeded_by_body``). ``field`` prefixes the names of refused fields (e.g. inspected_body.)."""
        if not name.strip():
            raise InvalidValue(f"{field}name", "a body needs a name, not only spaces")
        if type not in BODY_TYPES:
            raise InvalidValue(f"{field}type", f"must be one of {', '.join(BODY_TYPES)}")
        if not region.strip():
            raise InvalidValue(f"{field}region", "a body needs a region, not only spaces")
        predecessors = predecessors or []
        for predecessor in predecessors:
            if predecessor.type not in SUCCESSIONS[type]:
                raise InvalidValue(
                    "succeeds",
                    f"a {type} does not succeed a {predecessor.type} ({predecessor.name}); "
                    f"it may succeed: {', '.join(SUCCESSIONS[type])}",
                )
        if len({p.id for p in predecessors}) != len(predecessors):
            raise InvalidValue("succeeds", "names the same body twice")
        return cls(name=name.strip(), type=type, region=region.strip(), succeeds=[str(p.id) for p in predecessors])

    @event("Registered", topic="body.registered.v1")
    def __init__(self, name: str, type: str, region: str, succeeds: list[str]) -> None:
        self.name = name
        self.type = type
        self.region = region
        self.succeeds = list(succeeds)
        self.succeeded_by: list[str] = []
        self.indicators: dict[str, dict[str, Any]] = {}  # business year -> figures
        self.inspections: list[dict[str, Any]] = []  # {inspection_id, programme, fieldwork_start}

    # -- commands ---------------------------------------------------------

    def succeeded_by_body(self, successor: Body) -> None:
        """A later body took over this one's work (recorded when the successor is registered)."""
        if str(successor.id) in self.succeeded_by:
            return
        self._succeeded(successor_id=str(successor.id), successor_type=successor.type)

    def record_indicators(self, year: str, indicators: dict[str, Any]) -> None:
        """The figures of a business year that selection uses; recording a year again replaces its figures."""
        check_year("year", year)
        if "caseload" not in indicators:
            raise InvalidValue("caseload", "the caseload (people under supervision) is required")
        for name, value in indicators.items():
            spec = INDICATORS.get(name)
            if spec is None:
                raise InvalidValue(name, f"not an indicator; known: {', '.join(INDICATORS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidValue(name, "must be a number")
            if spec.whole and not isinstance(value, int):
                raise InvalidValue(name, "must be a whole number")
            if not (0 <= value <= spec.maximum):
                raise InvalidValue(name, f"must be from 0 to {spec.maximum:g}")
        if self.indicators.get(year) == indicators:
            return  # the same figures again: nothing new to record
        self._record_indicators(year=year, indicators=dict(indicators))

    def link_inspection(self, inspection_id: UUID, programme: str, fieldwork_start: date) -> None:
        """An inspection of this body was scheduled (its time since the last inspection starts from it)."""
        if any(i["inspection_id"] == str(inspection_id) for i in self.inspections):
            return
        self._link_inspection(inspection_id=str(inspection_id), programme=programme, fieldwork_start=fieldwork_start)

    # -- queries ----------------------------------------------------------

    def as_inspected_body(self) -> dict[str, Any]:
        """What an inspection records of its body."""
        return {"id": str(self.id), "name": self.name, "type": self.type, "region": self.region}

    def indicators_for(self, year: str) -> tuple[str, dict[str, Any]] | None:
        """The latest figures recorded for ``year`` or a year before it, with their year."""
        years = sorted(y for y in self.indicators if y <= year)
        return (years[-1], self.indicators[years[-1]]) if years else None

    # -- events -----------------------------------------------------------

    @event("Succeeded", topic="body.succeeded.v1")
    def _succeeded(self, successor_id: str, successor_type: str) -> None:
        self.succeeded_by = [*self.succeeded_by, successor_id]

    @event("IndicatorsRecorded", topic="body.indicators_recorded.v1")
    def _record_indicators(self, year: str, indicators: dict[str, Any]) -> None:
        self.indicators = {**self.indicators, year: indicators}

    @event("InspectionScheduled", topic="body.inspection_scheduled.v1")
    def _link_inspection(self, inspection_id: str, programme: str, fieldwork_start: date) -> None:
        self.inspections = [
            *self.inspections,
            {"inspection_id": inspection_id, "programme": programme, "fieldwork_start": fieldwork_start},
        ]
