"""Webhook subscriptions (admin): make, list, read, delete, enable again, replay from a position."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, jsonify
from flask.views import MethodView

from domain.errors import InvalidValue, NotFound
from infrastructure.webhooks import WebhookStore, allowed_url
from web.auth import roles
from web.context import application, services
from web.schemas import COMMON, Blueprint, problems
from web.webhooks import schemas as s

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1/webhooks",
    description="Webhooks: every event POSTed to a receiver, signed as Standard Webhooks says",
)
ID_PARAMETER = {
    "in": "path",
    "name": "webhook_id",
    "description": "The webhook's id (a UUID).",
    "schema": {"type": "string", "format": "uuid"},
    "example": s.EXAMPLE_ID,
}


def store() -> WebhookStore:
    return services().webhooks


def _head() -> int:
    return application().recorder.max_notification_id() or 0


@blp.route("")
class Webhooks(MethodView):
    @roles("admin")
    @blp.arguments(s.WebhookIn(), example=s.WEBHOOK_IN_EXAMPLE)
    @blp.response(201, s.CreatedWebhookOut, example=s.CREATED_EXAMPLE)
    @problems(blp, *COMMON, 422)
    def post(self, data: dict[str, Any]) -> Response:
        """Subscribe a receiver to every event recorded from now on (optionally some types, one inspection).

        Each event is POSTed as its CloudEvents JSON with the headers `webhook-id`,
        `webhook-timestamp` and `webhook-signature` (Standard Webhooks, HMAC-SHA256 with
        the `secret`, shown only in this answer).
        """
        reason = allowed_url(data["url"], services().settings.webhook_allowed_hosts)
        if reason is not None:
            raise InvalidValue("url", reason)
        inspection_id: UUID | None = data["inspection_id"]
        if inspection_id is not None:
            try:
                application().get_inspection(inspection_id)
            except NotFound:
                raise InvalidValue("inspection_id", "no such inspection") from None
        created = store().create(data["url"], data["types"], inspection_id, _head())
        response = jsonify(created)
        response.status_code = 201
        response.headers["Location"] = f"/v1/webhooks/{created['id']}"
        return response

    @roles("admin")
    @blp.response(200, s.WebhookListOut, example=s.LIST_EXAMPLE)
    @problems(blp, *COMMON)
    def get(self) -> Response:
        """Every subscription and where its delivery stands."""
        return jsonify({"items": store().list()})


@blp.route("/<uuid:webhook_id>", parameters=[ID_PARAMETER])
class WebhookById(MethodView):
    @roles("admin")
    @blp.response(200, s.WebhookOut, example=s.WEBHOOK_EXAMPLE)
    @problems(blp, *COMMON)
    def get(self, webhook_id: UUID) -> Response:
        """One subscription: `status`, `position` (last acknowledged), `failing_since`, `last_error`."""
        return jsonify(store().get(str(webhook_id)))

    @roles("admin")
    @blp.response(204)
    @problems(blp, *COMMON)
    def delete(self, webhook_id: UUID) -> Response:
        """Stop delivering and forget the subscription."""
        store().delete(str(webhook_id))
        return Response(status=204)


@blp.route("/<uuid:webhook_id>/enable", parameters=[ID_PARAMETER])
class Enable(MethodView):
    @roles("admin")
    @blp.response(200, s.WebhookOut, example=s.WEBHOOK_EXAMPLE)
    @problems(blp, *COMMON)
    def post(self, webhook_id: UUID) -> Response:
        """Deliver a disabled subscription again, at once, from the event it stopped at."""
        return jsonify(store().enable(str(webhook_id)))


@blp.route("/<uuid:webhook_id>/replay", parameters=[ID_PARAMETER])
class Replay(MethodView):
    @roles("admin")
    @blp.arguments(s.ReplayIn(), example=s.REPLAY_EXAMPLE)
    @blp.response(200, s.WebhookOut, example=s.WEBHOOK_EXAMPLE)
    @problems(blp, *COMMON, 422)
    def post(self, data: dict[str, Any], webhook_id: UUID) -> Response:
        """Deliver every event after position `after` again (at most the head of the record)."""
        return jsonify(store().replay(str(webhook_id), data["after"], _head()))
