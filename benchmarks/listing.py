"""GET /v1/inspections' read: keyset pages over the scores view, timed at depth.

Run: .venv/bin/python -m benchmarks.listing  (SQLite in a temporary file, 20,000 rows, pages of 50)
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from infrastructure.projections.reader import ViewReader
from infrastructure.projections.tables import VIEW_TABLES
from infrastructure.readdb import metadata


def main(rows: int = 20_000, limit: int = 50) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'views.db'}")
        metadata.create_all(engine)
        table = VIEW_TABLES["vw_score_inspections"]
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "programme": "OMI2",
                        "year": "2011-12",
                        "body": f"Body {n % 500}",
                        "body_key": f"body {n % 500}",
                        "status": "scheduled",
                        "case_count": 0,
                        "framework": "OMI2-2009",
                        "fieldwork_start": (dt.date(2009, 4, 1) + dt.timedelta(days=n % 1400)).isoformat(),
                        "inspected_body": {"name": f"Body {n % 500}", "type": "probation_trust", "region": "NW"},
                    }
                    for n in range(rows)
                ],
            )
        reader, after, times = ViewReader(engine), None, []
        while True:
            start = time.perf_counter()
            _, after = reader.inspection_list(limit=limit, after=after)
            times.append(time.perf_counter() - start)
            if after is None:
                break
        times.sort()
        start = time.perf_counter()
        reader.inspection_list(q="body 42", limit=limit)
        search = time.perf_counter() - start
        engine.dispose()
    print(
        f"{len(times)} pages of {limit}: p50 {times[len(times) // 2] * 1000:.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms; q {search * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
