"""The event catalogue: a JSON Schema (draft 2020-12) for the ``data`` of every event type, and AsyncAPI.

Schemas derive from the event classes' annotations, so a field added to an
event appears here without anyone remembering to; the shapes of nested values
(a judgement, the characteristics, a score) are refined by name below.
"""

from __future__ import annotations

import re
import typing
from datetime import date, datetime
from types import NoneType, UnionType
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate

from application.personal_data import SEALED_FIELDS
from domain.access import SPECIAL_CATEGORY_ROLES
from domain.base import InspectorateAggregate
from domain.body import Body
from domain.case_assessment import CHARACTERISTICS, CaseAssessment
from domain.complaint import Complaint
from domain.inspection import Inspection
from domain.plan import Plan
from domain.recommendation import Recommendation
from domain.recommendation_policy import JUDGEMENTS, PROGRESS
from domain.reinspection import Reinspection
from domain.selection_criteria import INDICATORS
from domain.thematic import SECTORS, Thematic

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SOURCE = "/inspectorate"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"  # (INSPECTORATE_PUBLIC_URL overrides it; see infrastructure.config)
SCHEMA_PATH = "/schemas/events/"  # GET <public url>/schemas/events/<type> answers the type's data schema


def schema_url(topic: str, public_url: str = DEFAULT_PUBLIC_URL) -> str:
    """Where an event type's data schema resolves: the event's ``dataschema`` and the schema's ``$id``."""
    return f"{public_url}{SCHEMA_PATH}{topic}"


TOPIC_PATTERN = re.compile(
    r"^(inspection|case|reinspection|complaint|recommendation|thematic|body|plan)\.[a-z_]+\.v[0-9]+$"
)
AGGREGATES: tuple[type[InspectorateAggregate], ...] = (
    Inspection,
    CaseAssessment,
    Reinspection,
    Complaint,
    Recommendation,
    Thematic,
    Body,
    Plan,
)
# Fields every stored event has; the feed carries them as CloudEvents attributes instead.
ENVELOPE_FIELDS = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_id_type",
    "originator_topic",
    "cause",
}

# Special category personal data (UK GDPR art. 9/10): who may receive it in the feed.
SPECIAL_CATEGORY_FIELDS: dict[str, tuple[str, ...]] = {"case.sampled.v1": ("characteristics",)}
ROLES_RECEIVING_SPECIAL_CATEGORY = SPECIAL_CATEGORY_ROLES

_NULLABLE_STRING = {"type": ["string", "null"]}
_SCORE = {
    "type": "object",
    "properties": {
        "score": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
        "sufficient": {"type": "integer", "minimum": 0},
        "applicable": {"type": "integer", "minimum": 0},
    },
    "required": ["score", "sufficient", "applicable"],
}
_SCORES = {"type": "object", "additionalProperties": _SCORE}
_PERSON = {
    "type": "object",
    "properties": {
        "id": {
            **_NULLABLE_STRING,
            "description": "the actor's stable id (its token's); null in events recorded before actors had ids",
        },
        "name": {"type": "string"},
        "role": {"type": "string"},
        "organisation": _NULLABLE_STRING,
    },
    "required": ["name", "role"],
}
_JUDGEMENT = {
    "type": "object",
    "description": (
        "A 2009 framework's judgement of an area and criterion, or a 2018 framework's (YOS-2018, "
        "PROBATION-2018) of a case standard's key question: {standard, question, sufficient, note}."
    ),
    "properties": {
        "area": {"type": "string"},
        "criterion": {"type": "string"},
        "standard": {"type": "string", "description": "2018: a case standard's code, e.g. 2.1"},
        "question": {"type": "string", "description": "2018: a key question, e.g. desistance"},
        "sufficient": {"type": ["boolean", "null"], "description": "null: not applicable"},
        "note": _NULLABLE_STRING,
    },
    "required": ["sufficient"],
    "oneOf": [{"required": ["area", "criterion"]}, {"required": ["standard", "question"]}],
}
_RATING = {"enum": ["outstanding", "good", "requires_improvement", "inadequate"]}
_RATINGS = {
    "type": "object",
    "description": "inspection.ratings_published.v1: the 2018 ratings as published (frozen).",
    "properties": {
        "overall": {
            "type": "object",
            "properties": {
                "rating": {"anyOf": [_RATING, {"type": "null"}]},
                "score": {"type": "integer"},
                "max": {"type": "integer"},
            },
            "required": ["rating", "score", "max"],
        },
        "standards": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "kind": {"enum": ["organisational", "case"]},
                    "rating": {"anyOf": [_RATING, {"type": "null"}]},
                    "rule_rating": {"anyOf": [_RATING, {"type": "null"}]},
                    "percentage": {"type": ["integer", "null"]},
                    "overridden": {"type": "boolean"},
                    "rationale": _NULLABLE_STRING,
                    "rated_by": {"type": ["object", "null"]},
                },
                "required": ["kind", "rating", "rule_rating", "percentage", "overridden"],
            },
        },
    },
    "required": ["overall", "standards"],
}

_PLAN_ENTRY = {
    "type": "object",
    "description": "One body of a plan: its score, rank, why it was (not) selected.",
    "properties": {
        "body_id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"},
        "type": {"type": "string"},
        "score": {"type": "number"},
        "rank": {"type": "integer", "minimum": 1},
        "basis": {"enum": ["every_year", "overdue", "risk"]},
        "last_inspected": {"type": ["string", "null"], "format": "date"},
        "indicators_year": _NULLABLE_STRING,
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["body_id", "name", "type", "score", "rank", "basis", "reasons"],
}


def _enum_of(values: tuple[Any, ...]) -> dict[str, Any]:
    return {"enum": [v for v in values]}


REFINEMENTS: dict[str, dict[str, Any]] = {
    "judgements": {"type": "array", "minItems": 1, "items": _JUDGEMENT},
    "characteristics": {
        "type": "object",
        "description": "Special category personal data: in history, CSV and the feed only for auditor and admin.",
        "properties": {name: _enum_of(values) for name, values in CHARACTERISTICS.items()},
        "required": list(CHARACTERISTICS),
        "additionalProperties": False,
    },
    "inspected_body": {
        "type": "object",
        "properties": {
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "the body's id in the register (absent in events recorded before it)",
            },
            "name": {"type": "string"},
            "type": {"type": "string"},
            "region": {"type": "string"},
        },
        "required": ["name", "type", "region"],
    },
    "succeeds": {
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "description": "body.registered.v1: the registered bodies this one took over",
    },
    "indicators": {
        "type": "object",
        "description": "body.indicators_recorded.v1: the year's figures that selection uses",
        "properties": {
            name: {
                "type": "integer" if spec.whole else "number",
                "minimum": 0,
                "maximum": spec.maximum,
                "description": spec.description,
            }
            for name, spec in INDICATORS.items()
        },
        "required": ["caseload"],
        "additionalProperties": False,
    },
    "selected": {"type": "array", "items": _PLAN_ENTRY},
    "not_selected": {"type": "array", "items": _PLAN_ENTRY},
    "headline_scores": _SCORES,
    "criteria_scores": _SCORES,
    "original_scores": _SCORES,
    "reinspection_scores": _SCORES,
    "comparison": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "original": {"type": ["integer", "null"]},
                "reinspection": {"type": ["integer", "null"]},
                "change": {"type": ["integer", "null"]},
            },
        },
    },
    "ratings": _RATINGS,
    "rating": _RATING,
    "kind": {"enum": ["organisational", "override"], "description": "override: of a case standard's rule"},
    "counts": {
        "type": "object",
        "description": (
            "inspection.caseload_recorded.v1: the caseload by dimension and value; each adds up to population."
        ),
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
    "by": _PERSON,
    "report_kind": {
        "enum": ["inspection", "thematic"],
        "description": "recommendation.made.v1: the kind of report it is made in (report_id)",
    },
    "judgement": _enum_of(JUDGEMENTS),
    "sector": _enum_of(SECTORS),
    "status": {**_enum_of(PROGRESS), "description": "recommendation.progress_reported.v1"},
    "assessor": _PERSON,
    "complainant": _PERSON,
}

_ACTOR = {
    "type": "object",
    "description": "Who caused the event. Two actors who share a name are two people: tell them apart by id "
    "(null for the system and in events recorded before actors had ids).",
    "properties": {
        "id": _NULLABLE_STRING,
        "name": _NULLABLE_STRING,
        "role": _NULLABLE_STRING,
        "organisation": _NULLABLE_STRING,
    },
    "required": ["id", "name", "role", "organisation"],
}


def event_classes() -> dict[str, type[CanMutateAggregate]]:
    """Every event type the record can hold, by its public topic."""
    classes: dict[str, type[CanMutateAggregate]] = {}
    for aggregate in AGGREGATES:
        for obj in vars(aggregate).values():
            if isinstance(obj, type) and issubclass(obj, CanMutateAggregate) and "TOPIC" in vars(obj):
                classes[vars(obj)["TOPIC"]] = obj
    return dict(sorted(classes.items()))


def schema_of_type(hint: Any) -> dict[str, Any]:
    """JSON Schema for one annotation, as the feed renders values (UUIDs and dates as strings)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, UnionType):
        options = [schema_of_type(arg) for arg in typing.get_args(hint) if arg is not NoneType]
        nullable = NoneType in typing.get_args(hint)
        if len(options) == 1 and "type" in options[0] and isinstance(options[0]["type"], str):
            return {**options[0], "type": [options[0]["type"], "null"]} if nullable else options[0]
        return {"anyOf": options + ([{"type": "null"}] if nullable else [])}
    if origin is list or origin is tuple:
        args = typing.get_args(hint)
        return {"type": "array", "items": schema_of_type(args[0]) if args else {}}
    if origin is dict or hint is dict:
        return {"type": "object"}
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string"},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        UUID: {"type": "string", "format": "uuid"},
        datetime: {"type": "string", "format": "date-time"},
        date: {"type": "string", "format": "date"},
    }
    return dict(simple.get(hint, {}))


def data_schema(topic: str, cls: type[CanMutateAggregate], public_url: str = DEFAULT_PUBLIC_URL) -> dict[str, Any]:
    """Schema of the feed's ``data`` for one event type: its own fields plus actor and correlation id."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    for name, hint in hints.items():
        if name in ENVELOPE_FIELDS:
            continue
        derived = schema_of_type(hint)
        refined = REFINEMENTS.get(name)
        if refined is not None:
            types = derived.get("type")
            nullable = isinstance(types, list) and "null" in types
            derived = {"anyOf": [refined, {"type": "null"}]} if nullable else dict(refined)
        properties[name] = derived
    own = list(properties)
    optional = set(SPECIAL_CATEGORY_FIELDS.get(topic, ()))
    sealed = [f for f in SEALED_FIELDS.get(topic, ()) if "[]" not in f]
    for name in sealed:  # personal data: null once the case's personal data is erased
        if name in properties:
            properties[name] = {"anyOf": [properties[name], {"type": "null"}]}
    if topic in SEALED_FIELDS:
        properties["erased"] = {
            "const": True,
            "description": "present (true) once the case's personal data is erased: its personal fields are null",
        }
        optional.add("erased")
    properties["actor"] = _ACTOR
    properties["correlation_id"] = {"type": ["string", "null"]}
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": schema_url(topic, public_url),
        "title": topic,
        "type": "object",
        "properties": properties,
        "required": [name for name in own if name not in optional] + ["actor", "correlation_id"],
        "additionalProperties": False,
    }
    optional.discard("erased")
    if optional:
        schema["description"] = (
            f"{', '.join(sorted(optional))}: special category personal data, present only for the roles "
            f"{', '.join(ROLES_RECEIVING_SPECIAL_CATEGORY)}; never sent to the integration role."
        )
    return schema


def data_schemas(public_url: str = DEFAULT_PUBLIC_URL) -> dict[str, dict[str, Any]]:
    return {topic: data_schema(topic, cls, public_url) for topic, cls in event_classes().items()}


def cloudevent_schema(topic: str | None = None, public_url: str = DEFAULT_PUBLIC_URL) -> dict[str, Any]:
    """The CloudEvents 1.0 envelope of a feed item (structured JSON mode)."""
    return {
        "$schema": DRAFT,
        "type": "object",
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "description": "<stream>:<version>, stable across reads"},
            "source": {"const": SOURCE},
            "type": {"const": topic} if topic else {"type": "string", "pattern": TOPIC_PATTERN.pattern},
            "subject": {"type": "string", "format": "uuid", "description": "the stream (aggregate id)"},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "position": {"type": "integer", "minimum": 1, "description": "global position; resume after it"},
            "dataschema": {"type": "string", "format": "uri"},
            "data": {"$ref": schema_url(topic, public_url)} if topic else {"type": "object"},
        },
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "position", "data"],
    }


def asyncapi(server_host: str = "localhost:8000", public_url: str = DEFAULT_PUBLIC_URL) -> dict[str, Any]:
    """An AsyncAPI 3.0 description of the feed (polling and server-sent events)."""
    schemas = data_schemas(public_url)
    messages = {
        topic: {
            "name": topic,
            "title": topic,
            "contentType": "application/json",
            "summary": f"A CloudEvent of type {topic}.",
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-2020-12",
                "schema": {
                    **cloudevent_schema(topic, public_url),
                    "properties": {**cloudevent_schema(topic, public_url)["properties"], "data": schemas[topic]},
                },
            },
        }
        for topic in schemas
    }
    refs = {topic: {"$ref": f"#/components/messages/{topic}"} for topic in schemas}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Inspectorate event feed",
            "version": "1.0.0",
            "description": (
                "Every recorded event, in global order, as CloudEvents 1.0 (structured JSON). Poll "
                "GET /v1/events?after=N&limit=M and keep next_after, or stream GET /v1/events/stream "
                "(server-sent events, id = position, resume with Last-Event-ID; the server ends each "
                "connection after at most 25 s, reconnect). Positions only grow; there may be gaps. "
                "Case characteristics (special category personal data) are omitted for the integration role. "
                "The 2018 standards framework (YOS-2018, PROBATION-2018) judges key questions on case.rated.v1 "
                "and case.moderated.v1 ({standard, question, sufficient}) and adds inspection.caseload_recorded.v1, "
                "inspection.standard_rated.v1, inspection.short_sample_accepted.v1 and "
                "inspection.ratings_published.v1 (recorded just before inspection.report_published.v1). "
                "Recommendations (recommendation.*) are made in a report (inspection.recommendation_made.v1, "
                "thematic.recommendation_made.v1), published with it (recommendation.published.v1, with the "
                "response due day), answered and their progress reported by the body they name; "
                "recommendation.response_overdue.v1 is recorded by the deadline process, carrying the due day; "
                "a reinspection judges them (recommendation.judged.v1) and the follow-up's publication fixes the "
                "judgement (recommendation.judgement_published.v1). Thematic and joint inspections are "
                "thematic.*: announced before fieldwork, findings recorded, report published. "
                "The register of bodies records body.registered.v1, body.succeeded.v1, body.indicators_recorded.v1 "
                "and body.inspection_scheduled.v1 (beside each inspection.scheduled.v1, whose inspected_body "
                "carries the body's id); selection plans record plan.drawn_up.v1 and plan.redrawn.v1."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "api": {
                "host": server_host,
                "protocol": "http",
                "security": [{"$ref": "#/components/securitySchemes/bearer"}],
            }
        },
        "channels": {
            "feed": {"address": "/v1/events", "title": "Polled pages of events", "messages": refs},
            "stream": {"address": "/v1/events/stream", "title": "Server-sent events", "messages": refs},
        },
        "operations": {
            "pollEvents": {
                "action": "receive",
                "channel": {"$ref": "#/channels/feed"},
                "messages": [{"$ref": f"#/channels/feed/messages/{topic}"} for topic in schemas],
            },
            "streamEvents": {
                "action": "receive",
                "channel": {"$ref": "#/channels/stream"},
                "messages": [{"$ref": f"#/channels/stream/messages/{topic}"} for topic in schemas],
            },
        },
        "components": {
            "messages": messages,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
