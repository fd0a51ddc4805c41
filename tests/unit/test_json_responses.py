"""JSON responses are written by orjson, as Flask's own provider would write them."""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from web import _JSON


@dataclasses.dataclass
class Pair:
    left: int
    on: date


def responses(obj: Any) -> tuple[bytes, bytes]:
    app = Flask(__name__)
    with app.app_context():
        return _JSON(app).response(obj).get_data(), DefaultJSONProvider(app).response(obj).get_data()


@pytest.mark.parametrize(
    "obj",
    [
        {"b": 1, "a": [1.5, None, True, "x"], "nested": {"z": [], "y": {}}},  # keys sorted at every level
        {"on": date(2024, 1, 2), "at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)},  # HTTP dates, as Flask
        {"id": uuid.UUID(int=5), "pair": Pair(1, date(2020, 1, 1)), "amount": decimal.Decimal("1.50")},
        {"huge": 10**30},  # beyond orjson's 64 bits: written the standard way
        [1, "two", None],
    ],
)
def test_the_same_bytes_as_flask_for_ascii_content(obj: Any) -> None:
    ours, flasks = responses(obj)
    assert ours == flasks and ours.endswith(b"\n")


def test_text_beyond_ascii_is_utf8_and_reads_back_the_same() -> None:
    ours, flasks = responses({"name": "Ynys Môn \u2028"})
    assert json.loads(ours) == json.loads(flasks) == {"name": "Ynys Môn \u2028"}
    assert "Môn".encode() in ours
