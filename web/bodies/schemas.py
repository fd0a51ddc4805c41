"""The register of bodies and selection plans: input, query and output schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from domain.body import BODY_TYPES
from domain.selection_criteria import INDICATORS
from web.schemas import NAME, OutputSchema, StrictSchema, StrictString
from web.views.schemas import YEAR


class RegisterBodyIn(StrictSchema):
    name = StrictString(required=True, validate=NAME)
    type = StrictString(required=True, validate=validate.OneOf(BODY_TYPES))
    region = StrictString(required=True, validate=NAME)
    succeeds = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "Ids of the registered bodies this one took over (e.g. the trusts a CRC succeeded)."},
    )


class BodiesQuery(StrictSchema):
    type = fields.String(validate=validate.OneOf(BODY_TYPES))
    region = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The region, ignoring case and surrounding spaces."},
    )
    q = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "Part of the body's name, ignoring case."}
    )


def _figure(name: str, **kwargs: Any) -> fields.Field:
    spec = INDICATORS[name]
    bound = validate.Range(min=0, max=spec.maximum)
    if spec.whole:
        return fields.Integer(strict=True, validate=bound, metadata={"description": spec.description}, **kwargs)
    return fields.Float(allow_nan=False, validate=bound, metadata={"description": spec.description}, **kwargs)


class IndicatorsIn(StrictSchema):
    """A body's figures for one business year, used by selection (``GET .../selection-criteria``)."""

    caseload = _figure("caseload", required=True)
    reoffending_rate = _figure("reoffending_rate")
    first_time_entrants_rate = _figure("first_time_entrants_rate")
    custody_rate = _figure("custody_rate")


class IndicatorsOut(OutputSchema):
    body_id = fields.UUID(required=True)
    year = fields.String(required=True)
    indicators = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)


class BodyInspectionOut(OutputSchema):
    id = fields.UUID(required=True)
    programme = fields.String(required=True)
    year = fields.String(required=True)
    status = fields.String(required=True)
    fieldwork_start = fields.String(required=True)
    published_on = fields.String(allow_none=True, required=True)


class BodyOut(OutputSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    region = fields.String(required=True)
    succeeds = fields.List(fields.UUID(), required=True)
    succeeded_by = fields.List(fields.UUID(), required=True)
    version = fields.Integer(required=True)


class BodyDetailOut(BodyOut):
    indicators = fields.Dict(
        keys=fields.String(), values=fields.Dict(), required=True, metadata={"description": "Figures by business year."}
    )
    inspections = fields.List(
        fields.Nested(BodyInspectionOut),
        required=True,
        metadata={"description": "Its inspections, newest fieldwork first."},
    )


class BodyListOut(OutputSchema):
    items = fields.List(fields.Nested(BodyOut), required=True)


class CriteriaQuery(StrictSchema):
    year = fields.String(
        validate=YEAR, metadata={"description": "The criteria in force for this business year (default: today's)."}
    )


class CriteriaOut(OutputSchema):
    code = fields.String(required=True)
    programme = fields.String(required=True)
    version = fields.Integer(required=True)
    valid_from = fields.String(required=True)
    body_types = fields.List(fields.String(), required=True)
    every_year_types = fields.List(fields.String(), required=True)
    overdue_after_years = fields.Integer(required=True)
    default_capacity = fields.Integer(allow_none=True, required=True)
    time_weight = fields.Float(required=True)
    time_horizon_years = fields.Integer(required=True)
    volume_weight = fields.Float(required=True)
    performance = fields.List(fields.Dict(), required=True)
    tie_break = fields.String(required=True)
    order = fields.List(fields.String(), required=True)


class PlanIn(StrictSchema):
    year = StrictString(required=True, validate=YEAR)
    capacity = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=10_000),
        metadata={"description": "Inspections the year can hold (default: the criteria's, e.g. 30 YOTs)."},
    )


class PlanEntryOut(OutputSchema):
    body_id = fields.UUID(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    score = fields.Float(required=True)
    rank = fields.Integer(required=True)
    basis = fields.String(required=True, metadata={"description": "every_year, overdue or risk"})
    last_inspected = fields.String(allow_none=True)
    indicators_year = fields.String(allow_none=True)
    reasons = fields.List(fields.String(), required=True)


class PlanOut(OutputSchema):
    id = fields.UUID(required=True)
    programme = fields.String(required=True)
    year = fields.String(required=True)
    revision = fields.Integer(required=True)
    drawn_up_at = fields.String(required=True)
    criteria = fields.Nested(CriteriaOut, required=True)
    capacity = fields.Integer(required=True)
    selected = fields.List(fields.Nested(PlanEntryOut), required=True)
    not_selected = fields.List(fields.Nested(PlanEntryOut), required=True)
