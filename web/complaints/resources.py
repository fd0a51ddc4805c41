"""Complaints: receive, acknowledge, respond, escalate, close, read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView

from application.representations import complaint_dict
from application.results import Result
from domain.complaint import Complaint
from domain.errors import NotFound
from web.auth import COMPLAINANTS, COMPLAINT_HANDLERS, READERS, ensure_may_see, is_organisation, roles
from web.complaints.schemas import CloseIn, ComplaintOut, EscalateIn, ReceiveComplaintIn, RespondIn
from web.context import actor, application, correlation_id
from web.responses import expected_version, read, written
from web.schemas import COMMON, Blueprint, EmptySchema, problems

blp = Blueprint("complaints", __name__, url_prefix="/v1/complaints", description="Complaints")


def _step(command: Callable[..., Result], complaint_id: UUID, *args: Any) -> Response:
    """Run one lifecycle step of a complaint for the caller."""
    result = command(actor(), complaint_id, *args, expected_version=expected_version(), correlation_id=correlation_id())
    return written(result)


@blp.route("")
class Complaints(MethodView):
    @roles(*COMPLAINANTS)
    @blp.arguments(ReceiveComplaintIn())
    @blp.response(201, ComplaintOut)
    @problems(blp, *COMMON, 409)
    def post(self, data: dict[str, Any]) -> Response:
        """Receive a complaint about an inspection (an organisation only about its own)."""
        result = application().receive_complaint(actor(), correlation_id=correlation_id(), **data)
        return written(result, 201)


@blp.route("/<uuid:complaint_id>")
class ComplaintById(MethodView):
    @roles(*READERS)
    @blp.response(200, ComplaintOut)
    @problems(blp, *COMMON)
    def get(self, complaint_id: UUID) -> Response:
        """One complaint and where it stands."""
        app = application()
        complaint = app.get_complaint(complaint_id)
        if is_organisation():
            ensure_may_see(
                app.get_inspection(complaint.inspection_id).inspected_body,
                NotFound.record(Complaint.__name__, complaint_id),
            )
        return read(complaint_dict(complaint), complaint.version)


@blp.route("/<uuid:complaint_id>/acknowledge")
class Acknowledge(MethodView):
    @roles(*COMPLAINT_HANDLERS)
    @blp.arguments(EmptySchema(), required=False)
    @blp.response(200, ComplaintOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, _: dict[str, Any], complaint_id: UUID) -> Response:
        return _step(application().acknowledge_complaint, complaint_id)


@blp.route("/<uuid:complaint_id>/respond")
class Respond(MethodView):
    @roles(*COMPLAINT_HANDLERS)
    @blp.arguments(RespondIn())
    @blp.response(200, ComplaintOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], complaint_id: UUID) -> Response:
        return _step(application().respond_to_complaint, complaint_id, data["response"])


@blp.route("/<uuid:complaint_id>/escalate")
class Escalate(MethodView):
    @roles(*COMPLAINT_HANDLERS)
    @blp.arguments(EscalateIn())
    @blp.response(200, ComplaintOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], complaint_id: UUID) -> Response:
        return _step(application().escalate_complaint, complaint_id, data["reason"])


@blp.route("/<uuid:complaint_id>/close")
class Close(MethodView):
    @roles(*COMPLAINT_HANDLERS)
    @blp.arguments(CloseIn())
    @blp.response(200, ComplaintOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], complaint_id: UUID) -> Response:
        return _step(application().close_complaint, complaint_id, data["outcome"])
