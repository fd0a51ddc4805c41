"""What the processes infrastructure runs (the projection worker, a rebuild, a backup) are given
to build the application with: ports, implemented by the composition root (``web.bootstrap``).

Infrastructure must not build the application (layers import inward), yet these run in processes
of their own and open the record themselves; so they are handed a ``Composer``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import ApplicationRecorder, Mapper

from infrastructure.config import Settings

if TYPE_CHECKING:
    from application.projections.store import View
    from infrastructure.projections.runner import Projector


class EventApp(Protocol):
    """The application as these processes use it: its record, its mapper, the deadline process."""

    recorder: ApplicationRecorder
    mapper: Mapper[Any]
    on_recorded: Callable[[int], None] | None

    def mark_due_reinspections(self) -> int: ...

    def mark_overdue_responses(self) -> int: ...

    def erase_expired_cases(self, years: int) -> list[UUID]: ...

    def close(self) -> None: ...


class Composer(Protocol):
    def open_app(self, settings: Settings, *, create_table: bool = False) -> EventApp: ...

    def projector(
        self, app: EventApp, engine: sa.Engine, settings: Settings, names: Sequence[str] | None = None
    ) -> Projector: ...

    def views(self, names: Sequence[str] | None = None) -> list[View]: ...

    def migrate(self, settings: Settings) -> None: ...

    def events_after(
        self, app: EventApp, after: int, limit: int, types: Sequence[str], inspection: UUID | None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` events after position ``after`` as the feed gives them to the integration
        role (CloudEvents, no special category data): what a webhook delivers."""
        ...
