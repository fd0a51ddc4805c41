from __future__ import annotations

from marshmallow import fields, validate, validates_schema, ValidationError

from domain.frameworks import PROGRAMMES
from domain.inspection import BODY_TYPES
from web.schemas import NAME, StrictSchema


class InspectedBodyIn(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    type = fields.String(required=True, validate=validate.OneOf(BODY_TYPES))
    region = fields.String(required=True, validate=NAME)


class ScheduleInspectionIn(StrictSchema):
    programme = fields.String(required=True, validate=validate.OneOf(PROGRAMMES))
    inspected_body = fields.Nested(InspectedBodyIn, required=True)
    fieldwork_start = fields.Date(required=True)
    fieldwork_end = fields.Date(load_default=None, allow_none=True)
    lead_inspector = fields.String(load_default=None, allow_none=True, validate=NAME)

    @validates_schema
    def end_not_before_start(self, data: dict, **_: object) -> None:
        end, start = data.get("fieldwork_end"), data.get("fieldwork_start")
        if end is not None and start is not None and end < start:
            raise ValidationError("fieldwork cannot end before it starts", "fieldwork_end")


class InspectedBodyOut(StrictSchema):
    name = fields.String()
    type = fields.String()
    region = fields.String()


class InspectionOut(StrictSchema):
    id = fields.UUID()
    programme = fields.String()
    framework = fields.String()
    year = fields.String()
    inspected_body = fields.Nested(InspectedBodyOut)
    status = fields.String()
    fieldwork_start = fields.String()
    fieldwork_end = fields.String(allow_none=True)
    lead_inspector = fields.String(allow_none=True)
    published_on = fields.String(allow_none=True)
    case_count = fields.Integer()
    version = fields.Integer()
    headline_scores = fields.Dict(allow_none=True)
    criteria_scores = fields.Dict(allow_none=True)
    of_concern = fields.Boolean(allow_none=True)
    reinspection_id = fields.String(allow_none=True)
    reinspection_of = fields.String(allow_none=True)
    created_on = fields.String()
    modified_on = fields.String()
