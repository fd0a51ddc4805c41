"""Inspection scores: live from ratings during fieldwork, frozen at publication.

Tallies are kept as ``[sufficient, applicable]`` pairs. A later judgement of
the same area and criterion replaces the earlier one, so each case keeps its
current verdicts and a new rating moves the tallies by the difference.
"""
from __future__ import annotations

from typing import Any

from application.projections.store import Fact, Row, Tables, View, body_key, handles, text
from domain.frameworks import framework_by_code
from domain.scoring import Tally

INSPECTIONS, CASES = "vw_score_inspections", "vw_score_cases"
_ABSENT = object()


def value_key(value: Any) -> str:
    """A characteristic's value as a JSON object key: true/false/null/unknown/..."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)


def _count(verdict: Any) -> tuple[int, int]:
    """What one verdict adds to a tally: (sufficient, applicable)."""
    if verdict is _ABSENT or verdict is None:
        return 0, 0
    return (1 if verdict else 0), 1


def _bump(tallies: dict[str, list[int]], key: str, ds: int, da: int) -> None:
    pair = tallies.get(key)
    if pair is None:
        tallies[key] = [ds, da]
    else:
        pair[0] += ds
        pair[1] += da


class ScoresView(View):
    name = "scores"
    tables = (INSPECTIONS, CASES)

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        framework = framework_by_code(s["framework"])
        t[INSPECTIONS].put({
            "id": str(fact.stream),
            "programme": s["programme"],
            "year": s["year"],
            "body": s["inspected_body"]["name"],
            "body_key": body_key(s["inspected_body"]["name"]),
            "status": "scheduled",
            "published_on": None,
            "case_count": 0,
            "headline": {area: [0, 0] for area in framework.areas},
            "criteria": {criterion: [0, 0] for criterion in framework.criteria},
            "breakdown": {},
        })

    @handles("inspection.fieldwork_started.v1")
    def fieldwork_started(self, fact: Fact, t: Tables) -> None:
        self._set_status(fact, t, "fieldwork")

    @handles("inspection.fieldwork_completed.v1")
    def fieldwork_completed(self, fact: Fact, t: Tables) -> None:
        self._set_status(fact, t, "fieldwork_complete")

    @handles("inspection.case_sampled.v1")
    def case_sampled(self, fact: Fact, t: Tables) -> None:
        row = t[INSPECTIONS].get(str(fact.stream))
        if row is not None:
            row["case_count"] += 1
            t[INSPECTIONS].put(row)

    @handles("inspection.report_published.v1")
    def published(self, fact: Fact, t: Tables) -> None:
        row = t[INSPECTIONS].get(str(fact.stream))
        if row is None:
            return
        s = fact.state
        # The published figures are the record: take them as published, never recompute.
        row["status"] = "published"
        row["published_on"] = text(s["published_on"])
        row["headline"] = {k: [v["sufficient"], v["applicable"]] for k, v in s["headline_scores"].items()}
        row["criteria"] = {k: [v["sufficient"], v["applicable"]] for k, v in s["criteria_scores"].items()}
        t[INSPECTIONS].put(row)

    @handles("case.sampled.v1")
    def case_added(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        t[CASES].put({
            "id": str(fact.stream),
            "inspection_id": str(s["inspection_id"]),
            "characteristics": {name: value_key(v) for name, v in s["characteristics"].items()},
            "verdicts": {},
        })

    @handles("case.rated.v1")
    def rated(self, fact: Fact, t: Tables) -> None:
        case = t[CASES].get(str(fact.stream))
        if case is None:
            return
        inspection = t[INSPECTIONS].get(case["inspection_id"])
        if inspection is None or inspection["status"] == "published":
            return  # published figures never change
        verdicts = case["verdicts"]
        by_area: dict[str, list[int]] = {}
        by_criterion: dict[str, list[int]] = {}
        for judgement in fact.state["judgements"]:
            area, criterion, new = judgement["area"], judgement["criterion"], judgement["sufficient"]
            item = f"{area}/{criterion}"
            old_s, old_a = _count(verdicts.get(item, _ABSENT))
            new_s, new_a = _count(new)
            verdicts[item] = new
            _bump(by_area, area, new_s - old_s, new_a - old_a)
            _bump(by_criterion, criterion, new_s - old_s, new_a - old_a)
        headline, criteria, breakdown = inspection["headline"], inspection["criteria"], inspection["breakdown"]
        for area, (ds, da) in by_area.items():
            if area in headline:
                _bump(headline, area, ds, da)
                for name, value in case["characteristics"].items():
                    _bump(breakdown.setdefault(name, {}).setdefault(value, {}), area, ds, da)
        for criterion, (ds, da) in by_criterion.items():
            if criterion in criteria:
                _bump(criteria, criterion, ds, da)
        t[CASES].put(case)
        t[INSPECTIONS].put(inspection)

    @staticmethod
    def _set_status(fact: Fact, t: Tables, status: str) -> None:
        row = t[INSPECTIONS].get(str(fact.stream))
        if row is not None:
            row["status"] = status
            t[INSPECTIONS].put(row)


def _with_interval(pairs: dict[str, list[int]]) -> dict[str, Any]:
    return {key: Tally(s, a).as_dict_with_interval() for key, (s, a) in pairs.items()}


def scores_body(row: Row) -> dict[str, Any]:
    """The scores view of one inspection, as the API answers it."""
    return {
        "inspection_id": row["id"],
        "programme": row["programme"],
        "year": row["year"],
        "inspected_body": row["body"],
        "status": row["status"],
        "frozen": row["status"] == "published",
        "published_on": row["published_on"],
        "case_count": row["case_count"],
        "headline": _with_interval(row["headline"]),
        "criteria": _with_interval(row["criteria"]),
        "breakdown": {
            name: {value: _with_interval(areas) for value, areas in sorted(values.items())}
            for name, values in sorted(row["breakdown"].items())
        },
    }
