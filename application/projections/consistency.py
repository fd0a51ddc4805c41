"""Consistency of judgements: each moderated item against the first judgement it re-assessed.

A moderation is compared with the case's first judgement of the item as it
stood when the moderation was recorded (as the case aggregate does): the
case's own earlier events, read from the record at that moment, say what it
was. So a later re-rating does not rewrite an earlier comparison, and the
view keeps no per-case state of its own: only the moderations are written.

Assessors are told apart by id (the token's), never by name: two people may
share one. Judgements recorded before actors had ids have none; those are
grouped by name and role, as nothing else tells them apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import msgspec

from application.personal_data import ERASED_TOPIC
from application.projections.store import Fact, Ref, Row, Tables, View, handles, ref_text
from domain.case_assessment import judgement_key
from domain.frameworks import framework_by_code
from domain.scoring import cohens_kappa

INSPECTIONS, MODERATIONS = "vw_cons_inspections", "vw_moderations"
CASE_TOPICS = frozenset({"case.sampled.v1", "case.rated.v1"})


class _Sampled(msgspec.Struct, gc=False):
    """What the view reads of a ``case.sampled.v1`` event: not the characteristics (sealed, left shut)."""

    inspection_id: Ref | str
    case_ref: str | dict[str, Any] | None  # (sealed in the record: opened as it is read, None once erased)
    framework: str


class _Moderated(msgspec.Struct, gc=False):
    """What the view reads of a ``case.moderated.v1`` event (its notes left shut)."""

    by: dict[str, Any]
    judgements: list[dict[str, Any]]
    after_publication: bool | None = None


class _Rated(msgspec.Struct, gc=False):
    """What the view reads of a ``case.rated.v1`` event: who, and the judgements (their notes left shut)."""

    by: dict[str, Any]
    judgements: list[dict[str, Any]]


def first_judgements(facts: list[Fact]) -> dict[str, Any] | None:
    """A case's reference, inspection and current first judgement of each item (with who made it),
    from its own events up to a moment; None before it is sampled."""
    case: dict[str, Any] | None = None
    for fact in facts:
        if fact.topic == "case.sampled.v1":
            sampled = fact.read(_Sampled)
            case = {
                "inspection_id": ref_text(sampled.inspection_id),
                "case_ref": sampled.case_ref,
                "framework": sampled.framework,
                "firsts": {},
            }
        elif case is not None and fact.topic == "case.rated.v1":
            rated = fact.read(_Rated)
            by = rated.by
            who = (by.get("id"), by.get("name"), by.get("role"))
            for j in rated.judgements:
                case["firsts"][judgement_key(j)] = (j["sufficient"], *who)
    return case


class ConsistencyView(View):
    name = "consistency"
    # 2: first judgements read from the case's own events, no per-case table; 3: assessor ids;
    # 4: 2018 key questions; 5: an erased case's reference is null
    version = 5
    cost = 1.0
    tables = (INSPECTIONS, MODERATIONS)
    reads_history: ClassVar[dict[str, frozenset[str]]] = {
        "case.moderated.v1": CASE_TOPICS,
        ERASED_TOPIC: frozenset({"case.moderated.v1"}),
    }

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        t[INSPECTIONS].put({"id": fact.key, "programme": fact.state["programme"], "year": fact.state["year"]})

    @handles("case.moderated.v1")
    def moderated(self, fact: Fact, t: Tables) -> None:
        case = first_judgements(t.earlier(fact, CASE_TOPICS))
        if case is None:
            return
        inspection = t[INSPECTIONS].get(case["inspection_id"]) or {}
        programme = inspection.get("programme") or framework_by_code(case["framework"]).programme
        s = fact.read(_Moderated)
        for j in s.judgements:
            item = judgement_key(j)
            first = case["firsts"].get(item)
            if first is None:
                continue  # the aggregate refuses this; nothing to compare with
            t[MODERATIONS].put(
                {
                    "id": f"{fact.key}/{item}",
                    "case_id": fact.key,
                    "case_ref": case["case_ref"],
                    "inspection_id": case["inspection_id"],
                    "programme": programme,
                    "year": inspection.get("year"),
                    # a 2009 judgement's area and criterion, or a 2018 one's standard and key question
                    "area": j.get("area"),
                    "criterion": j.get("criterion"),
                    "standard": j.get("standard"),
                    "question": j.get("question"),
                    "first": first[0],
                    "moderated": j["sufficient"],
                    "first_id": first[1],
                    "first_name": first[2],
                    "first_role": first[3],
                    "moderator": s.by.get("name"),
                    "moderator_id": s.by.get("id"),
                    "after_publication": bool(s.after_publication),
                    "position": fact.position,
                }
            )

    @handles(ERASED_TOPIC)
    def erased(self, fact: Fact, t: Tables) -> None:
        """The case's moderations lose its reference (null), as a rebuild, which cannot read it, writes them."""
        for moderated in t.earlier(fact, frozenset({"case.moderated.v1"})):
            for j in moderated.state["judgements"]:
                row = t[MODERATIONS].get(f"{moderated.key}/{judgement_key(j)}")
                if row is not None and row["case_ref"] is not None:
                    row["case_ref"] = None
                    t[MODERATIONS].put(row)


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
    by_assessor = _grouped(rows, lambda r: (r.get("first_id"), r["first_name"], r["first_role"]))
    items = [r for r in rows if r.get("standard") is None]
    key_questions = [r for r in rows if r.get("standard") is not None]
    body = {
        "overall": agreement(rows),
        "by_area": _grouped(items, lambda r: r["area"]),
        "by_criterion": _grouped(items, lambda r: r["criterion"]),
        "by_programme": _grouped(rows, lambda r: r["programme"]),
        "by_year": _grouped(rows, lambda r: r["year"]),
        "by_role": _grouped(rows, lambda r: r["first_role"]),
        "by_assessor": [
            {"id": id_, "name": name, "role": role, **stats} for (id_, name, role), stats in by_assessor.items()
        ],
        "disagreements": [
            {
                "case_id": r["case_id"],
                "case_ref": r["case_ref"],
                "erased": r["case_ref"] is None,  # (a reference is required: none means it was erased)
                "inspection_id": r["inspection_id"],
                "programme": r["programme"],
                "year": r["year"],
                **(
                    {"standard": r["standard"], "question": r["question"]}
                    if r.get("standard") is not None
                    else {"area": r["area"], "criterion": r["criterion"]}
                ),
                "first": r["first"],
                "moderated": r["moderated"],
                "first_assessor": {"id": r.get("first_id"), "name": r["first_name"], "role": r["first_role"]},
                "moderator": r["moderator"],
                "moderator_id": r.get("moderator_id"),
                "after_publication": r["after_publication"],
                "position": r["position"],
            }
            for r in rows
            if r["first"] != r["moderated"]
        ],
    }
    if key_questions:  # 2018 frameworks: agreement by standard, by key question, and by both
        body["by_standard"] = _grouped(key_questions, lambda r: r["standard"])
        body["by_key_question"] = _grouped(key_questions, lambda r: r["question"])
        body["by_standard_and_key_question"] = _grouped(key_questions, lambda r: f"{r['standard']}/{r['question']}")
    return body
