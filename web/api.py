"""Wires the blueprints, authentication, errors and OpenAPI onto the Flask app."""
from __future__ import annotations

from flask import Flask, jsonify
from flask_smorest import Api

from web.auth import authenticate
from web.errors import init_errors
from web.responses import BadIfMatch, bad_if_match


class InspectorateApi(Api):
    """flask-smorest's Api, but errors go through our one problem+json handler."""

    def _register_error_handlers(self) -> None:  # noqa: D401 - we register our own
        return None


def init_api(app: Flask) -> None:
    api = InspectorateApi(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    app.before_request(authenticate)
    init_errors(app)
    app.register_error_handler(BadIfMatch, bad_if_match)

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    from web.inspections.resources import blp as inspections

    for blueprint in (inspections,):
        api.register_blueprint(blueprint)
    app.extensions["smorest_api"] = api
