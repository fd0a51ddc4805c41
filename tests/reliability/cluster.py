"""A cluster on loopback: PostgreSQL, HAProxy in front of API nodes, several projection workers.

Used by the cluster test (tests/reliability/test_cluster.py) and the balancer benchmark
(benchmarks/cluster.py). Every process writes its output to a file of its own, runs in its own
process group (so a SIGKILL takes its children too), and has a data folder of its own, as
on separate machines: nothing may rely on a shared disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from infrastructure.leadership import LEADER_QUERY, WORKER_LOCK_KEY
from tests.reliability.helpers import INSPECTORATE, REPO, free_port, request


def haproxy_binary() -> str | None:
    """Debian installs it in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None
    )


def haproxy_config(port: int, nodes: Mapping[str, int], balance: str = "roundrobin") -> str:
    """Round robin (or ``balance``) over the nodes; a node is taken out after two failed `GET /health`
    (500 ms apart).

    A connection refused is retried on another node (`option redispatch`); a request already sent to
    a node that dies is not (the balancer cannot know whether it was carried out): the client gets
    502 and no acknowledgement.
    """
    servers = "\n".join(f"    server {name} 127.0.0.1:{p} check" for name, p in nodes.items())
    return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s
    retries 2
    option redispatch

frontend api
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance {balance}
    option httpchk GET /health
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""


@dataclass
class Process:
    """A command in its own process group, its output in ``log``."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, the whole group at once."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if it has not gone within ``timeout``."""
        if self.process is None:
            return
        self._signal(signal.SIGTERM, wait=False)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def _signal(self, signum: int, wait: bool = True) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
        if wait:
            self.process.wait(timeout=10)
            self.process = None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class Cluster:
    """HAProxy, ``nodes`` API nodes (`serve --no-worker`) and ``workers`` projection workers against one database."""

    root: Path
    database_url: str
    nodes: int = 2
    workers: int = 2
    node_workers: int = 1  # HTTP worker processes per node
    balance: str = "roundrobin"  # HAProxy's algorithm (and options), e.g. "uri\n    hash-type consistent"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    api: list[Process] = field(default_factory=list)
    node_ports: list[int] = field(default_factory=list)
    projectors: list[Process] = field(default_factory=list)
    balancer: Process | None = None
    _started: int = 0

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTORATE_")}
        data = self.root / name
        data.mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "INSPECTORATE_DATA_DIR": str(data),
                "INSPECTORATE_DATABASE_URL": self.database_url,
                "PYTHONUNBUFFERED": "1",
                **self.extra_env,
            }
        )
        return env

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [INSPECTORATE, *args], env=self.env("cli"), cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"inspectorate {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done

    def token(self, name: str, role: str) -> str:
        return self.cli("token", "create", "--name", name, "--role", role).stdout.strip().splitlines()[-1]

    def start(self) -> Cluster:
        self.cli("migrate")
        for n in range(self.nodes):
            port = free_port()
            self.node_ports.append(port)
            self.api.append(
                Process(
                    [INSPECTORATE, "serve", "--no-worker", "--port", str(port), "--workers", str(self.node_workers)],
                    self.env(f"node{n + 1}"),
                    self.root / f"node{n + 1}.log",
                ).start()
            )
        for _ in range(self.workers):
            self.start_worker()
        binary = haproxy_binary()
        assert binary is not None, "haproxy is not installed"
        config = self.root / "haproxy.cfg"
        config.write_text(
            haproxy_config(self.port, {f"node{n + 1}": p for n, p in enumerate(self.node_ports)}, self.balance)
        )
        check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        self.balancer = Process([binary, "-db", "-f", str(config)], dict(os.environ), self.root / "haproxy.log").start()
        for port in self.node_ports:
            self.wait_healthy(port)
        self.wait_healthy(self.port)
        return self

    def start_worker(self) -> Process:
        self._started += 1
        name = f"worker{self._started}"
        worker = Process([INSPECTORATE, "project"], self.env(name), self.root / f"{name}.log").start()
        self.projectors.append(worker)
        return worker

    def wait_healthy(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.api:
                assert process.process is None or process.alive(), f"{process.log.name}:\n{process.log_text()[-3000:]}"
            try:
                if request(port, "GET", "/health", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"port {port} not healthy after {timeout} s")

    def leader(self) -> Process | None:
        """The worker holding the lock now, as PostgreSQL sees it (its session is named after its pid)."""
        dsn = self.database_url.replace("postgresql+psycopg", "postgresql", 1)
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(LEADER_QUERY, (WORKER_LOCK_KEY,)).fetchone()
        if row is None:
            return None
        pid = int(str(row[0]).rsplit(":", 1)[1])
        return next((w for w in self.projectors if w.process is not None and w.pid == pid), None)

    def wait_leader(self, timeout: float = 30, other_than: Process | None = None) -> Process:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None and leader is not other_than:
                return leader
            time.sleep(0.05)
        raise AssertionError(f"no worker leads after {timeout} s")

    def stop(self) -> None:
        for process in [*([self.balancer] if self.balancer else []), *self.api, *self.projectors]:
            process.stop()
