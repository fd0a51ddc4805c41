"""Schema building blocks shared by the blueprints."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

NAME = validate.Length(min=1, max=200)
TEXT = validate.Length(min=1, max=10_000)


class StrictSchema(Schema):
    """Input schema: unknown fields are an error (422)."""

    class Meta:
        unknown = RAISE


class EmptySchema(StrictSchema):
    """A command with no arguments: '{}' (or no body)."""


class Problem(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
