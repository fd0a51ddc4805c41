"""Audit: an inspection's whole history (JSON or CSV), chain verification and head, the read log."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE

from application.audit import record_head, verify_record
from application.summaries import inspection_history
from web.audit.reads import read_audit, record_read
from web.audit.schemas import ChainHeadOut, HistoryOut, HistoryQuery, ReadsOut, ReadsQuery, VerifyOut, VerifyQuery
from web.auth import READERS, roles
from web.context import actor, application
from web.responses import read
from web.schemas import COMMON, Blueprint, problems

blp = Blueprint("audit", __name__, url_prefix="/v1", description="History, tamper evidence and the read log")
AUDITORS = ("admin", "auditor")
CSV_COLUMNS = (
    "position",
    "stream",
    "version",
    "type",
    "recorded_at",
    "actor_name",
    "actor_role",
    "correlation_id",
    "summary",
    "data",
    "actor_id",
    "actor_organisation",
)


@blp.route("/inspections/<uuid:inspection_id>/history")
class History(MethodView):
    @roles(*READERS)
    @blp.arguments(HistoryQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, HistoryOut)
    @blp.alt_response(200, description="The same events as CSV (`?format=csv`)", content_type="text/csv")
    @problems(blp, *COMMON)
    def get(self, inspection_id: UUID, format: str = "json") -> Response:
        """Every event of the inspection, its cases, reinspection and complaints, in recorded order.

        Case characteristics only for auditor and admin; another body's inspection is 404 for an organisation.
        """
        events = inspection_history(application(), inspection_id, actor())
        record_read(actor(), "inspection.history", inspection_id)
        if format == "csv":
            return Response(
                as_csv(events),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="inspection-{inspection_id}-history.csv"'},
            )
        return read({"events": events})


def as_csv(events: list[dict[str, Any]]) -> str:
    """One row per event; ``data`` as JSON in one column. Text cells cannot start a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e["position"],
                e["stream"],
                e["version"],
                e["type"],
                e["recorded_at"],
                _cell(e["actor"].get("name")),
                _cell(e["actor"].get("role")),
                _cell(e.get("correlation_id")),
                _cell(e["summary"]),
                json.dumps(e["data"], ensure_ascii=False, sort_keys=True),
                _cell(e["actor"].get("id")),
                _cell(e["actor"].get("organisation")),
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@blp.route("/audit/verify")
class Verify(MethodView):
    @roles(*AUDITORS)
    @blp.arguments(VerifyQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, VerifyOut)
    @problems(blp, *COMMON, 422)
    def get(self, anchor: list[str]) -> Response:
        """Recompute the SHA-256 chain over every stored event; name the first broken position."""
        anchors = {int(p): bytes.fromhex(h) for p, h in (a.split(":") for a in anchor)}
        return read(verify_record(application(), anchors))


@blp.route("/audit/head")
class Head(MethodView):
    @roles(*AUDITORS)
    @blp.response(200, ChainHeadOut)
    @problems(blp, *COMMON)
    def get(self) -> Response:
        """The last link of the chain: keep it elsewhere and pass it back to verify as an anchor."""
        return read(record_head(application()))


@blp.route("/audit/reads")
class Reads(MethodView):
    @roles("admin")
    @blp.arguments(ReadsQuery, location="query", unknown=RAISE)
    @blp.response(200, ReadsOut)
    @problems(blp, *COMMON, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Who read which case data or history, as whom and when; page with ``after=next_after``."""
        after = query["after"]
        records = read_audit().list(
            after,
            query["limit"],
            subject_id=query["subject_id"],
            actor_name=query["actor"],
            actor_id=query["actor_id"],
        )
        return read(
            {
                "items": [r.as_dict() for r in records],
                "next_after": records[-1].id if records else after,
            }
        )
