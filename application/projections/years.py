"""Programme years: the published inspections of one programme and business year, pooled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.projections.store import Fact, Row, Tables, View, handles
from domain.frameworks import FRAMEWORKS, framework_by_code
from domain.scoring import Tally, pool_year

INSPECTIONS, YEARS = "vw_year_inspections", "vw_years"


def year_key(programme: str, year: str) -> str:
    return f"{programme}/{year}"


class ProgrammeYearsView(View):
    name = "programme_years"
    version = 3  # 2: reinspections marked and left out of the pooled figures; ties named; 3: 2018 ratings
    cost = 0.5
    tables = (INSPECTIONS, YEARS)
    keys_only = frozenset({"inspection.case_sampled.v1"})

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        t[INSPECTIONS].put(
            {
                "id": fact.key,
                "programme": s["programme"],
                "year": s["year"],
                "framework": s["framework"],
                "body": s["inspected_body"]["name"],
                "case_count": 0,
                "ratings": None,
                "reinspection": False,
            }
        )

    @handles("inspection.designated_as_reinspection.v1")  # (always before publication)
    def designated_as_reinspection(self, fact: Fact, t: Tables) -> None:
        row = t[INSPECTIONS].get(fact.key)
        if row is not None:
            row["reinspection"] = True
            t[INSPECTIONS].put(row)

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
        t[YEARS].put(with_published(t[YEARS].get(key), inspection, fact.state["headline_scores"]))


def with_published(year: Row | None, inspection: Row, headline_scores: dict[str, Any]) -> Row:
    """A programme year's row (None before its first publication) with one more published inspection.

    ``inspection`` is the inspection as this view keeps it (``id``, ``programme``, ``year``,
    ``framework``, ``body``, ``case_count``, ``reinspection``, ``ratings``); ``headline_scores`` the
    published ``{area: {sufficient, applicable, ...}}``. The live view and the as-of path
    (``application.past_years.programme_year_as_of``) both build the year with it, and answer it with
    ``year_body``.
    """
    key = year_key(inspection["programme"], inspection["year"])
    year = year or {
        "id": key,
        "programme": inspection["programme"],
        "year": inspection["year"],
        "areas": [],
        "items": [],
    }
    for area in framework_by_code(inspection["framework"]).areas:
        if area not in year["areas"]:
            year["areas"].append(area)
    headline = {k: [v["sufficient"], v["applicable"]] for k, v in headline_scores.items()}
    year["items"].append(
        [
            inspection["id"],
            inspection["body"],
            inspection["case_count"],
            headline,
            bool(inspection["reinspection"]),
            inspection.get("ratings"),
        ]
    )
    return year


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
    rows = [
        YearRow(
            item[0],
            item[1],
            item[2],
            {a: Tally(s, n) for a, (s, n) in item[3].items()},
            bool(item[4]) if len(item) > 4 else False,
            item[5] if len(item) > 5 else None,
        )
        for item in (row["items"] if row else [])
    ]
    return year_figures(programme, year, row["areas"] if row else [], rows)


@dataclass(frozen=True)
class YearRow:
    """One published inspection of a programme year, as the live view and the as-of path both see it."""

    inspection_id: str
    inspected_body: str
    cases: int
    headline: dict[str, Tally]
    reinspection: bool
    ratings: dict[str, Any] | None = None  # a 2018 report's rating summary (``rating_summary``)


def year_figures(programme: str, year: str, areas: list[str], rows: list[YearRow]) -> dict[str, Any]:
    """A programme year's figures from its published rows, in publication order.

    A reinspection (the follow-up of a report of concern) is listed, marked, and
    counted in ``reinspections``; it is not one more inspection of the year, so it
    is left out of ``inspections``, the pooled ``aggregate``, ``lowest`` and
    ``highest`` (a body reinspected would otherwise weigh twice, and its
    follow-up could become the year's "highest").
    """
    pooled = [r for r in rows if not r.reinspection]
    aggregate, lowest, highest = pool_year(((r.inspection_id, r.inspected_body, r.headline) for r in pooled), areas)
    answer = {
        "programme": programme,
        "year": year,
        "inspections": len(pooled),
        "reinspections": len(rows) - len(pooled),
        "cases": sum(r.cases for r in rows),
        "aggregate": {area: tally.as_dict() for area, tally in aggregate.items()},
        "lowest": {area: e.as_dict() for area, e in lowest.items()},
        "highest": {area: e.as_dict() for area, e in highest.items()},
        "rows": [
            {
                "inspection_id": r.inspection_id,
                "inspected_body": r.inspected_body,
                "cases": r.cases,
                "reinspection": r.reinspection,
                "headline": {area: tally.score for area, tally in r.headline.items()},
            }
            for r in rows
        ],
    }
    if rates_standards(programme):
        with_ratings(answer, [r.ratings for r in rows], [r.ratings for r in pooled])
    return answer


def rates_standards(programme: str) -> bool:
    return any(f.programme == programme and f.rates_standards for f in FRAMEWORKS)


def with_ratings(
    answer: dict[str, Any], summaries: list[dict[str, Any] | None], pooled: list[dict[str, Any] | None]
) -> dict[str, Any]:
    """A 2018 programme year: the distribution of the pooled inspections' ratings (a reinspection is
    not one more inspection of the year), and each row's overall and standards' ratings."""
    answer["ratings"] = rating_distribution([s for s in pooled if s is not None])
    for row, summary in zip(answer["rows"], summaries, strict=True):
        row.update(summary or {"overall": None, "standards": {}})
    return answer
