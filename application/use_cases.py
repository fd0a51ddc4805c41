"""What the use cases mixed into ``InspectorateApp`` use of the application base (``application.app``).

Each use case module (inspections, cases, reinspections, complaints, history) holds one mixin
that derives from ``UseCases``; ``InspectorateApp`` combines them with the base, which provides
what is declared here. The declarations exist for the type checker only, so that a mixin calling
the command loop is checked against its real signature, and the base is checked against them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from application.results import Result
from domain.base import Actor, InspectorateAggregate

if TYPE_CHECKING:
    from eventsourcing.application import Repository
    from eventsourcing.persistence import ApplicationRecorder, Mapper

    from application.personal_data import CaseKeys

T = TypeVar("T", bound=InspectorateAggregate)
# What a command's decision answers: the aggregates to save, and how to answer once they are saved.
Decision = tuple[list[InspectorateAggregate], Callable[[], Result]]


class UseCases:
    """The base a use-case mixin relies on (provided by ``InspectorateApp``)."""

    if TYPE_CHECKING:
        is_holiday: Callable[[date], bool]
        case_keys: CaseKeys
        mapper: Mapper[UUID]
        recorder: ApplicationRecorder

        @property
        def repository(self) -> Repository[UUID]: ...

        def _run(
            self,
            actor: Actor,
            correlation_id: str | None,
            decide: Callable[[], Decision],
            expected_version: int | None = None,
        ) -> Result: ...

        def _get(
            self, cls: type[T], aggregate_id: UUID, expected_version: int | None = None, *, copy: bool = True
        ) -> T: ...

        def _load(self, cls: type[T], aggregate_id: UUID, as_of: datetime | None) -> T: ...

        def _ids_with_topic(self, topic: str, page: int = 1000) -> Iterable[UUID]: ...
