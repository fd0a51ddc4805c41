"""The register of inspected bodies and risk-based selection plans: the application's use cases.

A mixin of ``InspectorateApp``: it uses the app's command loop (``_run``), so
a lost optimistic-concurrency race is retried on the newest state, and a
name registered twice at once is refused once (the body's id derives from
its type and name).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from application.representations import body_dict, plan_dict
from application.results import Result
from domain import clock
from domain.access import may_read
from domain.base import SYSTEM, Actor, InspectorateAggregate
from domain.body import Body, body_id_for, check_year
from domain.errors import DuplicateBody, InvalidValue, NotFound
from domain.inspection import Inspection
from domain.plan import Plan, plan_id_for
from domain.selection import Candidate, select
from domain.selection_criteria import criteria_for

Decision = tuple[list[InspectorateAggregate], Callable[[], Result]]
MAX_SUCCESSION_DEPTH = 10  # predecessors' predecessors ...: far beyond any real chain


def year_start(year: str) -> date:
    """The first day of a business year written '2018-19'."""
    return date(int(year[:4]), 4, 1)


class BodiesMixin:
    """Use cases of the register and of selection (mixed into ``InspectorateApp``)."""

    # -- the register ------------------------------------------------------------

    def register_body(
        self,
        actor: Actor,
        name: str,
        type: str,
        region: str,
        succeeds: list[UUID] | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            existing = self._find(Body, body_id_for(type, name))
            if existing is not None:
                raise DuplicateBody(f"a {type} named '{existing.name}' is already registered (id {existing.id})")
            predecessors = [self._predecessor(pid) for pid in dict.fromkeys(succeeds or [])]
            body = Body.register(name, type, region, predecessors)
            for predecessor in predecessors:
                predecessor.succeeded_by_body(body)
            return [body, *predecessors], lambda: Result(body_dict(body), body.version, None)

        return self._run(actor, correlation_id, decide)  # type: ignore[attr-defined]

    def record_indicators(
        self,
        actor: Actor,
        body_id: UUID,
        year: str,
        indicators: dict[str, Any],
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        def decide() -> Decision:
            body = self._get(Body, body_id, expected_version)  # type: ignore[attr-defined]
            body.record_indicators(year, indicators)
            return [body], lambda: Result(
                {"body_id": str(body.id), "year": year, "indicators": body.indicators[year]}, body.version, None
            )

        return self._run(actor, correlation_id, decide, expected_version)  # type: ignore[attr-defined]

    def get_body(self, actor: Actor, body_id: UUID) -> tuple[dict[str, Any], int]:
        """A body with its successions, indicators and inspections (another body's is 404 for an organisation)."""
        body = self._get(Body, body_id, copy=False)  # type: ignore[attr-defined]
        if not may_read(actor, {"name": body.name}):
            raise NotFound.record(Body.__name__, body_id)
        return body_dict(body, self._inspections_of(body)), body.version

    def list_bodies(
        self, actor: Actor, type: str | None = None, region: str | None = None, q: str | None = None
    ) -> list[dict[str, Any]]:
        """The register by name (then id); ``q`` is part of the name ignoring case; an organisation sees its own."""
        wanted = q.strip().casefold() if q and q.strip() else None
        found = []
        for body in self._registered():
            if type and body.type != type:
                continue
            if region and region.strip() and body.region.casefold() != region.strip().casefold():
                continue
            if wanted and wanted not in body.name.casefold():
                continue
            if not may_read(actor, {"name": body.name}):
                continue
            found.append(body)
        found.sort(key=lambda b: (b.name.casefold(), str(b.id)))
        return [body_dict(b) for b in found]

    def derive_register(self) -> int:
        """Register the body of every inspection scheduled before the register existed, and link the
        inspection to it (idempotent: run on upgrade, and again at will). How many inspections were linked."""
        linked = 0
        for inspection_id in self._ids_with_topic("inspection.scheduled.v1"):  # type: ignore[attr-defined]
            inspection = self._get(Inspection, inspection_id, copy=False)  # type: ignore[attr-defined]
            named = inspection.inspected_body
            known = self._find(Body, body_id_for(named["type"], named["name"]), copy=False)
            if known is not None and any(i["inspection_id"] == str(inspection.id) for i in known.inspections):
                continue

            def decide(i: Inspection = inspection) -> Decision:
                body = self.resolve_body(i.inspected_body)
                body.link_inspection(i.id, i.programme, i.fieldwork_start)
                return [body], lambda: Result({}, body.version, None)

            self._run(SYSTEM, "register-upgrade", decide)  # type: ignore[attr-defined]
            linked += 1
        return linked

    def resolve_body(self, inspected_body: dict[str, Any]) -> Body:
        """The registered body an inspection names: ``{id}``, or ``{name, type, region}`` matched on type and
        name ignoring case and surrounding spaces (the register's region wins), registered when new."""
        if inspected_body.get("id") is not None:
            found = self._find(Body, UUID(str(inspected_body["id"])))
            if found is None:
                raise InvalidValue("inspected_body.id", f"no body with id {inspected_body['id']} is registered")
            return found
        name, body_type = str(inspected_body.get("name") or ""), str(inspected_body.get("type") or "")
        if name.strip() and body_type:
            found = self._find(Body, body_id_for(body_type, name))
            if found is not None:
                return found
        return Body.register(name, body_type, str(inspected_body.get("region") or ""), field="inspected_body.")

    # -- selection ---------------------------------------------------------------

    def selection_criteria(self, programme: str, year: str | None = None) -> dict[str, Any]:
        """The criteria in force for a programme at the start of ``year`` (or today)."""
        if year is not None:
            check_year("year", year)
        return criteria_for(programme, year_start(year) if year else clock.today()).as_dict()

    def draw_up_plan(
        self,
        actor: Actor,
        programme: str,
        year: str,
        capacity: int | None = None,
        correlation_id: str | None = None,
    ) -> Result:
        """Select the year's bodies by the criteria in force and record the plan with every body's reasons."""
        check_year("year", year)
        start = year_start(year)
        criteria = criteria_for(programme, start)

        def decide() -> Decision:
            candidates = self._candidates(criteria.body_types, year, start)
            chosen = capacity
            if chosen is None:
                chosen = criteria.default_capacity
            if chosen is None:
                chosen = sum(1 for c in candidates if c.type in criteria.every_year_types)
            selection = select(criteria, start, chosen, candidates)
            plan = self._find(Plan, plan_id_for(programme, year))
            if plan is None:
                plan = Plan(programme=programme, year=year, criteria=criteria.code, capacity=chosen, **selection)
            else:
                plan.redraw(criteria.code, chosen, selection["selected"], selection["not_selected"])
            return [plan], lambda: Result(plan_dict(plan), plan.version, None)

        return self._run(actor, correlation_id, decide)  # type: ignore[attr-defined]

    def get_plan(self, actor: Actor, programme: str, year: str) -> tuple[dict[str, Any], int]:
        """A recorded plan; an organisation is told only its own body's entry (selected or not, and why)."""
        check_year("year", year)
        plan = self._find(Plan, plan_id_for(programme, year), copy=False)
        if plan is None:
            raise NotFound(f"no {programme} plan for {year} has been drawn up")
        body = plan_dict(plan)
        if actor.role == "organisation":
            for key in ("selected", "not_selected"):
                body[key] = [e for e in body[key] if may_read(actor, {"name": e["name"]})]
        return body, plan.version

    # -- helpers -----------------------------------------------------------------

    def _candidates(self, body_types: tuple[str, ...], year: str, start: date) -> list[Candidate]:
        """Every body of those types still in being (not succeeded), with its last inspection before the
        year (its own or a predecessor's) and its latest figures up to the year."""
        bodies = {b.id: b for b in self._registered()}
        candidates = []
        for body in bodies.values():
            if body.type not in body_types or body.succeeded_by:
                continue
            starts = [
                i["fieldwork_start"]
                for b in self._lineage(body, bodies)
                for i in b.inspections
                if i["fieldwork_start"] < start
            ]
            figures = body.indicators_for(year)
            candidates.append(
                Candidate(
                    body_id=str(body.id),
                    name=body.name,
                    type=body.type,
                    last_inspected=max(starts) if starts else None,
                    indicators_year=figures[0] if figures else None,
                    indicators=figures[1] if figures else None,
                )
            )
        return candidates

    @staticmethod
    def _lineage(body: Body, bodies: dict[UUID, Body]) -> list[Body]:
        """The body and its predecessors, theirs, and so on (each once)."""
        seen: dict[UUID, Body] = {body.id: body}
        frontier = [body]
        for _ in range(MAX_SUCCESSION_DEPTH):
            frontier = [
                bodies[UUID(pid)]
                for b in frontier
                for pid in b.succeeds
                if UUID(pid) in bodies and UUID(pid) not in seen
            ]
            if not frontier:
                break
            seen.update((b.id, b) for b in frontier)
        return list(seen.values())

    def _registered(self) -> list[Body]:
        return [
            self._get(Body, bid, copy=False)  # type: ignore[attr-defined]
            for bid in self._ids_with_topic("body.registered.v1")  # type: ignore[attr-defined]
        ]

    def _inspections_of(self, body: Body) -> list[dict[str, Any]]:
        items = []
        for link in body.inspections:
            inspection = self._find(Inspection, UUID(link["inspection_id"]), copy=False)
            if inspection is None:
                continue
            items.append(
                {
                    "id": str(inspection.id),
                    "programme": inspection.programme,
                    "year": inspection.year,
                    "status": inspection.status,
                    "fieldwork_start": inspection.fieldwork_start.isoformat(),
                    "published_on": inspection.published_on.isoformat() if inspection.published_on else None,
                }
            )
        items.sort(key=lambda i: (i["fieldwork_start"], i["id"]), reverse=True)
        return items

    def _predecessor(self, body_id: UUID) -> Body:
        found = self._find(Body, body_id)
        if found is None:
            raise InvalidValue("succeeds", f"no body with id {body_id} is registered")
        return found

    def _find(self, cls: type[Any], aggregate_id: UUID, *, copy: bool = True) -> Any:
        """The aggregate, or None when there is none of that kind with that id."""
        try:
            return self._get(cls, aggregate_id, copy=copy)  # type: ignore[attr-defined]
        except NotFound:
            return None
