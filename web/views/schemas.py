"""Read views: query and output schemas."""

from __future__ import annotations

import re

from marshmallow import fields, validate

from domain.frameworks import PROGRAMMES
from web.schemas import BoundedInteger, OutputSchema, StrictSchema

YEAR_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}\Z", re.ASCII)  # ASCII digits: "٢٠١١-١٢" is no year
YEAR = validate.Regexp(YEAR_PATTERN, error="a business year like 2011-12")
REINSPECTION_STATUSES = ("pending", "due", "scheduled", "completed")


class ViewQuery(StrictSchema):
    min_position = BoundedInteger(
        metadata={
            "description": "Answer only once the view has processed this position (503 if it does not "
            "soon; 422 if beyond the head of the record)."
        },
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
        values=fields.Dict(
            keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Nested(TallyOut))
        ),
        metadata={"description": "Headline tallies by each case characteristic and value (diversity analysis)."},
    )


class TiedOut(OutputSchema):
    inspection_id = fields.UUID(required=True)
    inspected_body = fields.String(required=True)


class ExtremeOut(OutputSchema):
    score = fields.Integer(required=True)
    inspection_id = fields.UUID(required=True, metadata={"description": "The first inspection with this score."})
    inspected_body = fields.String(required=True)
    tied = fields.List(
        fields.Nested(TiedOut),
        required=True,
        metadata={"description": "Every inspection with this score (the one above included), in publication order."},
    )


class YearRowOut(OutputSchema):
    inspection_id = fields.UUID()
    inspected_body = fields.String()
    cases = fields.Integer()
    reinspection = fields.Boolean(
        required=True,
        metadata={"description": "The follow-up of a report of concern: listed, but not pooled into the year."},
    )
    headline = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))


class ProgrammeYearOut(OutputSchema):
    inspections = fields.Integer(
        required=True, metadata={"description": "Published inspections pooled into the year (reinspections not)."}
    )
    reinspections = fields.Integer(required=True, metadata={"description": "Published reinspections listed in rows."})
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


class KeyQuestionOut(TallyOut):
    ci95 = fields.List(fields.Float(), allow_none=True)


class OverallOut(OutputSchema):
    rating = fields.String(allow_none=True)
    score = fields.Integer()
    max = fields.Integer()


class StandardRatingOut(OutputSchema):
    kind = fields.String()
    rating = fields.String(allow_none=True)
    rule_rating = fields.String(allow_none=True)
    percentage = fields.Integer(allow_none=True)
    overridden = fields.Boolean()
    key_questions = fields.Dict(keys=fields.String(), values=fields.Nested(KeyQuestionOut))


class RatingsOut(OutputSchema):
    inspection_id = fields.UUID()
    status = fields.String()
    frozen = fields.Boolean()
    overall = fields.Nested(OverallOut, required=True)
    standards = fields.Dict(keys=fields.String(), values=fields.Nested(StandardRatingOut), required=True)


class DifferenceOut(OutputSchema):
    points = fields.Float(
        required=True, metadata={"description": "This value's score minus the other cases', in percentage points."}
    )
    ci95 = fields.List(
        fields.Float(),
        required=True,
        metadata={"description": "Newcombe's hybrid score 95% interval, in percentage points."},
    )


class DiversityTallyOut(TallyOut):
    difference = fields.Nested(
        DifferenceOut,
        allow_none=True,
        required=True,
        metadata={"description": "null when this value or the other cases have nothing judged in the area."},
    )


class DiversityCellOut(OutputSchema):
    cases = fields.Integer(allow_none=True, required=True, metadata={"description": "null when suppressed."})
    share = fields.Float(
        allow_none=True,
        required=True,
        metadata={"description": "Percent of the year's sample, one decimal; null when suppressed."},
    )
    suppressed = fields.Boolean(required=True, metadata={"description": "Hidden by the small-cell rule."})
    areas = fields.Dict(keys=fields.String(), values=fields.Nested(DiversityTallyOut), allow_none=True, required=True)


class SmallCellsOut(OutputSchema):
    version = fields.String(required=True)
    min_cases = fields.Integer(required=True)
    rule = fields.String(required=True)


class DiversityOut(OutputSchema):
    programme = fields.String(required=True)
    year = fields.String(required=True)
    published_only = fields.Boolean(required=True)
    inspections = fields.Integer(required=True, metadata={"description": "Inspections pooled (reinspections not)."})
    reinspections = fields.Integer(required=True, metadata={"description": "Reinspections of the year left out."})
    cases = fields.Integer(required=True, metadata={"description": "The pooled inspections' sample."})
    areas = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Areas (2009 frameworks) or standard/key question items (2018)."},
    )
    overall = fields.Dict(keys=fields.String(), values=fields.Nested(TallyOut), required=True)
    characteristics = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Nested(DiversityCellOut)),
        required=True,
        metadata={"description": "characteristic -> value (true, false, null for yes/no ones) -> cell."},
    )
    method = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    small_cells = fields.Nested(SmallCellsOut, required=True)
    as_of = fields.String(metadata={"description": "Present when asked with as_of."})
