"""Production serving: gunicorn with sync workers, schema created before they start."""
from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from infrastructure.bootstrap import migrate
from infrastructure.config import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from web import create_app

        # Each worker builds its own services after the fork; the schema already exists.
        return create_app(create_tables=False)


def serve(host: str, port: int, *, workers: int = 2, run_worker: bool = True) -> int:
    settings = Settings.from_env()
    migrate(settings)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "graceful_timeout": 10,
        "timeout": 30,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    _Gunicorn(options).run()
    return 0
