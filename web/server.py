"""Production serving: gunicorn with sync workers, schema created before they start."""
from __future__ import annotations

import multiprocessing
import os
import signal
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


def _close_services(_: Any, worker: Any) -> None:
    """On a worker's graceful exit (SIGTERM to the master): release its database connections."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("inspectorate") if app is not None else None
    if services is not None:
        services.close()


def serve(host: str, port: int, *, workers: int = 2, run_worker: bool = True) -> int:
    settings = Settings.from_env()
    migrate(settings)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        # SIGTERM: the master stops accepting, lets in-flight requests finish (up to
        # graceful_timeout), the workers close their services, and the process exits 0.
        "graceful_timeout": 10,
        "worker_exit": _close_services,
        "timeout": 30,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    worker = _start_projection_worker(settings) if run_worker else None
    try:
        _Gunicorn(options).run()
    finally:
        if worker is not None:
            _stop_projection_worker(*worker)
    return 0


def _start_projection_worker(settings: Settings) -> tuple[multiprocessing.process.BaseProcess, Any]:
    """The projection worker (views, deadline process) in its own process, forked before gunicorn's workers."""
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    process = context.Process(
        target=_projection_worker, args=(settings, stop, os.getpid()), name="inspectorate-projections", daemon=True
    )
    process.start()
    return process, stop


def _projection_worker(settings: Settings, stop: Any, parent_pid: int) -> None:
    from infrastructure.projections.worker import run_worker

    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
        signal.signal(signum, lambda *_: stop.set())
    run_worker(settings, stop, parent_pid=parent_pid)


def _stop_projection_worker(process: multiprocessing.process.BaseProcess, stop: Any) -> None:
    stop.set()
    process.join(timeout=10)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
