"""Every error leaves as application/problem+json, built in this one place."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, has_app_context, json
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
from infrastructure.availability import RETRY_AFTER_SECONDS, is_database_unavailable

log = logging.getLogger("inspectorate.web")


def problem(status: int, title: str, detail: str | None = None, errors: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(status),
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


PROBLEMS_PATH = "/problems/"  # GET <public url>/problems/<status> describes the problem (web.public)


def problem_type(status: int) -> str:
    """The problem's ``type``: a URL on the service (INSPECTORATE_PUBLIC_URL) that answers what it means."""
    base = "http://127.0.0.1:8000"
    if has_app_context():
        services = current_app.extensions.get("inspectorate")
        if services is not None:
            base = services.settings.public_url
    return f"{base}{PROBLEMS_PATH}{status}"


class MalformedBody(Exception):
    """The body is not a JSON object (400): invalid JSON, not UTF-8, or another JSON value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def malformed_body(error: MalformedBody) -> Response:
    return problem(400, "Malformed request body", error.detail)


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
    if status == 400 and messages:  # webargs: the body is not JSON
        return problem(400, "Malformed request body", "The request body is not valid JSON.")
    if status == 413:
        return problem(413, "Request body too large", "The request body is over the 1 MiB limit.")
    allow = getattr(error, "valid_methods", None)
    headers = {"Allow": ", ".join(allow)} if status == 405 and allow else None
    return problem(
        status, error.name, error.description if isinstance(error.description, str) else None, headers=headers
    )


def database_unavailable(error: Exception) -> Response:
    """The database is down or refusing work: say so at once, and when to come back (no traceback)."""
    log.warning("database unavailable: %s", type(error).__name__)
    return problem(
        503, "Service unavailable", "The database is unavailable just now; retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def unexpected_error(error: Exception) -> Response:
    if is_database_unavailable(error):
        return database_unavailable(error)
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
            # A nested schema-level message ("not an object") belongs to the field itself.
            name = prefix if key == "_schema" and prefix else f"{prefix}.{key}" if prefix else str(key)
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
    app.register_error_handler(MalformedBody, malformed_body)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
