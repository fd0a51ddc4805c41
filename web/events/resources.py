"""The event feed: pages after a kept position, a bounded server-sent stream, the catalogue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from flask import Response, request
from flask.views import MethodView
from marshmallow import RAISE

from application.app import InspectorateApp
from application.catalogue import (
    ROLES_RECEIVING_SPECIAL_CATEGORY,
    SPECIAL_CATEGORY_FIELDS,
    asyncapi,
    cloudevent_schema,
    data_schemas,
)
from application.feed import feed_page, follow
from domain.base import Actor
from web.auth import roles
from web.context import actor, application
from web.events.schemas import CatalogueOut, FeedOut, FeedQuery, StreamQuery
from web.longheld import admit, held_while
from web.schemas import COMMON, Blueprint, problems

blp = Blueprint("events", __name__, url_prefix="/v1/events", description="The event feed (CloudEvents 1.0)")
FEED_ROLES = ("integration", "auditor", "admin")
ALL_ROLES = ("admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation", "integration")
# A stream holds one of its worker's few places for long-held requests (web.longheld): at most this long.
MAX_STREAM_SECONDS = 25.0
POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 10.0


def json_response(body: Any) -> Response:
    """orjson: a page of 1,000 events encodes several times faster than with the json module."""
    return Response(orjson.dumps(body), mimetype="application/json")


@blp.route("")
class Feed(MethodView):
    @roles(*FEED_ROLES)
    @blp.arguments(FeedQuery, location="query", unknown=RAISE)
    @blp.response(200, FeedOut)
    @problems(blp, *COMMON, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Events after position `after`, at most `limit`, in order. Keep `next_after` and ask again."""
        page = feed_page(application(), actor(), query["after"], query["limit"], query["types"], query["inspection_id"])
        return json_response(page)


@blp.route("/stream")
class Stream(MethodView):
    @roles(*FEED_ROLES)
    @blp.arguments(StreamQuery, location="query", unknown=RAISE)
    @blp.response(200, description="text/event-stream: `id: <position>`, `event: <type>`, `data: <CloudEvent>`")
    @problems(blp, *COMMON, 422, 503)
    def get(self, query: dict[str, Any]) -> Response:
        """Server-sent events from a position (Last-Event-ID or `after`); closes after at most 25 s.

        503 with Retry-After at once when the server worker, or this token, has as many streams
        and waiting reads open as it may."""
        after = _last_event_id() if request.headers.get("Last-Event-ID") else query["after"]
        seconds = min(query["timeout"] if query["timeout"] is not None else MAX_STREAM_SECONDS, MAX_STREAM_SECONDS)
        release = admit()
        body = sse(application(), actor(), after, query["types"], query["max_events"], seconds)
        response = Response(
            held_while(body, release),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        response.call_on_close(release)  # also if the body is never iterated
        return response


def _last_event_id() -> int:
    value = request.headers.get("Last-Event-ID", "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else 0


def sse(
    app: InspectorateApp, reader: Actor, after: int, types: list[str], max_events: int | None, seconds: float
) -> Iterator[bytes]:
    """The stream body. Built from plain values, so it needs no request context while it runs."""
    deadline = time.monotonic() + seconds
    last_sent = time.monotonic()
    sent = 0
    yield b"retry: 1000\n\n"
    for page in follow(app, reader, after, types):
        for event in page:
            yield b"id: %d\nevent: %s\ndata: %s\n\n" % (event["position"], event["type"].encode(), orjson.dumps(event))
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        now = time.monotonic()
        if page:
            last_sent = now
        elif now - last_sent >= HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = now
        if now >= deadline:
            return
        if not page:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - now)))


@blp.route("/schemas")
class Schemas(MethodView):
    @roles(*ALL_ROLES)
    @blp.response(200, CatalogueOut)
    @problems(blp, *COMMON)
    def get(self) -> Response:
        """A JSON Schema (draft 2020-12) for the `data` of every event type, and the CloudEvent envelope."""
        return json_response(
            {
                "envelope": cloudevent_schema(public_url=application().public_url),
                "types": data_schemas(application().public_url),
                "personal_data": {
                    "special_category_fields": {t: list(f) for t, f in SPECIAL_CATEGORY_FIELDS.items()},
                    "sent_only_to_roles": list(ROLES_RECEIVING_SPECIAL_CATEGORY),
                    "note": "Case characteristics are special category personal data: the feed omits them "
                    "for the integration role; auditors and administrators receive them.",
                },
            }
        )


@blp.route("/asyncapi.json")
class AsyncApi(MethodView):
    @roles(*ALL_ROLES)
    @blp.response(200, description="AsyncAPI 3.0 document of the feed")
    @problems(blp, *COMMON)
    def get(self) -> Response:
        """An AsyncAPI 3.0 description of the feed and the stream."""
        return json_response(asyncapi(request.host, application().public_url))
