"""An inspection's history as people read it: each event with a plain-language summary.

The summaries are a table of templates (``SUMMARIES``), one per event type. Case
characteristics leave the service only for the readers ``domain.access`` allows.
Computed from the recorded events, never from a view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from application.app import InspectorateApp
from application.catalogue import SPECIAL_CATEGORY_FIELDS
from domain.access import ensure_may_read, may_see_characteristics
from domain.base import Actor
from domain.errors import NotFound
from domain.inspection import Inspection


def inspection_history(app: InspectorateApp, inspection_id: UUID, reader: Actor) -> list[dict[str, Any]]:
    """The inspection's whole history, each event with a plain-language summary.

    An organisation reads only its own body's history (another body's is not
    found, as an unknown id). Case characteristics are left out of the events'
    data unless the reader may see them (``domain.access``).
    """
    inspection = app.get_inspection(inspection_id)
    ensure_may_read(reader, inspection.inspected_body, NotFound.record(Inspection.__name__, inspection_id))
    events = app.history(inspection_id)
    if not may_see_characteristics(reader):
        events = [without_special_category(event) for event in events]
    return with_summaries(events)


def without_special_category(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its special category fields (``SPECIAL_CATEGORY_FIELDS``) left out of ``data``."""
    hidden = SPECIAL_CATEGORY_FIELDS.get(event["type"], ())
    if not hidden:
        return event
    return {**event, "data": {k: v for k, v in event["data"].items() if k not in hidden}}


def with_summaries(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    case_refs: dict[str, str] = {}
    described = []
    for event in events:
        if event["type"] == "case.sampled.v1":
            case_refs[event["stream"]] = event["data"].get("case_ref", "?")
        elif event["type"] == "recommendation.made.v1":  # later steps name the addressee, not the stream
            case_refs[event["stream"]] = event["data"].get("to", "?")
        described.append({**event, "summary": summarise(event, case_refs)})
    return described


def _who(actor: dict[str, Any]) -> str:
    name, role = actor.get("name"), actor.get("role")
    if not name or role == "system":
        return "The system"
    return f"{name} ({role})" if role else str(name)


def _scores(scores: dict[str, Any] | None) -> str:
    parts = [
        f"{area.replace('_', ' ')} {value['score']}%"
        if value.get("score") is not None
        else f"{area.replace('_', ' ')} n/a"
        for area, value in (scores or {}).items()
    ]
    return ", ".join(parts) or "no scores"


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _reinspection_became_due(who: str, data: dict[str, Any], ref: str) -> str:
    if data.get("due_on"):
        return f"Reinspection became due on {data.get('due_on')}"
    return f"Reinspection became due (recorded by the deadline process on {data.get('marked_on')})"


def _reinspection_completed(who: str, data: dict[str, Any], ref: str) -> str:
    changes = ", ".join(
        f"{area.replace('_', ' ')} {c.get('original')}% → {c.get('reinspection')}%"
        for area, c in (data.get("comparison") or {}).items()
    )
    return f"Reinspection completed: {changes or 'no comparable scores'}"


def _overall(data: dict[str, Any]) -> str:
    return str(((data.get("ratings") or {}).get("overall") or {}).get("rating") or "?").replace("_", " ")


Summary = Callable[[str, dict[str, Any], str], str]  # (who, the event's data, its case's ref) -> the line

# One line per event type, for a person to read: a new event type adds one entry. Never mentions case
# characteristics or free text that may identify.
SUMMARIES: dict[str, Summary] = {
    "inspection.scheduled.v1": lambda who, data, ref: (
        f"{who} scheduled the {data.get('programme')} inspection of "
        f"{data.get('inspected_body', {}).get('name', '?')}, fieldwork from {data.get('fieldwork_start')}"
    ),
    "inspection.fieldwork_started.v1": lambda who, data, ref: f"{who} started fieldwork",
    "inspection.case_sampled.v1": lambda who, data, ref: (
        f"{who} added case {data.get('case_ref') or '(erased)'} to the sample"
    ),
    "case.personal_data_erased.v1": lambda who, data, ref: (
        f"{who} erased the personal data of a case ({data.get('reason')})"
    ),
    "inspection.case_ref_erased.v1": lambda who, data, ref: "The erased case's reference was dropped from the sample",
    "case.sampled.v1": lambda who, data, ref: f"Case {ref} opened for assessment by {_who(data.get('assessor') or {})}",
    "case.rated.v1": lambda who, data, ref: (
        f"{who} rated case {ref}: {_count(data.get('judgements', []), 'judgement')}"
    ),
    "case.moderated.v1": lambda who, data, ref: (
        f"{who} moderated case {ref}: {_count(data.get('judgements', []), 'judgement')}"
        + (" after publication (published scores unchanged)" if data.get("after_publication") else "")
    ),
    "case.locked_for_publication.v1": lambda who, data, ref: (
        f"Case {ref} locked: its judgements are part of the published report"
    ),
    "inspection.fieldwork_completed.v1": lambda who, data, ref: f"{who} completed fieldwork",
    "inspection.report_published.v1": lambda who, data, ref: (
        f"{who} published the report on {data.get('published_on')}: {_scores(data.get('headline_scores'))}"
        + ("; findings of concern" if data.get("of_concern") else "")
    ),
    "inspection.caseload_recorded.v1": lambda who, data, ref: f"{who} recorded a caseload of {data.get('population')}",
    "inspection.standard_rated.v1": lambda who, data, ref: (
        f"{who} {'overrode the rule for' if data.get('kind') == 'override' else 'rated'} standard "
        f"{data.get('standard')}: {str(data.get('rating', '?')).replace('_', ' ')}"
    ),
    "inspection.short_sample_accepted.v1": lambda who, data, ref: (
        f"{who} completed fieldwork with {data.get('sampled')} of {data.get('sample_size')} cases sampled"
    ),
    "inspection.ratings_published.v1": lambda who, data, ref: f"{who} published the ratings: overall {_overall(data)}",
    "inspection.designated_as_reinspection.v1": lambda who, data, ref: (
        f"{who} made this inspection the follow-up of reinspection {data.get('reinspection_id')}"
    ),
    "inspection.complaint_linked.v1": lambda who, data, ref: (
        f"Complaint {data.get('complaint_id')} linked to the inspection"
    ),
    "reinspection.triggered.v1": lambda who, data, ref: (
        f"Reinspection triggered by findings of concern, due on {data.get('due_on')}"
    ),
    "reinspection.became_due.v1": _reinspection_became_due,
    "reinspection.scheduled.v1": lambda who, data, ref: (
        f"{who} scheduled the reinspection as inspection {data.get('inspection_id')}"
    ),
    "reinspection.completed.v1": _reinspection_completed,
    "complaint.received.v1": lambda who, data, ref: (
        f"{who} made a complaint ({data.get('category', '?').replace('_', ' ')}); "
        f"response due {data.get('response_due_on')}"
    ),
    "complaint.acknowledged.v1": lambda who, data, ref: f"{who} acknowledged the complaint",
    "complaint.responded.v1": lambda who, data, ref: f"{who} responded to the complaint",
    "complaint.escalated.v1": lambda who, data, ref: f"{who} escalated the complaint",
    "complaint.closed.v1": lambda who, data, ref: (
        f"{who} closed the complaint: {str(data.get('outcome', '?')).replace('_', ' ')}"
    ),
}


def _words(value: Any) -> str:
    return str(value if value is not None else "?").replace("_", " ")


def _added_to_report(who: str, data: dict[str, Any], ref: str) -> str:
    return f"{who} added recommendation {data.get('recommendation_id')} to the report"


def _announced(who: str, data: dict[str, Any], ref: str) -> str:
    partners = data.get("partners") or []
    joint = f", jointly with {', '.join(partners)}" if partners else ""
    return f"{who} announced the thematic inspection '{data.get('title')}' on {data.get('announced_on')}{joint}"


# Recommendations and thematics: the step and the addressee (``ref`` is the addressee for a recommendation's
# own stream), never the recommendation's text or a note.
SUMMARIES.update(
    {
        "inspection.recommendation_made.v1": _added_to_report,
        "thematic.recommendation_made.v1": _added_to_report,
        "recommendation.made.v1": lambda who, data, ref: f"{who} made a recommendation to {data.get('to', '?')}",
        "recommendation.published.v1": lambda who, data, ref: (
            f"Recommendation to {ref} published with the report on {data.get('published_on')}; "
            f"response due {data.get('response_due_on')}"
        ),
        "recommendation.responded.v1": lambda who, data, ref: (
            f"{who} answered the recommendation to {ref}: {_words(data.get('response'))}"
            + (" (after the due day)" if data.get("late") else "")
        ),
        "recommendation.progress_reported.v1": lambda who, data, ref: (
            f"{who} reported progress on the recommendation to {ref}: {_words(data.get('status'))}"
        ),
        "recommendation.response_overdue.v1": lambda who, data, ref: (
            f"No response from {ref} by {data.get('due_on')}: the response is overdue"
        ),
        "recommendation.judged.v1": lambda who, data, ref: (
            f"{who} judged the recommendation to {ref} in the reinspection: {_words(data.get('judgement'))}"
        ),
        "recommendation.judgement_published.v1": lambda who, data, ref: (
            f"The reinspection's judgement of the recommendation to {ref} was published on "
            f"{data.get('published_on')}: {_words(data.get('judgement'))}"
        ),
        "thematic.announced.v1": _announced,
        "thematic.fieldwork_started.v1": lambda who, data, ref: (
            f"{who} started the thematic inspection's fieldwork on {data.get('fieldwork_start')}"
        ),
        "thematic.findings_recorded.v1": lambda who, data, ref: f"{who} recorded the thematic inspection's findings",
        "thematic.report_published.v1": lambda who, data, ref: (
            f"{who} published the thematic report on {data.get('published_on')}"
        ),
    }
)


def _registered(who: str, data: dict[str, Any], ref: str) -> str:
    after = f", succeeding {_count(data.get('succeeds') or [], 'body')}" if data.get("succeeds") else ""
    return f"{who} registered {data.get('name')} ({_words(data.get('type'))}, {data.get('region')}){after}"


def _plan(again: str) -> Summary:
    def summary(who: str, data: dict[str, Any], ref: str) -> str:
        selected, not_selected = data.get("selected") or [], data.get("not_selected") or []
        return (
            f"{who} drew up the plan{again} under {data.get('criteria')}: {len(selected)} selected of "
            f"{len(selected) + len(not_selected)}, capacity {data.get('capacity')}"
        )

    return summary


# The register of bodies and selection plans.
SUMMARIES.update(
    {
        "body.registered.v1": _registered,
        "body.succeeded.v1": lambda who, data, ref: (
            f"Succeeded by {_words(data.get('successor_type'))} {data.get('successor_id')}"
        ),
        "body.indicators_recorded.v1": lambda who, data, ref: (
            f"{who} recorded the figures of {data.get('year')}: "
            f"caseload {(data.get('indicators') or {}).get('caseload', '?')}"
        ),
        "body.inspection_scheduled.v1": lambda who, data, ref: (
            f"{data.get('programme')} inspection {data.get('inspection_id')} scheduled, "
            f"fieldwork from {data.get('fieldwork_start')}"
        ),
        "plan.drawn_up.v1": _plan(""),
        "plan.redrawn.v1": _plan(" again"),
    }
)


def summarise(event: dict[str, Any], case_refs: dict[str, str] | None = None) -> str:
    """One line a person can read (``SUMMARIES``); an event type without an entry says its type."""
    who = _who(event.get("actor") or {})
    data = event.get("data") or {}
    ref = (case_refs or {}).get(event["stream"], data.get("case_ref", "?")) or "(erased)"
    summary = SUMMARIES.get(event["type"])
    return summary(who, data, ref) if summary is not None else f"{who} recorded {event['type']}"
