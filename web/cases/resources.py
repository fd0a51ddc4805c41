"""Cases: sample into an inspection, rate, moderate, read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from application.representations import case_dict
from domain.case_assessment import CaseAssessment
from domain.errors import NotFound
from domain.inspection import Inspection
from web.audit.reads import record_read
from web.auth import ASSESSORS, READERS, ensure_may_see, is_organisation, roles
from web.cases.schemas import AddCaseIn, CaseDetailOut, CaseListOut, CaseOut, ErasedOut, ErasureIn, ModerateIn, RateIn
from web.context import actor, application, correlation_id
from web.idempotency import forget_answers_about
from web.inspections.schemas import AsOfQuery
from web.responses import expected_version, read, without, written
from web.schemas import COMMON, Blueprint, problems

blp = Blueprint("cases", __name__, url_prefix="/v1", description="Sampled cases, ratings and moderations")


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    """List items and command answers carry no characteristics (special category data)."""
    return without(body, "characteristics", "judgements", "moderations")


@blp.route("/inspections/<uuid:inspection_id>/cases")
class InspectionCases(MethodView):
    @roles(*ASSESSORS)
    @blp.arguments(AddCaseIn())
    @blp.response(201, CaseOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], inspection_id: UUID) -> Response:
        """Sample a case during fieldwork; the caller becomes its assessor."""
        result = application().add_case(
            actor(),
            inspection_id,
            data["case_ref"],
            data["characteristics"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result, 201, without(result.body, "characteristics"))

    @roles(*READERS)
    @blp.response(200, CaseListOut)
    @problems(blp, *COMMON)
    def get(self, inspection_id: UUID) -> Response:
        """The inspection's sampled cases, without their characteristics."""
        app = application()
        inspection = app.get_inspection(inspection_id)
        ensure_may_see(inspection.inspected_body, NotFound.record(Inspection.__name__, inspection_id))
        items = [
            _summary(case_dict(app.get_case(case_id), with_characteristics=False)) for case_id in inspection.case_ids
        ]
        record_read(actor(), "case.list", inspection_id)
        return read({"items": items})


@blp.route("/cases/<uuid:case_id>")
class CaseById(MethodView):
    @roles(*READERS)
    @blp.arguments(AsOfQuery(), location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, CaseDetailOut)
    @problems(blp, *COMMON)
    def get(self, case_id: UUID, as_of: Any = None) -> Response:
        """The case with its current judgements and moderations (or as recorded at `as_of`)."""
        app = application()
        case = app.get_case(case_id, as_of)
        if is_organisation():
            ensure_may_see(
                app.get_inspection(case.inspection_id).inspected_body,
                NotFound.record(CaseAssessment.__name__, case_id, as_of),
            )
        record_read(actor(), "case", case_id)
        return read(case_dict(case), case.version)


@blp.route("/cases/<uuid:case_id>/ratings")
class Ratings(MethodView):
    @roles(*ASSESSORS)
    @blp.arguments(RateIn())
    @blp.response(200, CaseOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], case_id: UUID) -> Response:
        """Judge items of the case (the case's assessor or an inspector); a later judgement replaces an earlier."""
        result = application().rate_case(
            actor(),
            case_id,
            data["judgements"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result, 200, without(result.body, "characteristics"))


@blp.route("/cases/<uuid:case_id>/moderations")
class Moderations(MethodView):
    @roles("qa_reviewer")
    @blp.arguments(ModerateIn())
    @blp.response(200, CaseOut)
    @problems(blp, *COMMON, 409, 412)
    def post(self, data: dict[str, Any], case_id: UUID) -> Response:
        """A second, independent judgement of items already judged."""
        result = application().moderate_case(
            actor(),
            case_id,
            data["judgements"],
            data["note"],
            expected_version=expected_version(),
            correlation_id=correlation_id(),
        )
        return written(result, 200, without(result.body, "characteristics"))


@blp.route("/cases/<uuid:case_id>/erasure")
class Erasure(MethodView):
    @roles("admin")
    @blp.arguments(ErasureIn())
    @blp.response(200, ErasedOut)
    @problems(blp, *COMMON)
    def post(self, data: dict[str, Any], case_id: UUID) -> Response:
        """Erase the case's personal data: its reference, characteristics and notes read as null, with
        `erased: true`, everywhere the case appears; published figures do not change. A second erasure
        of the same case records nothing and answers the same (docs/personal-data.md)."""
        result = application().erase_case(actor(), case_id, data["reason"], correlation_id=correlation_id())
        forget_answers_about(str(case_id))
        return written(result, 200, {"erased": True})
