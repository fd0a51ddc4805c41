"""Webhook delivery: throughput to a receiver that answers at once, and delivery lag under normal load.

1. Throughput: a record of ``--events`` events (benchmarks.generate_history), a
   subscription replayed from position 0, the delivery loop as the projection
   worker runs it: events acknowledged per second until the receiver has them all.
2. Lag: the application records events at about ``--rate`` a second (commands
   through the application: inspections, cases, ratings) while the subscription
   delivers them; lag = the receiver's arrival time - the event's recorded time.

The receiver is a separate process (asyncio, HTTP/1.1 keep-alive, answers 204 at
once and notes each event's id and arrival time), so it does not share the GIL
with the delivery loop.

    python -m benchmarks.webhooks [--events 20000] [--rate 100] [--seconds 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from infrastructure.config import Settings

# -- the receiver (its own process) ----------------------------------------------------------


def _receiver(port: int, out: str, ready: Any, stop: Any) -> None:
    arrivals: list[tuple[str, float]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, msg_id = 0, ""
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        msg_id = value.strip().decode()
                await reader.readexactly(length)
                arrivals.append((msg_id, time.time()))
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        server.close()

    asyncio.run(main())
    Path(out).write_text(json.dumps(arrivals))


class Receiver:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        fd, self.out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.stop = ctx.Event(), ctx.Event()
        self.process = ctx.Process(target=_receiver, args=(self.port, self.out, self.ready, self.stop), daemon=True)
        self.process.start()
        self.ready.wait(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def finish(self) -> list[tuple[str, float]]:
        self.stop.set()
        self.process.join(30)
        return [tuple(a) for a in json.loads(Path(self.out).read_text())]  # type: ignore[misc]


# -- the measurements ---------------------------------------------------------------------------


def _position(engine: sa.Engine, webhook_id: str) -> int:
    from infrastructure.webhooks import webhooks_table as t

    with engine.connect() as conn:
        return int(conn.execute(sa.select(t.c.position).where(t.c.id == webhook_id)).scalar_one())


def throughput(settings: Settings, events: int) -> dict[str, Any]:
    from benchmarks.generate_history import generate
    from infrastructure.projections.worker import run_webhooks
    from infrastructure.webhooks import WebhookStore
    from web.bootstrap import COMPOSER, build_services, migrate

    generate(settings, events)
    migrate(settings)
    services = build_services(settings)
    head = services.app.recorder.max_notification_id() or 0
    receiver = Receiver()
    store = WebhookStore(services.read_engine)
    webhook = store.create(receiver.url, None, None, head)
    store.replay(webhook["id"], 0, head)
    stop = threading.Event()
    started = time.perf_counter()
    loop = threading.Thread(target=run_webhooks, args=(services.app, settings, stop, COMPOSER), daemon=True)
    loop.start()
    while _position(services.read_engine, webhook["id"]) < head:
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    stop.set()
    loop.join(30)
    arrivals = receiver.finish()
    services.close()
    return {
        "events": head,
        "received": len(arrivals),
        "distinct": len({a[0] for a in arrivals}),
        "seconds": round(seconds, 2),
        "events_per_second": round(head / seconds),
    }


def lag(settings: Settings, rate: float, seconds: float) -> dict[str, Any]:
    import random

    from benchmarks.generate_history import characteristics as random_characteristics
    from domain.base import Actor
    from infrastructure.projections.worker import run_webhooks
    from infrastructure.webhooks import WebhookStore
    from web.bootstrap import COMPOSER, build_services, migrate

    migrate(settings)
    services = build_services(settings)
    app = services.app
    receiver = Receiver()
    webhook = WebhookStore(services.read_engine).create(
        receiver.url, None, None, app.recorder.max_notification_id() or 0
    )
    stop = threading.Event()
    loop = threading.Thread(target=run_webhooks, args=(app, settings, stop, COMPOSER), daemon=True)
    loop.start()
    time.sleep(1.0)  # the dispatcher has found the subscription
    inspector = Actor(name="Bench Inspector", role="inspector", organisation=None)
    rng = random.Random(7)
    recorded = 0
    began = time.perf_counter()
    n = 0
    inspection = None
    while time.perf_counter() - began < seconds:
        if inspection is None or n % 40 == 0:
            inspection = app.schedule_inspection(
                inspector,
                programme="OMI2",
                inspected_body={"name": f"Body {n}", "type": "probation_trust", "region": "North West"},
                fieldwork_start=datetime(2011, 5, 3).date(),
            ).body["id"]
            inspection = UUID(str(inspection))
            app.start_fieldwork(inspector, inspection)
            recorded += 2
        app.add_case(inspector, inspection, case_ref=f"C{n}", characteristics=random_characteristics(rng, "OMI2"))
        recorded += 2
        n += 1
        time.sleep(max(0.0, began + recorded / rate - time.perf_counter()))
    head = app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + 30
    while _position(services.read_engine, webhook["id"]) < head and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    loop.join(30)
    arrivals = receiver.finish()
    times = _recorded_times(app, {a[0] for a in arrivals})
    lags = sorted((at - times[msg_id]) * 1000 for msg_id, at in arrivals if msg_id in times)
    services.close()
    elapsed = time.perf_counter() - began
    return {
        "events": len(lags),
        "rate_per_second": round(len(lags) / elapsed, 1),
        "lag_ms_p50": round(statistics.median(lags), 1),
        "lag_ms_p99": round(lags[int(0.99 * (len(lags) - 1))], 1),
        "lag_ms_max": round(lags[-1], 1),
    }


def _recorded_times(app: Any, ids: set[str]) -> dict[str, float]:
    from application.feed import feed_page
    from domain.base import Actor

    reader = Actor(name="bench", role="integration", organisation=None)
    found: dict[str, float] = {}
    after = 0
    while True:
        page = feed_page(app, reader, after, 1000)
        for event in page["events"]:
            if event["id"] in ids:
                found[event["id"]] = datetime.fromisoformat(event["time"]).timestamp()
        if not page["events"]:
            return found
        after = page["next_after"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=100.0, help="events a second for the lag measurement")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    allowed = frozenset({"127.0.0.1"})
    results: dict[str, Any] = {}
    for name in ("throughput", "lag"):
        folder = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
        settings = Settings(data_dir=folder, database_url=args.database_url, webhook_allowed_hosts=allowed)
        if args.database_url:
            from tests.conftest import reset_postgres

            reset_postgres(args.database_url)
        results[name] = (
            throughput(settings, args.events) if name == "throughput" else lag(settings, args.rate, args.seconds)
        )
        print(name, json.dumps(results[name]), flush=True)
    backend = "postgresql" if args.database_url else "sqlite"
    print(json.dumps({"backend": backend, **results}))
    ok = results["throughput"]["events_per_second"] >= 2000 and results["lag"]["lag_ms_p99"] < 200
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
