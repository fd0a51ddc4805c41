"""Webhook subscriptions: input and output schemas, with examples."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from application.catalogue import event_classes
from infrastructure.webhooks import MAX_URL
from web.schemas import OutputSchema, StrictSchema, StrictString, _printable

EXAMPLE_ID = "3f1c2b8e-6a0d-4d57-9a53-2b7e2f9c1d40"
EXAMPLE_URL = "https://hooks.partner.example.org/inspectorate"


def _known_type(value: str) -> None:
    if value not in event_classes():
        raise ValidationError(f"unknown event type {value!r}; see /v1/events/schemas")


class WebhookIn(StrictSchema):
    url = StrictString(
        required=True,
        validate=validate.And(validate.Length(min=1, max=MAX_URL), _printable(multiline=False)),
        metadata={"description": "http(s) URL on a host named in INSPECTORATE_WEBHOOK_ALLOWED_HOSTS."},
    )
    types = fields.List(
        StrictString(validate=_known_type),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Only events of these types (default: every type)."},
    )
    inspection_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "Only this inspection's events (its cases, complaints and reinspection included)."},
    )


class ReplayIn(StrictSchema):
    after = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=2**62),
        metadata={"description": "Deliver every event after this position again."},
    )


WEBHOOK_EXAMPLE = {
    "id": EXAMPLE_ID,
    "url": EXAMPLE_URL,
    "types": ["inspection.report_published.v1"],
    "inspection_id": None,
    "status": "active",
    "position": 1234,
    "attempts": 0,
    "failing_since": None,
    "next_attempt_at": None,
    "last_error": None,
    "delivered": 57,
    "failures": 2,
    "created_at": "2026-12-04T12:00:00+00:00",
}


class WebhookOut(OutputSchema):
    id = fields.UUID(required=True)
    url = fields.String(required=True)
    types = fields.List(fields.String(), allow_none=True)
    inspection_id = fields.UUID(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "disabled")))
    position = fields.Integer(
        required=True, metadata={"description": "The last event acknowledged (or replayed from)."}
    )
    attempts = fields.Integer(metadata={"description": "Failed attempts in a row at the next event."})
    failing_since = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered = fields.Integer()
    failures = fields.Integer()
    created_at = fields.DateTime()


class CreatedWebhookOut(WebhookOut):
    secret = fields.String(
        required=True, metadata={"description": "whsec_<base64>: shown only now; verify webhook-signature with it."}
    )


class WebhookListOut(OutputSchema):
    items = fields.List(fields.Nested(WebhookOut), required=True)


WEBHOOK_IN_EXAMPLE = {"url": EXAMPLE_URL, "types": ["inspection.report_published.v1"]}
REPLAY_EXAMPLE = {"after": 1200}
CREATED_EXAMPLE = {
    **WEBHOOK_EXAMPLE,
    "delivered": 0,
    "failures": 0,
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+3cnQ0B0Zk0=",
}
LIST_EXAMPLE = {"items": [WEBHOOK_EXAMPLE]}
