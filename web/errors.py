"""Every error leaves as application/problem+json, built in this one place."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
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


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
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


class EdgeError(Exception):
    """A request refused at the HTTP edge (not by a domain rule): raised where it is found, its
    status, title and headers given by ``PROBLEMS`` below."""

    detail = "The request was refused."

    def __init__(self, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail or self.detail)
        self.detail = detail or self.detail
        self.errors = errors


class MalformedBody(EdgeError):
    """The body is not a JSON object: invalid JSON, not UTF-8, or another JSON value."""


class BadIfMatch(EdgeError):
    """If-Match is not a quoted aggregate version."""

    detail = 'If-Match must be a quoted aggregate version, e.g. "3".'


class Unauthenticated(EdgeError):
    """No bearer token, or one that is unknown or revoked."""


class Forbidden(EdgeError):
    """The caller's role may not use this endpoint."""


class UnknownResource(EdgeError):
    """A path outside the API's resources that names nothing (a problem type, an event type)."""


class InvalidInput(EdgeError):
    """A parameter is well-formed but cannot be met (``errors`` names it)."""


class IdempotencyKeyReused(EdgeError):
    """The Idempotency-Key was used with another request within its lifetime."""


class RequestInFlight(EdgeError):
    """The first request under this Idempotency-Key is still running."""


class RateLimited(EdgeError):
    """The token made more requests this minute than allowed."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ViewNotCurrent(EdgeError):
    """A read waited for ``min_position`` and the view did not get there in time."""


class LongHeldRefused(EdgeError):
    """No place left for another long-held request (a stream, a waiting read): ``web.longheld``."""

    detail = "This server worker (or this token) has as many streams and waiting reads open as it may; retry shortly."


class PayloadTooLarge(EdgeError):
    """The body is over ``MAX_CONTENT_LENGTH`` (werkzeug's 413)."""

    detail = "The request body is over the 1 MiB limit."


class InternalError(EdgeError):
    """Anything unforeseen: logged with its traceback, answered without one."""

    detail = "An unexpected error occurred; it has been logged."


class DatabaseUnavailable(EdgeError):
    """The database does not answer (or refuses work) just now."""

    detail = "The database is unavailable just now; retry shortly."


@dataclass(frozen=True)
class Mapping:
    """How one kind of error leaves: its status, its title (None: the error's own ``title``, as
    domain errors have) and its headers."""

    status: int
    title: str | None = None
    headers: Callable[[Any], dict[str, str]] | None = None


def _retry_after(seconds: int) -> Callable[[Any], dict[str, str]]:
    return lambda _: {"Retry-After": str(seconds)}


# Every named error and its answer. An error not listed answers as its nearest listed base class.
PROBLEMS: dict[type[Exception], Mapping] = {
    MalformedBody: Mapping(400, "Malformed request body"),
    BadIfMatch: Mapping(400, "Bad Request"),
    Unauthenticated: Mapping(401, "Unauthorized", lambda _: {"WWW-Authenticate": "Bearer"}),
    Forbidden: Mapping(403, "Forbidden"),
    UnknownResource: Mapping(404, "Not Found"),
    PayloadTooLarge: Mapping(413, "Request body too large"),
    InvalidInput: Mapping(422, "Invalid input"),
    IdempotencyKeyReused: Mapping(422, "Idempotency key reused"),
    RequestInFlight: Mapping(409, "Request in flight", _retry_after(1)),
    RateLimited: Mapping(429, "Too many requests", lambda error: {"Retry-After": str(error.retry_after)}),
    ViewNotCurrent: Mapping(503, "View not current yet", _retry_after(1)),
    LongHeldRefused: Mapping(503, "Too many long-held requests", _retry_after(1)),  # a place frees up soon
    DatabaseUnavailable: Mapping(503, "Service unavailable", _retry_after(RETRY_AFTER_SECONDS)),
    InternalError: Mapping(500, "Internal Server Error"),
    InvalidValue: Mapping(422),
    VersionMismatch: Mapping(412),
    NotFound: Mapping(404),
    PermissionDenied: Mapping(403),
    ConcurrentUpdate: Mapping(409),
    RuleViolation: Mapping(409),
    DomainError: Mapping(409),
}


def mapping_of(error: Exception) -> Mapping | None:
    for cls in type(error).__mro__:
        found = PROBLEMS.get(cls)
        if found is not None:
            return found
    return None


def status_of(error: Exception) -> int:
    """The HTTP status of a named error (the pages show domain errors with the same status)."""
    found = mapping_of(error)
    return found.status if found is not None else 500


def named_error(error: EdgeError | DomainError) -> Response:
    """The answer to every named error, from ``PROBLEMS``."""
    found = mapping_of(error)
    assert found is not None  # every registered class is in PROBLEMS
    if isinstance(error, InvalidValue):
        errors: dict[str, list[str]] | None = {error.field: [error.detail]}
    else:
        errors = error.errors if isinstance(error, EdgeError) else None
    title = found.title if found.title is not None else getattr(error, "title", "Error")
    headers = found.headers(error) if found.headers is not None else None
    return problem(found.status, title, error.detail, errors, headers=headers)


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and messages:
        return named_error(InvalidInput("One or more fields are invalid.", flatten_messages(messages)))
    if status == 400 and messages:  # webargs: the body is not JSON
        return named_error(MalformedBody("The request body is not valid JSON."))
    if status == 413:
        return named_error(PayloadTooLarge())
    allow = getattr(error, "valid_methods", None)
    headers = {"Allow": ", ".join(allow)} if status == 405 and allow else None
    return problem(
        status, error.name, error.description if isinstance(error.description, str) else None, headers=headers
    )


def database_unavailable(error: Exception) -> Response:
    """The database is down or refusing work: say so at once, and when to come back (no traceback)."""
    log.warning("database unavailable: %s", type(error).__name__)
    return named_error(DatabaseUnavailable())


def unexpected_error(error: Exception) -> Response:
    if is_database_unavailable(error):
        return database_unavailable(error)
    log.exception("unhandled error: %s", type(error).__name__)
    return named_error(InternalError())


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
    app.register_error_handler(DomainError, named_error)
    app.register_error_handler(EdgeError, named_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)
