"""A server worker's app, as granian builds it in each worker process (``web.server.worker_app``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.api.api_client import Api, api  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[2]

WORKER = """
import gc
from web.bootstrap import migrate
from infrastructure.config import Settings
migrate(Settings.from_env())  # (serve() does this before its workers start)
before = gc.get_freeze_count()
from web.server import worker_app
app = worker_app()
client = app.test_client()
print(before, gc.get_freeze_count(), client.get("/health").status_code)
"""


def test_a_worker_keeps_what_it_starts_with_out_of_the_cyclic_collectors_way(tmp_path: Path) -> None:
    """Its startup objects are frozen, so no full collection walks them again with a request waiting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTORATE_")}
    env["INSPECTORATE_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    before, frozen, health = (int(x) for x in done.stdout.split())
    assert before == 0
    assert frozen > 50_000  # modules, the app, its schemas and routes
    assert health == 200


def test_flask_is_asked_once_per_view_function_whether_it_is_a_coroutine(api: Api) -> None:
    """A MethodView is made anew for every request, and so are its bound methods: what is remembered
    about them must not grow with the requests (nor keep each request's view alive)."""
    path = f"/v1/inspections/{api.schedule()}"
    api.ok(api.get(path))
    remembered = len(api.app._sync)  # type: ignore[attr-defined]
    for _ in range(20):
        api.ok(api.get(path))
    assert len(api.app._sync) == remembered  # type: ignore[attr-defined]


ORPHAN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a worker that does not stop when asked
from web.server import _exit_with_server
_exit_with_server(int(sys.argv[1]), every=0.05, grace=0.5)
time.sleep(60)
"""
PARENT = """
import subprocess, sys, os
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
"""


def test_a_worker_whose_server_is_gone_exits_even_if_it_ignores_sigterm() -> None:
    """The server's main process exits (here: at once), leaving the worker an orphan that ignores SIGTERM."""
    done = subprocess.run(
        [sys.executable, "-c", PARENT, ORPHAN], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
    )
    orphan = Path(f"/proc/{int(done.stdout)}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and orphan.exists() and "Z" not in _state(orphan):
        time.sleep(0.05)
    assert not orphan.exists() or "Z" in _state(orphan)


def _state(proc: Path) -> str:
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
