"""How fast the tamper-evident record is verified (target: >= 100,000 events/s).

    .venv/bin/python -m benchmarks.verify [--events 200000] [--data-dir DIR | --database-url URL] [--runs 3]

Without --data-dir/--database-url it generates a realistic history of
``--events`` events (benchmarks/generate_history.py) in a temporary SQLite
data folder. With one, it uses the record already there when it holds at
least ``--events`` events, and fills it up to that otherwise. Each run
recomputes the whole chain (``InspectorateApp.recorder.verify_chain``, what
``inspectorate audit verify`` and ``GET /v1/audit/verify`` do) and prints
events per second; the median is the figure to quote.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate_history import Plan, generate
from infrastructure.config import Settings
from web.bootstrap import build_app, migrate

TARGET = 100_000


def ensure_history(settings: Settings, events: int) -> int:
    migrate(settings)
    app = build_app(settings, create_table=False)
    try:
        head = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    if head >= events:
        return head
    print(f"generating {events:,} events (have {head:,}) ...", file=sys.stderr, flush=True)
    return generate(settings, events, Plan(seed=2011))


def measure(settings: Settings, runs: int) -> list[float]:
    rates = []
    app = build_app(settings, create_table=False)
    try:
        for run in range(runs):
            started = time.perf_counter()
            report = app.recorder.verify_chain()  # type: ignore[attr-defined]
            seconds = time.perf_counter() - started
            if not report.ok:
                raise SystemExit(f"the chain is broken: {report.first_broken}")
            rates.append(report.checked / seconds)
            print(f"run {run + 1}: {report.checked:,} events in {seconds:.2f} s = {rates[-1]:,.0f} events/s")
    finally:
        app.close()
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as scratch:
        settings = Settings(data_dir=args.data_dir or Path(scratch), database_url=args.database_url)
        head = ensure_history(settings, args.events)
        backend = "PostgreSQL" if settings.is_postgres else "SQLite"
        print(f"verifying {head:,} events on {backend}")
        median = statistics.median(measure(settings, args.runs))
    verdict = "meets" if median >= TARGET else "MISSES"
    print(f"median {median:,.0f} events/s ({verdict} the {TARGET:,}/s target)")
    return 0 if median >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
