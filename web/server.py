"""Production serving: granian (a Rust HTTP server) running the WSGI app in worker processes,
schema created before they start.

granian rather than gunicorn's sync workers: its HTTP parsing and connection handling are
native code, and it keeps connections alive, so the same cores serve more commands and reads
(docs/performance.md).

Each worker answers on up to ``web.longheld.THREADS`` Python threads, started as requests need
them. Long-held requests (event streams, reads waiting for ``min_position``) may take at most
``web.longheld.PLACES`` of them, so the rest are always there for short requests: a stream can
no longer hold up a plain read (docs/serving.md, with the figures). Spreading connections
across machines or workers is a load balancer's job, not this process's.
"""

from __future__ import annotations

import gc
import multiprocessing.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from infrastructure.config import Settings
from infrastructure.metrics import MULTIPROC_ENV, prepare_multiprocess
from infrastructure.parent import watch_parent
from web.bootstrap import migrate
from web.logging import log_event
from web.longheld import THREADS

WORKER_TARGET = "web.server:worker_app"


def worker_app() -> Any:
    """The app of one server worker, built in the worker process after the fork."""
    from web import create_app, services_of

    _exit_with_server(os.getppid())
    app = create_app(create_tables=False)  # the schema exists: serve() created it before the workers
    # A worker leaves through multiprocessing's exit path, which runs these finalizers (atexit does not
    # run there): its database connections are closed rather than dropped.
    multiprocessing.util.Finalize(None, services_of(app).close, exitpriority=10)
    # What exists now (modules, the app, its schemas and routes) lives as long as the worker: out of the
    # cyclic collector's way. Otherwise its first full collection walked all of it with the app stopped:
    # a 50 ms pause measured in-process, the worst request by far, and again whenever the heap grew by
    # a quarter. Reference counting still frees whatever of it is dropped without a cycle.
    gc.collect()
    gc.freeze()
    return app


def _exit_with_server(server: int, every: float = 0.5, grace: float = 15.0) -> None:
    """When the server's main process is gone (killed outright, say by the OS), this worker stops too.

    granian leaves its workers running then: orphans still answering on the port with nobody to
    replace or stop them, and holding their database connections. A SIGTERM to itself stops the
    worker as SIGTERM stops the server: in-flight requests finish first. A worker still there after
    ``grace`` (one that was still starting, or whose stop hung) exits at once: nobody else will.
    """

    def stop_self() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    threading.Thread(
        target=watch_parent, args=(server, stop_self, threading.Event(), every), name="exit-with-server", daemon=True
    ).start()


def serve(host: str, port: int, *, workers: int = 2, run_worker: bool = True) -> int:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    settings = Settings.from_env()
    migrate(settings)
    if not os.environ.get(MULTIPROC_ENV):  # before any worker starts: they all count into its files
        prepare_multiprocess(settings.data_dir)
    server = Granian(
        WORKER_TARGET,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        workers=workers,
        blocking_threads=THREADS,  # started as needed; long-held requests may take only some (web.longheld)
        # SIGTERM: stop accepting, let in-flight requests finish, then exit; a worker that
        # takes longer than this to stop is killed.
        workers_kill_timeout=10,
        # A worker that dies (say, killed by the OS) is replaced, not left missing.
        respawn_failed_workers=True,
        respawn_interval=1.0,
        log_level=LogLevels.warning,
        log_access=False,  # the app writes its own access line (web.logging)
    )
    worker = _Supervised(_start_projection_worker) if run_worker else None
    main = os.getpid()
    try:
        server.serve()
    finally:
        if os.getpid() == main and worker is not None:  # (never in a forked server worker)
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
            log_event("projection worker exited; restarting")
            self.process = self._start()

    def stop(self) -> None:
        self._stopping.set()
        _stop_projection_worker(self.process)


def _start_projection_worker() -> subprocess.Popen[bytes]:
    """`inspectorate project` (views, deadline process) beside the HTTP server, started before its workers.

    A separate program rather than a forked copy of this process: nothing of
    the server's main process (signals, sockets, exit handlers) is shared with it.
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
