"""Recording reads of case data and history (special category personal data)."""

from __future__ import annotations

from flask import g, has_request_context

from domain.base import Actor
from infrastructure.read_audit import ReadAudit
from web.context import services


def read_audit() -> ReadAudit:
    return services().read_audit


def record_read(actor: Actor, what: str, subject_id: object | None) -> None:
    """Leave a trace that ``actor`` read ``what`` (e.g. "case", "inspection.history") of ``subject_id``."""
    correlation_id = getattr(g, "correlation_id", None) if has_request_context() else None
    read_audit().record(actor, what, None if subject_id is None else str(subject_id), correlation_id)
