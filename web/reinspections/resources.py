"""Reinspections: list, read, link the follow-up inspection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from domain.errors import NotFound
from domain.reinspection import Reinspection
from web.auth import READERS, ensure_may_see, is_organisation, may_see, roles
from web.context import actor, application, correlation_id
from web.reinspections.schemas import ReinspectionListOut, ReinspectionOut, ReinspectionQuery, ScheduleReinspectionIn
from web.responses import expected_version, read, written
from web.schemas import COMMON, Blueprint, problems

blp = Blueprint("reinspections", __name__, url_prefix="/v1/reinspections", description="Reinspections")


@blp.route("")
class Reinspections(MethodView):
    @roles(*READERS)
    @blp.arguments(ReinspectionQuery(), location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, ReinspectionListOut)
    @problems(blp, *COMMON)
    def get(self, origin_inspection_id: UUID | None = None, status: str | None = None) -> Response:
        """Reinspections, optionally of one inspection and in one status (an organisation sees its own)."""
        items = application().list_reinspections(origin_inspection_id, status)
        return read({"items": [item for item in items if may_see(item["inspected_body"])]})


@blp.route("/<uuid:reinspection_id>")
class ReinspectionById(MethodView):
    @roles(*READERS)
    @blp.response(200, ReinspectionOut)
    @problems(blp, *COMMON)
    def get(self, reinspection_id: UUID) -> Response:
        """One reinspection; `comparison` once its follow-up is published; `recommendations`: the origin's,
        each with the reinspection's judgement (an organisation sees a judgement once the follow-up is published)."""
        body = application().reinspection_state(reinspection_id, drafts=not is_organisation())
        ensure_may_see(body["inspected_body"], NotFound.record(Reinspection.__name__, reinspection_id))
        return read(body, body["version"])


@blp.route("/<uuid:reinspection_id>/schedule")
class ScheduleReinspection(MethodView):
    @roles("inspector")
    @blp.arguments(ScheduleReinspectionIn())
    @blp.response(200, ReinspectionOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], reinspection_id: UUID) -> Response:
        """Link a scheduled inspection of the same body and programme as the follow-up."""
        result = application().schedule_reinspection(
            actor(),
            reinspection_id,
            data["inspection_id"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)
