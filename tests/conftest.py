"""Shared fixtures: settings for each backend, a fresh store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.config import Settings

POSTGRES_URL = os.environ.get("INSPECTORATE_TEST_POSTGRES_URL")


def reset_postgres(url: str) -> None:
    """Drop everything in the test database: each test starts from an empty store."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _postgres_or_skip() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("INSPECTORATE_TEST_POSTGRES_URL must be set in CI: PostgreSQL tests may not be skipped")
        pytest.skip("INSPECTORATE_TEST_POSTGRES_URL not set")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, empty store on each backend in turn."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "var")
    else:
        url = _postgres_or_skip()
        reset_postgres(url)
        yield Settings(data_dir=tmp_path / "var", database_url=url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
def postgres_settings(tmp_path: Path) -> Settings:
    url = _postgres_or_skip()
    reset_postgres(url)
    return Settings(data_dir=tmp_path / "var", database_url=url)
