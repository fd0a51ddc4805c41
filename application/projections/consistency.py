"""Consistency of judgements: each moderated item against the first judgement it re-assessed.

A moderation is compared with the case's current first judgement of the item
at the moment it was recorded (as the case aggregate does), so a later
re-rating does not rewrite an earlier comparison.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from application.projections.store import Fact, Row, Tables, View, handles
from domain.frameworks import framework_by_code
from domain.scoring import cohens_kappa

INSPECTIONS, CASES, MODERATIONS = "vw_cons_inspections", "vw_cons_cases", "vw_moderations"


class ConsistencyView(View):
    name = "consistency"
    cost = 2.0
    tables = (INSPECTIONS, CASES, MODERATIONS)

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        t[INSPECTIONS].put({"id": fact.key, "programme": fact.state["programme"], "year": fact.state["year"]})

    @handles("case.sampled.v1")
    def case_added(self, fact: Fact, t: Tables) -> None:
        s = fact.state
        inspection = t[INSPECTIONS].get(str(s["inspection_id"])) or {}
        t[CASES].put({
            "id": fact.key,
            "inspection_id": str(s["inspection_id"]),
            "case_ref": s["case_ref"],
            "programme": inspection.get("programme") or framework_by_code(s["framework"]).programme,
            "year": inspection.get("year"),
            "firsts": {},
        })

    @handles("case.rated.v1")
    def rated(self, fact: Fact, t: Tables) -> None:
        case = t[CASES].get(fact.key)
        if case is None:
            return
        by = fact.state["by"]
        name, role = by.get("name"), by.get("role")
        firsts = case["firsts"]
        for j in fact.state["judgements"]:
            firsts[f"{j['area']}/{j['criterion']}"] = (j["sufficient"], name, role)  # a list once stored
        t[CASES].put(case)

    @handles("case.moderated.v1")
    def moderated(self, fact: Fact, t: Tables) -> None:
        case = t[CASES].get(fact.key)
        if case is None:
            return
        s = fact.state
        for j in s["judgements"]:
            first = case["firsts"].get(f"{j['area']}/{j['criterion']}")
            if first is None:
                continue  # the aggregate refuses this; nothing to compare with
            t[MODERATIONS].put({
                "id": f"{case['id']}/{j['area']}/{j['criterion']}",
                "case_id": case["id"],
                "case_ref": case["case_ref"],
                "inspection_id": case["inspection_id"],
                "programme": case["programme"],
                "year": case["year"],
                "area": j["area"],
                "criterion": j["criterion"],
                "first": first[0],
                "moderated": j["sufficient"],
                "first_name": first[1],
                "first_role": first[2],
                "moderator": s["by"].get("name"),
                "after_publication": bool(s.get("after_publication")),
                "position": fact.position,
            })


def agreement(rows: list[Row]) -> dict[str, Any]:
    """Pairs, agreements, the agreement rate and Cohen's kappa of (first, moderated) judgements."""
    pairs = [(r["first"], r["moderated"]) for r in rows]
    agreed = sum(1 for a, b in pairs if a == b)
    return {
        "pairs": len(pairs),
        "agreements": agreed,
        "agreement_rate": agreed / len(pairs) if pairs else None,
        "kappa": cohens_kappa(pairs),
    }


def _grouped(rows: list[Row], key: Callable[[Row], Any]) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {k: agreement(v) for k, v in sorted(groups.items(), key=lambda kv: str(kv[0]))}


def consistency_body(rows: Iterable[Row]) -> dict[str, Any]:
    """Agreement overall and by area, criterion, programme, year, first assessor and role; the disagreements."""
    rows = sorted(rows, key=lambda r: (r["position"], r["id"]))
    by_assessor = _grouped(rows, lambda r: (r["first_name"], r["first_role"]))
    return {
        "overall": agreement(rows),
        "by_area": _grouped(rows, lambda r: r["area"]),
        "by_criterion": _grouped(rows, lambda r: r["criterion"]),
        "by_programme": _grouped(rows, lambda r: r["programme"]),
        "by_year": _grouped(rows, lambda r: r["year"]),
        "by_role": _grouped(rows, lambda r: r["first_role"]),
        "by_assessor": [{"name": name, "role": role, **stats} for (name, role), stats in by_assessor.items()],
        "disagreements": [
            {
                "case_id": r["case_id"],
                "case_ref": r["case_ref"],
                "inspection_id": r["inspection_id"],
                "programme": r["programme"],
                "year": r["year"],
                "area": r["area"],
                "criterion": r["criterion"],
                "first": r["first"],
                "moderated": r["moderated"],
                "first_assessor": {"name": r["first_name"], "role": r["first_role"]},
                "moderator": r["moderator"],
                "after_publication": r["after_publication"],
                "position": r["position"],
            }
            for r in rows
            if r["first"] != r["moderated"]
        ],
    }
