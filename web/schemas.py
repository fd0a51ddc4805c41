"""Schema building blocks shared by the blueprints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

import flask_smorest
from flask import current_app, g, request
from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate
from marshmallow.utils import missing as ma_missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from web.errors import MalformedBody

F = TypeVar("F", bound=Callable[..., Any])


class _Parser(FlaskParser):
    """webargs' Flask parser, without work whose answer is known.

    - A JSON body already parsed by ``reject_malformed_json`` (before every
      write) is not parsed a second time.
    - An empty query string, given to a schema that turns ``{}`` into ``{}``
      (no field required or defaulted, no hooks), gives ``{}`` without running
      the schema: a tenth of a read's time otherwise, for most reads.
    """

    def __init__(self) -> None:
        super().__init__()
        self._empty_gives_empty: dict[Schema, bool] = {}  # (schemas are made once, at import)

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None, **kwargs: Any) -> Any:
        if (
            location == "query"
            and isinstance(argmap, Schema)
            and kwargs.get("validate") is None
            and not request.environ.get("QUERY_STRING")
            and self._empty_is_empty(argmap)
        ):
            return {}
        return super().parse(argmap, req, location=location, **kwargs)

    def _empty_is_empty(self, schema: Schema) -> bool:
        known = self._empty_gives_empty.get(schema)
        if known is None:
            known = self._empty_gives_empty[schema] = not any(schema._hooks.values()) and not any(
                field.required or field.load_default is not ma_missing for field in schema.load_fields.values()
            )
        return known

    def _raw_load_json(self, req: Any) -> Any:
        if "json_body" in g and is_json_request(req):  # (any other content type: no JSON body, as webargs has it)
            return g.json_body
        return super()._raw_load_json(req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with our argument parser (``_Parser``)."""

    ARGUMENTS_PARSER = _Parser()


def _printable(multiline: bool) -> Callable[[str], None]:
    """Refuse control characters and lone surrogates: they corrupt logs, views and JSON encoding."""
    allowed = {"\n", "\r", "\t"} if multiline else set()

    def check(value: str) -> None:
        for char in value:
            if (ord(char) < 32 and char not in allowed) or ord(char) == 127 or "\ud800" <= char <= "\udfff":
                raise ValidationError("must not contain control characters or unpaired surrogates")

    return check


def _not_blank(value: str) -> None:
    """A name of spaces alone names nothing (and two such 'names' would be one body)."""
    if not value.strip():
        raise ValidationError("must not be blank")


NAME = validate.And(validate.Length(min=1, max=200), _printable(multiline=False), _not_blank)
TEXT = validate.And(validate.Length(min=1, max=10_000), _printable(multiline=True))


class StrictBoolean(fields.Boolean):
    """Only JSON true/false: marshmallow's Boolean would also take "yes", 1 or "off"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


MAX_QUERY_INTEGER = 2**63 - 1  # a signed 64-bit column: the largest position or id a database holds
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,19}", re.ASCII)


class BoundedInteger(fields.Integer):
    """An integer query parameter: ASCII digits only, within ``minimum``..``maximum`` (at most 2**63-1).

    marshmallow's Integer takes any size (and Unicode digits), and a value past
    a 64-bit column reached the database and came back as a 500. Out of range
    is a 422 here, before anything runs.
    """

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_QUERY_INTEGER, **kwargs: Any) -> None:
        maximum = min(maximum, MAX_QUERY_INTEGER)
        bound = validate.Range(min=minimum, max=maximum)
        extra = kwargs.pop("validate", None)
        super().__init__(strict=False, validate=validate.And(bound, extra) if extra else bound, **kwargs)
        self.bounds = (minimum, maximum)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, str):
            if _ASCII_INTEGER.fullmatch(value) is None:
                raise ValidationError("must be a whole number from {} to {}".format(*self.bounds))
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictString(fields.String):
    """Only JSON strings: no silent conversion of numbers."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictSchema(Schema):
    """Input schema: unknown fields are an error (422)."""

    class Meta:
        unknown = RAISE


class OutputSchema(Schema):
    """Response schema (documentation): the contract lets fields be added, so extras are allowed."""

    class Meta:
        unknown = INCLUDE


class EmptySchema(StrictSchema):
    """A command with no arguments: '{}' (or no body)."""


class Problem(OutputSchema):
    """application/problem+json (RFC 9457) as every error leaves."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


def problems(blp: Blueprint, *statuses: int) -> Callable[[F], F]:
    """Document the problem responses a view can give (each refers to a shared problem+json response)."""

    def decorate(view: F) -> F:
        # flask-smorest documents a response by wrapping the view in a layer that only calls it; one
        # layer per status was 6 calls on every request for nothing. The documentation is kept, on the
        # view itself, and the layers are dropped.
        documented: Any = view
        for status in statuses:
            documented = blp.alt_response(status, response=HTTPStatus(status).name)(documented)
        view._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return view

    return decorate


# Every /v1 operation can answer these whatever it does.
COMMON = (400, 401, 403, 404, 413)


def refuse_an_oversized_stream() -> None:
    """A body without Content-Length (chunked) is held to the same 1 MiB as any other.

    werkzeug reads such a stream up to MAX_CONTENT_LENGTH and then stops without a word,
    so a longer body was cut at 1 MiB and the truncated rest accepted. The limit is read
    (and kept, for whoever parses the body next); one byte more from the server's own
    stream means the body was longer: 413.
    """
    if request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return  # a declared length is checked by werkzeug; without the server's end marker nothing is read
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None:
        return
    if len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


def reject_malformed_json() -> None:
    """Before a /v1 write: an empty body or a JSON object, nothing else.

    webargs would turn a JSON array into a 422 and invalid UTF-8 into a 400
    with a browser-ish message; the contract wants 400 for all of these.
    """
    if request.method not in ("POST", "PUT", "PATCH") or not request.path.startswith("/v1"):
        return
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH raises 413 here
    if not raw.strip():
        return
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedBody("The request body is not UTF-8.") from None
    except (ValueError, RecursionError):
        raise MalformedBody("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise MalformedBody("The request body must be a JSON object.")
    g.json_body = value  # (webargs takes it from here rather than parsing the body again)
