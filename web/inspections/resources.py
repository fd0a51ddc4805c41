"""Inspections: schedule, fieldwork, publish, read."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from flask.views import MethodView
from flask_smorest import Blueprint

from application.representations import inspection_dict
from web.auth import READERS, roles
from web.context import actor, application, correlation_id
from web.inspections.schemas import InspectionOut, ScheduleInspectionIn
from web.responses import expected_version, read, written

blp = Blueprint("inspections", __name__, url_prefix="/v1/inspections", description="Inspections")


@blp.route("")
class Inspections(MethodView):
    @blp.arguments(ScheduleInspectionIn)
    @blp.response(201, InspectionOut)
    @roles("inspector")
    def post(self, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        result = application().schedule_inspection(actor(), correlation_id=correlation_id(), **data)
        return written(result, 201)


@blp.route("/<uuid:inspection_id>")
class InspectionById(MethodView):
    @blp.response(200, InspectionOut)
    @roles(*READERS)
    def get(self, inspection_id: UUID):  # type: ignore[no-untyped-def]
        inspection = application().get_inspection(inspection_id)
        return read(inspection_dict(inspection), inspection.version)


@blp.route("/<uuid:inspection_id>/start-fieldwork")
class StartFieldwork(MethodView):
    @blp.response(200, InspectionOut)
    @roles("inspector")
    def post(self, inspection_id: UUID):  # type: ignore[no-untyped-def]
        result = application().start_fieldwork(
            actor(), inspection_id, expected_version=expected_version(), correlation_id=correlation_id()
        )
        return written(result)
