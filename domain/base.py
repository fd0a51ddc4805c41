"""What every aggregate shares: who caused an event, explicit topics, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import register_topic

from domain import clock


@dataclass(frozen=True)
class Actor:
    """Whoever asks for a command: a person or system with a role.

    ``id`` is the stable identity (the API token's id): two people may share a
    name, never an id. It is None only for the system and in events recorded
    before actors had ids; a missing id never identifies anybody
    (``domain.access.is_the_assessor``).
    """

    name: str
    role: str
    organisation: str | None = None
    id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "organisation": self.organisation}

    def as_cause(self, correlation_id: str | None) -> dict[str, Any]:
        """The ``cause`` every event carries (events recorded before ids lack the id and organisation)."""
        return {
            "actor_id": self.id,
            "actor_name": self.name,
            "actor_role": self.role,
            "actor_organisation": self.organisation,
            "correlation_id": correlation_id,
        }


SYSTEM = Actor(name="system", role="system")

# The default cause is shared by every event recorded outside `caused_by`; nothing mutates a cause.
_cause: ContextVar[dict[str, Any]] = ContextVar("cause", default=SYSTEM.as_cause(None))  # noqa: B039


def actor_of(cause: dict[str, Any] | None) -> dict[str, Any]:
    """An event's ``actor`` as every reader shows it, ``{id, name, role, organisation}``, from its cause."""
    cause = cause or {}
    return {
        "id": cause.get("actor_id"),
        "name": cause.get("actor_name"),
        "role": cause.get("actor_role"),
        "organisation": cause.get("actor_organisation"),
    }


@contextmanager
def caused_by(actor: Actor, correlation_id: str | None) -> Iterator[None]:
    """Stamp every event triggered inside the block with its actor and correlation id.

    Set by the application from the request, never by callers of domain methods.
    """
    token = _cause.set(actor.as_cause(correlation_id))
    try:
        yield
    finally:
        _cause.reset(token)


def same_organisation(a: str | None, b: str | None) -> bool:
    """Organisations match by name, ignoring case and surrounding spaces."""
    if a is None or b is None:
        return False
    return a.strip().casefold() == b.strip().casefold()


class InspectorateAggregate(Aggregate):
    """Base aggregate whose events carry their cause and use the one clock."""

    class Event(Aggregate.Event):
        cause: dict[str, Any]

        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    @classmethod
    def _create(cls, event_class: Any, *, id: UUID | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("cause", _cause.get())
        return super()._create(event_class, id=id, **kwargs)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cause", _cause.get())
        super().trigger_event(event_class, **kwargs)


A = TypeVar("A", bound=type)


def explicit_topics(cls: A) -> A:
    """Register the stable public topic of every event nested in ``cls``.

    Stored events name these topics, so renaming or moving a class never
    breaks the record or a consumer.
    """
    for obj in vars(cls).values():
        if not (isinstance(obj, type) and issubclass(obj, CanMutateAggregate)):
            continue
        topic = getattr(obj, "TOPIC", None)
        if topic and "TOPIC" not in vars(obj):
            # An event class written out in the aggregate (to carry a class_version and its
            # upcasters) is subclassed by the library, and the subclass must keep its topic.
            obj.TOPIC = topic  # type: ignore[attr-defined]
        if "TOPIC" in vars(obj):
            register_topic(vars(obj)["TOPIC"], obj)
    return cls
