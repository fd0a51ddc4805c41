"""Helpers for write responses: ETag with the aggregate version, the global position."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from application.results import Result
from domain.errors import VersionMismatch
from web.errors import BadIfMatch


def expected_version() -> int | None:
    """The version an If-Match header asks for, or None. A malformed header is the caller's mistake."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":  # "*": any current version will do
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()):
        raise BadIfMatch
    if len(value) > 18:  # no aggregate gets that far, and int() of thousands of digits is refused
        raise VersionMismatch(f"version {value[:20]}... is not the current one; reload and retry")
    return int(value)


def written(result: Result, status: int = 200, body: dict[str, Any] | None = None) -> Response:
    response = jsonify(body if body is not None else result.body)
    response.status_code = status
    response.headers["ETag"] = f'"{result.version}"'
    if result.position is not None:
        response.headers["Inspectorate-Position"] = str(result.position)
    return response


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """The body less some fields (e.g. case characteristics, never echoed by a command)."""
    return {key: value for key, value in body.items() if key not in names}


def read(body: dict[str, Any], version: int | None = None) -> Response:
    response = jsonify(body)
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
    return response
