"""Thematic inspections: input, query and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.thematic import ANNOUNCED, FIELDWORK, MAX_PARTNERS, PUBLISHED, SECTORS
from web.schemas import NAME, TEXT, OutputSchema, StrictSchema, StrictString

STATUSES = (ANNOUNCED, FIELDWORK, PUBLISHED)


class AnnounceIn(StrictSchema):
    title = StrictString(required=True, validate=NAME)
    topic = StrictString(required=True, validate=NAME, metadata={"description": "e.g. domestic abuse"})
    sector = StrictString(required=True, validate=validate.OneOf(SECTORS))
    partners = fields.List(
        StrictString(validate=NAME),
        load_default=list,
        validate=validate.Length(max=MAX_PARTNERS),
        metadata={"description": "Partner inspectorates of a joint inspection (none: HMI Probation alone)."},
    )
    announced_on = fields.Date(required=True, metadata={"description": "Not in the future."})
    fieldwork_start = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "The planned start of fieldwork, after announced_on."},
    )


class ThematicFieldworkIn(StrictSchema):
    fieldwork_start = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "After announced_on and not in the future; today if left out."},
    )


class ThematicFindingsIn(StrictSchema):
    findings = StrictString(required=True, validate=TEXT)


class PublishThematicIn(StrictSchema):
    published_on = fields.Date(required=True)


class ThematicsQuery(StrictSchema):
    sector = fields.String(validate=validate.OneOf(SECTORS))
    status = fields.String(validate=validate.OneOf(STATUSES))


class ThematicOut(OutputSchema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    topic = fields.String(required=True)
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))
    partners = fields.List(fields.String(), required=True)
    announced_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    joint = fields.Boolean()
    planned_fieldwork_start = fields.Date(allow_none=True)
    fieldwork_start = fields.Date(allow_none=True)
    findings = fields.String(allow_none=True, metadata={"description": "For an organisation only once published."})
    published_on = fields.Date(allow_none=True)
    recommendation_ids = fields.List(fields.UUID())
    version = fields.Integer()


class ThematicListOut(OutputSchema):
    items = fields.List(fields.Nested(ThematicOut), required=True)
