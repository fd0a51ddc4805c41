"""What auditors and integrating systems read: history with summaries, the event feed, past programme years.

Everything here is computed from the recorded events, never from a view, so
it is what the record says and nothing a projection could get wrong.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from eventsourcing.persistence import Notification

from application.app import InspectorateApp
from application.catalogue import (
    DEFAULT_PUBLIC_URL,
    SOURCE,
    SPECIAL_CATEGORY_FIELDS,
    schema_url,
)
from application.feed_codec import FeedRow, PlainStateDecoder
from application.projections.years import YearRow, rating_summary, year_figures
from domain.access import ensure_may_read, may_see_characteristics
from domain.base import Actor, actor_of
from domain.errors import InvalidValue, NotFound
from domain.frameworks import framework_by_code
from domain.inspection import Inspection
from domain.scoring import Tally

PUBLISHED = "inspection.report_published.v1"
MAX_PAGE = 1000


# -- history -----------------------------------------------------------------


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
        described.append({**event, "summary": summarise(event, case_refs)})
    return described


def _who(actor: dict[str, Any]) -> str:
    name, role = actor.get("name"), actor.get("role")
    if not name or role == "system":
        return "The system"
    return f"{name} ({role})" if role else str(name)


def _scores(scores: dict[str, Any] | None) -> str:
    parts = [
        f"{area.replace('_', ' ')} {value['score']}%" if value.get("score") is not None
        else f"{area.replace('_', ' ')} n/a"
        for area, value in (scores or {}).items()
    ]
    return ", ".join(parts) or "no scores"


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def summarise(event: dict[str, Any], case_refs: dict[str, str] | None = None) -> str:
    """One line a person can read. Never mentions case characteristics or free text that may identify."""
    who = _who(event.get("actor") or {})
    data = event.get("data") or {}
    ref = (case_refs or {}).get(event["stream"], data.get("case_ref", "?")) or "(erased)"
    kind = event["type"]
    if kind == "inspection.scheduled.v1":
        body = data.get("inspected_body", {}).get("name", "?")
        return (
            f"{who} scheduled the {data.get('programme')} inspection of {body}, "
            f"fieldwork from {data.get('fieldwork_start')}"
        )
    if kind == "inspection.fieldwork_started.v1":
        return f"{who} started fieldwork"
    if kind == "inspection.case_sampled.v1":
        return f"{who} added case {data.get('case_ref') or '(erased)'} to the sample"
    if kind == "case.sampled.v1":
        return f"Case {ref} opened for assessment by {_who(data.get('assessor') or {})}"
    if kind == "case.personal_data_erased.v1":
        return f"{who} erased the personal data of a case ({data.get('reason')})"
    if kind == "inspection.case_ref_erased.v1":
        return "The erased case's reference was dropped from the sample"
    if kind == "case.rated.v1":
        return f"{who} rated case {ref}: {_count(data.get('judgements', []), 'judgement')}"
    if kind == "case.moderated.v1":
        after = " after publication (published scores unchanged)" if data.get("after_publication") else ""
        return f"{who} moderated case {ref}: {_count(data.get('judgements', []), 'judgement')}{after}"
    if kind == "case.locked_for_publication.v1":
        return f"Case {ref} locked: its judgements are part of the published report"
    if kind == "inspection.fieldwork_completed.v1":
        return f"{who} completed fieldwork"
    if kind == PUBLISHED:
        concern = "; findings of concern" if data.get("of_concern") else ""
        scores = _scores(data.get("headline_scores"))
        return f"{who} published the report on {data.get('published_on')}: {scores}{concern}"
    if kind == "inspection.caseload_recorded.v1":
        return f"{who} recorded a caseload of {data.get('population')}"
    if kind == "inspection.standard_rated.v1":
        how = "overrode the rule for" if data.get("kind") == "override" else "rated"
        return f"{who} {how} standard {data.get('standard')}: {str(data.get('rating', '?')).replace('_', ' ')}"
    if kind == "inspection.short_sample_accepted.v1":
        return f"{who} completed fieldwork with {data.get('sampled')} of {data.get('sample_size')} cases sampled"
    if kind == "inspection.ratings_published.v1":
        overall_rating = ((data.get("ratings") or {}).get("overall") or {}).get("rating") or "?"
        return f"{who} published the ratings: overall {overall_rating.replace('_', ' ')}"
    if kind == "inspection.designated_as_reinspection.v1":
        return f"{who} made this inspection the follow-up of reinspection {data.get('reinspection_id')}"
    if kind == "inspection.complaint_linked.v1":
        return f"Complaint {data.get('complaint_id')} linked to the inspection"
    if kind == "reinspection.triggered.v1":
        return f"Reinspection triggered by findings of concern, due on {data.get('due_on')}"
    if kind == "reinspection.became_due.v1":
        if data.get("due_on"):
            return f"Reinspection became due on {data.get('due_on')}"
        return f"Reinspection became due (recorded by the deadline process on {data.get('marked_on')})"
    if kind == "reinspection.scheduled.v1":
        return f"{who} scheduled the reinspection as inspection {data.get('inspection_id')}"
    if kind == "reinspection.completed.v1":
        changes = ", ".join(
            f"{area.replace('_', ' ')} {c.get('original')}% → {c.get('reinspection')}%"
            for area, c in (data.get("comparison") or {}).items()
        )
        return f"Reinspection completed: {changes or 'no comparable scores'}"
    if kind == "complaint.received.v1":
        category = data.get("category", "?").replace("_", " ")
        return f"{who} made a complaint ({category}); response due {data.get('response_due_on')}"
    if kind == "complaint.acknowledged.v1":
        return f"{who} acknowledged the complaint"
    if kind == "complaint.responded.v1":
        return f"{who} responded to the complaint"
    if kind == "complaint.escalated.v1":
        return f"{who} escalated the complaint"
    if kind == "complaint.closed.v1":
        return f"{who} closed the complaint: {str(data.get('outcome', '?')).replace('_', ' ')}"
    return f"{who} recorded {kind}"


# -- the event feed ----------------------------------------------------------


_decoders: WeakKeyDictionary[InspectorateApp, PlainStateDecoder] = WeakKeyDictionary()


def _decoder(app: InspectorateApp) -> PlainStateDecoder:
    decoder = _decoders.get(app)
    if decoder is None:
        decoder = _decoders[app] = PlainStateDecoder(app.mapper)
    return decoder


def cloud_event(app: InspectorateApp, row: FeedRow | Notification, *, special_category: bool) -> dict[str, Any]:
    """A stored event as a CloudEvents 1.0 structured-mode JSON object (plain JSON values)."""
    return cloud_events(app, [row if isinstance(row, FeedRow) else FeedRow.of(row)], special_category)[0]


def cloud_events(app: InspectorateApp, rows: Sequence[FeedRow], special_category: bool) -> list[dict[str, Any]]:
    decoder = _decoder(app)
    public_url = getattr(app, "public_url", DEFAULT_PUBLIC_URL)
    return [_cloud_event(decoder, row, special_category, public_url) for row in rows]


def _cloud_event(decoder: PlainStateDecoder, row: FeedRow, special_category: bool, public_url: str) -> dict[str, Any]:
    data = decoder.state(row)
    time = data.pop("timestamp")
    cause = data.pop("cause", None) or {}
    data.pop("originator_topic", None)
    if not special_category:
        for name in SPECIAL_CATEGORY_FIELDS.get(row.topic, ()):
            data.pop(name, None)
    data["actor"] = actor_of(cause)
    data["correlation_id"] = cause.get("correlation_id")
    return {
        "specversion": "1.0",
        "id": f"{row.stream}:{row.version}",
        "source": SOURCE,
        "type": row.topic,
        "subject": row.stream,
        "time": time,
        "datacontenttype": "application/json",
        "dataschema": schema_url(row.topic, public_url),
        "position": row.position,
        "data": data,
    }


def select_page(
    app: InspectorateApp,
    after: int,
    limit: int,
    types: Sequence[str] = (),
    inspection_id: UUID | None = None,
) -> Sequence[FeedRow]:
    """Stored events after a position, optionally of some types or of one inspection's streams."""
    recorder: Any = app.recorder
    if inspection_id is not None:
        streams = app.stream_ids_of(app.get_inspection(inspection_id))
        notifications = recorder.select_by_originators(streams, after=after, limit=limit, topics=list(types))
        return [FeedRow.of(n) for n in notifications]
    if hasattr(recorder, "select_feed_rows"):  # the project's recorders: plain rows, no UUID objects
        return [FeedRow(*row) for row in recorder.select_feed_rows(after, limit, list(types))]
    notifications = recorder.select_notifications(after, limit, topics=list(types), inclusive_of_start=False)
    return [FeedRow.of(n) for n in notifications]


def feed_page(
    app: InspectorateApp,
    reader: Actor,
    after: int = 0,
    limit: int = 100,
    types: Sequence[str] = (),
    inspection_id: UUID | None = None,
) -> dict[str, Any]:
    """``{events, next_after, head}``: at most ``limit`` events after position ``after``, in order.

    Positions only grow but may skip numbers (PostgreSQL sequences); a consumer
    keeps ``next_after`` and asks again. The PostgreSQL recorder commits in
    position order (table lock), SQLite has one writer at a time, so nothing
    appears later behind a position already handed out.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("limit", f"must be between 1 and {MAX_PAGE}")
    if after < 0:
        raise InvalidValue("after", "must be 0 or more")
    head = app.recorder.max_notification_id() or 0
    rows = select_page(app, after, limit, types, inspection_id)
    special = may_see_characteristics(reader)
    events = cloud_events(app, rows, special)
    return {
        "events": events,
        "next_after": rows[-1].position if rows else after,
        "head": max(head, rows[-1].position if rows else 0),
    }


def follow(
    app: InspectorateApp,
    reader: Actor,
    after: int,
    types: Sequence[str] = (),
    page: int = 200,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of events after a position, forever: an empty page means nothing new yet."""
    special = may_see_characteristics(reader)
    while True:
        rows = select_page(app, after, page, types)
        if rows:
            after = rows[-1].position
        yield cloud_events(app, rows, special)


# -- a programme year as it stood ----------------------------------------------


def programme_year_as_of(app: InspectorateApp, programme: str, year: str, as_of: datetime) -> dict[str, Any]:
    """The programme-year figures as the record stood at ``as_of`` (inclusive), from the events.

    Published inspections of the programme whose fieldwork year is ``year``
    and whose report was recorded at or before ``as_of``, in publication
    order, given to ``application.projections.years.year_figures`` as the
    live view gives its rows: the same figures and shape as
    ``GET /v1/views/programmes/{p}/years/{y}`` (reinspections marked and
    left out of the pooled figures, ties named).
    """
    published: list[Inspection] = []
    for notification in _all_with_topic(app, PUBLISHED):
        event = app.mapper.to_domain_event(notification)
        if event.timestamp > as_of:
            continue  # not break: two servers' clocks may disagree slightly with the recorded order
        inspection: Inspection = app.repository.get(notification.originator_id, version=notification.originator_version)
        if inspection.programme == programme and inspection.year == year:
            published.append(inspection)
    areas: list[str] = []
    for inspection in published:
        areas.extend(a for a in framework_by_code(inspection.framework).areas if a not in areas)
    rows = [
        YearRow(str(i.id), i.inspected_body.get("name", ""), len(i.case_refs), _tallies(i.headline_scores),
                i.reinspection_of is not None, rating_summary(i.ratings) if i.ratings else None)
        for i in published
    ]
    return {**year_figures(programme, year, areas, rows), "as_of": as_of.isoformat()}


def _tallies(scores: dict[str, Any] | None) -> dict[str, Tally]:
    return {
        area: Tally(int(value.get("sufficient", 0)), int(value.get("applicable", 0)))
        for area, value in (scores or {}).items()
    }


def _all_with_topic(app: InspectorateApp, topic: str, page: int = MAX_PAGE) -> Iterator[Notification]:
    after = 0
    while True:
        notifications = app.recorder.select_notifications(after, page, topics=[topic], inclusive_of_start=False)
        yield from notifications
        if len(notifications) < page:
            return
        after = notifications[-1].id


# -- the chain -------------------------------------------------------------------


def verify_record(app: InspectorateApp, anchors: dict[int, bytes] | None = None) -> dict[str, Any]:
    """Recompute the hash chain over every stored event: ``{ok, checked, head_position, head_hash, first_broken}``."""
    return app.recorder.verify_chain(anchors).as_dict()  # type: ignore[attr-defined]


def record_head(app: InspectorateApp) -> dict[str, Any]:
    """The last link of the chain, for an auditor to keep elsewhere and pass back as an anchor."""
    head = app.recorder.chain_head()  # type: ignore[attr-defined]
    return {"position": head[0], "hash": head[1].hex()} if head else {"position": 0, "hash": None}
