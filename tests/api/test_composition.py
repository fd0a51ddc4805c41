"""One composition root: every service of a process is built once, from Settings (web.bootstrap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.config import Settings
from web import create_app, services_of
from web.views.resources import reader


def test_the_app_uses_the_services_compose_built(sqlite_settings: Settings) -> None:
    app = create_app(Settings(data_dir=sqlite_settings.data_dir, rate_limit=60))
    services = services_of(app)
    try:
        with app.test_request_context("/v1/views/status"):
            assert reader() is services.views  # not one built per request or per process elsewhere
        assert services.rate_limiter is not None and services.rate_limiter.per_minute == 60
        assert services.views.sealer.cipher is services.app.mapper.cipher
        assert services.webhooks.cipher is services.app.mapper.cipher
    finally:
        services.close()


def test_the_session_key_is_read_once_into_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """INSPECTORATE_SECRET_KEY is read with the other settings, not by the pages from the environment."""
    settings = Settings.from_env({"INSPECTORATE_DATA_DIR": str(tmp_path / "var"), "INSPECTORATE_SECRET_KEY": "k" * 64})
    monkeypatch.setenv("INSPECTORATE_SECRET_KEY", "not this one")
    app = create_app(settings)
    try:
        assert app.config["SECRET_KEY"] == "k" * 64
        assert "k" * 64 not in repr(settings)
    finally:
        services_of(app).close()
