"""Commands/s on PostgreSQL through HAProxy with one API node and with two, in one run (docs/scaling.md).

    .venv/bin/python -m benchmarks.cluster --database-url postgresql+psycopg://... \
        [--nodes 1,2] [--clients 8] [--seconds 15] [--node-workers 2] [--ceiling-seconds 5]

The database must be a scratch one: its public schema is dropped and made again
before each phase, so that every phase starts from the same empty record.

Each phase starts the cluster of tests/reliability/cluster.py (HAProxy, N API
nodes of ``--node-workers`` granian workers each, one projection worker, each
with a data folder of its own), sets up one inspection in fieldwork with a set
of cases per client, and has client processes rate their own cases in a closed
loop through the balancer (one keep-alive connection each, the socket client of
benchmarks.http_commands). It prints commands/s and latency, then where the CPU
went, per command: the API nodes, the projection worker, HAProxy, PostgreSQL
(the processes of the server at that port) and the clients; and, sampled every
50 ms from pg_stat_activity, how many sessions were running a statement and how
many were queued on a lock (every write takes the events table's EXCLUSIVE lock
to append to the hash chain in order, so writes to the record go one at a time).

``--ceiling-seconds`` adds the record's own limit: threads in this process
appending one-event transactions directly through the recorder (no HTTP, no
application), one thread and then four. Since appends go one at a time, four
threads add little to one: that rate is what one PostgreSQL primary carries
for this schema, whatever the number of API nodes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from benchmarks.http_commands import _p, drive, server_cpu_seconds, set_up
from tests.reliability.cluster import Cluster


def reset(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server listening on the URL's port (its cmdline names the port): CPU is counted for its tree."""
    port = sa.engine.make_url(url).port or 5432
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if words and words[0].endswith(b"postgres") and f"-p {port}".encode() in b" ".join(words):
            return int(cmdline.parent.name)
    return None


class Sampler:
    """Every 50 ms: sessions running a statement, and those among them waiting for a lock."""

    def __init__(self, url: str) -> None:
        self.dsn = url.replace("postgresql+psycopg", "postgresql", 1)
        self.active: list[int] = []
        self.locked: list[int] = []
        self.holder: Counter[str] = Counter()  # the events table lock's holder: in PostgreSQL, or waiting on its client
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.05):
                active, locked = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'), "
                    "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                self.active.append(active)
                self.locked.append(locked)
                holder = conn.execute(
                    "SELECT a.state, a.wait_event_type FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "JOIN pg_class c ON c.oid = l.relation WHERE l.granted AND l.mode = 'ExclusiveLock' "
                    "AND l.locktype = 'relation' AND c.relname = 'inspectorate_events' LIMIT 1"
                ).fetchone()
                if holder is None:
                    self.holder["nobody"] += 1
                elif holder[0] == "active":
                    self.holder[f"in PostgreSQL ({holder[1] or 'CPU'})"] += 1
                else:
                    self.holder["waiting on its client (idle in transaction)"] += 1


def phase(args: argparse.Namespace, nodes: int, root: Path) -> dict[str, Any]:
    reset(args.database_url)
    extra: dict[str, str] = {}
    if args.switch_interval:  # an experiment: the API nodes' threads hand the GIL over sooner (sitecustomize)
        site = root / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(f"import sys\nsys.setswitchinterval({args.switch_interval})\n")
        extra["PYTHONPATH"] = f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    cluster = Cluster(
        root / f"{nodes}-nodes-{time.time_ns()}",
        args.database_url,
        nodes=nodes,
        workers=1,
        node_workers=args.node_workers,
        extra_env=extra,
        balance=args.balance.replace(";", "\n    "),
    )
    cluster.root.mkdir(parents=True)
    try:
        cluster.start()
        token = cluster.token("Bench Inspector", "inspector")
        _, case_sets = set_up(cluster.port, token, args.clients, args.cases_per_client)
        pg = postmaster_pid(args.database_url)
        parts = {
            "API nodes": [p.pid for p in cluster.api],
            "projection worker": [p.pid for p in cluster.projectors],
            "HAProxy": [cluster.balancer.pid] if cluster.balancer else [],
            "PostgreSQL": [pg] if pg else [],
        }

        def cpu() -> dict[str, float]:
            return {name: sum(server_cpu_seconds(pid) for pid in pids) for name, pids in parts.items()}

        sampler = Sampler(args.database_url)
        load_before = os.getloadavg()[0]
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            start_at = time.time() + 0.5
            before = cpu()
            sampler.thread.start()
            began = time.perf_counter()
            results = pool.starmap(
                drive, [(cluster.port, token, ids, None, args.seconds, None, start_at) for ids in case_sets]
            )
            elapsed = time.perf_counter() - began - 0.5
            sampler.stop.set()
            used = {name: seconds - before[name] for name, seconds in cpu().items()}
        sampler.thread.join(5)
        latencies = [lat for lats, *_ in results for lat in lats]
        used["clients"] = sum(c for _, _, c, *_ in results)
        return {
            "nodes": nodes,
            "commands": len(latencies),
            "seconds": elapsed,
            "errors": sum(e for _, e, *_ in results),
            "p50": _p(latencies, 0.5) * 1000,
            "p99": _p(latencies, 0.99) * 1000,
            "cpu": used,
            "load": (load_before, os.getloadavg()[0]),
            "active": statistics.mean(sampler.active or [0]),
            "locked": statistics.mean(sampler.locked or [0]),
            "holder": sampler.holder,
        }
    finally:
        cluster.stop()


def report(r: dict[str, Any]) -> None:
    n = max(r["commands"], 1)
    rate = r["commands"] / r["seconds"]
    total = sum(r["cpu"].values())
    print(
        f"{r['nodes']} node(s): {rate:6.0f} commands/s  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  "
        f"errors {r['errors']}  ({r['commands']} in {r['seconds']:.1f} s; load average {r['load'][0]:.1f} -> "
        f"{r['load'][1]:.1f})"
    )
    print(
        "    CPU per command: "
        + ", ".join(f"{name} {s * 1000 / n:.2f} ms" for name, s in r["cpu"].items())
        + f"; in all {total * 1000 / n:.2f} ms = {total / r['seconds']:.2f} of {os.cpu_count()} cores"
    )
    print(
        f"    PostgreSQL sessions running a statement: {r['active']:.2f} on average, "
        f"{r['locked']:.2f} of them waiting for a lock"
    )
    samples = sum(r["holder"].values()) or 1
    print(
        "    the events table's lock, sampled: "
        + ", ".join(f"{where} {n * 100 / samples:.0f}%" for where, n in r["holder"].most_common())
    )


def ceiling(url: str, seconds: float) -> None:
    """One-event appends straight through the recorder: the record's own rate, one writer then four."""
    from infrastructure.config import Settings
    from web.bootstrap import build_app

    reset(url)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="inspectorate-ceiling-")), database_url=url)
    app = build_app(settings)
    try:
        for threads in (1, 4):
            appended = _append_for(app, threads, seconds)
            print(
                f"record alone, {threads} writer thread(s): {appended / seconds:6.0f} appends/s "
                f"(one event, one transaction each)"
            )
    finally:
        app.close()


def _append_for(app: Any, threads: int, seconds: float) -> int:
    """Appends made by ``threads`` threads in ``seconds``, one event in each transaction."""
    from eventsourcing.persistence import StoredEvent

    counts = [0] * threads
    stop = threading.Event()

    def append(slot: int) -> None:
        while not stop.is_set():
            app.recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "bench.appended.v1", b"{}" * 80)])
            counts[slot] += 1

    workers = [threading.Thread(target=append, args=(s,)) for s in range(threads)]
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database (emptied!)")
    parser.add_argument("--nodes", default="1,2", help="API node counts to run, in order (default 1,2)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--node-workers", type=int, default=2, help="granian workers per API node")
    parser.add_argument("--cases-per-client", type=int, default=20)
    parser.add_argument("--ceiling-seconds", type=float, default=0)
    parser.add_argument(
        "--balance",
        default="roundrobin",
        help="HAProxy's balance line; ';' starts another line (e.g. 'uri;hash-type consistent')",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0,
        help="experiment: sys.setswitchinterval in the API nodes (default: Python's 0.005 s)",
    )
    args = parser.parse_args()
    with psycopg.connect(args.database_url.replace("postgresql+psycopg", "postgresql", 1)) as conn:
        durable = conn.execute("SELECT current_setting('fsync'), current_setting('synchronous_commit')").fetchone()
        version = conn.execute("SHOW server_version").fetchone()[0]
    print(
        f"PostgreSQL {version} (fsync {durable[0]}, synchronous_commit {durable[1]}); {args.clients} client "
        f"processes; {args.node_workers} granian workers a node; {os.cpu_count()} CPUs"
        + f"; HAProxy balance {args.balance!r}"
        + (f"; switch interval {args.switch_interval} s in the nodes" if args.switch_interval else "")
    )
    root = Path(tempfile.mkdtemp(prefix="inspectorate-cluster-bench-"))
    results = [phase(args, int(n), root) for n in args.nodes.split(",")]
    for r in results:
        report(r)
    if len(results) > 1:
        rates = [r["commands"] / r["seconds"] for r in results]
        print(f"ratio {results[-1]['nodes']} nodes / {results[0]['nodes']}: {rates[-1] / rates[0]:.2f}")
    if args.ceiling_seconds:
        ceiling(args.database_url, args.ceiling_seconds)


if __name__ == "__main__":
    main()
