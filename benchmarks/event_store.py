"""Event store throughput for this project's aggregates, per backend.

    .venv/bin/python -m benchmarks.event_store [--inspections 200] [--cases 20]
        [--backends sqlite,postgres,sqlalchemy-sqlite,sqlalchemy-postgres]

PostgreSQL backends need INSPECTORATE_BENCH_POSTGRES_URL (a scratch database:
its public schema is dropped). Prints events/s for:
- append/save: one save per aggregate (a whole case: sampled + rated), as a rebuild would;
- append/command: the application's real commands (load, decide, save), one save per command;
- replay: read every event in global order (pages of 1000) and convert to domain events;
- rebuild: reconstruct every aggregate from its events.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from application.app import InspectorateApp
from domain.base import Actor
from domain.case_assessment import CaseAssessment
from domain.frameworks import framework_by_code
from domain.inspection import Inspection
from infrastructure.config import Settings
from infrastructure.holidays_calendar import is_bank_holiday

ANN = Actor("Ann Inspector", "inspector")
AREAS = ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")
CHARS = dict(
    gender="male",
    ethnicity="white",
    age_band="25-49",
    disability=False,
    looked_after=None,
    disposal="community",
    risk_level="high",
)


def judgements(seed: int) -> list[dict]:
    return [
        {"area": a, "criterion": c, "sufficient": (seed + i) % 4 != 0}
        for i, (a, c) in enumerate((a, c) for a in AREAS for c in CRITERIA)
    ]


def make_app(backend: str, workdir: Path) -> InspectorateApp:
    pg_url = os.environ.get("INSPECTORATE_BENCH_POSTGRES_URL")
    if "postgres" in backend:
        if not pg_url:
            raise SystemExit("set INSPECTORATE_BENCH_POSTGRES_URL for PostgreSQL backends")
        engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    if backend == "sqlite":
        env = Settings(data_dir=workdir).event_store_env()
    elif backend == "postgres":
        env = Settings(data_dir=workdir, database_url=pg_url).event_store_env()
    elif backend.startswith("sqlalchemy"):
        url = pg_url if backend.endswith("postgres") else f"sqlite:///{workdir / 'sa.sqlite'}"
        env = {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url, "CREATE_TABLE": "y"}
    else:
        raise SystemExit(f"unknown backend {backend}")
    return InspectorateApp(env, is_holiday=is_bank_holiday)


def run(backend: str, inspections: int, cases: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-es-"))
    app = make_app(backend, workdir)
    framework = framework_by_code("OMI2-2009")
    figures: dict[str, float] = {}
    try:
        # 1. One save per aggregate, aggregates built in memory.
        started, events = time.perf_counter(), 0
        for n in range(inspections):
            inspection = Inspection.schedule(
                "OMI2",
                {"name": f"Trust {n}", "type": "probation_trust", "region": "X"},
                date(2011, 4, 1) + timedelta(days=n),
            )
            inspection.start_fieldwork()
            batch = []
            for k in range(cases):
                case = CaseAssessment.sample(inspection.id, framework, f"C{k}", CHARS, ANN)
                case.rate(framework, judgements(k), ANN)
                inspection.sample_case(case.id, f"C{k}")
                batch.append(case)
            for aggregate in (inspection, *batch):
                events += len(aggregate.pending_events)
                app.save(aggregate)
        figures["append/save ev/s"] = events / (time.perf_counter() - started)

        # 2. Real commands: load, decide, save.
        started, commands = time.perf_counter(), 0
        count = max(1, inspections // 10)
        for n in range(count):
            iid = UUID(
                app.schedule_inspection(
                    ANN,
                    "OMI2",
                    {"name": f"Cmd {n}", "type": "crc", "region": "X"},
                    date(2012, 4, 1) + timedelta(days=n),
                ).body["id"]
            )
            app.start_fieldwork(ANN, iid)
            commands += 2
            for k in range(cases):
                cid = UUID(app.add_case(ANN, iid, f"C{k}", CHARS).body["id"])
                app.rate_case(ANN, cid, judgements(k))
                commands += 2
        figures["append/command cmd/s"] = commands / (time.perf_counter() - started)

        # 3. Replay in global order.
        started, seen, position = time.perf_counter(), 0, 0
        ids: set[UUID] = set()
        while True:
            page = app.recorder.select_notifications(position, 1000, inclusive_of_start=False)
            if not page:
                break
            for notification in page:
                app.mapper.to_domain_event(notification)
                ids.add(notification.originator_id)
            seen += len(page)
            position = page[-1].id
        figures["replay ev/s"] = seen / (time.perf_counter() - started)
        figures["events"] = seen

        # 4. Rebuild every aggregate.
        started = time.perf_counter()
        for aggregate_id in ids:
            app.repository.get(aggregate_id)
        elapsed = time.perf_counter() - started
        figures["rebuild agg/s"] = len(ids) / elapsed
        figures["rebuild ev/s"] = seen / elapsed
    finally:
        app.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inspections", type=int, default=200)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(
        f"{'backend':22} "
        + " ".join(
            f"{k:>22}"
            for k in (
                "append/save ev/s",
                "append/command cmd/s",
                "replay ev/s",
                "rebuild agg/s",
                "rebuild ev/s",
                "events",
            )
        )
    )
    for backend in args.backends.split(","):
        figures = run(backend, args.inspections, args.cases)
        print(
            f"{backend:22} "
            + " ".join(
                f"{figures[k]:>22,.0f}"
                for k in (
                    "append/save ev/s",
                    "append/command cmd/s",
                    "replay ev/s",
                    "rebuild agg/s",
                    "rebuild ev/s",
                    "events",
                )
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
