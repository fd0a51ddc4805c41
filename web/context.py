"""Per-request access to the services and the caller."""

from __future__ import annotations

from flask import current_app, g

from application.app import InspectorateApp
from domain.base import Actor
from web.bootstrap import Services


def services() -> Services:
    return current_app.extensions["inspectorate"]


def application() -> InspectorateApp:
    return services().app


def actor() -> Actor:
    return g.actor


def correlation_id() -> str:
    return g.correlation_id
