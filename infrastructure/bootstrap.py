"""The one composition root: builds every service from settings."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

# The aggregate modules register their events' explicit topics on import, so
# that stored events resolve in a fresh process before anything is written.
import domain.case_assessment
import domain.complaint
import domain.inspection
import domain.reinspection  # noqa: F401
from application.app import InspectorateApp
from infrastructure import idempotency as _idempotency_table  # noqa: F401 - registers its table
from infrastructure import shared_secrets as _shared_secrets_table  # noqa: F401 - registers its table
from infrastructure import webhooks as _webhooks_table  # noqa: F401 - registers its table
from infrastructure.config import Settings
from infrastructure.holidays_calendar import is_bank_holiday
from infrastructure.leadership import migration_lock
from infrastructure.projections import tables as _view_tables  # noqa: F401 - registers the views' tables
from infrastructure.read_audit import read_audit as _read_audit_table  # noqa: F401 - registers its table
from infrastructure.readdb import create_read_engine, metadata
from infrastructure.tokens import TokenStore


def build_app(settings: Settings | None = None, *, create_table: bool = True) -> InspectorateApp:
    settings = settings or Settings.from_env()
    app = InspectorateApp(settings.event_store_env(create_table=create_table), is_holiday=is_bank_holiday)
    app.public_url = settings.public_url  # events' dataschema URLs resolve on the service (web.public)
    return app


@dataclass
class Services:
    """Everything a process needs, built once per process."""

    settings: Settings
    app: InspectorateApp
    read_engine: sa.Engine
    tokens: TokenStore

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
        engine.dispose()


def build_services(settings: Settings | None = None, *, create_tables: bool = False) -> Services:
    settings = settings or Settings.from_env()
    if create_tables:
        migrate(settings)
    engine = create_read_engine(settings)
    return Services(
        settings=settings,
        app=build_app(settings, create_table=False),
        read_engine=engine,
        tokens=TokenStore(engine),
    )
