"""The argument parser's shortcuts give what webargs itself would give."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from marshmallow import Schema, fields, post_load
from werkzeug.exceptions import HTTPException

from web.schemas import _Parser


class Nothing(Schema):
    as_of = fields.String()


class Defaulted(Schema):
    limit = fields.Integer(load_default=50)


class Hooked(Schema):
    as_of = fields.String()

    @post_load
    def stamp(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "stamped": True}


class Body(Schema):
    name = fields.String(required=True)


def parse(schema: Schema, location: str, path: str = "/x", **request: Any) -> Any:
    app = Flask(__name__)
    with app.test_request_context(path, **request):
        return _Parser().parse(schema, location=location)


def test_an_empty_query_string_skips_only_schemas_that_turn_nothing_into_nothing() -> None:
    assert parse(Nothing(), "query") == {}
    assert parse(Defaulted(), "query") == {"limit": 50}  # the default still comes
    assert parse(Hooked(), "query") == {"stamped": True}  # hooks still run
    assert parse(Nothing(), "query", "/x?as_of=2011-05-03") == {"as_of": "2011-05-03"}


def test_a_body_parsed_before_is_used_only_for_json_content() -> None:
    app = Flask(__name__)
    with app.test_request_context(
        "/x", method="POST", data=b'{"name": "from the body"}', content_type="application/json"
    ):
        g.json_body = {"name": "parsed before"}
        assert _Parser().parse(Body(), location="json") == {"name": "parsed before"}
    with app.test_request_context("/x", method="POST", data=b'{"name": "from the body"}', content_type="text/plain"):
        g.json_body = {"name": "parsed before"}
        with pytest.raises(HTTPException) as refused:  # no JSON body for a non-JSON content type
            _Parser().parse(Body(), location="json")
    assert refused.value.code == 422
    assert "name" in refused.value.data["messages"]["json"]  # type: ignore[attr-defined]
