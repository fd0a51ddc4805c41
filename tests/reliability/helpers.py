"""Run the real `inspectorate` server and CLI as subprocesses, and talk to them over loopback HTTP.

Each server gets its own port, data directory and environment, and runs in its
own process group so a test can SIGKILL the server's main process and workers at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INSPECTORATE = (
    str(Path(sys.executable).with_name("inspectorate"))
    if Path(sys.executable).with_name("inspectorate").exists()
    else (shutil.which("inspectorate") or "inspectorate")
)

# Settings a developer's shell may carry that would leak into the servers under test.
_OWN_VARIABLES = (
    "INSPECTORATE_DATABASE_URL",
    "INSPECTORATE_CIPHER_KEY",
    "INSPECTORATE_RATE_LIMIT",
    "INSPECTORATE_DATA_DIR",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for one server: its own data dir plus the given INSPECTORATE_* settings."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_VARIABLES}
    env["INSPECTORATE_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def cli(
    env: Mapping[str, str], *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `inspectorate ARGS...` and return the finished process (output captured as text)."""
    done = subprocess.run(
        [INSPECTORATE, *args], env=dict(env), cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(f"inspectorate {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def has_command(env: Mapping[str, str], *words: str) -> bool:
    """Whether the CLI knows a subcommand yet (other parts of the system are built concurrently)."""
    done = cli(env, *words, "--help", check=False, timeout=60)
    return done.returncode == 0


@dataclass(frozen=True)
class Token:
    id: str
    secret: str


def create_token(env: Mapping[str, str], name: str, role: str, organisation: str | None = None) -> Token:
    args = ["token", "create", "--name", name, "--role", role]
    if organisation:
        args += ["--organisation", organisation]
    lines = cli(env, *args).stdout.strip().splitlines()
    token_id = lines[0].split()[2] if lines and lines[0].startswith("created token") else ""
    return Token(token_id, lines[-1].strip())


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    data: bytes
    elapsed: float = 0.0

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def is_problem(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/problem+json")


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 15,
) -> Reply:
    """One HTTP request on a fresh loopback connection (so that successive requests may reach different
    server workers)."""
    sent: dict[str, str] = {"Accept": "application/json"}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        # The server may answer (e.g. 413) and close before reading the whole body.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        payload = response.read()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            payload,
            time.monotonic() - started,
        )
    finally:
        conn.close()


@dataclass
class Server:
    """`inspectorate serve` in its own process group, logging to a file in its data dir."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Tokens made before start: on PostgreSQL a `token create` (which migrates) racing the
    # projection worker's start-up migration can kill the worker ("tuple concurrently updated").
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.env["INSPECTORATE_DATA_DIR"])

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-server.log"

    def start(self, timeout: float = 30) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [INSPECTORATE, "serve", "--port", str(self.port), *self.args],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if request(self.port, "GET", "/health", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not healthy after {timeout}s:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: master, workers and any in-process threads die at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return request(self.port, method, path, body, **kwargs)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def wait_views_current(server: Server, admin: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = server.request("GET", "/v1/views/status", token=admin).json()
        if all(v["lag"] == 0 and v["position"] == status["head"] for v in status["views"].values()):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def view_rows(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, JSON columns decoded so key order does not matter."""

    def plain(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return json.dumps(json.loads(value), sort_keys=True)
            except ValueError:
                return value
        return value

    with sqlite3.connect(data_dir / "views.sqlite") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'vw_%'")]
        return {
            t: sorted(tuple(plain(v) for v in row) for row in db.execute(f"SELECT * FROM {t}")) for t in sorted(tables)
        }


# -- valid inputs (the HTTP contract in shared/api.md) ---------------------------------------------

CHARACTERISTICS = {
    "gender": "female",
    "ethnicity": "bame",
    "age_band": "18-24",
    "disability": False,
    "looked_after": None,
    "disposal": "community",
    "risk_level": "medium",
}
OMI2_AREAS = ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")


def inspection_body(name: str, start: date = date(2011, 5, 3), programme: str = "OMI2") -> dict[str, Any]:
    return {
        "programme": programme,
        "inspected_body": {"name": name, "type": "probation_trust", "region": "North West"},
        "fieldwork_start": start.isoformat(),
    }


def judgements(sufficient: bool | None = True, areas: tuple[str, ...] = OMI2_AREAS) -> list[dict[str, Any]]:
    return [{"area": a, "criterion": c, "sufficient": sufficient} for a in areas for c in CRITERIA]


def schedule(port: int, token: str, name: str, day: int = 0) -> str:
    """Schedule an inspection (unique by name and start day) and return its id."""
    reply = request(
        port, "POST", "/v1/inspections", inspection_body(name, date(2011, 5, 3) + timedelta(day)), token=token
    )
    assert reply.status == 201, (reply.status, reply.data)
    return reply.json()["id"]


def open_fieldwork(port: int, token: str, name: str) -> str:
    inspection_id = schedule(port, token, name)
    reply = request(port, "POST", f"/v1/inspections/{inspection_id}/start-fieldwork", {}, token=token)
    assert reply.status == 200, (reply.status, reply.data)
    return inspection_id


def route_exists(port: int, token: str, method: str, path: str) -> bool:
    """False while another helper has not built an endpoint yet (Flask answers 404/405 for no route)."""
    reply = request(port, method, path, {} if method != "GET" else None, token=token)
    if reply.status in (404, 405) and reply.is_problem:
        detail = reply.json().get("detail", "")
        return not ("requested URL was not found" in detail or "method is not allowed" in detail)
    return True
