"""Wires the blueprints, authentication, errors and OpenAPI onto the Flask app."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, jsonify
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from web.auth import authenticate
from web.context import services
from web.errors import DatabaseUnavailable, init_errors
from web.idempotency import init_idempotency
from web.logging import init_logging
from web.metrics import init_metrics
from web.public import init_public
from web.ratelimit import init_rate_limit
from web.schemas import Problem, refuse_an_oversized_stream, reject_malformed_json

PROBLEM_JSON = "application/problem+json"


class InspectorateApi(Api):
    """flask-smorest's Api, but errors go through our one problem+json handler."""

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        """Error responses in the spec are problem+json, as they are on the wire."""
        names = [(s.name, s.phrase) for s in HTTPStatus if s >= 400] + [("DEFAULT_ERROR", "Error")]
        for name, phrase in names:
            response = {"description": phrase, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(name, response, lazy=True)


def database_answers() -> bool:
    """One trivial statement on the read database (a pooled connection; libpq gives up connecting in 2 s)."""
    try:
        with services().read_engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception:
        return False
    return True


def init_api(app: Flask) -> None:
    api = InspectorateApi(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]  # every documented operation is under /v1
    init_logging(app)  # first, so that even a 401 is timed and logged
    app.before_request(refuse_an_oversized_stream)  # before anything reads a body
    app.before_request(authenticate)
    init_rate_limit(app)  # off unless INSPECTORATE_RATE_LIMIT is set; counts once the token is known
    app.before_request(reject_malformed_json)
    init_idempotency(app)  # after the body checks: a malformed body is refused, never kept
    init_metrics(app)
    init_public(app)
    init_errors(app)

    @app.get("/health")
    def health():
        """Readiness: 200 only while the database answers, so that an outage shows (503). No counts."""
        if not database_answers():
            raise DatabaseUnavailable("The database does not answer.")
        return jsonify({"status": "ok"})

    @app.get("/health/live")
    def live():
        """Liveness: the process runs and answers; says nothing about the database."""
        return jsonify({"status": "ok"})

    from web.cases.resources import blp as cases
    from web.complaints.resources import blp as complaints
    from web.inspections.resources import blp as inspections
    from web.reinspections.resources import blp as reinspections

    for blueprint in (inspections, cases, reinspections, complaints):
        api.register_blueprint(blueprint)
    from web.audit.resources import blp as audit
    from web.events.resources import blp as events

    api.register_blueprint(audit)
    api.register_blueprint(events)
    from web.views.resources import blp as views

    api.register_blueprint(views)
    from web.webhooks.resources import blp as webhooks

    api.register_blueprint(webhooks)
    from web.recommendations.resources import blp as recommendations
    from web.thematics.resources import blp as thematics

    api.register_blueprint(recommendations)
    api.register_blueprint(thematics)

    from web.bodies.resources import blp as bodies
    from web.bodies.resources import selection

    api.register_blueprint(bodies)
    api.register_blueprint(selection)
    from web.openapi_examples import apply as add_examples

    add_examples(api.spec, app.extensions["inspectorate"].settings.public_url)
    app.extensions["smorest_api"] = api
