"""Scoring at publication: a 2018 inspection of 91 cases against a 2009 one of 100 cases.

Each repetition prepares a fresh OMI2 (2011) inspection of 100 judged cases and
a YOS (2019) one of 91 (court and out-of-court cases, every applicable key
question judged, the organisational standards rated), then times the
``publish`` command of each (score, rate, lock every case, record), and the
pure scoring alone (tallies, and for 2018 the ratings). Alternating the two
keeps a busy machine's slow spells from falling on one side only.

    python -m benchmarks.standards_publish [--repeat 15] [--data-dir DIR | --database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from application.app import InspectorateApp
from domain.base import Actor
from domain.publication import inspection_ratings
from domain.scoring import tally_cases
from infrastructure.config import Settings
from tests.factories import characteristics, judgements
from web.bootstrap import build_app

ANN = Actor("Ann Inspector", "inspector")
YOS_QUESTIONS = ("desistance", "safety_and_wellbeing", "risk_of_harm")


def prepare_2009(app: InspectorateApp, n: str, cases: int = 100) -> UUID:
    inspection_id = UUID(
        app.schedule_inspection(
            ANN, "OMI2", {"name": f"Trust {n}", "type": "probation_trust", "region": "North West"}, date(2011, 5, 3)
        ).body["id"]
    )
    app.start_fieldwork(ANN, inspection_id)
    for c in range(cases):
        case_id = UUID(app.add_case(ANN, inspection_id, f"O{c}", characteristics()).body["id"])
        app.rate_case(ANN, case_id, judgements(c % 4 != 0))
    app.complete_fieldwork(ANN, inspection_id)
    return inspection_id


def prepare_2018(app: InspectorateApp, n: str, cases: int = 91) -> UUID:
    inspection_id = UUID(
        app.schedule_inspection(
            ANN, "YOS", {"name": f"YOS {n}", "type": "yot", "region": "North West"}, date(2019, 3, 4)
        ).body["id"]
    )
    app.start_fieldwork(ANN, inspection_id)
    app.record_caseload(ANN, inspection_id, 1000, {"gender": {"male": 800, "female": 200}})
    for c in range(cases):
        out_of_court = c % 5 == 0
        profile = characteristics(disposal="pre_court" if out_of_court else "community")
        case_id = UUID(app.add_case(ANN, inspection_id, f"Y{c}", profile).body["id"])
        standards = ("3.1", "3.2", "3.3") if out_of_court else ("2.1", "2.2", "2.3", "2.4")
        app.rate_case(
            ANN,
            case_id,
            [{"standard": s, "question": q, "sufficient": c % 4 != 0} for s in standards for q in YOS_QUESTIONS],
        )
    app.complete_fieldwork(ANN, inspection_id)
    for code in ("1.1", "1.2", "1.3", "1.4", "3.4"):
        app.rate_standard(ANN, inspection_id, code, "good", "Evidence from the fieldwork.")
    return inspection_id


def score_only(app: InspectorateApp, inspection_id: UUID) -> float:
    """The pure scoring of publication alone, on the loaded aggregates (seconds)."""
    inspection = app.get_inspection(inspection_id)
    cases = app.list_cases(inspection_id)
    rules = inspection.rules
    started = time.perf_counter()
    headline, _ = tally_cases((c.verdicts() for c in cases), rules.areas, rules.criteria)
    if rules.rates_standards:
        inspection_ratings(inspection, headline)
    return time.perf_counter() - started


def publish(app: InspectorateApp, inspection_id: UUID, on: date) -> float:
    started = time.perf_counter()
    app.publish(ANN, inspection_id, on)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=args.data_dir or Path(scratch), database_url=args.database_url)
        app = build_app(settings)
        times: dict[str, list[float]] = {"2009 publish": [], "2018 publish": [], "2009 score": [], "2018 score": []}
        try:
            run = uuid4().hex[:8]  # bodies of their own, so a kept database can be measured again
            for n in range(args.repeat):
                old, new = prepare_2009(app, f"{run}-{n}"), prepare_2018(app, f"{run}-{n}")
                times["2009 score"].append(score_only(app, old))
                times["2018 score"].append(score_only(app, new))
                pair: list[tuple[str, Any]] = [
                    ("2009 publish", (old, date(2011, 9, 1))),
                    ("2018 publish", (new, date(2019, 6, 1))),
                ]
                for name, (iid, on) in pair if n % 2 == 0 else pair[::-1]:
                    times[name].append(publish(app, iid, on))
        finally:
            app.close()
    backend = "PostgreSQL" if settings.is_postgres else "SQLite"
    for name, values in times.items():
        print(
            f"[{backend}] {name}: median {statistics.median(values) * 1000:.2f} ms, "
            f"min {min(values) * 1000:.2f} ms over {len(values)}"
        )
    ratio = statistics.median(times["2018 publish"]) / statistics.median(times["2009 publish"])
    print(f"[{backend}] 2018 (91 cases) / 2009 (100 cases) publish: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
