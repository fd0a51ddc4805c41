"""Inspections: input, query and output schemas."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from domain.frameworks import PROGRAMMES
from domain.inspection import BODY_TYPES
from web.schemas import NAME, TEXT, OutputSchema, StrictSchema, StrictString
from web.views.schemas import YEAR

STATUSES = ("scheduled", "fieldwork", "fieldwork_complete", "published")


class InspectedBodyIn(StrictSchema):
    """A registered body by ``id``, or ``{name, type, region}``: resolved to the registered body of that type
    and name (case and surrounding spaces ignored; the register's region wins), or registered."""

    id = fields.UUID(metadata={"description": "A registered body's id (then nothing else)."})
    name = StrictString(validate=NAME)
    type = StrictString(validate=validate.OneOf(BODY_TYPES))
    region = StrictString(validate=NAME)

    @validates_schema
    def an_id_or_a_name(self, data: dict[str, Any], **_: object) -> None:
        if "id" in data:
            extra = sorted(k for k in data if k != "id")
            if extra:
                raise ValidationError("give a registered body's id alone, or name, type and region", extra[0])
            return
        for key in ("name", "type", "region"):
            if key not in data:
                raise ValidationError("Missing data for required field.", key)


class ScheduleInspectionIn(StrictSchema):
    programme = StrictString(required=True, validate=validate.OneOf(PROGRAMMES))
    inspected_body = fields.Nested(InspectedBodyIn, required=True)
    fieldwork_start = fields.Date(required=True)
    fieldwork_end = fields.Date(load_default=None, allow_none=True)
    lead_inspector = StrictString(load_default=None, allow_none=True, validate=NAME)

    @validates_schema
    def end_not_before_start(self, data: dict[str, Any], **_: object) -> None:
        end, start = data.get("fieldwork_end"), data.get("fieldwork_start")
        if end is not None and start is not None and end < start:
            raise ValidationError("fieldwork cannot end before it starts", "fieldwork_end")


class PublishIn(StrictSchema):
    published_on = fields.Date(required=True)


class Instant(fields.AwareDateTime):
    """ISO 8601 with Z or an offset. An unencoded '+' arrives as a space: take it back."""

    _SPACE_FOR_PLUS = re.compile(r" (\d\d(:?\d\d)?)$")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = self._SPACE_FOR_PLUS.sub(r"+\1", value)
        return super()._deserialize(value, attr, data, **kwargs)


class AsOfQuery(StrictSchema):
    as_of = Instant(
        metadata={"description": "State as recorded at this time (inclusive), ISO 8601 with Z or an offset."}
    )


class InspectedBodyOut(OutputSchema):
    id = fields.UUID(metadata={"description": "The body's id in the register (GET /v1/bodies/{id})."})
    name = fields.String()
    type = fields.String()
    region = fields.String()


class AreaScoreOut(OutputSchema):
    score = fields.Integer(allow_none=True)
    sufficient = fields.Integer()
    applicable = fields.Integer()


class InspectionOut(OutputSchema):
    id = fields.UUID(required=True)
    programme = fields.String(required=True)
    framework = fields.String(required=True)
    year = fields.String(required=True)
    inspected_body = fields.Nested(InspectedBodyOut, required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    fieldwork_start = fields.Date(required=True)
    fieldwork_end = fields.Date(allow_none=True)
    lead_inspector = fields.String(allow_none=True)
    published_on = fields.Date(required=True, allow_none=True)
    case_count = fields.Integer(required=True)
    version = fields.Integer(required=True)
    headline_scores = fields.Dict(
        keys=fields.String(), values=fields.Nested(AreaScoreOut), required=True, allow_none=True
    )
    criteria_scores = fields.Dict(keys=fields.String(), values=fields.Nested(AreaScoreOut), allow_none=True)
    of_concern = fields.Boolean(allow_none=True)
    reinspection_id = fields.UUID(allow_none=True)
    reinspection_of = fields.UUID(allow_none=True)
    created_on = fields.String()
    modified_on = fields.String()


class TriggeredReinspectionOut(OutputSchema):
    id = fields.UUID(required=True)
    due_on = fields.Date(required=True)


class PublishedOut(InspectionOut):
    reinspection = fields.Nested(TriggeredReinspectionOut, required=True, allow_none=True)


# -- the 2018 standards framework ------------------------------------------------

RATING_VALUES = ("outstanding", "good", "requires_improvement", "inadequate")


class CompleteFieldworkIn(StrictSchema):
    short_sample_reason = StrictString(
        validate=TEXT, metadata={"description": "Why fewer cases than the sample size were sampled (2018)."}
    )


class RateStandardIn(StrictSchema):
    rating = StrictString(required=True, validate=validate.OneOf(RATING_VALUES))
    rationale = StrictString(required=True, validate=TEXT)


class Count(fields.Integer):
    """A whole number of cases: 0 or more, never a bool or a string."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=0, max=10_000_000), **kwargs)


class CaseloadByIn(StrictSchema):
    gender = fields.Dict(keys=StrictString(validate=NAME), values=Count())
    disposal = fields.Dict(keys=StrictString(validate=NAME), values=Count())
    risk_level = fields.Dict(keys=StrictString(validate=NAME), values=Count())


class CaseloadIn(StrictSchema):
    population = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000))
    by = fields.Nested(CaseloadByIn, required=True)

    @validates_schema
    def each_dimension_adds_up(self, data: dict[str, Any], **_: object) -> None:
        population = data.get("population")
        for dimension, counts in (data.get("by") or {}).items():
            if population is not None and sum(counts.values()) != population:
                raise ValidationError(
                    f"{dimension} adds up to {sum(counts.values())}, not the population of {population}",
                    f"by.{dimension}",
                )


class SampleValueOut(OutputSchema):
    caseload = fields.Integer()
    quota = fields.Integer()
    sampled = fields.Integer()


class SampleOut(OutputSchema):
    population = fields.Integer(required=True)
    confidence = fields.Float(required=True)
    margin = fields.Float(required=True)
    sample_size = fields.Integer(required=True)
    sampled = fields.Integer(required=True)
    by = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Nested(SampleValueOut))
    )
    warnings = fields.List(fields.Dict())


class StandardRatedOut(InspectionOut):
    standard = fields.String(required=True)
    rating = fields.String(required=True)
    rationale = fields.String(required=True)
    kind = fields.String(metadata={"description": "organisational, or override (of a case standard's rule)"})


class Cursor(fields.String):
    """An opaque page key: base64url JSON of the last item's (fieldwork_start, id)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            start, key = json.loads(base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4)))
        except (ValueError, TypeError, UnicodeError, binascii.Error):
            raise ValidationError("not a cursor this service gave") from None
        if not (isinstance(start, str) and isinstance(key, str)):
            raise ValidationError("not a cursor this service gave")
        return start, key


def cursor_text(after: tuple[str, str] | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


class InspectionsQuery(StrictSchema):
    programme = fields.String(validate=validate.OneOf(PROGRAMMES))
    year = fields.String(validate=YEAR)
    status = fields.String(validate=validate.OneOf(STATUSES))
    body = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The body's name, ignoring case and surrounding spaces."},
    )
    q = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "Part of the body's name, ignoring case."}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor(metadata={"description": "`next_cursor` of the previous page."})


class InspectionItemOut(OutputSchema):
    id = fields.UUID(required=True)
    programme = fields.String(required=True)
    framework = fields.String(required=True)
    year = fields.String(required=True)
    inspected_body = fields.Nested(InspectedBodyOut, required=True)
    status = fields.String(required=True)
    fieldwork_start = fields.String(required=True)
    published_on = fields.String(allow_none=True)


class InspectionListOut(OutputSchema):
    items = fields.List(fields.Nested(InspectionItemOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
