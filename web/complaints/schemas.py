"""Complaints: input and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from domain.frameworks import COMPLAINTS_POLICIES
from web.cases.schemas import ActorOut
from web.schemas import TEXT, OutputSchema, StrictSchema, StrictString

CATEGORIES = tuple(dict.fromkeys(c for policy in COMPLAINTS_POLICIES for c in policy.categories))
OUTCOMES = tuple(dict.fromkeys(o for policy in COMPLAINTS_POLICIES for o in policy.outcomes))
STATUSES = ("received", "acknowledged", "responded", "escalated", "closed")


class ReceiveComplaintIn(StrictSchema):
    inspection_id = fields.UUID(required=True)
    category = StrictString(required=True, validate=validate.OneOf(CATEGORIES))
    summary = StrictString(required=True, validate=TEXT)


class RespondIn(StrictSchema):
    response = StrictString(required=True, validate=TEXT)


class EscalateIn(StrictSchema):
    reason = StrictString(required=True, validate=TEXT)


class CloseIn(StrictSchema):
    outcome = StrictString(required=True, validate=validate.OneOf(OUTCOMES))


class ComplaintOut(OutputSchema):
    id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    response_due_on = fields.Date(required=True)
    inspection_id = fields.UUID()
    category = fields.String()
    summary = fields.String()
    complainant = fields.Nested(ActorOut)
    received_on = fields.Date()
    responses = fields.List(fields.String())
    escalation_reason = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    responded_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    version = fields.Integer()
