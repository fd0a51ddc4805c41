"""Projection figures: rebuild every view from a realistic 1M-event history, and live lag.

    python -O -m benchmarks.projections_rebuild [--events 1000000] [--data-dir DIR | --database-url URL]

The history (benchmarks/generate_history.py) is generated once and reused
while the record already holds enough events; ``--copy-from DIR`` fills a
PostgreSQL record from an SQLite one instead of playing it again.

Rebuild: every view dropped and rebuilt from position 0 in one process
(targets: 100k events/s on SQLite, 70k on PostgreSQL).

Live lag: ``inspectorate project`` runs as its own process (SQLite: polling;
PostgreSQL: LISTEN/NOTIFY) while this process rates a case, one command at a
time, and times each from the command's commit to every view having
processed its position (targets: p99 250 ms on SQLite, 100 ms on PostgreSQL).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from benchmarks.generate_history import Plan, copy_record, generate
from domain.base import Actor
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.rebuild import rebuild
from infrastructure.projections.tables import VIEW_TABLES, tracking
from web.bootstrap import COMPOSER, build_app, build_projector, migrate
from web.cli import Progress

AREAS = ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")


def say(message: str) -> None:
    print(f"\r{message}", end="", file=sys.stderr, flush=True)


def prepare(settings: Settings, events: int, copy_from: Path | None, standards: float = 0.0) -> int:
    """A record of at least ``events`` events: reuse it, copy it from an SQLite one, or generate it."""
    migrate(settings)
    app = build_app(settings, create_table=False)
    head = app.recorder.max_notification_id() or 0
    app.close()
    if head >= events:
        print(f"reusing the record: {head:,} events")
        return head
    if head:
        raise SystemExit(f"the record holds {head:,} events, fewer than --events {events:,}: use an empty one")
    started = time.perf_counter()
    if copy_from is not None:
        source = build_app(Settings(data_dir=copy_from), create_table=False)
        head = copy_record(source, settings, 10_000, say)
        source.close()
    else:
        head = generate(settings, events, Plan(standards=standards), progress=say)
    print(f"\nhistory ready: {head:,} events in {time.perf_counter() - started:.0f} s")
    return head


def rebuild_views(settings: Settings, processes: int | None, profile: bool) -> float:
    """``inspectorate views rebuild`` of every view, as the command does it (parallel processes)."""
    app = build_app(settings, create_table=False)
    head = app.recorder.max_notification_id() or 0
    app.close()
    progress = Progress(0, head)
    profiler = cProfile.Profile(time.process_time) if profile else None  # this process only (one group)
    if profiler:
        processes = 1
        profiler.enable()
    done = rebuild(settings, composer=COMPOSER, processes=processes, progress=progress.update)
    if profiler:
        profiler.disable()
    progress.finish(head)
    rate = done.events / done.seconds
    engine = create_projection_engine(settings)
    with engine.connect() as conn:
        rows = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in VIEW_TABLES}
    engine.dispose()
    print(
        f"rebuild of every view in {done.processes} process(es): {done.events:,} events in {done.seconds:.1f} s"
        f" = {rate:,.0f} events/s"
    )
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return rate


def breakdown(settings: Settings) -> None:
    """Where a rebuild's time goes: reading the pages, making facts of them, folding them in memory (no
    writes). A fact's state is decoded when a view first reads it, so that is in the folds."""
    from application.projections.store import Tables

    app = build_app(settings, create_table=False)
    projector = build_projector(app, create_projection_engine(settings), settings)
    decoder, topics = projector.decoder, sorted(projector.topics)
    views = [(view, Tables(view.tables, lambda table, key: None, projector.history)) for view in projector.views]
    for _, tables in views:
        tables.forget(complete=True)
    head = app.recorder.max_notification_id() or 0
    read = making = 0.0
    folds = {view.name: 0.0 for view, _ in views}
    position = 0
    while position < head:
        started = time.process_time()
        page = app.recorder.select_feed_rows(position, 1000, topics, stop=head, bare=sorted(projector.bare))
        read += time.process_time() - started
        if not page:
            break
        started = time.process_time()
        facts = decoder.facts(page, projector.topics, projector.bare, keys_ahead=False)
        making += time.process_time() - started
        for view, tables in views:
            started = time.process_time()
            for fact in facts:
                view.apply(fact, tables)
            tables.upto = page[-1][0]
            view.settle(tables, page[-1][0] >= head)
            for name in view.tables:
                tables[name].take_changes()
            folds[view.name] += time.process_time() - started
        position = page[-1][0]
    parts = [("read pages", read), ("make facts", making), *((f"fold {name}", s) for name, s in folds.items())]
    print("  (one process, all views; a view's fold includes decoding the states it is first to read,")
    print("   and reading the history it asks for, one query each)")
    for name, seconds in parts:
        print(f"  {name:22} {seconds:6.1f} s CPU = {head / max(seconds, 1e-9):>10,.0f} events/s")
    app.close()


def measure_lag(settings: Settings, writes: int) -> list[float]:
    """Milliseconds from each command's commit to every view having processed its position."""
    env = dict(os.environ)
    if settings.database_url:
        env["INSPECTORATE_DATABASE_URL"] = settings.database_url
    env["INSPECTORATE_DATA_DIR"] = str(settings.data_dir)
    code = "import sys; from web.cli import main; sys.exit(main(['project']))"
    worker = subprocess.Popen([sys.executable, "-O", "-c", code], env=env)
    app = build_app(settings, create_table=False)
    engine = create_projection_engine(settings)
    lowest = sa.select(sa.func.min(tracking.c.position))
    try:
        ann = Actor("Benchmark Inspector", "inspector")
        body = {"name": f"Benchmark Trust {time.time_ns()}", "type": "probation_trust", "region": "London"}
        inspection_id = UUID(app.schedule_inspection(ann, "OMI2", body, date(2011, 6, 6)).body["id"])
        app.start_fieldwork(ann, inspection_id)
        case_id = UUID(
            app.add_case(
                ann,
                inspection_id,
                "B1",
                {
                    "gender": "male",
                    "ethnicity": "white",
                    "age_band": "25-49",
                    "disability": False,
                    "looked_after": None,
                    "disposal": "community",
                    "risk_level": "low",
                },
            ).body["id"]
        )
        _wait_until(engine, lowest, app.recorder.max_notification_id(), 60)
        rng, lags = random.Random(1), []
        for n in range(writes):
            judgement = {"area": rng.choice(AREAS), "criterion": rng.choice(CRITERIA), "sufficient": rng.random() < 0.8}
            position = app.rate_case(ann, case_id, [judgement]).position
            committed = time.perf_counter()
            _wait_until(engine, lowest, position, 10)
            lags.append(1000 * (time.perf_counter() - committed))
            time.sleep(rng.uniform(0.005, 0.03))
            if (n + 1) % 50 == 0:
                say(f"lag: {n + 1}/{writes} writes")
        print()
        return lags
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        app.close()
        engine.dispose()


def _wait_until(engine: sa.Engine, query: sa.Select, position: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    with engine.connect() as conn:
        while (conn.execute(query).scalar() or 0) < position:
            conn.rollback()  # a fresh snapshot each time
            if time.perf_counter() > deadline:
                raise TimeoutError(f"views did not reach position {position} in {timeout} s")
            time.sleep(0.001)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("var-bench"))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--copy-from", type=Path, default=None, help="an SQLite data dir whose record to copy")
    parser.add_argument("--lag-writes", type=int, default=400)
    parser.add_argument("--skip-rebuild", action="store_true")
    parser.add_argument("--processes", type=int, default=None, help="rebuild processes (default: one a CPU)")
    parser.add_argument("--profile", action="store_true", help="profile a rebuild in one process")
    parser.add_argument("--breakdown", action="store_true", help="also time reading and folding apart")
    parser.add_argument(
        "--groups",
        nargs="*",
        default=(),
        metavar="VIEWS",
        help="also rebuild each group of views (names joined by commas) alone in one process, and time it",
    )
    parser.add_argument(
        "--standards-share",
        type=float,
        default=0.0,
        help="share of a generated history's events from 2018 inspections (YOS, PROBATION)",
    )
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir, database_url=args.database_url)
    backend = "PostgreSQL" if settings.is_postgres else "SQLite"
    prepare(settings, args.events, args.copy_from, args.standards_share)
    if not args.skip_rebuild:
        rate = rebuild_views(settings, args.processes, args.profile)
        print(f"[{backend}] rebuild: {rate:,.0f} events/s (target {'70k' if settings.is_postgres else '100k'})")
    if args.breakdown:
        breakdown(settings)
    for group in args.groups:
        done = rebuild(settings, group.split(","), composer=COMPOSER, processes=1)
        print(f"[{backend}] rebuild of {group} alone, one process: {done.seconds:.2f} s")
    if args.lag_writes:
        lags = measure_lag(settings, args.lag_writes)
        print(
            f"[{backend}] live lag over {len(lags)} writes: p50 {statistics.median(lags):.1f} ms, "
            f"p95 {percentile(lags, 95):.1f} ms, p99 {percentile(lags, 99):.1f} ms, max {max(lags):.1f} ms "
            f"(target p99 {'100' if settings.is_postgres else '250'} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
