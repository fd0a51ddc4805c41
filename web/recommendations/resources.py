"""Recommendations: made in a report, answered and acted on by the body they name, judged by a reinspection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView

from web.auth import READERS, roles
from web.context import actor, application, correlation_id
from web.recommendations.schemas import (
    RecommendationIn,
    RecommendationJudgementIn,
    RecommendationListOut,
    RecommendationOut,
    RecommendationProgressIn,
    RecommendationResponseIn,
)
from web.responses import expected_version, read, written
from web.schemas import COMMON, Blueprint, problems

blp = Blueprint("recommendations", __name__, url_prefix="/v1", description="Recommendations")


def make(report_id: UUID, data: dict[str, Any]) -> Response:
    result = application().make_recommendation(
        actor(),
        report_id,
        data["to"],
        data["text"],
        data["to_body_id"],
        expected_version=expected_version(),
        correlation_id=correlation_id(),
    )
    return written(result, 201)


def listing(report_id: UUID) -> Response:
    return read({"items": application().recommendations_of(actor(), report_id)})


@blp.route("/inspections/<uuid:inspection_id>/recommendations")
class InspectionRecommendations(MethodView):
    @roles(*READERS)
    @blp.response(200, RecommendationListOut)
    @problems(blp, *COMMON)
    def get(self, inspection_id: UUID) -> Response:
        """The report's recommendations (an organisation sees its own report's, once published)."""
        return listing(inspection_id)

    @roles("inspector")
    @blp.arguments(RecommendationIn())
    @blp.response(201, RecommendationOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], inspection_id: UUID) -> Response:
        """Make a recommendation in the report, before it is published (409 after). A thematic
        inspection's id is accepted too (as at /v1/thematics/{thematic_id}/recommendations)."""
        return make(inspection_id, data)


@blp.route("/recommendations/<uuid:recommendation_id>")
class RecommendationById(MethodView):
    @roles(*READERS)
    @blp.response(200, RecommendationOut)
    @problems(blp, *COMMON)
    def get(self, recommendation_id: UUID) -> Response:
        """One recommendation with its answer, progress and judgement (an organisation: its own, published)."""
        body = application().get_recommendation(actor(), recommendation_id)
        return read(body, body["version"])


@blp.route("/recommendations/<uuid:recommendation_id>/response")
class Respond(MethodView):
    @roles("organisation")
    @blp.arguments(RecommendationResponseIn())
    @blp.response(200, RecommendationOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], recommendation_id: UUID) -> Response:
        """The addressed organisation answers: agreed, partly agreed or not agreed (once; 409 after)."""
        result = application().respond_to_recommendation(
            actor(),
            recommendation_id,
            data["response"],
            data["note"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/recommendations/<uuid:recommendation_id>/progress")
class Progress(MethodView):
    @roles("organisation")
    @blp.arguments(RecommendationProgressIn())
    @blp.response(200, RecommendationOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], recommendation_id: UUID) -> Response:
        """The addressed organisation reports progress: not started, in progress, achieved."""
        result = application().report_recommendation_progress(
            actor(),
            recommendation_id,
            data["status"],
            data["note"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)


@blp.route("/recommendations/<uuid:recommendation_id>/judgement")
class Judgement(MethodView):
    @roles("inspector")
    @blp.arguments(RecommendationJudgementIn())
    @blp.response(200, RecommendationOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], recommendation_id: UUID) -> Response:
        """The reinspection judges what was achieved: while its follow-up is scheduled and unpublished
        (409 otherwise); it may be revised until the follow-up's report is published."""
        result = application().judge_recommendation(
            actor(),
            recommendation_id,
            data["judgement"],
            data["note"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result)
