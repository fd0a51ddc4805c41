"""What the URLs the service hands out point at: problem types and event data schemas (no token).

A problem's ``type`` is ``<INSPECTORATE_PUBLIC_URL>/problems/<status>`` and an
event's ``dataschema`` is ``<INSPECTORATE_PUBLIC_URL>/schemas/events/<type>``;
both answer here, so a client (or a person) following one learns what it means.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from flask import Flask, Response

from application.catalogue import SCHEMA_PATH, data_schema, event_classes
from web.context import application
from web.errors import PROBLEMS_PATH, UnknownResource, problem_type

# What each problem status means here, beyond its HTTP phrase.
MEANINGS: dict[int, str] = {
    400: "The request is malformed: its body is not a JSON object, or a header is not in the expected form.",
    401: "No bearer token was given, or the token is unknown or revoked.",
    403: "The caller's role or organisation may not do this.",
    404: "No such resource, or not one the caller's organisation may see.",
    405: "The resource does not answer this method (see the Allow header).",
    409: "A lifecycle rule forbids this now, the resource is a duplicate, or a request with the same "
    "Idempotency-Key is still in flight.",
    412: "If-Match names a version that is no longer current: reload and retry.",
    413: "The request body is over the 1 MiB limit.",
    422: "One or more fields (or query parameters) are invalid: see `errors`, field by field. Also an "
    "Idempotency-Key reused with another body.",
    429: "The token made more requests this minute than allowed; retry after Retry-After seconds.",
    500: "An unexpected error; it has been logged.",
    503: "The database (or a view) is not available yet; retry after Retry-After seconds.",
}


def _json(body: object, mimetype: str = "application/json") -> Response:
    return Response(orjson.dumps(body), mimetype=mimetype)


def describe_problem(status: int) -> Response:
    if status not in MEANINGS:
        raise UnknownResource(f"There is no problem type {status}.")
    return _json(
        {
            "type": problem_type(status),
            "status": status,
            "title": HTTPStatus(status).phrase,
            "description": MEANINGS[status],
            "media_type": "application/problem+json",
        }
    )


def event_data_schema(topic: str) -> Response:
    cls = event_classes().get(topic)
    if cls is None:
        raise UnknownResource("There is no event type of that name.")
    return _json(data_schema(topic, cls, application().public_url), "application/schema+json")


def init_public(app: Flask) -> None:
    app.add_url_rule(f"{PROBLEMS_PATH}<int:status>", "problem_type", describe_problem, methods=["GET"])
    app.add_url_rule(f"{SCHEMA_PATH}<string:topic>", "event_data_schema", event_data_schema, methods=["GET"])
