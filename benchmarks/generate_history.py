"""A realistic inspection history, written through the application.

The scenario plays inspections on a simulated calendar (freezegun moves the
one clock): scheduling, fieldwork with sampled cases of realistic
characteristics, ratings and re-ratings by inspectors and local assessors,
quality-assurance moderations (some after publication), publication,
reinspections of reports of concern and their follow-ups, and complaints
through their lifecycle (some answered late). Several inspections overlap.

Two ways to use it:

- ``play(app, ...)``: every command through the real application (tests:
  thousands of events on either backend);
- ``generate(settings, events=1_000_000)``: the same commands against an
  in-memory copy of the application, whose stored events (already encoded,
  and encrypted when a cipher key is set) are then written to the real
  record in batches through the application's recorder. A million events
  take minutes, not hours.

    python -m benchmarks.generate_history --events 1000000 [--data-dir DIR | --database-url URL]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from freezegun import freeze_time

from application.app import InspectorateApp
from application.personal_data import MemoryKeyStore
from domain.base import SYSTEM, Actor, caused_by
from domain.calendar import add_working_days
from domain.errors import DuplicateInspection, InvalidValue
from domain.frameworks import framework_for
from infrastructure.config import Settings
from infrastructure.holidays_calendar import is_bank_holiday

AREAS = {
    "CCI": ("safeguarding", "risk_of_harm", "likelihood_of_reoffending"),
    "OMI2": ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement"),
}
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")
PLACES = (
    "Cumbria",
    "Cheshire",
    "Greater Manchester",
    "Merseyside",
    "Lancashire",
    "London",
    "Durham Tees Valley",
    "Northumbria",
    "Warwickshire",
    "Staffordshire and West Midlands",
    "West Mercia",
    "Avon and Somerset",
    "Bedfordshire",
    "Cambridgeshire",
    "Derbyshire",
    "Devon and Cornwall",
    "Dorset",
    "Essex",
    "Gloucestershire",
    "Hampshire",
    "Hertfordshire",
    "Humberside",
    "Kent",
    "Leicestershire",
    "Lincolnshire",
    "Norfolk",
    "Northamptonshire",
    "Nottinghamshire",
    "South Yorkshire",
    "Suffolk",
    "Surrey",
    "Sussex",
    "Thames Valley",
    "West Yorkshire",
    "Wiltshire",
    "Dyfed-Powys",
    "Gwent",
    "North Wales",
    "South Wales",
)
REGIONS = ("North West", "North East", "London", "Midlands", "South West", "South East", "Wales", "East")
# Each actor has a stable id, as a token gives one (a case's assessor is recognised by it, not by name).
INSPECTORS = tuple(
    Actor(f"Inspector {n}", "inspector", id=f"inspector-{n.lower()}")
    for n in ("Ahmed", "Brown", "Clarke", "Davies", "Evans")
)
QA = tuple(Actor(f"QA {n}", "qa_reviewer", id=f"qa-{n.lower()}") for n in ("Fisher", "Green"))
CATEGORIES = ("methodology", "report_wording", "conduct", "process", "other")
OUTCOMES = ("upheld", "partly_upheld", "not_upheld", "withdrawn")
# Drivers and pools keep real time: connection timeouts must not expire when the calendar jumps.
REAL_TIME = ["psycopg", "psycopg_pool", "sqlalchemy"]
# Events played per inspection in flight (Plan.overlap) before the 2009 programmes' periods end (measured: 4 in
# flight gave 33,627 events, fieldwork starting from 2009-10-29 to 2013-03-31).
EVENTS_PER_SLOT = 8_000


def _in_force(programme: str, day: date) -> bool:
    try:
        framework_for(programme, day)
    except InvalidValue:
        return False
    return True


STANDARDS_PROGRAMMES = ("YOS", "PROBATION")  # the 2018 standards framework


def body_for(programme: str, index: int) -> dict[str, str]:
    place = PLACES[index % len(PLACES)]
    suffix = "" if index < len(PLACES) else f" {index // len(PLACES) + 1}"
    if programme == "YOS":
        return {"name": f"{place} YOS{suffix}", "type": "yot", "region": REGIONS[index % len(REGIONS)]}
    if programme == "PROBATION":
        kind = ("nps_division", "crc")[index % 2]
        return {"name": f"{place} {kind.upper()}{suffix}", "type": kind, "region": REGIONS[index % len(REGIONS)]}
    if programme == "CCI":
        return {"name": f"{place} YOT{suffix}", "type": "yot", "region": REGIONS[index % len(REGIONS)]}
    return {
        "name": f"{place} Probation Trust{suffix}",
        "type": "probation_trust",
        "region": REGIONS[index % len(REGIONS)],
    }


def characteristics(rng: random.Random, programme: str) -> dict[str, Any]:
    youth = programme in ("CCI", "YOS")
    return {
        "gender": rng.choices(("female", "male", "other", "unknown"), (15, 83, 1, 1) if youth else (12, 86, 1, 1))[0],
        "ethnicity": rng.choices(("white", "bame", "unknown"), (64, 34, 2))[0],
        "age_band": rng.choice(("10-14", "15-17"))
        if youth
        else rng.choices(("18-24", "25-49", "50+"), (25, 62, 13))[0],
        "disability": rng.choices((True, False, None, "unknown"), (21, 70, 6, 3))[0],
        "looked_after": rng.choices((True, False, None), (21, 77, 2))[0] if youth else None,
        "disposal": rng.choice(("pre_court", "community", "custody"))
        if youth
        else rng.choices(("community", "custody", "licence"), (60, 15, 25))[0],
        "risk_level": rng.choices(("low", "medium", "high", "very_high"), (30, 45, 20, 5))[0],
    }


@dataclass
class Plan:
    """Sizes and rates of the scenario."""

    cases: tuple[int, int] = (100, 220)
    rerate: float = 0.15
    moderate: float = 0.10
    agree: float = 0.85
    complaint: float = 0.08
    local_assessor: float = 0.28
    overlap: int = 4  # inspections in flight at once
    seed: int = 2011
    standards: float = 0.0  # share of the events from 2018 inspections (YOS, PROBATION), played after the rest


@dataclass(order=True)
class _Task:
    when: datetime
    seq: int
    steps: Iterator[datetime] = field(compare=False)
    is_inspection: bool = field(default=False, compare=False)


class Scenario:
    """Plays inspections on a simulated calendar against an application."""

    def __init__(
        self,
        app: InspectorateApp,
        plan: Plan,
        clock: Any,
        programmes: tuple[str, ...] = ("CCI", "OMI2"),
        first_day: datetime | None = None,
    ) -> None:
        self.app = app
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.clock = clock  # freezegun's frozen time
        self.queue: list[_Task] = []
        self.seq = itertools.count()
        self.programmes = programmes
        self.first_day = first_day or datetime(2009, 10, 1, 9, tzinfo=UTC)
        self.bodies = {programme: itertools.count() for programme in (*programmes, "CCI", "OMI2")}
        self.started = 0

    def play(self, inspections: int, until: Callable[[], bool] = lambda: False) -> int:
        """Run until ``inspections`` have started and everything has settled, or ``until()`` is true."""
        day = self.first_day
        for _ in range(min(self.plan.overlap, inspections)):
            day += timedelta(days=3)
            self._start(day)
        while self.queue and not until():
            task = heapq.heappop(self.queue)
            self.clock.move_to(task.when)
            following = next(task.steps, None)
            if following is not None:
                heapq.heappush(self.queue, _Task(following, next(self.seq), task.steps, task.is_inspection))
            elif self.started < inspections and task.is_inspection:
                self._start(task.when + timedelta(days=self.rng.randint(1, 6)))
        return self.started

    def _start(
        self,
        when: datetime,
        programme: str | None = None,
        body: dict[str, str] | None = None,
        reinspection_id: UUID | None = None,
    ) -> None:
        """Start an inspection whose fieldwork starts four weeks on, under a programme in force then.
        Once no programme is (the 2009 frameworks end in 2012 and 2013), nothing more starts."""
        in_force = [p for p in self.programmes if _in_force(p, (when + timedelta(weeks=4)).date())]
        if programme is not None and programme not in in_force:
            return
        if not in_force:
            return
        programme = programme or self.rng.choice(in_force)
        body = body or body_for(programme, next(self.bodies[programme]) % (len(PLACES) * 3))
        self.started += reinspection_id is None
        steps = self.inspection(when, programme, body, reinspection_id)
        heapq.heappush(self.queue, _Task(when, next(self.seq), steps, is_inspection=True))

    def _later(self, when: datetime, steps: Iterator[datetime]) -> None:
        heapq.heappush(self.queue, _Task(when, next(self.seq), steps))

    # -- one inspection, step by step (each yield: when to carry on) ------------------------

    def inspection(
        self, when: datetime, programme: str, body: dict[str, str], reinspection_id: UUID | None
    ) -> Iterator[datetime]:
        app, rng, plan = self.app, self.rng, self.plan
        lead = rng.choice(INSPECTORS)
        start = (when + timedelta(weeks=4)).date()
        try:
            inspection_id = UUID(app.schedule_inspection(lead, programme, body, start).body["id"])
        except DuplicateInspection:
            return
        if reinspection_id is not None:
            app.schedule_reinspection(lead, reinspection_id, inspection_id)
        yield datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=9)
        app.start_fieldwork(lead, inspection_id)
        standards = programme in STANDARDS_PROGRAMMES
        if standards:
            population = rng.randint(150, 2000)
            app.record_caseload(
                lead,
                inspection_id,
                population,
                {"gender": {"male": population - population // 6, "female": population // 6}},
            )
        quality = min(0.97, max(0.3, rng.gauss(0.78, 0.08) if rng.random() > 0.1 else rng.gauss(0.45, 0.05)))
        count = rng.randint(*plan.cases)
        cases: list[tuple[UUID, Actor]] = []
        profiles: dict[UUID, dict[str, Any]] = {}
        for n in range(count):
            yield self._now() + timedelta(minutes=rng.randint(5, 40))
            k = 0 if rng.random() > plan.local_assessor else rng.randint(1, 40)
            assessor = (
                lead
                if not k
                else Actor(
                    f"Local assessor {k}",
                    "local_assessor",
                    organisation=f"Elsewhere {n % 7}",
                    id=f"local-assessor-{k}-{n % 7}",
                )
            )
            profile = characteristics(rng, programme)
            case_id = UUID(app.add_case(assessor, inspection_id, f"{programme}-{n:04d}", profile).body["id"])
            app.rate_case(assessor, case_id, self._judgements(programme, quality, profile=profile))
            cases.append((case_id, assessor))
            profiles[case_id] = profile
        for case_id, assessor in rng.sample(cases, int(len(cases) * plan.rerate)):
            yield self._now() + timedelta(minutes=rng.randint(10, 90))
            app.rate_case(assessor, case_id, self._judgements(programme, quality, some=True, profile=profiles[case_id]))
        moderated = rng.sample(cases, max(1, int(len(cases) * plan.moderate)))
        late = moderated[: len(moderated) // 5]
        for case_id, _ in moderated[len(late) :]:
            yield self._now() + timedelta(minutes=rng.randint(10, 60))
            self._moderate(programme, case_id)
        yield self._now() + timedelta(days=1)
        app.complete_fieldwork(lead, inspection_id)
        if standards:
            inspection = app.get_inspection(inspection_id)
            for standard in inspection.rules.standards_for_body(body["type"]):
                if standard.kind == "organisational" or rng.random() < 0.05:  # now and then an override
                    yield self._now() + timedelta(hours=rng.randint(1, 30))
                    rating = rng.choices(
                        ("outstanding", "good", "requires_improvement", "inadequate"), (10, 50, 30, 10)
                    )[0]
                    app.rate_standard(lead, inspection_id, standard.code, rating, "Evidence from the fieldwork.")
        yield self._now() + timedelta(weeks=rng.randint(6, 10))
        published = app.publish(lead, inspection_id, self._today())
        reinspection = published.body.get("reinspection")
        for case_id, _ in late:
            yield self._now() + timedelta(days=rng.randint(1, 20))
            self._moderate(programme, case_id)
        if reinspection is not None:
            self._later(
                self._now() + timedelta(days=300),
                self.follow_up(programme, body, UUID(reinspection["id"]), date.fromisoformat(reinspection["due_on"])),
            )
        if rng.random() < plan.complaint:
            self._later(self._now() + timedelta(days=rng.randint(5, 25)), self.complaint(inspection_id, body))

    def follow_up(
        self, programme: str, body: dict[str, str], reinspection_id: UUID, due_on: date
    ) -> Iterator[datetime]:
        """A report of concern: the reinspection becomes due, then is scheduled (mostly) and played."""
        yield datetime.combine(due_on, datetime.min.time(), UTC) + timedelta(hours=2)
        with caused_by(SYSTEM, "deadline-process"):
            reinspection = self.app.get_reinspection(reinspection_id)
            if reinspection.become_due(self._today()):
                self.app.save(reinspection)
        if self.rng.random() < 0.8:
            self._start(self._now() + timedelta(days=self.rng.randint(5, 40)), programme, body, reinspection_id)

    def complaint(self, inspection_id: UUID, body: dict[str, str]) -> Iterator[datetime]:
        app, rng = self.app, self.rng
        handler = rng.choice(INSPECTORS)
        complainant = Actor(
            f"{body['name']} representative",
            "organisation",
            organisation=body["name"],
            id=f"organisation-{body['name'].lower()}",
        )
        complaint_id = UUID(
            app.receive_complaint(complainant, inspection_id, rng.choice(CATEGORIES), "Summary of the complaint.").body[
                "id"
            ]
        )
        if rng.random() < 0.1:
            return  # still waiting, soon overdue
        yield self._now() + timedelta(days=rng.randint(1, 4))
        app.acknowledge_complaint(handler, complaint_id)
        if rng.random() < 0.1:
            return
        due = add_working_days(self._today(), 18, is_bank_holiday)
        yield datetime.combine(due, datetime.min.time(), UTC) + timedelta(days=rng.randint(-10, 8), hours=10)
        app.respond_to_complaint(handler, complaint_id, "Our response.")
        if rng.random() < 0.3:
            yield self._now() + timedelta(days=rng.randint(5, 20))
            app.escalate_complaint(handler, complaint_id, "Not satisfied.")
            yield self._now() + timedelta(days=rng.randint(10, 30))
            app.respond_to_complaint(handler, complaint_id, "Our further response.")
        yield self._now() + timedelta(days=rng.randint(3, 15))
        app.close_complaint(handler, complaint_id, rng.choices(OUTCOMES, (15, 20, 55, 10))[0])

    # -- helpers ------------------------------------------------------------------------------------

    def _judgements(
        self, programme: str, quality: float, *, some: bool = False, profile: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        if programme in STANDARDS_PROGRAMMES:
            rules = framework_for(programme, date(2019, 1, 1))
            questions = [(s.code, q) for s in rules.case_standards_for(profile or {}) for q in rules.key_questions]
            if some:
                questions = self.rng.sample(questions, self.rng.randint(1, 3))
            return [{"standard": s, "question": q, "sufficient": self._verdict(quality)} for s, q in questions]
        items = [(a, c) for a in AREAS[programme] for c in CRITERIA]
        if some:
            items = self.rng.sample(items, self.rng.randint(1, 3))
        return [{"area": a, "criterion": c, "sufficient": self._verdict(quality)} for a, c in items]

    def _verdict(self, quality: float) -> bool | None:
        return None if self.rng.random() < 0.07 else self.rng.random() < quality

    def _moderate(self, programme: str, case_id: UUID) -> None:
        case = self.app.get_case(case_id)
        judgements = []
        for item in self.rng.sample(list(case.judgements.values()), self.rng.randint(2, len(case.judgements))):
            verdict = item["sufficient"]
            if self.rng.random() > self.plan.agree:
                verdict = self.rng.choice([v for v in (True, False, None) if v is not verdict])
            if "standard" in item:
                judgements.append({"standard": item["standard"], "question": item["question"], "sufficient": verdict})
            else:
                judgements.append({"area": item["area"], "criterion": item["criterion"], "sufficient": verdict})
        self.app.moderate_case(self.rng.choice(QA), case_id, judgements, "Dip sample.")

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _today(self) -> date:
        return self._now().date()


def play(app: InspectorateApp, inspections: int, plan: Plan | None = None) -> int:
    """Play a history of ``inspections`` inspections through ``app``; the last position recorded."""
    with freeze_time("2009-10-01 09:00:00", ignore=REAL_TIME) as frozen:
        Scenario(app, plan or Plan(), frozen).play(inspections)
    return app.recorder.max_notification_id() or 0


def generate(
    settings: Settings,
    events: int,
    plan: Plan | None = None,
    batch: int = 5000,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Write a history of at least ``events`` events to the record of ``settings``; the head position."""
    say = progress or (lambda message: None)
    plan = plan or Plan()
    # The 2009 programmes' periods (2009-04 to 2013-03) hold about EVENTS_PER_SLOT events per inspection
    # in flight; a larger record runs more inspections at once rather than past the periods' end.
    plan = replace(plan, overlap=max(plan.overlap, math.ceil(events / EVENTS_PER_SLOT)))
    memory_env = settings.event_store_env() | {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    }
    memory_env.pop("APPLICATION_RECORDER_TOPIC", None)
    memory = InspectorateApp(memory_env, is_holiday=is_bank_holiday)
    memory.case_keys.store = MemoryKeyStore()  # cases' personal fields sealed as the real store seals them
    started = time.perf_counter()
    plan = plan or Plan()
    first_part = events - int(events * plan.standards)
    with freeze_time("2009-10-01 09:00:00", ignore=REAL_TIME) as frozen:
        Scenario(memory, plan, frozen).play(
            10**9, until=lambda: (memory.recorder.max_notification_id() or 0) >= first_part
        )
    if plan.standards:
        with freeze_time("2018-08-01 09:00:00", ignore=REAL_TIME) as frozen:
            Scenario(memory, plan, frozen, STANDARDS_PROGRAMMES, datetime(2018, 8, 1, 9, tzinfo=UTC)).play(
                10**9, until=lambda: (memory.recorder.max_notification_id() or 0) >= events
            )
    if (memory.recorder.max_notification_id() or 0) < events:
        say(f"the programmes' periods ended after {memory.recorder.max_notification_id()} of {events} events")
    say(f"played {memory.recorder.max_notification_id()} events in memory in {time.perf_counter() - started:.0f} s")
    try:
        return copy_record(memory, settings, batch, say)
    finally:
        memory.close()


def copy_record(
    source: InspectorateApp, settings: Settings, batch: int = 5000, progress: Callable[[str], None] | None = None
) -> int:
    """Append every stored event of ``source`` to the record of ``settings`` as stored (no re-encoding)."""
    from web.bootstrap import build_app, migrate

    say = progress or (lambda message: None)
    migrate(settings)
    target = build_app(settings, create_table=False)
    head = source.recorder.max_notification_id() or 0
    started = time.perf_counter()
    try:
        keys = source.case_keys.pending_keys()  # (an in-memory source keeps its cases' keys there)
        if keys:  # first: a reader following the copy opens each case's data as it comes
            target.recorder.insert_case_keys(keys)  # type: ignore[attr-defined]
        position = 0
        while page := source.recorder.select_notifications(position, batch, inclusive_of_start=False):
            target.recorder.insert_events(page)
            position = page[-1].id
            say(f"wrote {position:,}/{head:,} events ({position / (time.perf_counter() - started):,.0f} ev/s)")
        return target.recorder.max_notification_id() or 0
    finally:
        target.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("var-bench"))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument(
        "--standards-share", type=float, default=0.0, help="share of the events from 2018 inspections (YOS, PROBATION)"
    )
    args = parser.parse_args(argv)
    settings = (
        Settings.from_env()
        if not (args.data_dir or args.database_url)
        else Settings(data_dir=args.data_dir, database_url=args.database_url, cipher_key=Settings.from_env().cipher_key)
    )
    head = generate(
        settings,
        args.events,
        Plan(seed=args.seed, standards=args.standards_share),
        progress=lambda m: print(f"\r{m}", end="", file=sys.stderr, flush=True),
    )
    print(f"\nhead position {head}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
