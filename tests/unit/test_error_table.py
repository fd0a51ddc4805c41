"""Errors are raised by name and mapped once: ``web.errors.PROBLEMS`` is the only place that gives an
error its status, title and headers (style.md 9)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import web.errors as errors
from application.app import ConcurrentUpdate
from domain.errors import InvalidValue, RecordFrozen
from infrastructure.availability import RETRY_AFTER_SECONDS

ROOT = Path(__file__).resolve().parents[2]


def _edge_errors() -> list[type[errors.EdgeError]]:
    found, todo = [], [errors.EdgeError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_named_web_error_has_its_row() -> None:
    missing = [cls.__name__ for cls in _edge_errors() if cls not in errors.PROBLEMS]
    assert missing == []


@pytest.mark.parametrize(
    ("error", "status", "title", "headers"),
    [
        (errors.Unauthenticated("A bearer token is required."), 401, "Unauthorized", {"WWW-Authenticate": "Bearer"}),
        (errors.RateLimited("slow down", 12), 429, "Too many requests", {"Retry-After": "12"}),
        (errors.LongHeldRefused(), 503, "Too many long-held requests", {"Retry-After": "1"}),
        (errors.DatabaseUnavailable(), 503, "Service unavailable", {"Retry-After": str(RETRY_AFTER_SECONDS)}),
        (errors.RequestInFlight("wait"), 409, "Request in flight", {"Retry-After": "1"}),
        (RecordFrozen("published"), 409, RecordFrozen.title, {}),
        (ConcurrentUpdate("again"), 409, ConcurrentUpdate.title, {}),
    ],
)
def test_an_error_answers_with_its_row(error: Exception, status: int, title: str, headers: dict[str, str]) -> None:
    response = errors.named_error(error)  # type: ignore[arg-type]
    body = json.loads(response.get_data())
    assert (response.status_code, body["status"], body["title"], body["detail"]) == (status, status, title, str(error))
    assert response.mimetype == "application/problem+json"
    assert {k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", "Retry-After")} == headers


def test_a_field_error_names_its_field() -> None:
    body = json.loads(errors.named_error(InvalidValue("year", "not a business year")).get_data())
    assert (body["status"], body["errors"]) == (422, {"year": ["not a business year"]})


def test_no_view_builds_a_problem_itself() -> None:
    """Outside web/errors.py nothing calls ``problem(...)``: a view raises a named error instead."""
    callers = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "web").rglob("*.py"))
        if path.name != "errors.py" or path.parent.name != "web"
        if any(
            isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "problem"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert callers == []
