"""Programme years: the published inspections of one programme and business year, pooled."""
from __future__ import annotations

from typing import Any

from application.projections.store import Fact, Row, Tables, View, handles
from domain.frameworks import framework_by_code
from domain.scoring import Tally, pool_year

INSPECTIONS, YEARS = "vw_year_inspections", "vw_years"


def year_key(programme: str, year: str) -> str:
    return f"{programme}/{year}"


class ProgrammeYearsView(View):
    name = "programme_years"
    cost = 0.5
    tables = (INSPECTIONS, YEARS)
    keys_only = frozenset({"inspection.case_sampled.v1"})

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        t[INSPECTIONS].put({
            "id": fact.key,
            "programme": s["programme"],
            "year": s["year"],
            "framework": s["framework"],
            "body": s["inspected_body"]["name"],
            "case_count": 0,
        })

    @handles("inspection.case_sampled.v1")  # the inspection's own event: its key is all it takes
    def case_sampled(self, fact: Fact, t: Tables) -> None:
        row = t[INSPECTIONS].get(fact.key)
        if row is not None:
            row["case_count"] += 1
            t[INSPECTIONS].put(row)

    @handles("inspection.report_published.v1")
    def published(self, fact: Fact, t: Tables) -> None:
        inspection = t[INSPECTIONS].get(fact.key)
        if inspection is None:
            return
        key = year_key(inspection["programme"], inspection["year"])
        year = t[YEARS].get(key) or {
            "id": key, "programme": inspection["programme"], "year": inspection["year"], "areas": [], "items": [],
        }
        for area in framework_by_code(inspection["framework"]).areas:
            if area not in year["areas"]:
                year["areas"].append(area)
        headline = {k: [v["sufficient"], v["applicable"]] for k, v in fact.state["headline_scores"].items()}
        year["items"].append([inspection["id"], inspection["body"], inspection["case_count"], headline])
        t[YEARS].put(year)


def year_body(row: Row | None, programme: str, year: str) -> dict[str, Any]:
    """The programme-year view as the API answers it (empty when nothing is published yet)."""
    items = row["items"] if row else []
    areas = row["areas"] if row else []
    aggregate, lowest, highest = pool_year(
        ((iid, body, {a: Tally(s, n) for a, (s, n) in headline.items()}) for iid, body, _, headline in items),
        areas,
    )
    return {
        "programme": programme,
        "year": year,
        "inspections": len(items),
        "cases": sum(count for _, _, count, _ in items),
        "aggregate": {area: tally.as_dict() for area, tally in aggregate.items()},
        "lowest": {area: _extreme(e) for area, e in lowest.items()},
        "highest": {area: _extreme(e) for area, e in highest.items()},
        "rows": [
            {
                "inspection_id": iid,
                "inspected_body": body,
                "cases": count,
                "headline": {area: Tally(s, n).score for area, (s, n) in headline.items()},
            }
            for iid, body, count, headline in items
        ],
    }


def _extreme(extreme: Any) -> dict[str, Any]:
    return {"score": extreme.score, "inspection_id": extreme.inspection_id, "inspected_body": extreme.inspected_body}
