"""Read views: query and output schemas."""
from __future__ import annotations

import re

from marshmallow import fields, validate

from domain.frameworks import PROGRAMMES
from web.schemas import OutputSchema, StrictSchema

YEAR_PATTERN = re.compile(r"\d{4}-\d{2}\Z")
YEAR = validate.Regexp(YEAR_PATTERN, error="a business year like 2011-12")
REINSPECTION_STATUSES = ("pending", "due", "scheduled", "completed")


class ViewQuery(StrictSchema):
    min_position = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "Answer only once the view has processed this position (503 if it does not soon; 422 if beyond the head of the record)."},
    )


class ConsistencyQuery(ViewQuery):
    programme = fields.String(validate=validate.OneOf(PROGRAMMES))
    year = fields.String(validate=YEAR)


class ReinspectionsQuery(ViewQuery):
    origin_inspection_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(REINSPECTION_STATUSES))


class TallyOut(OutputSchema):
    score = fields.Integer(allow_none=True)
    sufficient = fields.Integer()
    applicable = fields.Integer()
    ci95 = fields.List(fields.Float(), allow_none=True)


class ScoresOut(OutputSchema):
    inspection_id = fields.UUID()
    status = fields.String()
    frozen = fields.Boolean()
    headline = fields.Dict(keys=fields.String(), values=fields.Nested(TallyOut), required=True)
    criteria = fields.Dict(keys=fields.String(), values=fields.Nested(TallyOut), required=True)
    breakdown = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Nested(TallyOut))),
        metadata={"description": "Headline tallies by each case characteristic and value (diversity analysis)."},
    )


class ExtremeOut(OutputSchema):
    score = fields.Integer()
    inspection_id = fields.UUID()
    inspected_body = fields.String()


class YearRowOut(OutputSchema):
    inspection_id = fields.UUID()
    inspected_body = fields.String()
    headline = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))


class ProgrammeYearOut(OutputSchema):
    inspections = fields.Integer(required=True)
    cases = fields.Integer(required=True)
    aggregate = fields.Dict(keys=fields.String(), values=fields.Nested(TallyOut), required=True)
    lowest = fields.Dict(keys=fields.String(), values=fields.Nested(ExtremeOut), required=True)
    highest = fields.Dict(keys=fields.String(), values=fields.Nested(ExtremeOut), required=True)
    rows = fields.List(fields.Nested(YearRowOut), required=True)


class ComplaintsOut(OutputSchema):
    open = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_outcome = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Dict(), required=True)


class ReinspectionsOut(OutputSchema):
    items = fields.List(fields.Dict(), required=True)


class AgreementOut(OutputSchema):
    pairs = fields.Integer()
    agreements = fields.Integer()
    agreement_rate = fields.Float(allow_none=True)
    kappa = fields.Float(allow_none=True)


class ConsistencyOut(OutputSchema):
    overall = fields.Nested(AgreementOut, required=True)
    by_area = fields.Dict(keys=fields.String(), values=fields.Nested(AgreementOut))
    by_criterion = fields.Dict(keys=fields.String(), values=fields.Nested(AgreementOut))
    by_programme = fields.Dict(keys=fields.String(), values=fields.Nested(AgreementOut))
    by_year = fields.Dict(keys=fields.String(), values=fields.Nested(AgreementOut))
    by_assessor = fields.List(fields.Dict())
    disagreements = fields.List(fields.Dict())


class ViewsStatusOut(OutputSchema):
    head = fields.Integer()
    views = fields.Dict(keys=fields.String(), values=fields.Dict())
