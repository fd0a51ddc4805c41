"""The one composition root: every process builds its services here, from ``Settings``.

The Flask app factory (``web.create_app``), the CLI (``web.cli``, including the projection
worker it runs) and the benchmarks build here (``compose``); nothing else builds the application, a
projector or a store. It lives in ``web/``, the outermost ring, because it must import every
layer and infrastructure may not build the application (layers import inward). (A top-level
package of its own would need every checkout's editable install redone to be importable.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa

# The aggregate modules register their events' explicit topics on import, so
# that stored events resolve in a fresh process before anything is written.
import domain.case_assessment
import domain.complaint
import domain.inspection
import domain.reinspection  # noqa: F401
from application.app import InspectorateApp
from application.decoding import EventDecoder
from application.feed import cloud_events, select_page
from application.projections import views_named
from application.projections.store import View
from domain.errors import NotFound
from infrastructure import idempotency as _idempotency_table  # noqa: F401 - registers its table
from infrastructure import shared_secrets as _shared_secrets_table  # noqa: F401 - registers its table
from infrastructure import webhooks as _webhooks_table  # noqa: F401 - registers its table
from infrastructure.composer import EventApp
from infrastructure.config import Settings
from infrastructure.holidays_calendar import is_bank_holiday
from infrastructure.idempotency import IdempotencyStore
from infrastructure.leadership import Leadership, leadership_for, migration_lock
from infrastructure.projections import tables as _view_tables  # noqa: F401 - registers the views' tables
from infrastructure.projections.gaps import GapGuard
from infrastructure.projections.reader import ViewReader
from infrastructure.projections.runner import Projector
from infrastructure.projections.tables import Sealer
from infrastructure.ratelimit import RateLimiter
from infrastructure.read_audit import ReadAudit
from infrastructure.readdb import add_missing_columns, create_read_engine, metadata
from infrastructure.tokens import TokenStore
from infrastructure.webhooks import WebhookStore


def build_app(settings: Settings | None = None, *, create_table: bool = True) -> InspectorateApp:
    settings = settings or Settings.from_env()
    app = InspectorateApp(settings.event_store_env(create_table=create_table), is_holiday=is_bank_holiday)
    app.public_url = settings.public_url  # events' dataschema URLs resolve on the service (web.public)
    return app


def build_projector(
    app: EventApp, engine: sa.Engine, settings: Settings, names: Sequence[str] | None = None
) -> Projector:
    """A projector of the named views (default: all) into ``engine``, reading ``app``'s record."""
    gaps = GapGuard(engine, app.recorder.events_table_name) if settings.is_postgres else None  # type: ignore[attr-defined]
    views = views_named(None if names is None else list(names))
    return Projector(engine, app.recorder, EventDecoder(app.mapper), views, gaps=gaps, sealer=Sealer(app.mapper.cipher))


class Composer:
    """What the projection worker and a rebuild (in ``infrastructure.projections``) are given to
    build with: they run in processes of their own, so they get the recipe, not the parts. An
    instance pickles by reference (a rebuild's processes are spawned)."""

    def open_app(self, settings: Settings, *, create_table: bool = False) -> InspectorateApp:
        return build_app(settings, create_table=create_table)

    def projector(
        self, app: EventApp, engine: sa.Engine, settings: Settings, names: Sequence[str] | None = None
    ) -> Projector:
        return build_projector(app, engine, settings, names)

    def views(self, names: Sequence[str] | None = None) -> list[View]:
        return views_named(None if names is None else list(names))

    def migrate(self, settings: Settings) -> None:
        migrate(settings)

    def events_after(
        self, app: EventApp, after: int, limit: int, types: Sequence[str], inspection: UUID | None
    ) -> list[dict[str, Any]]:
        assert isinstance(app, InspectorateApp)
        try:
            rows = select_page(app, after, limit, types, inspection)
        except NotFound:  # (an inspection is never deleted; but never fail a delivery loop on it)
            return []
        return cloud_events(app, rows, special_category=False)


COMPOSER = Composer()


@dataclass
class Services:
    """Everything a process needs, built once per process by ``compose``."""

    settings: Settings
    app: InspectorateApp
    read_engine: sa.Engine
    tokens: TokenStore
    views: ViewReader
    read_audit: ReadAudit
    webhooks: WebhookStore
    idempotency: IdempotencyStore
    rate_limiter: RateLimiter | None  # None: no limit (INSPECTORATE_RATE_LIMIT unset)

    def leadership(self) -> Leadership:
        """Who among the workers leads (an advisory lock on PostgreSQL, a file lock on SQLite)."""
        return leadership_for(self.settings)

    def projector(self, engine: sa.Engine, names: Sequence[str] | None = None) -> Projector:
        return build_projector(self.app, engine, self.settings, names)

    def close(self) -> None:
        self.app.close()
        self.tokens.close()
        self.read_engine.dispose()


def migrate(settings: Settings) -> None:
    """Create every table once, before any worker process starts (on PostgreSQL one process at a
    time: API nodes and workers on several machines may start together)."""
    with migration_lock(settings):
        build_app(settings, create_table=True).close()
        engine = create_read_engine(settings)
        metadata.create_all(engine)
        add_missing_columns(engine)
        engine.dispose()


def compose(settings: Settings | None = None, *, create_tables: bool = False) -> Services:
    """Every service of a process, from ``settings`` (default: read once from the environment)."""
    settings = settings or Settings.from_env()
    if create_tables:
        migrate(settings)
    engine = create_read_engine(settings)
    app = build_app(settings, create_table=False)
    cipher = app.mapper.cipher  # case data in the read side is sealed with the event store's cipher
    return Services(
        settings=settings,
        app=app,
        read_engine=engine,
        tokens=TokenStore(engine),
        views=ViewReader(engine, cipher),
        read_audit=ReadAudit(engine),
        webhooks=WebhookStore(engine, cipher),
        idempotency=IdempotencyStore(engine, cipher),
        rate_limiter=RateLimiter(engine, settings.rate_limit) if settings.rate_limit else None,
    )


build_services = compose  # the name the tests and benchmarks know
