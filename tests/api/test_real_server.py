"""The real thing: `inspectorate serve` (granian, 2 workers) and `inspectorate token create` as subprocesses.

A whole inspection is driven over loopback HTTP to publication, then the
server gets SIGTERM and must exit cleanly.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from infrastructure.config import Settings
from tests.factories import characteristics, judgements

REPO = Path(__file__).resolve().parents[2]
_BESIDE_PYTHON = Path(sys.executable).with_name("inspectorate")
INSPECTORATE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("inspectorate") or "inspectorate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTORATE_")}
    env["INSPECTORATE_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["INSPECTORATE_DATABASE_URL"] = settings.database_url
    return env


@dataclass
class Reply:
    status: int
    headers: Any
    body: Any


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]  # the server's stdout and stderr, a file (a pipe nobody drains fills and stalls it)
    token: str = ""

    def log_text(self) -> str:
        self.log.seek(0)
        return str(self.log.read().decode())

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return Reply(response.status, response.headers, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, json.loads(error.read() or b"null"))

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        reply = self.call(method, path, body)
        assert reply.status == status, (method, path, reply.status, reply.body)
        return reply.body


def wait_until_healthy(port: int, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"server exited early with {process.returncode}: {log.read()!r}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@contextlib.contextmanager
def serving(settings: Settings, *options: str, cores: set[int] | None = None) -> Iterator[Server]:
    """`inspectorate serve` on a free port (on ``cores`` only, if given), with an inspector's token."""
    env = environment(settings)
    port = free_port()
    # Output to a file: a pipe nobody reads holds 64 KiB, and a server whose access lines fill it blocks
    # writing the next one, its request unanswered (a test that sends a few hundred requests hung so).
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([INSPECTORATE, "serve", "--port", str(port), *options], env=env, cwd=REPO,
                               stdout=log, stderr=subprocess.STDOUT,
                               preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
    try:
        wait_until_healthy(port, process, log)
        created = subprocess.run([INSPECTORATE, "token", "create", "--name", "Ann Inspector", "--role", "inspector"],
                                 env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
        yield Server(port, process, log, created.stdout.strip().splitlines()[-1])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    with serving(settings) as running:
        yield running


def test_a_whole_inspection_to_publication_over_http_then_a_clean_sigterm(server: Server) -> None:
    created = server.call("POST", "/v1/inspections", {
        "programme": "CCI", "inspected_body": {"name": "Wigan YOT", "type": "yot", "region": "North West"},
        "fieldwork_start": "2011-10-03"})
    assert created.status == 201, created.body
    assert created.headers["ETag"] == '"1"' and int(created.headers["Inspectorate-Position"]) >= 1
    assert created.headers["X-Content-Type-Options"] == "nosniff"
    inspection = created.body["id"]
    server.ok("POST", f"/v1/inspections/{inspection}/start-fieldwork", {})
    areas = ("safeguarding", "risk_of_harm", "likelihood_of_reoffending")
    for n, verdict in enumerate([True, True, False, True, None]):
        case = server.ok("POST", f"/v1/inspections/{inspection}/cases",
                         {"case_ref": f"W{n:03d}", "characteristics": characteristics()}, status=201)["id"]
        server.ok("POST", f"/v1/cases/{case}/ratings", {"judgements": judgements(verdict, areas)})
    server.ok("POST", f"/v1/inspections/{inspection}/complete-fieldwork")
    published = server.ok("POST", f"/v1/inspections/{inspection}/publish", {"published_on": "2012-01-16"})
    assert published["status"] == "published" and published["reinspection"] is None
    assert published["headline_scores"]["safeguarding"] == {"score": 75, "sufficient": 9, "applicable": 12}
    got = server.call("GET", f"/v1/inspections/{inspection}")
    assert got.body["status"] == "published" and got.body["case_count"] == 5
    assert got.headers["ETag"] == f'"{got.body["version"]}"'
    assert server.call("GET", "/v1/inspections/not-a-uuid").status == 404

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=20) == 0
    stderr = server.log_text()
    assert "Traceback" not in stderr
    log_lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    published_line = [line for line in log_lines if line.get("path") == "/v1/inspections/<uuid:inspection_id>/publish"]
    assert published_line and published_line[0]["status"] == 200 and published_line[0]["role"] == "inspector"
    assert server.token not in stderr and "W000" not in stderr


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _server_workers(pid: int) -> list[int]:
    """The HTTP workers: children of `serve` other than the projection worker (a separate program)."""
    workers = []
    for child in _children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"project" not in command:
            workers.append(child)
    return workers


def _replace(server: Server, worker: int) -> int:
    """Kill a worker outright; its replacement, once there."""
    before = set(_server_workers(server.process.pid))
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = _server_workers(server.process.pid)
        if len(now) == 2 and worker not in now:
            break
        time.sleep(0.1)
    assert len(now) == 2 and worker not in now, now
    return next(pid for pid in now if pid not in before)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_keep_alive_and_a_killed_worker_is_replaced(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):  # one connection, several requests
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection", "").lower() != "close"
        response.read()
    conn.close()

    workers = _server_workers(server.process.pid)
    assert len(workers) == 2, workers
    _replace(server, workers[0])
    for _ in range(6):  # fresh connections: whichever worker takes them answers
        assert server.call("GET", "/v1/inspections/00000000-0000-4000-8000-000000000000").status == 404
    assert server.process.poll() is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_stop_when_the_server_process_is_killed_outright(server: Server) -> None:
    workers = _server_workers(server.process.pid)
    assert len(workers) == 2, workers
    children = _children(server.process.pid)  # the HTTP workers and the projection worker
    assert len(children) == 3, children
    server.process.kill()  # SIGKILL: no chance to stop its workers itself
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    with pytest.raises(OSError):  # nobody answers on the port any more
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def _held(pid: int, port: int) -> int:
    """Connections to ``port`` that process ``pid`` holds open (its socket fds, against /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                held += 1
    return held


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_keep_alive_connections_are_shared_out_evenly_across_the_workers(server: Server) -> None:
    """8 clients all on one worker: it closes connections (one response at a time says `Connection:
    close`) until each worker holds 4. Each worker has its own listening socket (SO_REUSEPORT) and
    the kernel picks one for a new connection, so the test connects until 8 have landed on one."""
    first, second = _server_workers(server.process.pid)
    port = server.port

    def held() -> tuple[int, int]:
        return _held(first, port), _held(second, port)

    clients: list[http.client.HTTPConnection] = []
    while len(clients) < 8:
        before = held()
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.connect()
        deadline = time.monotonic() + 10
        while sum(now := held()) == sum(before) and time.monotonic() < deadline:
            time.sleep(0.01)  # until a worker has accepted it
        assert sum(now) == sum(before) + 1, (before, now)
        if now[0] > before[0]:
            clients.append(client)
        else:
            client.close()
            while held()[1] != before[1] and time.monotonic() < deadline:
                time.sleep(0.01)
    assert held() == (8, 0)

    closed = 0
    deadline = time.monotonic() + 20
    while held() != (4, 4) and time.monotonic() < deadline:
        for client in clients:
            client.request("GET", "/health")
            response = client.getresponse()
            assert response.status == 200 and json.loads(response.read()) is not None
            if response.getheader("Connection", "").lower() == "close":
                closed += 1  # http.client opens a new connection for the next request
                assert client.sock is None
    assert held() == (4, 4)
    assert closed >= 4  # at least 4 connections left the first worker
    for client in clients:
        client.close()


def _cores(pid: int) -> set[tuple[int, ...]]:
    """The distinct core sets the threads of a process may run on."""
    found = set()
    for thread in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.add(tuple(sorted(os.sched_getaffinity(int(thread.name)))))
        except (ProcessLookupError, ValueError):
            continue
    return found


def _two_cores() -> set[int] | None:
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None
    return set(sorted(os.sched_getaffinity(0))[:2])


def _answering(server: Server) -> list[int]:
    """The two workers, once each has answered a request (so each has built its app: pinned, if it is to be)."""
    workers = _server_workers(server.process.pid)
    assert len(workers) == 2, workers
    connections = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(_held(worker, server.port) for worker in workers):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", "/health")
            connection.getresponse().read()
            connections.append(connection)  # kept open: _held sees which worker holds it
        assert all(_held(worker, server.port) for worker in workers), "a worker never answered"
    finally:
        for connection in connections:
            connection.close()
    return workers


@pytest.mark.skipif(_two_cores() is None, reason="needs Linux and two cores")
def test_on_two_cores_each_of_the_two_workers_has_one_and_a_replacement_takes_the_one_freed(
    settings: Settings,
) -> None:
    two = _two_cores()
    assert two is not None
    with serving(settings, cores=two) as server:
        workers = _answering(server)
        pinned = {worker: _cores(worker) for worker in workers}
        assert all(len(cores) == 1 and len(next(iter(cores))) == 1 for cores in pinned.values()), pinned
        by_worker = {worker: next(iter(cores))[0] for worker, cores in pinned.items()}
        assert set(by_worker.values()) == two  # one each, every thread of a worker on its own core

        replacement = _replace(server, workers[0])
        assert replacement in _answering(server)
        assert _cores(replacement) == {(by_worker[workers[0]],)}


@pytest.mark.skipif(_two_cores() is None, reason="needs Linux and two cores")
def test_with_no_pin_the_workers_are_left_to_the_os_scheduler(settings: Settings) -> None:
    two = _two_cores()
    assert two is not None
    with serving(settings, "--no-pin", cores=two) as server:
        workers = _answering(server)
        assert all(_cores(worker) == {tuple(sorted(two))} for worker in workers)
