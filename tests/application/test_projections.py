"""Tracked projections on a real store (SQLite and PostgreSQL): live equals rebuilt, crashes, concurrent copies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
import pytest
import sqlalchemy as sa
from eventsourcing.cryptography import AESCipher

from application.app import InspectorateApp
from application.decoding import EventDecoder
from application.personal_data import Unopened
from application.projections import VIEW_NAMES, views_named
from application.projections.scores import Rating, Sampled, ScoresView
from application.projections.store import Fact, Tables, View, handles, ref_text
from benchmarks.generate_history import Plan, generate, play
from domain.base import Actor
from domain.scoring import Tally, pool_year, tally_cases
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.reader import ViewReader
from infrastructure.projections.rebuild import plan, rebuild
from infrastructure.projections.runner import Projector
from infrastructure.projections.tables import VIEW_TABLES, tracking
from infrastructure.projections.worker import Listener, Poller, follow
from tests.factories import CCI_AREAS, FIELDWORK_START, body, characteristics, judgements
from web.bootstrap import COMPOSER, build_app, build_projector, migrate

ANN, QA = Actor("Ann Inspector", "inspector", id="token-ann"), Actor("Quinn QA", "qa_reviewer", id="token-quinn")
SMALL = Plan(cases=(18, 28), overlap=3, complaint=0.6, moderate=0.25, seed=7)


@dataclass
class World:
    settings: Settings
    app: InspectorateApp
    engine: sa.Engine

    def projector(
        self, names: list[str] | None = None, page_size: int = 1000, engine: sa.Engine | None = None
    ) -> Projector:
        projector = build_projector(self.app, engine or self.engine, self.settings, names)
        projector.page_size = page_size
        projector.ensure_tracking()
        return projector

    @property
    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    migrate(settings)
    app = build_app(settings, create_table=False)
    engine = create_projection_engine(settings)
    yield World(settings, app, engine)
    app.close()
    engine.dispose()


def snapshot(engine: sa.Engine) -> dict[str, Any]:
    """Every row of every view table, and every tracked position."""
    with engine.connect() as conn:
        rows = {
            name: [dict(r) for r in conn.execute(t.select().order_by(t.c.id)).mappings()]
            for name, t in VIEW_TABLES.items()
        }
        rows["view_tracking"] = dict(conn.execute(sa.select(tracking.c.name, tracking.c.position)).all())
    return rows


def rebuilt(world: World) -> dict[str, Any]:
    projector = world.projector()
    projector.reset()
    projector.catch_up()
    assert set(projector.read_positions().values()) == {world.head}
    return snapshot(world.engine)


def test_live_projection_follows_the_record_and_a_rebuild_gives_exactly_the_same_rows(world: World) -> None:
    projector = world.projector(page_size=200)
    waiter = (
        Listener(world.settings, world.app.recorder.channel_name)
        if world.settings.is_postgres
        else Poller(world.app, interval=0.01)
    )
    stop = threading.Event()
    follower = threading.Thread(target=follow, args=(projector, waiter, stop))
    follower.start()
    try:
        generate(world.settings, 1500, replace(SMALL, seed=8))  # a burst, written in batches
        play(world.app, 4, SMALL)  # then command by command
        in_fieldwork(world.app)
        assert ViewReader(world.engine).wait_for(VIEW_NAMES, world.head, timeout=10)
    finally:
        stop.set()
        follower.join(timeout=10)
        waiter.close()
    assert world.head > 1900
    live = snapshot(world.engine)
    assert set(live["view_tracking"].values()) == {world.head}
    # Cases sampled in one page and rated in later ones: their sealed characteristics were opened into
    # real profiles before the rows were written (ScoresView.settle), the same as a one-page rebuild.
    unpublished = [
        [*json.loads(r["profiles"]), *json.loads(r["profile_cases"])]
        for r in live["vw_score_inspections"]
        if r["status"] != "published"
    ]
    assert any(unpublished) and all("|" in profile for keys in unpublished for profile in keys)
    assert rebuilt(world) == live
    assert_views_agree_with_the_application(world)


def test_profiles_left_unopened_by_a_rebuild_cut_short_are_opened_by_the_next_run(world: World) -> None:
    """A rebuild's pages before its last leave sealed characteristics unopened (``~<case>`` profiles, the
    inspections listed in vw_score_pending); a run started afresh after a crash opens them all."""
    generate(world.settings, 1500, replace(SMALL, seed=8))
    in_fieldwork(world.app)
    cut = world.head
    for n in range(40):  # later events that touch none of the inspections in fieldwork
        world.app.schedule_inspection(ANN, "CCI", body(f"Later YOT {n}", "yot"), FIELDWORK_START)
    expected = rebuilt(world)
    cut_short = world.projector(["scores"], page_size=20)
    cut_short.reset()
    while cut_short.step() and min(cut_short.read_positions().values()) < cut:
        pass
    with world.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT profile_cases FROM vw_score_inspections")).scalars().all()
        [listed] = conn.execute(sa.text("SELECT ids FROM vw_score_pending")).scalars().all()
    unopened = [json.loads(r) for r in rows if "~" in r]
    assert unopened and json.loads(listed)  # left for later, and listed
    again = world.projector(["scores"], page_size=100)  # a new process: nothing held in memory
    again.catch_up()
    assert snapshot(world.engine) == expected


def test_a_rebuild_in_parallel_processes_gives_exactly_the_rows_of_one_process(world: World) -> None:
    generate(world.settings, 2500, SMALL)
    in_fieldwork(world.app)
    expected = rebuilt(world)  # one projector, every view
    seen: list[int] = []
    done = rebuild(world.settings, composer=COMPOSER, processes=3, progress=seen.append)
    assert done.processes == 3 and done.names == tuple(sorted(VIEW_NAMES)) and done.events == world.head
    assert snapshot(world.engine) == expected
    assert all(0 <= p <= world.head for p in seen)
    # One view alone, in one process: the others are left as they are.
    assert rebuild(world.settings, ["complaints"], composer=COMPOSER).processes == 1
    assert snapshot(world.engine) == expected


def failing_rebuild_process(settings: Settings, composer: Any, names: list[str], errors: Any) -> None:
    """Stands in for a rebuild process that fails (run in a spawned process: importable here)."""
    errors.put(f"{', '.join(names)}: Boom: injected")
    raise SystemExit(1)


def test_a_rebuild_process_that_fails_fails_the_rebuild_and_a_new_rebuild_recovers(world: World) -> None:
    generate(world.settings, 1500, SMALL)
    expected = rebuilt(world)
    with pytest.raises(RuntimeError, match=r"rebuild failed: .*Boom: injected"):
        rebuild(world.settings, composer=COMPOSER, processes=2, child=failing_rebuild_process)
    assert min(world.projector().read_positions().values()) < world.head  # the failed group was not rebuilt
    rebuild(world.settings, composer=COMPOSER, processes=2)
    assert snapshot(world.engine) == expected


def test_rebuild_groups_share_the_views_out_by_cost() -> None:
    groups = plan(COMPOSER, None, 2)
    assert sorted(name for group in groups for name in group) == sorted(VIEW_NAMES)
    costs = [sum(v.cost for v in views_named(group)) for group in groups]
    assert len(groups) == 2 and max(costs) - min(costs) <= max(v.cost for v in views_named())
    assert plan(COMPOSER, ["scores"], 8) == [["scores"]]
    assert len(plan(COMPOSER, None, 64)) == len(VIEW_NAMES)


def in_fieldwork(app: InspectorateApp) -> None:
    """One more inspection, still in fieldwork: rated, re-rated, moderated."""
    inspection_id = UUID(app.schedule_inspection(ANN, "CCI", body("Wigan YOT", "yot"), FIELDWORK_START).body["id"])
    app.start_fieldwork(ANN, inspection_id)
    for n, verdict in enumerate((True, False, None, True)):
        case_id = UUID(app.add_case(ANN, inspection_id, f"F{n}", characteristics(looked_after=n % 2 == 0)).body["id"])
        app.rate_case(ANN, case_id, judgements(verdict, CCI_AREAS))
    app.rate_case(ANN, case_id, judgements(False, CCI_AREAS)[:2])
    app.moderate_case(QA, case_id, judgements(True, CCI_AREAS)[:3], "Dip sample.")


def assert_views_agree_with_the_application(world: World) -> None:
    """The views say what the aggregates say: scores, programme years, complaints, moderations."""
    app, reader = world.app, ViewReader(world.engine)
    inspections = [app.get_inspection(i) for i in app._ids_with_topic("inspection.scheduled.v1")]
    published = [i for i in inspections if i.status == "published"]
    assert published and len(published) < len(inspections)  # some still in fieldwork
    for inspection in inspections:
        view = reader.scores(inspection.id)
        if inspection.status == "published":
            expected = inspection.headline_scores
        else:
            cases = app.list_cases(inspection.id)
            headline, _ = tally_cases((c.verdicts() for c in cases), inspection.rules.areas, inspection.rules.criteria)
            expected = {area: t.as_dict() for area, t in headline.items()}
        assert {
            a: {k: v[k] for k in ("score", "sufficient", "applicable")} for a, v in view["headline"].items()
        } == expected
        assert view["frozen"] == (inspection.status == "published")
    some = published[0]
    same_year = [i for i in published if (i.programme, i.year) == (some.programme, some.year)]
    aggregate, _, _ = pool_year(
        (
            (
                str(i.id),
                i.inspected_body["name"],
                {a: Tally(v["sufficient"], v["applicable"]) for a, v in i.headline_scores.items()},
            )
            for i in same_year
        ),
        some.rules.areas,
    )
    year = reader.programme_year(some.programme, some.year)
    assert year["inspections"] == len(same_year)
    assert year["cases"] == sum(len(i.case_refs) for i in same_year)
    assert year["aggregate"] == {a: t.as_dict() for a, t in aggregate.items()}
    complaint_ids = list(app._ids_with_topic("complaint.received.v1"))
    complaints = reader.complaints(some.published_on)
    assert complaints["total"] == len(complaint_ids) > 0
    assert complaints["open"] == sum(app.get_complaint(c).is_open for c in complaint_ids)
    # A case moderated twice appears twice in the topic scan: count each case once.
    moderated = sum(len(app.get_case(c).moderations) for c in set(app._ids_with_topic("case.moderated.v1")))
    assert reader.consistency()["overall"]["pairs"] == moderated > 0


class Boom(Exception):
    pass


def test_a_crash_inside_a_page_rolls_back_and_the_projection_resumes_without_double_counting(world: World) -> None:
    generate(world.settings, 2500, SMALL)
    expected = rebuilt(world)
    projector = world.projector(page_size=97)
    projector.reset()
    committed: list[int] = []

    def crash_on_fifth_page(conn: sa.Connection) -> None:
        if len(committed) == 4:  # the page's rows and position are written, not yet committed
            raise Boom
        committed.append(conn.execute(sa.select(sa.func.min(tracking.c.position))).scalar())

    projector.before_commit = crash_on_fifth_page
    with pytest.raises(Boom):
        projector.catch_up()
    assert set(projector.read_positions().values()) == {committed[-1]}  # four pages stand, the fifth left no trace
    projector.before_commit = None
    projector.catch_up()  # the same process carries on (its cached rows were dropped)
    assert snapshot(world.engine) == expected


def test_a_view_failing_halfway_through_a_page_leaves_no_trace_and_a_restart_resumes(world: World) -> None:
    generate(world.settings, 2500, SMALL)
    expected = rebuilt(world)
    world.projector().reset()
    failing_at = world.app.recorder.select_notifications(world.head // 2, 1, topics=["case.rated.v1"])[0].id

    class Fragile(ScoresView):
        @handles("case.rated.v1")
        def rated(self, fact: Any, tables: Any) -> None:
            super().rated(fact, tables)  # rows of earlier facts of this page are already changed in memory
            if fact.position == failing_at:
                raise Boom

    projector = world.projector(page_size=250)
    projector.views[[v.name for v in projector.views].index("scores")] = Fragile()
    committed: list[int] = []
    projector.before_commit = lambda conn: committed.append(
        conn.execute(sa.select(sa.func.min(tracking.c.position))).scalar()
    )
    with pytest.raises(Boom):
        projector.catch_up()
    stopped = projector.read_positions()
    assert set(stopped.values()) == {committed[-1]} and committed[-1] < failing_at  # the pages before the failing one
    with pytest.raises(Boom):  # the same process retries: fails again at the same place, nothing counted twice
        projector.catch_up()
    assert projector.read_positions() == stopped
    world.projector().catch_up()  # a fixed restart
    assert snapshot(world.engine) == expected


def test_two_copies_of_the_projection_running_at_once_count_every_event_exactly_once(world: World) -> None:
    generate(world.settings, 2500, SMALL)
    expected = rebuilt(world)
    world.projector().reset()
    engines = [create_projection_engine(world.settings) for _ in range(2)]
    copies = [world.projector(page_size=53, engine=engine) for engine in engines]
    copies[0].yield_on_conflict = True  # as the live worker does (backs off after a lost race)
    done = [0, 0]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        """A worker's loop: a page, then a moment for anything else (as polling does)."""
        start.wait()
        while count := copies[index].step():
            done[index] += count
            time.sleep(0.001)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    # Both copies really ran at once: each committed pages, or one lost a race and did its page again...
    assert all(done) or any(copy.conflicts for copy in copies), done
    assert sum(done) == world.head  # ...and no page was committed twice
    assert snapshot(world.engine) == expected


def test_rebuilding_one_view_leaves_the_others_alone(world: World) -> None:
    generate(world.settings, 800, SMALL)
    world.projector().catch_up()
    before = snapshot(world.engine)
    complaints = world.projector(["complaints"])
    complaints.reset()
    assert complaints.read_positions() == {"complaints": 0}
    assert ViewReader(world.engine).positions()["scores"] == world.head
    complaints.catch_up()
    assert snapshot(world.engine) == before


def test_fast_decoding_gives_what_the_mapper_gives_with_encryption_on(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path / "var", cipher_key=AESCipher.create_key(16))
    app = build_app(settings)
    play(app, 2, Plan(cases=(8, 10), complaint=1.0, moderate=0.5, agree=0.5, seed=3))
    decoder = EventDecoder(app.mapper)
    notifications = app.recorder.select_notifications(0, 10_000, inclusive_of_start=False)
    assert b"inspection_id" not in b"".join(n.state for n in notifications)  # really encrypted
    facts = decoder.facts(app.recorder.select_feed_rows(0, 10_000))
    assert len(facts) == len(notifications)
    for n, fact in zip(notifications, facts, strict=True):
        event = dict(vars(app.mapper.to_domain_event(n)))
        assert (fact.position, fact.topic, fact.key) == (n.id, n.topic, str(event.pop("originator_id")))
        event.pop("originator_version")
        assert fact.state == _ids_as_text(event)  # the same values, ids as the text the views store
        if fact.topic == "case.rated.v1":  # a shape of a few fields reads what the whole state says
            assert fact.read(Rating) == msgspec.convert(event, Rating) and fact.read(Rating).judgements
        if fact.topic == "case.sampled.v1":  # ids too, as the text the views store
            sampled = fact.read(Sampled)
            assert ref_text(sampled.inspection_id) == fact.state["inspection_id"] == str(event["inspection_id"])
            # sealed characteristics are read unopened, and open to what the whole state says
            assert isinstance(sampled.characteristics, Unopened)
            assert sampled.characteristics.open() == fact.state["characteristics"]
    # Case data reaches the views sealed with the same cipher, and reads back.
    migrate(settings)
    engine = create_projection_engine(settings)
    projector = build_projector(app, engine, settings)
    projector.ensure_tracking()
    projector.catch_up()
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in settings.data_dir.glob("views.sqlite*"))
    case = app.get_case(notifications[[n.topic for n in notifications].index("case.sampled.v1")].originator_id)
    assert case.case_ref.encode() not in raw and b"licence" not in raw and b"very_high" not in raw
    reader = ViewReader(create_projection_engine(settings), app.mapper.cipher)
    scores = reader.scores(case.inspection_id)
    assert sum(t["applicable"] for v in scores["breakdown"]["gender"].values() for t in v.values()) > 0
    assert all(d["case_ref"] for d in reader.consistency()["disagreements"])
    app.close()


class _ReadsCaseSampled(View):
    """A view that reads the state of the topic the programme-years view counts by key only."""

    name = "probe"
    tables = ()

    @handles("inspection.case_sampled.v1")
    def sampled(self, fact: Fact, t: Tables) -> None:
        pass


def test_events_whose_state_no_view_reads_are_not_decoded(world: World) -> None:
    play(world.app, 1, SMALL)
    years = world.projector(["programme_years"])
    assert years.bare == {"inspection.case_sampled.v1"}  # counted by its key: never decoded
    together = Projector(
        world.engine, world.app.recorder, years.decoder, [*views_named(["programme_years"]), _ReadsCaseSampled()]
    )
    assert together.bare == frozenset()  # another view reads its state: decoded for both
    rows = world.app.recorder.select_feed_rows(0, 10_000)
    full = years.decoder.facts(rows, years.topics)
    lean = years.decoder.facts(rows, years.topics, years.bare)
    assert [(f.position, f.topic, f.key, f.version) for f in lean] == [
        (f.position, f.topic, f.key, f.version) for f in full
    ]
    sampled = [(a, b) for a, b in zip(lean, full, strict=True) if a.topic == "inspection.case_sampled.v1"]
    assert sampled and all(a.state == {} and b.state["case_ref"] for a, b in sampled)
    # Nor is their state read from the record.
    without = world.app.recorder.select_feed_rows(0, 10_000, bare=["inspection.case_sampled.v1"])
    assert [row[:4] for row in without] == [row[:4] for row in rows]
    assert [row[4] is None for row in without] == [row[3] == "inspection.case_sampled.v1" for row in rows]
    years.catch_up()
    cases = {UUID(f.key): 0 for f in full if f.topic == "inspection.scheduled.v1"}
    for _, fact in sampled:
        cases[UUID(fact.key)] += 1
    with world.engine.connect() as conn:
        counted = dict(
            conn.execute(
                sa.select(VIEW_TABLES["vw_year_inspections"].c.id, VIEW_TABLES["vw_year_inspections"].c.case_count)
            ).all()
        )
    assert {UUID(k): v for k, v in counted.items()} == cases


@pytest.mark.parametrize("settle_head", [False, True], ids=["live", "rebuild"])
def test_views_follow_the_record_on_postgres_without_skipping_a_position_that_commits_late(
    postgres_settings: Settings, settle_head: bool
) -> None:
    """Two inserts that bypass the table lock: the later position commits first, the earlier one after.

    A rebuild (``settle_head``) also settles the record up to its head whenever nothing inserts, and
    then reads only the topics it uses: an insert in flight must keep it from settling past a hole.
    """
    migrate(postgres_settings)
    app = build_app(postgres_settings, create_table=False)
    engine = create_projection_engine(postgres_settings)
    world = World(postgres_settings, app, engine)
    generate(postgres_settings, 300, SMALL)
    projector = world.projector()
    projector.settle_head = settle_head
    projector.catch_up()
    head = world.head
    assert projector.gaps is not None and (projector.gaps.settled == head) is settle_head
    template = app.recorder.select_notifications(0, 1, topics=["inspection.scheduled.v1"])[0]
    dsn = postgres_settings.database_url.replace("+psycopg", "")  # type: ignore[union-attr]
    import psycopg

    def insert(conn: psycopg.Connection) -> int:
        row = conn.execute(
            "INSERT INTO inspectorate_events (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, %s, %s) RETURNING notification_id",
            (template.topic, template.state),
        ).fetchone()
        return row[0]

    with psycopg.connect(dsn) as early, psycopg.connect(dsn) as late:
        first = insert(early)  # not committed yet
        second = insert(late)
        late.commit()
        assert projector.step() == 0  # the page stops before the hole at `first`
        assert projector.read_positions()["scores"] == head
        early.commit()
    assert projector.catch_up() == 2
    assert set(projector.read_positions().values()) == {second} and first == head + 1
    with psycopg.connect(dsn) as doomed, psycopg.connect(dsn) as fine:
        insert(doomed)
        last = insert(fine)
        fine.commit()
        assert projector.step() == 0
        doomed.rollback()  # the hole will never fill: step over it once nobody can fill it
    assert projector.catch_up() == 2  # positions covered: the empty one and the event
    assert set(projector.read_positions().values()) == {last}
    if settle_head:  # settled to the head once the doomed insert had ended
        assert projector.gaps.settled == last
    with engine.connect() as conn:
        assert conn.execute(
            sa.select(sa.func.count()).select_from(VIEW_TABLES["vw_score_inspections"])
        ).scalar() == len(list(app._ids_with_topic("inspection.scheduled.v1")))
    app.close()
    engine.dispose()
    assert views_named() and projector.gaps is not None


def test_the_worker_runs_the_deadline_process_and_keeps_the_views_current(sqlite_settings: Settings) -> None:
    from freezegun import freeze_time

    from infrastructure.projections.worker import run_worker

    migrate(sqlite_settings)
    app = build_app(sqlite_settings, create_table=False)
    with freeze_time("2012-01-10T10:00:00Z"):  # published then: its reinspection is not due yet
        inspection_id = UUID(app.schedule_inspection(ANN, "OMI2", body(), FIELDWORK_START).body["id"])
        app.start_fieldwork(ANN, inspection_id)
        app.rate_case(
            ANN, UUID(app.add_case(ANN, inspection_id, "C1", characteristics()).body["id"]), judgements(False)
        )
        app.complete_fieldwork(ANN, inspection_id)
        reinspection = app.publish(ANN, inspection_id, date(2012, 1, 10)).body["reinspection"]
    assert app.get_reinspection(UUID(reinspection["id"])).status == "pending"
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(sqlite_settings, stop), kwargs={"composer": COMPOSER})
    worker.start()
    engine = create_projection_engine(sqlite_settings)
    try:
        reader = ViewReader(engine)
        for _ in range(200):  # today is long past 2013-01-10: the worker marks it due, the view shows it
            if [r["status"] for r in reader.reinspections()] == ["due"]:
                break
            time.sleep(0.025)
        assert [r["status"] for r in reader.reinspections()] == ["due"]
        assert app.get_reinspection(UUID(reinspection["id"])).status == "due"
    finally:
        stop.set()
        worker.join(timeout=10)
        engine.dispose()
        app.close()


def _ids_as_text(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _ids_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ids_as_text(v) for v in value]
    return value
