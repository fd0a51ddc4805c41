"""How fast one consumer reads the whole event feed over HTTP (target: >= 20,000 events/s on SQLite).

    .venv/bin/python -m benchmarks.feed [--events 200000] [--data-dir DIR | --database-url URL] [--limit 1000]
        [--with-worker]

Fills a record with a realistic history (benchmarks/generate_history.py; a
temporary SQLite data folder unless one is given), starts the real server
(`inspectorate serve`: granian, 2 workers) on a free port, creates
an integration token, then pages through ``GET /v1/events?after=N&limit=M``
with one keep-alive connection, keeping ``next_after`` as a consumer would,
until it is at the head. Prints events/s and the page latency percentiles.
The projection worker is left out unless --with-worker: while it rebuilds the
views from the same history it competes for the two cores.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

from benchmarks.verify import ensure_history
from infrastructure.config import Settings
from web.bootstrap import build_services

TARGET = 20_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(settings: Settings, port: int, with_worker: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INSPECTORATE_DATA_DIR": str(settings.data_dir)}
    env.pop("INSPECTORATE_DATABASE_URL", None)
    if settings.database_url:
        env["INSPECTORATE_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "web.cli", "serve", "--port", str(port)]
    if not with_worker:
        command.append("--no-worker")
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start")


def consume(base: str, token: str, limit: int) -> tuple[int, float, list[float]]:
    """Page from position 0 to the head: (events, seconds, per-page latencies)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    after, count, latencies = 0, 0, []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        response = session.get(f"{base}/v1/events", params={"after": after, "limit": limit}, timeout=30)
        latencies.append(time.perf_counter() - t0)
        response.raise_for_status()
        page = orjson.loads(response.content)
        count += len(page["events"])
        if not page["events"] and page["next_after"] >= page["head"]:
            return count, time.perf_counter() - started, latencies
        after = page["next_after"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--with-worker", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="feed-bench-") as scratch:
        settings = Settings(data_dir=args.data_dir or Path(scratch), database_url=args.database_url)
        head = ensure_history(settings, args.events)
        services = build_services(settings)
        _, token = services.tokens.create("Feed benchmark", "integration")
        services.close()
        port = free_port()
        server = start_server(settings, port, args.with_worker)
        try:
            rates = []
            for run in range(args.runs):
                count, seconds, latencies = consume(f"http://127.0.0.1:{port}", token, args.limit)
                rates.append(count / seconds)
                latencies.sort()
                print(
                    f"run {run + 1}: {count:,} events in {seconds:.2f} s = {rates[-1]:,.0f} events/s; "
                    f"page p50 {1000 * statistics.median(latencies):.1f} ms, "
                    f"p99 {1000 * latencies[int(0.99 * (len(latencies) - 1))]:.1f} ms"
                )
                assert count == head, (count, head)
        finally:
            server.terminate()
            server.wait(timeout=30)
    best = max(rates)
    backend = "PostgreSQL" if settings.is_postgres else "SQLite"
    verdict = "meets" if best >= TARGET else "MISSES"
    print(f"{backend}, limit={args.limit}: best {best:,.0f} events/s ({verdict} the {TARGET:,}/s target)")
    return 0 if best >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
