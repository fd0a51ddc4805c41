"""A server worker's app, as granian builds it in each worker process (``web.server.worker_app``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.api_client import Api, api  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parents[2]

WORKER = """
import gc
from infrastructure.bootstrap import migrate
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
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=True)
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
