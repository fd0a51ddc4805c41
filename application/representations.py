"""Aggregates as plain values for callers of the application."""

from __future__ import annotations

from typing import Any

from domain.body import Body, with_body_id
from domain.case_assessment import CaseAssessment
from domain.complaint import Complaint
from domain.inspection import Inspection
from domain.plan import Plan
from domain.reinspection import Reinspection
from domain.selection_criteria import criteria_by_code


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def inspection_dict(i: Inspection) -> dict[str, Any]:
    return {
        "id": str(i.id),
        "programme": i.programme,
        "framework": i.framework,
        "year": i.year,
        "inspected_body": with_body_id(i.inspected_body),
        "status": i.status,
        "fieldwork_start": _iso(i.fieldwork_start),
        "fieldwork_end": _iso(i.fieldwork_end),
        "lead_inspector": i.lead_inspector,
        "published_on": _iso(i.published_on),
        "case_count": len(i.case_refs),
        "version": i.version,
        "headline_scores": i.headline_scores,
        "criteria_scores": i.criteria_scores,
        "of_concern": i.of_concern,
        "reinspection_id": str(i.reinspection_id) if i.reinspection_id else None,
        "reinspection_of": str(i.reinspection_of) if i.reinspection_of else None,
        "created_on": i.created_on.isoformat(),
        "modified_on": i.modified_on.isoformat(),
        **(_standards_fields(i) if i.rules.rates_standards else {}),
    }


def _standards_fields(i: Inspection) -> dict[str, Any]:
    """What a 2018 inspection adds: the caseload, the inspectors' ratings, the published ratings."""
    return {
        "caseload": i.caseload,
        "standard_ratings": dict(i.standard_ratings),
        "ratings": i.ratings,
        "short_sample_reason": i.short_sample_reason,
    }


def case_dict(c: CaseAssessment, *, with_characteristics: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(c.id),
        "inspection_id": str(c.inspection_id),
        "case_ref": c.case_ref,
        "framework": c.framework,
        "assessor": c.assessor,
        "judged": c.judged,
        "locked": c.locked,
        "judgements": list(c.judgements.values()),
        "moderations": list(c.moderations.values()),
        "version": c.version,
        # (a reference is required when sampling: none means the key that sealed it is gone)
        "erased": bool(getattr(c, "erased", False)) or c.case_ref is None,
    }
    if with_characteristics:
        body["characteristics"] = c.characteristics
    return body


def reinspection_dict(r: Reinspection) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "origin_inspection_id": str(r.origin_inspection_id),
        "programme": r.programme,
        "inspected_body": with_body_id(r.inspected_body),
        "published_on": _iso(r.published_on),
        "due_on": _iso(r.due_on),
        "status": r.status,
        "reinspection_inspection_id": str(r.reinspection_inspection_id) if r.reinspection_inspection_id else None,
        "original_scores": r.original_scores,
        "comparison": r.comparison,
        "version": r.version,
    }


def complaint_dict(c: Complaint) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "inspection_id": str(c.inspection_id),
        "category": c.category,
        "summary": c.summary,
        "complainant": c.complainant,
        "status": c.status,
        "received_on": _iso(c.received_on),
        "response_due_on": _iso(c.response_due_on),
        "responses": c.responses,
        "escalation_reason": c.escalation_reason,
        "outcome": c.outcome,
        "responded_on": _iso(c.responded_on),
        "closed_on": _iso(c.closed_on),
        "version": c.version,
    }


def body_dict(b: Body, inspections: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A registered body; with ``inspections`` (its own page), also those and its yearly figures."""
    body: dict[str, Any] = {
        "id": str(b.id),
        "name": b.name,
        "type": b.type,
        "region": b.region,
        "succeeds": list(b.succeeds),
        "succeeded_by": list(b.succeeded_by),
        "version": b.version,
    }
    if inspections is not None:
        body["indicators"] = {year: dict(figures) for year, figures in sorted(b.indicators.items())}
        body["inspections"] = inspections
    return body


def plan_dict(p: Plan) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "programme": p.programme,
        "year": p.year,
        "revision": p.version,
        "drawn_up_at": p.modified_on.isoformat(),
        "criteria": criteria_by_code(p.criteria).as_dict(),
        "capacity": p.capacity,
        "selected": [dict(e) for e in p.selected],
        "not_selected": [dict(e) for e in p.not_selected],
    }
