"""Recommendations: input and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.recommendation import DRAFT, INSPECTION, PUBLISHED, THEMATIC
from domain.recommendation_policy import JUDGEMENTS, PROGRESS, RESPONSES
from web.schemas import NAME, TEXT, OutputSchema, StrictSchema, StrictString


def _note() -> StrictString:
    return StrictString(load_default=None, allow_none=True, validate=TEXT)


class RecommendationIn(StrictSchema):
    to = StrictString(required=True, validate=NAME, metadata={"description": "The body it is addressed to, by name."})
    text = StrictString(required=True, validate=TEXT)
    to_body_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "The addressee's id in the register of bodies, when known (422 when no body has it)."},
    )


class RecommendationResponseIn(StrictSchema):
    response = StrictString(required=True, validate=validate.OneOf(RESPONSES))
    note = _note()


class RecommendationProgressIn(StrictSchema):
    status = StrictString(required=True, validate=validate.OneOf(PROGRESS))
    note = _note()


class RecommendationJudgementIn(StrictSchema):
    judgement = StrictString(required=True, validate=validate.OneOf(JUDGEMENTS))
    note = _note()


class ReportOut(OutputSchema):
    kind = fields.String(required=True, validate=validate.OneOf((INSPECTION, THEMATIC)))
    id = fields.UUID(required=True)


class ProgressReportOut(OutputSchema):
    status = fields.String(validate=validate.OneOf(PROGRESS))
    note = fields.String(allow_none=True)
    on = fields.Date()


class JudgedInOut(OutputSchema):
    reinspection_id = fields.UUID()
    inspection_id = fields.UUID()


class RecommendationOut(OutputSchema):
    id = fields.UUID(required=True)
    to = fields.String(required=True)
    text = fields.String(required=True)
    response = fields.String(required=True, allow_none=True, validate=validate.OneOf(RESPONSES))
    progress = fields.String(required=True, allow_none=True, validate=validate.OneOf(PROGRESS))
    status = fields.String(validate=validate.OneOf((DRAFT, PUBLISHED)))
    report = fields.Nested(ReportOut)
    inspection_id = fields.UUID(allow_none=True)
    thematic_id = fields.UUID(allow_none=True)
    to_body_id = fields.UUID(allow_none=True)
    published_on = fields.Date(allow_none=True)
    response_due_on = fields.Date(allow_none=True)
    response_note = fields.String(allow_none=True)
    responded_on = fields.Date(allow_none=True)
    responded_late = fields.Boolean(allow_none=True)
    response_overdue = fields.Boolean()
    progress_note = fields.String(allow_none=True)
    progress_reported_on = fields.Date(allow_none=True)
    progress_reports = fields.List(fields.Nested(ProgressReportOut))
    judgement = fields.String(allow_none=True, validate=validate.OneOf(JUDGEMENTS))
    judgement_note = fields.String(allow_none=True)
    judged_in = fields.Nested(JudgedInOut, allow_none=True)
    judgement_published_on = fields.Date(allow_none=True)
    version = fields.Integer()


class RecommendationListOut(OutputSchema):
    items = fields.List(fields.Nested(RecommendationOut), required=True)
