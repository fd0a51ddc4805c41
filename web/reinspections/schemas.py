"""Reinspections: input, query and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.recommendation_policy import JUDGEMENTS
from web.inspections.schemas import AreaScoreOut, InspectedBodyOut
from web.schemas import OutputSchema, StrictSchema

STATUSES = ("pending", "due", "scheduled", "completed")


class ScheduleReinspectionIn(StrictSchema):
    inspection_id = fields.UUID(
        required=True, metadata={"description": "A scheduled inspection of the same body and programme."}
    )


class ReinspectionQuery(StrictSchema):
    origin_inspection_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(STATUSES))


class ChangeOut(OutputSchema):
    original = fields.Integer(allow_none=True)
    reinspection = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True)


class JudgedRecommendationOut(OutputSchema):
    id = fields.UUID(required=True)
    to = fields.String()
    text = fields.String()
    response = fields.String(allow_none=True)
    progress = fields.String(allow_none=True)
    judgement = fields.String(allow_none=True, validate=validate.OneOf(JUDGEMENTS))
    judgement_note = fields.String(allow_none=True)
    judgement_published_on = fields.Date(allow_none=True)


class ReinspectionOut(OutputSchema):
    id = fields.UUID(required=True)
    origin_inspection_id = fields.UUID(required=True)
    due_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reinspection_inspection_id = fields.UUID(required=True, allow_none=True)
    comparison = fields.Dict(keys=fields.String(), values=fields.Nested(ChangeOut), required=True, allow_none=True)
    programme = fields.String()
    inspected_body = fields.Nested(InspectedBodyOut)
    published_on = fields.Date()
    original_scores = fields.Dict(keys=fields.String(), values=fields.Nested(AreaScoreOut))
    version = fields.Integer()
    recommendations = fields.List(fields.Nested(JudgedRecommendationOut))


class ReinspectionListOut(OutputSchema):
    items = fields.List(fields.Nested(ReinspectionOut), required=True)
