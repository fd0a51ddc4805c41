"""Inspection scores: live from ratings during fieldwork, frozen at publication.

Tallies are kept as ``[sufficient, applicable]`` pairs. A later judgement of
the same area and criterion replaces the earlier one, so each case keeps its
current verdicts and a new rating moves the tallies by the difference. For
the diversity breakdown, headline tallies are kept per case profile (the
combination of a case's characteristics) and summed by characteristic when
read: a rating then moves one profile instead of every characteristic. The number of
cases sampled with each profile is kept beside them (``profile_cases``), for the
shares of a year's sample (``application.projections.diversity``).

A case's own state (its inspection, profile and current verdicts) is a memo,
never written: it is whatever the case's own earlier events say, derived
from the record when not held in memory. Only the inspections' rows are
written, one per inspection, which is what makes a rebuild fast.

A case's characteristics are sealed with its own key (``application.personal_data``).
They are read unopened: until opened, the case is counted under the profile
``~<case id>``, and its tallies by profile are left out (the headline and criteria
tallies are kept as ever). They are opened on the last page known (``settle``), all
at once, and the case's tallies, from its verdicts then, added to its profile's.
On the pages of a rebuild before that they are left unopened, because a
publication, which freezes the profiles as published, usually makes opening them
needless. The inspections still holding unopened profiles are listed in
the ``vw_score_pending`` row, so that they are found after a restart too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from application.personal_data import ERASED_TOPIC, Unopened, open_all
from application.projections.store import Fact, Ref, Row, Tables, View, body_key, handles, ref_text, text
from domain.diversity import UNKNOWN_PREFIX, breakdown, bump, profile_key
from domain.frameworks import framework_by_code
from domain.ids import uuid_text
from domain.scoring import Tally

INSPECTIONS, CASES = "vw_score_inspections", "cases"  # CASES: a memo, not a table
PENDING, UNOPENED = "vw_score_pending", "unopened"  # the row listing inspections with unopened profiles
MARKED = "marked"  # a memo: the inspections given unopened profiles since the last page was settled
CASE_TOPICS = frozenset({"case.sampled.v1", "case.rated.v1"})


class Judged(msgspec.Struct, gc=False):
    """A judgement: of an area and criterion (2009), or of a standard's key question (2018)."""

    sufficient: bool | None
    area: str = ""
    criterion: str = ""
    standard: str | None = None
    question: str | None = None

    def item(self) -> tuple[str, str]:
        """(area, criterion); a 2018 key question is scored as the item ``standard/question``, pooled by
        question (the framework's areas and criteria: ``domain.frameworks._standards_framework``)."""
        if self.standard is not None:
            return f"{self.standard}/{self.question}", self.question or ""
        return self.area, self.criterion


class Rating(msgspec.Struct, gc=False):
    """What the view reads of a ``case.rated.v1`` event (its notes, cause and time are skipped)."""

    judgements: list[Judged]


class Sampled(msgspec.Struct, gc=False):
    """What the view reads of a ``case.sampled.v1`` event (characteristics None: erased; an ``Unopened``
    when sealed: msgspec types only what it decodes)."""

    unopened: ClassVar[frozenset[str]] = frozenset({"characteristics"})
    inspection_id: Ref | str
    characteristics: dict[str, Any] | None


_UNSEEN = object()  # an item the case has no judgement of yet
# (earlier verdict, new verdict) -> how the (sufficient, applicable) tallies move
_MOVES = {
    (old, new): ((new is True) - (old is True), (new is not None) - (old is not None))
    for old in (True, False, None)
    for new in (True, False, None)
} | {(_UNSEEN, new): (int(new is True), int(new is not None)) for new in (True, False, None)}


def new_case(sampled: Sampled) -> dict[str, Any]:
    """A sampled case's scoring state, from its ``case.sampled.v1`` event (sealed characteristics kept
    unopened, under the profile ``~<case hex>``)."""
    characteristics: Any = sampled.characteristics
    if isinstance(characteristics, Unopened):
        return {
            "inspection_id": ref_text(sampled.inspection_id),
            "profile": UNKNOWN_PREFIX + characteristics.case,
            "sealed": characteristics,
            "verdicts": {},
        }
    return {"inspection_id": ref_text(sampled.inspection_id), "profile": profile_key(characteristics), "verdicts": {}}


def case_state(facts: list[Fact]) -> dict[str, Any] | None:
    """A case's scoring state from its own earlier events (sampled, rated), or None before it is sampled."""
    case = None
    for fact in facts:
        if fact.topic == "case.sampled.v1":
            case = new_case(fact.read(Sampled))
        elif case is not None and fact.topic == "case.rated.v1":
            verdicts = case["verdicts"]
            for j in fact.read(Rating).judgements:
                verdicts[j.item() if j.standard is not None else (j.area, j.criterion)] = j.sufficient
    return case


class ScoresView(View):
    name = "scores"
    # 2: cases kept as a memo derived from the record, not in a table; 3: listing columns;
    # 4: cases per profile (profile_cases); 5: erased cases leave the breakdown; the published
    # breakdown as the publication recorded it
    # 6: characteristics opened when settled, unopened inspections listed (PENDING); 7: an unopened
    # case's tallies by profile added from its verdicts when opened
    version = 7
    cost = 3.0
    tables = (INSPECTIONS, PENDING)
    reads_history: ClassVar[dict[str, frozenset[str]]] = {ERASED_TOPIC: CASE_TOPICS}

    @handles("inspection.scheduled.v1")
    def scheduled(self, fact: Fact, t: Tables) -> None:
        if t[PENDING].get(UNOPENED) is None:  # (written with the first inspection, however paged)
            t[PENDING].put({"id": UNOPENED, "ids": {}})
        s = fact.state
        framework = framework_by_code(s["framework"])
        t[INSPECTIONS].put(
            {
                "id": fact.key,
                "programme": s["programme"],
                "year": s["year"],
                "body": s["inspected_body"]["name"],
                "body_key": body_key(s["inspected_body"]["name"]),
                "status": "scheduled",
                "published_on": None,
                "case_count": 0,
                "framework": s["framework"],
                "fieldwork_start": text(s["fieldwork_start"]),
                "inspected_body": s["inspected_body"],
                "headline": {area: [0, 0] for area in framework.areas},
                "criteria": {criterion: [0, 0] for criterion in framework.criteria},
                "profiles": {},
                "profile_cases": {},
                "breakdown": None,
            }
        )

    @handles("inspection.fieldwork_started.v1")
    def fieldwork_started(self, fact: Fact, t: Tables) -> None:
        self._set_status(fact, t, "fieldwork")

    @handles("inspection.fieldwork_completed.v1")
    def fieldwork_completed(self, fact: Fact, t: Tables) -> None:
        self._set_status(fact, t, "fieldwork_complete")

    @handles("inspection.report_published.v1")
    def published(self, fact: Fact, t: Tables) -> None:
        row = t[INSPECTIONS].get(fact.key)
        if row is None:
            return
        s = fact.state
        # The published figures are the record: take them as published, never recompute.
        row["status"] = "published"
        row["published_on"] = text(s["published_on"])
        row["headline"] = {k: [v["sufficient"], v["applicable"]] for k, v in s["headline_scores"].items()}
        row["criteria"] = {k: [v["sufficient"], v["applicable"]] for k, v in s["criteria_scores"].items()}
        # Recorded since version 2 of the event: the breakdown as published, which erasing a case's
        # characteristics later cannot change (a rebuild could no longer read them).
        row["breakdown"] = s.get("breakdown")
        if s.get("profiles") is not None:  # as published: the cases' own events may be erased later
            row["profiles"] = s["profiles"]
            row["profile_cases"] = s["profile_cases"]
            _unmark(t, fact.key)  # nothing left to open
        t[INSPECTIONS].put(row)

    @handles(ERASED_TOPIC)
    def erased(self, fact: Fact, t: Tables) -> None:
        """Before publication an erased case's tallies leave the breakdown (they stay in the headline):
        the inspection's profiles are derived again from its cases' events recorded so far, as a
        rebuild, which cannot read the erased characteristics, derives them."""
        t.memo(CASES).pop(fact.key, None)
        case = t.derived(CASES, fact, case_state, CASE_TOPICS)
        if case is None or t.history is None:
            return
        inspection = t[INSPECTIONS].get(case["inspection_id"])
        if inspection is None or inspection["status"] == "published":
            return
        before = fact.position
        sampled = t.history(case["inspection_id"], 1 << 62, frozenset({"inspection.case_sampled.v1"}))
        profiles: dict[str, dict[str, list[int]]] = {}
        counts: dict[str, int] = {}
        for f in sampled:
            if f.position >= before:
                continue
            other_id = ref_text(f.state["case_id"])
            other = case_state([e for e in t.history(other_id, 1 << 62, CASE_TOPICS) if e.position < before])
            if other is None:
                continue
            counts[other["profile"]] = counts.get(other["profile"], 0) + 1
            if "sealed" in other:  # unopened (as every case read from the record is): added when opened
                t.memo(CASES).pop(other_id, None)  # (held opened, a rating would bump a profile not counted)
                continue
            profile = profiles.setdefault(other["profile"], {})
            for (area, _), verdict in other["verdicts"].items():
                bump(profile, area, int(verdict is True), int(verdict is not None))
        inspection["profiles"] = profiles
        inspection["profile_cases"] = counts
        t.memo(MARKED)[inspection["id"]] = None  # (the cases' profiles are unopened again)
        t[INSPECTIONS].put(inspection)

    @handles("case.sampled.v1")
    def case_added(self, fact: Fact, t: Tables) -> None:
        case = t.memo(CASES)[fact.key] = new_case(fact.read(Sampled))
        inspection = t[INSPECTIONS].get(case["inspection_id"])
        if inspection is not None:
            inspection["case_count"] += 1
            counts = inspection["profile_cases"]
            counts[case["profile"]] = counts.get(case["profile"], 0) + 1
            if "sealed" in case:
                t.memo(MARKED)[inspection["id"]] = None
            t[INSPECTIONS].put(inspection)

    @handles("case.rated.v1")
    def rated(self, fact: Fact, t: Tables) -> None:
        case = t.derived(CASES, fact, case_state, CASE_TOPICS)
        if case is None:
            return
        verdicts = case["verdicts"]
        judgements = fact.read(Rating).judgements
        inspection = t[INSPECTIONS].get(case["inspection_id"])
        if inspection is None or inspection["status"] == "published":
            # Published figures never change (the aggregate refuses such ratings anyway);
            # the case's verdicts still follow its events, as case_state would derive them.
            for j in judgements:
                verdicts[j.item() if j.standard is not None else (j.area, j.criterion)] = j.sufficient
            return
        headline, criteria = inspection["headline"], inspection["criteria"]
        unopened = "sealed" in case
        if unopened and case["profile"] not in inspection["profile_cases"]:
            # derived again (its memo was dropped) after its profile was opened into the row: open it again
            case["profile"] = profile_key(case.pop("sealed").open())
            unopened = False
        # An unopened case's tallies by profile are added from its verdicts when it is opened (settle).
        profile = None
        if not unopened:
            profile = inspection["profiles"].get(case["profile"])
            if profile is None:
                profile = inspection["profiles"][case["profile"]] = {}
        earlier = verdicts.get
        for judgement in judgements:
            if judgement.standard is None:
                area, criterion, new = judgement.area, judgement.criterion, judgement.sufficient
                item = (area, criterion)
            else:
                item = judgement.item()
                area, criterion, new = item[0], item[1], judgement.sufficient
            old = earlier(item, _UNSEEN)
            if old is new:
                continue
            verdicts[item] = new
            ds, da = _MOVES[old, new]
            # (the framework checked every area and criterion before the event was recorded)
            pair = headline[area]
            pair[0] += ds
            pair[1] += da
            pair = criteria[criterion]
            pair[0] += ds
            pair[1] += da
            if profile is None:
                continue
            pair = profile.get(area)
            if pair is None:
                profile[area] = [ds, da]
            else:
                pair[0] += ds
                pair[1] += da
        t[INSPECTIONS].put(inspection)

    def settle(self, t: Tables, final: bool) -> None:
        """On the last page known, open the unopened profiles of the inspections marked or listed, all
        at once, and add each such case's tallies, from its current verdicts, to its profile's; on an
        earlier page of a rebuild, list the inspections marked, to be opened later."""
        marked = t.memo(MARKED)
        pending = t[PENDING].get(UNOPENED) or {"id": UNOPENED, "ids": {}}
        if not final:
            if marked:
                pending["ids"].update(marked)
                marked.clear()
                t[PENDING].put(pending)
            return
        ids = [*marked, *pending["ids"]]
        marked.clear()
        if pending["ids"]:
            pending["ids"] = {}
            t[PENDING].put(pending)
        rows = [row for key in dict.fromkeys(ids) if (row := t[INSPECTIONS].get(key)) is not None]
        later = {p for row in rows for p in row["profile_cases"] if p[:1] == UNKNOWN_PREFIX}
        if not later:
            return
        cases = t.memo(CASES)
        found: dict[str, dict[str, Any]] = {}  # "~<case>" -> the case's state as of this page, unopened
        for profile in later:
            case_id = uuid_text(profile[1:])
            case = cases.get(case_id)
            if case is None or case["profile"] != profile:  # not held unopened: as the record says up to here
                upto = t.upto
                case = case_state(
                    [f for f in t.history(case_id, 1 << 62, CASE_TOPICS) if f.position <= upto]
                    if t.history is not None
                    else []
                )
            if case is None or "sealed" not in case:
                raise LookupError(f"no sealed characteristics for the profile of case {case_id}")
            found[profile] = case
        opened = open_all(case["sealed"] for case in found.values())
        keys: dict[str, str] = {}
        for profile, characteristics in zip(found, opened, strict=True):
            keys[profile] = profile_key(characteristics)
            held = cases.get(uuid_text(profile[1:]))
            if held is not None and held["profile"] == profile:  # held: opened from now on
                del held["sealed"]
                held["profile"] = keys[profile]
        for row in rows:
            counts, profiles = row["profile_cases"], row["profiles"]
            for profile in [p for p in counts if p in keys]:
                key = keys[profile]
                counts[key] = counts.get(key, 0) + counts.pop(profile)
                tallies = profiles.setdefault(key, {})
                for (area, _), verdict in found[profile]["verdicts"].items():
                    bump(tallies, area, int(verdict is True), int(verdict is not None))
            t[INSPECTIONS].put(row)

    @staticmethod
    def _set_status(fact: Fact, t: Tables, status: str) -> None:
        row = t[INSPECTIONS].get(fact.key)
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
            for name, values in (row.get("breakdown") or breakdown(row["profiles"])).items()
            if values
        },
    }


def _unmark(t: Tables, inspection_id: str) -> None:
    """The inspection holds no unopened profile any more (its published ones replaced them)."""
    t.memo(MARKED).pop(inspection_id, None)
    pending = t[PENDING].get(UNOPENED)
    if pending is not None and inspection_id in pending["ids"]:
        del pending["ids"][inspection_id]
        t[PENDING].put(pending)
