"""`GET /metrics` (admin token): Prometheus text format; requests counted and timed after each answer."""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, request

from infrastructure.metrics import Meters, exposition
from web.context import services
from web.errors import Forbidden, Unauthenticated

EXTENSION = "inspectorate.meters"


def init_metrics(app: Flask) -> None:
    """Register after the logging hooks (their timer is the one used here)."""
    m = app.extensions[EXTENSION] = Meters()  # (one app per process under serve; a test may make several)
    app.extensions["inspectorate"].app.on_recorded = m.recorded.inc
    app.after_request(count)
    app.add_url_rule("/metrics", "metrics", scrape, methods=["GET"])


def count(response: Response) -> Response:
    rule = request.url_rule
    route = rule.rule if rule is not None else "<unmatched>"
    m: Meters = current_app.extensions[EXTENSION]
    method, status = request.method, response.status_code
    # The labelled children, kept: prometheus_client's labels() lookup was half the cost (5 µs in all).
    children = _CHILDREN.get((m, route, method, status))
    if children is None:
        children = (m.requests.labels(route, method, str(status)), m.duration.labels(route, method))
        if len(_CHILDREN) < 5000:
            _CHILDREN[(m, route, method, status)] = children
    children[0].inc()
    started = g.get("started")
    if started is not None:
        children[1].observe(time.perf_counter() - started)
    return response


_CHILDREN: dict[tuple[Meters, str, str, int], tuple] = {}


def scrape() -> Response:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    info = services().tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
    if info is None:
        raise Unauthenticated("An administrator's bearer token is required.")
    if info.role != "admin":
        raise Forbidden(f"The role '{info.role}' may not read the metrics.")
    body, content_type = exposition(services(), current_app.extensions[EXTENSION])
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
