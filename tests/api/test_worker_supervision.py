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


def test_the_worker_beats_while_idle_and_project_check_tells_a_live_one_from_a_stuck_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`inspectorate project --check` (compose's health check for the worker): 0 while its loop turns, else 1."""
    import os
    import re
    import signal

    from tests.api.test_real_server import INSPECTORATE, REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTORATE_")}
    env["INSPECTORATE_DATA_DIR"] = str(tmp_path / "var")
    heartbeat = tmp_path / "var" / "projection-worker.heartbeat"

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INSPECTORATE, "project", "--check"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )

    assert check().returncode == 1  # never started: no heartbeat
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([INSPECTORATE, "project"], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not heartbeat.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        first = heartbeat.stat().st_mtime
        time.sleep(2.5)  # nothing recorded meanwhile: the idle loop still turns, and beats
        assert heartbeat.stat().st_mtime > first
        assert check().returncode == 0
        worker.send_signal(signal.SIGSTOP)  # a stuck worker: its heartbeat ages
        os.utime(heartbeat, (time.time() - 31, time.time() - 31))
        stuck = check()  # (the check's own start may take a second or two on a loaded machine)
        assert stuck.returncode == 1 and re.search(r"no heartbeat for 3[1-9] s", stuck.stderr), stuck.stderr
        worker.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 10
        while check().returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert check().returncode == 0
    finally:
        worker.send_signal(signal.SIGCONT)  # (a failed assertion above may have left it stopped)
        worker.terminate()
        worker.wait(timeout=15)
