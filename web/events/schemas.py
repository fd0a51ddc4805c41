"""The event feed: query and output schemas."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from application.catalogue import event_classes
from web.schemas import BoundedInteger, OutputSchema, StrictSchema


class TypeList(fields.String):
    """A comma-separated list of known event types, e.g. ``case.rated.v1,inspection.report_published.v1``."""

    def _deserialize(  # type: ignore[override]  # (a list of strings from one string)
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> list[str]:
        text = super()._deserialize(value, attr, data, **kwargs)
        types = [t.strip() for t in text.split(",") if t.strip()]
        unknown = sorted(set(types) - set(event_classes()))
        if unknown:
            raise ValidationError(f"unknown event type(s): {', '.join(unknown)}; see /v1/events/schemas")
        return types


class FeedQuery(StrictSchema):
    after = BoundedInteger(
        load_default=0, metadata={"description": "The last position you processed (0 for the beginning)."}
    )
    limit = BoundedInteger(load_default=100, minimum=1, maximum=1000)
    types = TypeList(load_default=list, validate=validate.Length(max=2000))
    inspection_id = fields.UUID(load_default=None, metadata={"description": "Only this inspection's streams."})


class StreamQuery(StrictSchema):
    after = BoundedInteger(
        load_default=0, metadata={"description": "Start after this position (Last-Event-ID wins if sent)."}
    )
    types = TypeList(load_default=list, validate=validate.Length(max=2000))
    max_events = BoundedInteger(
        load_default=None,
        minimum=1,
        maximum=100_000,
        metadata={"description": "Close the stream after this many events."},
    )
    timeout = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=25),
        metadata={"description": "Close the stream after this many seconds (at most 25)."},
    )


class CloudEventOut(OutputSchema):
    specversion = fields.String(required=True)
    id = fields.String(required=True)
    source = fields.String(required=True)
    type = fields.String(required=True)
    subject = fields.String(required=True)
    time = fields.String(required=True)
    datacontenttype = fields.String(required=True)
    dataschema = fields.String()
    position = fields.Integer(required=True)
    data = fields.Dict(required=True)


class FeedOut(OutputSchema):
    events = fields.List(fields.Nested(CloudEventOut), required=True)
    next_after = fields.Integer(required=True)
    head = fields.Integer(required=True)


class CatalogueOut(OutputSchema):
    envelope = fields.Dict(required=True)
    types = fields.Dict(required=True)
    personal_data = fields.Dict()
