"""`inspectorate serve` keeps its projection worker alive: a worker that exits is started again."""
from __future__ import annotations

import subprocess
import sys
import time

from web.server import _Supervised


def test_a_worker_that_exits_is_restarted_and_stop_ends_it() -> None:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        # The first copy dies at once (as when the database is down at start-up); later ones keep running.
        code = "pass" if not started else "import time; time.sleep(60)"
        started.append(subprocess.Popen([sys.executable, "-c", code]))
        return started[-1]

    supervised = _Supervised(start, pause=0.05)
    deadline = time.monotonic() + 10
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(started) == 2
    assert started[1].poll() is None
    supervised.stop()
    assert started[1].wait(timeout=10) is not None
    time.sleep(0.2)
    assert len(started) == 2  # stopping is not mistaken for a crash
