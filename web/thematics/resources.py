"""Thematic and joint inspections: announced, fieldwork, findings, published with recommendations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from application.recommendations import thematic_dict
from web.auth import READERS, is_organisation, roles
from web.context import actor, application, correlation_id
from web.recommendations.resources import listing, make
from web.recommendations.schemas import RecommendationIn, RecommendationListOut, RecommendationOut
from web.responses import expected_version, read, written
from web.schemas import COMMON, Blueprint, problems
from web.thematics.schemas import (
    AnnounceIn,
    PublishThematicIn,
    ThematicFieldworkIn,
    ThematicFindingsIn,
    ThematicListOut,
    ThematicOut,
    ThematicsQuery,
)

blp = Blueprint("thematics", __name__, url_prefix="/v1/thematics", description="Thematic and joint inspections")
THEMATIC_LEADS = ("inspector", "admin")


@blp.route("")
class Thematics(MethodView):
    @roles(*READERS)
    @blp.arguments(ThematicsQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, ThematicListOut)
    @problems(blp, *COMMON)
    def get(self, sector: str | None = None, status: str | None = None) -> Response:
        """Thematic inspections in the order they were announced (announcements are public)."""
        drafts = not is_organisation()
        return read({"items": [thematic_dict(t, drafts=drafts) for t in application().list_thematics(sector, status)]})

    @roles(*THEMATIC_LEADS)
    @blp.arguments(AnnounceIn())
    @blp.response(201, ThematicOut)
    @problems(blp, *COMMON)
    def post(self, data: dict[str, Any]) -> Response:
        """Announce a thematic inspection (joint with the partner inspectorates named), before its fieldwork."""
        result = application().announce_thematic(actor(), correlation_id=correlation_id(), **data)
        return written(result, 201)


@blp.route("/<uuid:thematic_id>")
class ThematicById(MethodView):
    @roles(*READERS)
    @blp.response(200, ThematicOut)
    @problems(blp, *COMMON)
    def get(self, thematic_id: UUID) -> Response:
        """One thematic inspection (an organisation reads its findings once published)."""
        thematic = application().get_thematic(actor(), thematic_id)
        return read(thematic_dict(thematic, drafts=not is_organisation()), thematic.version)


@blp.route("/<uuid:thematic_id>/start-fieldwork")
class StartFieldwork(MethodView):
    @roles(*THEMATIC_LEADS)
    @blp.arguments(ThematicFieldworkIn(), required=False)
    @blp.response(200, ThematicOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], thematic_id: UUID) -> Response:
        """Fieldwork begins, after the day the inspection was announced."""
        result = application().start_thematic_fieldwork(
            actor(),
            thematic_id,
            (data or {}).get("fieldwork_start"),
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/<uuid:thematic_id>/findings")
class Findings(MethodView):
    @roles(*THEMATIC_LEADS)
    @blp.arguments(ThematicFindingsIn())
    @blp.response(200, ThematicOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], thematic_id: UUID) -> Response:
        """Record (or revise) the findings during fieldwork."""
        result = application().record_thematic_findings(
            actor(),
            thematic_id,
            data["findings"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/<uuid:thematic_id>/publish")
class Publish(MethodView):
    @roles(*THEMATIC_LEADS)
    @blp.arguments(PublishThematicIn())
    @blp.response(200, ThematicOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], thematic_id: UUID) -> Response:
        """Publish the findings and the recommendations (each then falls due for an answer)."""
        result = application().publish_thematic(
            actor(),
            thematic_id,
            data["published_on"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/<uuid:thematic_id>/recommendations")
class ThematicRecommendations(MethodView):
    @roles(*READERS)
    @blp.response(200, RecommendationListOut)
    @problems(blp, *COMMON)
    def get(self, thematic_id: UUID) -> Response:
        """The thematic's recommendations (an organisation sees those addressed to it, once published)."""
        return listing(thematic_id)

    @roles("inspector")
    @blp.arguments(RecommendationIn())
    @blp.response(201, RecommendationOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], thematic_id: UUID) -> Response:
        """Make a recommendation in the thematic report, before it is published (409 after)."""
        return make(thematic_id, data)
