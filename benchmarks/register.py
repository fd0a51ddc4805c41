"""The register's reads and a selection plan, timed over a realistic register.

Run: .venv/bin/python -m benchmarks.register  (SQLite in a temporary folder: 158 YOTs and 20 probation
bodies, each with a year's figures and an earlier inspection; the list, one body, a YOS plan)
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

from domain.base import Actor
from infrastructure.config import Settings
from web.bootstrap import build_app

ANN = Actor("Ann Inspector", "inspector", id="bench")


def timed(label: str, action: Callable[[], object], runs: int = 20) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    print(f"{label}: median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms ({runs} runs)")


def main(yots: int = 158) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "var")
        app = build_app(settings)
        ids = []
        for n in range(yots):
            inspection = app.schedule_inspection(
                ANN,
                "CCI",
                {"name": f"YOT {n:03d}", "type": "yot", "region": f"Region {n % 9}"},
                date(2009, 5, 4 + n % 20),
            ).body
            body_id = UUID(inspection["inspected_body"]["id"])
            figures = {"caseload": 50 + n * 7 % 900, "reoffending_rate": 30 + n % 25}
            app.record_indicators(ANN, body_id, "2017-18", figures)
            ids.append(body_id)
        for n in range(20):
            app.register_body(ANN, f"Division {n:02d}", "nps_division" if n % 2 else "crc", "North")
        timed("GET /v1/bodies (warm cache, all 178)", lambda: app.list_bodies(ANN))
        timed("GET /v1/bodies/{id}", lambda: app.get_body(ANN, ids[7]))
        timed("POST YOS plan for 2018-19 (30 of 158)", lambda: app.draw_up_plan(ANN, "YOS", "2018-19"), runs=10)
        app.close()
        cold = build_app(settings)
        start = time.perf_counter()
        cold.list_bodies(ANN)
        print(f"GET /v1/bodies, cold (a new process): {(time.perf_counter() - start) * 1000:.1f} ms")
        cold.close()


if __name__ == "__main__":
    main()
