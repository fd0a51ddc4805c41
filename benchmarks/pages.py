"""How long the server takes to render a programme-year page of 53 published inspections.

    .venv/bin/python -m benchmarks.pages [--inspections 53] [--cases 6] [--renders 200]

Builds the inspections in-process (through the application, as the API would), brings the views up
to date, signs an auditor in, and times the whole request through Flask's test client (session
check, view read, chart and template) for ``--renders`` renders. Target: under 100 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.base import Actor
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from web import create_app, services_of
from web.bootstrap import build_projector

TARGET_MS = 100.0
PATH = "/programmes/OMI2/years/2011-12"
AREAS = ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")
CHARACTERISTICS = {
    "gender": "female",
    "ethnicity": "white",
    "age_band": "25-49",
    "disability": False,
    "looked_after": None,
    "disposal": "community",
    "risk_level": "medium",
}


def build(app: Any, inspections: int, cases: int) -> None:
    """``inspections`` published OMI2 inspections of 2011-12, each with ``cases`` rated cases."""
    inspector = Actor(name="Bench Inspector", role="inspector")
    for n in range(inspections):
        body = {"name": f"Probation Trust {n:02d}", "type": "probation_trust", "region": "Wales"}
        iid = UUID(app.schedule_inspection(inspector, "OMI2", body, date(2011, 5, 3)).body["id"])
        app.start_fieldwork(inspector, iid)
        for c in range(cases):
            case_id = UUID(app.add_case(inspector, iid, f"B{n}-{c}", CHARACTERISTICS).body["id"])
            judgements = [
                {"area": a, "criterion": k, "sufficient": (n + c + i) % 3 != 0}
                for i, (a, k) in enumerate((a, k) for a in AREAS for k in CRITERIA)
            ]
            app.rate_case(inspector, case_id, judgements)
        app.complete_fieldwork(inspector, iid)
        app.publish(inspector, iid, date(2012, 1, 10))


def project(flask_app: Any) -> None:
    services = services_of(flask_app)
    engine = create_projection_engine(services.settings)
    try:
        projector = build_projector(services.app, engine, services.settings)
        projector.ensure_tracking()
        projector.catch_up()
    finally:
        engine.dispose()


def measure(data_dir: Path, inspections: int = 53, cases: int = 6, renders: int = 200) -> dict[str, float]:
    """Milliseconds per render of the programme-year page (median, p95, max) and its size in bytes."""
    flask_app = create_app(Settings(data_dir=data_dir))
    try:
        build(services_of(flask_app).app, inspections, cases)
        project(flask_app)
        secret = services_of(flask_app).tokens.create("Bench Auditor", "auditor")[1]
        client = flask_app.test_client()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").get_data(as_text=True))
        assert csrf is not None
        assert client.post("/sign-in", data={"token": secret, "csrf_token": csrf.group(1)}).status_code == 303
        first = client.get(PATH)
        assert first.status_code == 200 and first.get_data(as_text=True).count('<tr><th scope="row">') == inspections, (
            "every inspection is a row"
        )
        times = []
        for _ in range(renders):
            started = time.perf_counter()
            response = client.get(PATH)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        times.sort()
        return {
            "median_ms": statistics.median(times),
            "p95_ms": times[int(len(times) * 0.95) - 1],
            "max_ms": times[-1],
            "bytes": float(len(first.data)),
        }
    finally:
        services_of(flask_app).close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inspections", type=int, default=53)
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(Path(folder) / "var", args.inspections, args.cases, args.renders)
    print(
        f"programme-year page, {args.inspections} inspections x {args.cases} cases, {args.renders} renders: "
        f"median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.1f} ms, "
        f"{figures['bytes'] / 1024:.1f} KiB (target: under {TARGET_MS:.0f} ms)"
    )
    return 0 if figures["p95_ms"] < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
