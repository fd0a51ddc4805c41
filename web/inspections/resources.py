"""Inspections: schedule, fieldwork, publish, read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from application.representations import inspection_dict
from domain.body import with_body_id
from domain.errors import NotFound
from domain.inspection import Inspection
from web.auth import READERS, ensure_may_see, roles
from web.context import actor, application, correlation_id
from web.inspections.schemas import (
    AsOfQuery,
    CaseloadIn,
    CompleteFieldworkIn,
    InspectionListOut,
    InspectionOut,
    InspectionsQuery,
    PublishedOut,
    PublishIn,
    RateStandardIn,
    SampleOut,
    ScheduleInspectionIn,
    StandardRatedOut,
    cursor_text,
)
from web.responses import expected_version, read, written
from web.schemas import COMMON, Blueprint, EmptySchema, problems
from web.views.resources import organisation, reader

blp = Blueprint("inspections", __name__, url_prefix="/v1/inspections", description="Inspections")


@blp.route("")
class Inspections(MethodView):
    @roles(*READERS)
    @blp.arguments(InspectionsQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, InspectionListOut)
    @problems(blp, *COMMON)
    def get(self, limit: int, cursor: tuple[str, str] | None = None, **filters: Any) -> Response:
        """Inspections, newest fieldwork first, a page at a time (an organisation sees its own).

        Read from the scores view, so an inspection appears once the projection worker has seen it."""
        items, after = reader().inspection_list(**filters, organisation=organisation(), limit=limit, after=cursor)
        return read({"items": [listing_item(row) for row in items], "next_cursor": cursor_text(after)})

    @roles("inspector")
    @blp.arguments(ScheduleInspectionIn())
    @blp.response(201, InspectionOut)
    @problems(blp, *COMMON, 409)
    def post(self, data: dict[str, Any]) -> Response:
        """Schedule an inspection (409 if the same programme, body and start exist). `inspected_body` is a
        registered body's `{id}`, or `{name, type, region}`, which resolves to the registered body or registers it."""
        result = application().schedule_inspection(actor(), correlation_id=correlation_id(), **data)
        return written(result, 201)


@blp.route("/<uuid:inspection_id>")
class InspectionById(MethodView):
    @roles(*READERS)
    @blp.arguments(AsOfQuery(), location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, InspectionOut)
    @problems(blp, *COMMON)
    def get(self, inspection_id: UUID, as_of: Any = None) -> Response:
        """The inspection now, or as recorded at `as_of` (404 if it did not exist yet)."""
        inspection = application().get_inspection(inspection_id, as_of)
        ensure_may_see(inspection.inspected_body, NotFound.record(Inspection.__name__, inspection_id, as_of))
        return read(inspection_dict(inspection), inspection.version)


@blp.route("/<uuid:inspection_id>/start-fieldwork")
class StartFieldwork(MethodView):
    @roles("inspector")
    @blp.arguments(EmptySchema(), required=False)
    @blp.response(200, InspectionOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, _: dict[str, Any], inspection_id: UUID) -> Response:
        """Fieldwork begins: cases may be sampled."""
        result = application().start_fieldwork(
            actor(), inspection_id, expected_version=expected_version(), correlation_id=correlation_id()
        )
        return written(result)


@blp.route("/<uuid:inspection_id>/complete-fieldwork")
class CompleteFieldwork(MethodView):
    @roles("inspector")
    @blp.arguments(CompleteFieldworkIn(), required=False)
    @blp.response(200, InspectionOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], inspection_id: UUID) -> Response:
        """Fieldwork ends (409 while a sampled case has no judgement, or, with a caseload, while fewer
        cases than the sample size are sampled and no `short_sample_reason` is given)."""
        result = application().complete_fieldwork(
            actor(),
            inspection_id,
            expected_version=expected_version(),
            correlation_id=correlation_id(),
            short_sample_reason=(data or {}).get("short_sample_reason"),
        )
        return written(result)


@blp.route("/<uuid:inspection_id>/publish")
class Publish(MethodView):
    @roles("inspector")
    @blp.arguments(PublishIn())
    @blp.response(200, PublishedOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], inspection_id: UUID) -> Response:
        """Publish the report: scores are frozen; a reinspection is triggered if they are of concern."""
        result = application().publish(
            actor(),
            inspection_id,
            data["published_on"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/<uuid:inspection_id>/standards/<code>/rating")
class StandardRating(MethodView):
    @roles("inspector")
    @blp.arguments(RateStandardIn())
    @blp.response(200, StandardRatedOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], inspection_id: UUID, code: str) -> Response:
        """Rate an organisational standard, or override a case standard's rule (both ratings are kept)."""
        result = application().rate_standard(
            actor(),
            inspection_id,
            code,
            data["rating"],
            data["rationale"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/<uuid:inspection_id>/caseload")
class Caseload(MethodView):
    @roles("inspector", "organisation")
    @blp.arguments(CaseloadIn())
    @blp.response(200, SampleOut)
    @problems(blp, *COMMON, 409, 412)
    def put(self, data: dict[str, Any], inspection_id: UUID) -> Response:
        """The caseload behind the sample (2018): each dimension adds up to the population."""
        result = application().record_caseload(
            actor(),
            inspection_id,
            data["population"],
            data["by"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/<uuid:inspection_id>/sample")
class Sample(MethodView):
    @roles(*READERS)
    @blp.response(200, SampleOut)
    @problems(blp, *COMMON)
    def get(self, inspection_id: UUID) -> Response:
        """Sample size, quotas by gender, disposal and risk level, what is sampled, and the warnings."""
        app = application()
        ensure_may_see(
            app.get_inspection(inspection_id).inspected_body, NotFound.record(Inspection.__name__, inspection_id)
        )
        return read(app.sample(inspection_id))


def listing_item(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the listing as the contract shapes it (api-2 C)."""
    item = {
        key: row[key]
        for key in (
            "id",
            "programme",
            "framework",
            "year",
            "inspected_body",
            "status",
            "fieldwork_start",
            "published_on",
        )
    }
    item["inspected_body"] = with_body_id(item["inspected_body"])
    return item
