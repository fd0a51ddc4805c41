"""Production serving: gunicorn with sync workers, schema created before they start."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.sync import SyncWorker

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


_linger = getattr(gunicorn_util, "close_graceful", None)


def _close_promptly(sock: socket.socket, *args: Any, **kwargs: Any) -> None:
    """Close a connection without waiting for the client to close its side, unless it is still sending.

    gunicorn's ``close_graceful`` half-closes and then waits (up to 2 s) for
    the client's FIN, so that unread request bytes cannot make the kernel
    reset the connection and cut the response short. A sync worker serves
    one connection at a time, so that wait is time it serves nobody: 8% of
    each worker's time under load here. The request has almost always been
    read whole by then; only when bytes are still waiting (say a refused
    oversized body) is the lingering close worth it, and then it is used.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        pending = sock.recv(1, socket.MSG_PEEK)
    except OSError:  # BlockingIOError above all: nothing unread, the request was read whole
        pending = b""
    if pending and _linger is not None:
        sock.setblocking(True)
        _linger(sock, *args, **kwargs)
        return
    try:
        sock.close()
    except OSError:
        pass


class PromptCloseSyncWorker(SyncWorker):
    """gunicorn's sync worker, closing each connection as soon as its response is sent (_close_promptly)."""

    def init_process(self) -> None:
        gunicorn_util.close_graceful = _close_promptly  # (this worker process only)
        super().init_process()


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
        "worker_class": "web.server.PromptCloseSyncWorker",
        # SIGTERM: the master stops accepting, lets in-flight requests finish (up to
        # graceful_timeout), the workers close their services, and the process exits 0.
        "graceful_timeout": 10,
        "worker_exit": _close_services,
        # Workers heartbeat by touching a file per request loop; on a disk-backed /tmp that
        # metadata write stalled requests by up to ~3 ms (p99), so keep it in memory when we can.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "timeout": 30,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    worker = _Supervised(_start_projection_worker) if run_worker else None
    master = os.getpid()
    try:
        _Gunicorn(options).run()
    finally:
        if worker is not None and os.getpid() == master:  # not in a forked gunicorn worker
            worker.stop()
    return 0


class _Supervised:
    """Keeps the projection worker running: if it exits (say the database was down at
    its start), it is started again after a short pause, so the views never silently stop."""

    def __init__(self, start: Callable[[], subprocess.Popen[bytes]], pause: float = 1.0) -> None:
        self._start, self._pause = start, pause
        self._stopping = threading.Event()
        self.process = start()
        threading.Thread(target=self._watch, name="projection-supervisor", daemon=True).start()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            self.process.wait()
            if self._stopping.wait(self._pause):
                return
            sys.stderr.write('{"event": "projection worker exited; restarting"}\n')
            self.process = self._start()

    def stop(self) -> None:
        self._stopping.set()
        _stop_projection_worker(self.process)


def _start_projection_worker() -> subprocess.Popen[bytes]:
    """`inspectorate project` (views, deadline process) beside gunicorn, started before it forks.

    A separate program rather than a forked copy of this process: nothing of
    gunicorn's master (signals, sockets, exit handlers) is shared with it.
    """
    code = "import sys; from web.cli import main; sys.exit(main(['project', '--exit-with-parent']))"
    return subprocess.Popen([sys.executable, "-c", code])


def _stop_projection_worker(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
