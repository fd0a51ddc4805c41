"""Programme years: the published inspections of one programme and business year, pooled."""
from __future__ import annotations

from typing import Any

from application.projections.store import Fact, Row, Tables, View, handles
from domain.frameworks import FRAMEWORKS, framework_by_code
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
            "ratings": None,
        })

    @handles("inspection.case_sampled.v1")  # the inspection's own event: its key is all it takes
    def case_sampled(self, fact: Fact, t: Tables) -> None:
        row = t[INSPECTIONS].get(fact.key)
        if row is not None:
            row["case_count"] += 1
            t[INSPECTIONS].put(row)

    @handles("inspection.ratings_published.v1")
    def ratings_published(self, fact: Fact, t: Tables) -> None:
        """A 2018 report's ratings, recorded just before the report itself: kept for its row."""
        row = t[INSPECTIONS].get(fact.key)
        if row is not None:
            row["ratings"] = rating_summary(fact.state["ratings"])
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
        item = [inspection["id"], inspection["body"], inspection["case_count"], headline]
        if inspection.get("ratings") is not None:
            item.append(inspection["ratings"])
        year["items"].append(item)
        t[YEARS].put(year)


def rating_summary(ratings: dict[str, Any]) -> dict[str, Any]:
    """An inspection's published ratings as its row shows them: the overall rating and each standard's."""
    return {
        "overall": ratings["overall"]["rating"],
        "standards": {code: entry["rating"] for code, entry in ratings["standards"].items()},
    }


def rating_distribution(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """How many inspections had each overall rating, and each standard each rating."""
    overall: dict[str, int] = {}
    standards: dict[str, dict[str, int]] = {}
    for summary in summaries:
        if summary["overall"] is not None:
            overall[summary["overall"]] = overall.get(summary["overall"], 0) + 1
        for code, rating in summary["standards"].items():
            if rating is not None:
                counts = standards.setdefault(code, {})
                counts[rating] = counts.get(rating, 0) + 1
    return {"overall": overall, "standards": dict(sorted(standards.items()))}


def year_body(row: Row | None, programme: str, year: str) -> dict[str, Any]:
    """The programme-year view as the API answers it (empty when nothing is published yet)."""
    items = row["items"] if row else []
    areas = row["areas"] if row else []
    aggregate, lowest, highest = pool_year(
        ((iid, body, {a: Tally(s, n) for a, (s, n) in headline.items()}) for iid, body, _, headline, *_ in items),
        areas,
    )
    answer = {
        "programme": programme,
        "year": year,
        "inspections": len(items),
        "cases": sum(item[2] for item in items),
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
            for iid, body, count, headline, *_ in items
        ],
    }
    if rates_standards(programme):
        with_ratings(answer, [item[4] if len(item) > 4 else None for item in items])
    return answer


def rates_standards(programme: str) -> bool:
    return any(f.programme == programme and f.rates_standards for f in FRAMEWORKS)


def with_ratings(answer: dict[str, Any], summaries: list[dict[str, Any] | None]) -> dict[str, Any]:
    """A 2018 programme year: the distribution of ratings, and each row's overall and standards' ratings."""
    answer["ratings"] = rating_distribution([s for s in summaries if s is not None])
    for row, summary in zip(answer["rows"], summaries):
        row.update(summary or {"overall": None, "standards": {}})
    return answer


def _extreme(extreme: Any) -> dict[str, Any]:
    return {"score": extreme.score, "inspection_id": extreme.inspection_id, "inspected_body": extreme.inspected_body}
