"""Every error leaves as application/problem+json, built in this one place."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from application.app import ConcurrentUpdate
from domain.errors import (
    DomainError,
    InvalidValue,
    NotFound,
    PermissionDenied,
    RuleViolation,
    VersionMismatch,
)

log = logging.getLogger("inspectorate.web")


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"https://inspectorate.example/problems/{status}",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


STATUS_OF: list[tuple[type[DomainError], int]] = [
    (InvalidValue, 422),
    (VersionMismatch, 412),
    (NotFound, 404),
    (PermissionDenied, 403),
    (ConcurrentUpdate, 409),
    (RuleViolation, 409),
]


def domain_error(error: DomainError) -> Response:
    for cls, status in STATUS_OF:
        if isinstance(error, cls):
            errors = {error.field: [error.detail]} if isinstance(error, InvalidValue) else None
            return problem(status, error.title, error.detail, errors)
    return problem(409, error.title, error.detail)


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and messages:
        return problem(422, "Invalid input", "One or more fields are invalid.", flatten_messages(messages))
    return problem(status, error.name, error.description if isinstance(error.description, str) else None)


def unexpected_error(error: Exception) -> Response:
    log.exception("unhandled error: %s", type(error).__name__)
    return problem(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow nested messages -> {dotted.field: [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        # webargs nests by location first ("json", "query"): drop that level.
        if not prefix and set(messages) <= {"json", "query", "headers", "form", "files", "view_args"}:
            for value in messages.values():
                flat.update(flatten_messages(value))
            return flat
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                flat[name] = list(value)
            else:
                flat.update(flatten_messages(value, name))
    elif isinstance(messages, list):
        flat[prefix or "_schema"] = [str(m) for m in messages]
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def init_errors(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
