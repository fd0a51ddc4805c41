"""Audit: query and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from web.inspections.schemas import Instant
from web.schemas import NAME, BoundedInteger, OutputSchema, StrictSchema, StrictString
from web.views.schemas import ViewQuery

ANCHOR = validate.Regexp(r"^[1-9][0-9]{0,18}:[0-9a-f]{64}$", error="must be POSITION:HASH (64 lowercase hex digits)")


class HistoryQuery(StrictSchema):
    format = StrictString(load_default="json", validate=validate.OneOf(("json", "csv")))


class VerifyQuery(StrictSchema):
    anchor = fields.List(
        StrictString(validate=ANCHOR),
        load_default=list,
        metadata={"description": "A head kept from an earlier GET /v1/audit/head, as POSITION:HASH; repeatable."},
    )


class ReadsQuery(StrictSchema):
    after = BoundedInteger(load_default=0)
    limit = BoundedInteger(load_default=100, minimum=1, maximum=1000)
    subject_id = StrictString(load_default=None, validate=validate.Length(max=64))
    actor = StrictString(load_default=None, validate=NAME, metadata={"description": "the reader's name"})
    actor_id = StrictString(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the reader's token id: one person, whoever shares their name"},
    )


class HistoryActorOut(OutputSchema):
    id = fields.String(
        allow_none=True,
        metadata={"description": "the token's id; null for the system and in events recorded before ids"},
    )
    name = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)


class HistoryEventOut(OutputSchema):
    position = fields.Integer(required=True)
    stream = fields.UUID(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    recorded_at = fields.String(required=True)
    actor = fields.Nested(HistoryActorOut, required=True)
    correlation_id = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    summary = fields.String(required=True)


class HistoryOut(OutputSchema):
    events = fields.List(fields.Nested(HistoryEventOut), required=True)


class ChainBreakOut(OutputSchema):
    position = fields.Integer(required=True)
    reason = fields.String(required=True)


class VerifyOut(OutputSchema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    head_position = fields.Integer(required=True)
    head_hash = fields.String(allow_none=True, required=True)
    first_broken = fields.Nested(ChainBreakOut, allow_none=True, required=True)
    anchors_checked = fields.List(fields.Integer())


class ChainHeadOut(OutputSchema):
    position = fields.Integer(required=True)
    hash = fields.String(allow_none=True, required=True)


class ReadRecordActorOut(HistoryActorOut):
    organisation = fields.String(allow_none=True)


class ReadRecordOut(OutputSchema):
    id = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.Nested(ReadRecordActorOut, required=True)
    what = fields.String(required=True)
    subject_id = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)


class ReadsOut(OutputSchema):
    items = fields.List(fields.Nested(ReadRecordOut), required=True)
    next_after = fields.Integer(required=True)


class ProgrammeYearQuery(ViewQuery):
    """The programme-year view's query, plus ``as_of``: the year as the record stood then (from the events)."""

    as_of = Instant(
        metadata={
            "description": "Figures as recorded at this time (inclusive), ISO 8601 with Z or an offset; "
            "computed from the events, not the view."
        }
    )


class DiversityQuery(ProgrammeYearQuery):
    """The diversity view's query: the programme year's, plus whether to pool unpublished inspections too."""

    published_only = fields.Boolean(
        load_default=True,
        truthy={"true"},
        falsy={"false"},
        metadata={
            "description": "true (default): the year's published inspections, figures of record that never "
            "change. false: every inspection of the year with cases, live ones (in fieldwork "
            "or completed, not yet published) included, for the inspectorate's roles only "
            "(inspector, qa_reviewer, auditor, admin); not with as_of."
        },
    )
