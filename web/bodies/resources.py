"""The register of inspected bodies, and risk-based selection plans by programme."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from domain.errors import InvalidValue
from web.auth import READERS, roles
from web.bodies.schemas import (
    BodiesQuery,
    BodyDetailOut,
    BodyListOut,
    BodyOut,
    CriteriaOut,
    CriteriaQuery,
    IndicatorsIn,
    IndicatorsOut,
    PlanIn,
    PlanOut,
    RegisterBodyIn,
)
from web.context import actor, application, correlation_id
from web.responses import expected_version, read, written
from web.schemas import COMMON, Blueprint, problems
from web.views.schemas import YEAR_PATTERN

REGISTRARS = ("admin", "inspector")

blp = Blueprint("bodies", __name__, url_prefix="/v1/bodies", description="The register of inspected bodies")
selection = Blueprint(
    "selection",
    __name__,
    url_prefix="/v1/programmes",
    description="Risk-based selection: published criteria and yearly plans",
)


@blp.route("")
class Bodies(MethodView):
    @roles(*READERS)
    @blp.arguments(BodiesQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, BodyListOut)
    @problems(blp, *COMMON)
    def get(self, **filters: Any) -> Response:
        """The register by name; an organisation sees its own body only."""
        return read({"items": application().list_bodies(actor(), **filters)})

    @roles(*REGISTRARS)
    @blp.arguments(RegisterBodyIn())
    @blp.response(201, BodyOut)
    @problems(blp, *COMMON, 409)
    def post(self, data: dict[str, Any]) -> Response:
        """Register a body (409 if a body of that type has that name, ignoring case and surrounding spaces);
        `succeeds` names the bodies it took over, which then show it in `succeeded_by`."""
        result = application().register_body(actor(), correlation_id=correlation_id(), **data)
        return written(result, 201)


@blp.route("/<uuid:body_id>")
class BodyById(MethodView):
    @roles(*READERS)
    @blp.response(200, BodyDetailOut)
    @problems(blp, *COMMON)
    def get(self, body_id: UUID) -> Response:
        """A body with its successions, yearly figures and inspections (another body's is 404 for an
        organisation)."""
        body, version = application().get_body(actor(), body_id)
        return read(body, version)


@blp.route("/<uuid:body_id>/indicators/<year>")
class Indicators(MethodView):
    @roles(*REGISTRARS)
    @blp.arguments(IndicatorsIn())
    @blp.response(200, IndicatorsOut)
    @problems(blp, *COMMON, 409, 412)
    def put(self, data: dict[str, Any], body_id: UUID, year: str) -> Response:
        """Record a body's figures for a business year (`2017-18`), replacing that year's: selection uses
        the latest year up to the plan's."""
        result = application().record_indicators(
            actor(), body_id, _year(year), data, expected_version=expected_version(), correlation_id=correlation_id()
        )
        return written(result)


@selection.route("/<programme>/selection-criteria")
class SelectionCriteria(MethodView):
    @roles(*READERS)
    @selection.arguments(CriteriaQuery, location="query", as_kwargs=True, unknown=RAISE)
    @selection.response(200, CriteriaOut)
    @problems(selection, *COMMON)
    def get(self, programme: str, year: str | None = None) -> Response:
        """The published selection criteria in force (404 for a programme without any)."""
        return read(application().selection_criteria(programme, year))


@selection.route("/<programme>/plans")
class Plans(MethodView):
    @roles(*REGISTRARS)
    @selection.arguments(PlanIn())
    @selection.response(201, PlanOut)
    @problems(selection, *COMMON, 409)
    def post(self, data: dict[str, Any], programme: str) -> Response:
        """Select the year's bodies by the criteria in force and record the plan, with each body's score
        and reasons; drawing up a year's plan again records a new revision."""
        result = application().draw_up_plan(
            actor(), programme, data["year"], data.get("capacity"), correlation_id=correlation_id()
        )
        return written(result, 201)


@selection.route("/<programme>/plans/<year>")
class PlanByYear(MethodView):
    @roles(*READERS)
    @selection.response(200, PlanOut)
    @problems(selection, *COMMON, 422)
    def get(self, programme: str, year: str) -> Response:
        """The year's plan as last drawn up; an organisation sees only its own body's entry."""
        body, version = application().get_plan(actor(), programme, _year(year))
        return read(body, version)


def _year(year: str) -> str:
    """A business year in a path: checked here (the domain checks it again), so nothing odd goes further."""
    if not YEAR_PATTERN.match(year):
        raise InvalidValue("year", "a business year like 2018-19")
    return year
