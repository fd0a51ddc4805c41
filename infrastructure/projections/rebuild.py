"""Rebuild views from the first event, in parallel processes.

Each view has its own tables and its own tracked position, so views can be
rebuilt independently: the views are split into groups of about equal cost
(``View.cost``), one process a group, up to one a CPU. Each process drops
its group's tables and projects the whole record into them in pages (one
transaction a page, see ``runner.Projector.step``: the write lock is held
only to write, so the processes run side by side even on SQLite). This
process shows progress from the tracked positions and reports the first
failure. A rebuild stopped anywhere resumes as any projection does.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from application.projections import views_named
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.tables import tracking


@dataclass(frozen=True)
class Rebuilt:
    names: tuple[str, ...]
    events: int  # positions passed: the head of the record when the rebuild started
    seconds: float
    processes: int


def plan(names: Sequence[str] | None, processes: int) -> list[list[str]]:
    """The views in at most ``processes`` groups of about equal cost (greedy, costliest first)."""
    views = sorted(views_named(names), key=lambda v: (-v.cost, v.name))
    groups: list[list[str]] = [[] for _ in range(max(1, min(processes, len(views))))]
    loads = [0.0] * len(groups)
    for view in views:
        lightest = loads.index(min(loads))
        groups[lightest].append(view.name)
        loads[lightest] += view.cost
    return [group for group in groups if group]


def rebuild(
    settings: Settings,
    names: Sequence[str] | None = None,
    *,
    processes: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Rebuilt:
    """Drop the named views (default: all) and rebuild them up to the head of the record."""
    from infrastructure.bootstrap import build_app
    from infrastructure.projections.worker import build_projector

    groups = plan(names, processes or os.cpu_count() or 1)
    chosen = tuple(sorted(name for group in groups for name in group))
    started = time.perf_counter()
    if len(groups) > 1:
        _context()  # the fork server imports what the processes need while this one resets the views
    app = build_app(settings, create_table=False)
    engine = create_projection_engine(settings)
    try:
        head = app.recorder.max_notification_id() or 0
        projector = build_projector(app, engine, settings, list(chosen))
        projector.reset()  # every chosen view at position 0, its tables empty, in one transaction
        if len(groups) == 1:
            projector.settle_head = True
            projector.catch_up(progress)
        else:
            _in_processes(settings, engine, groups, chosen, head, progress)
    finally:
        app.close()
        engine.dispose()
    return Rebuilt(chosen, head, time.perf_counter() - started, len(groups))


def _context() -> Any:
    """Rebuild processes fork from a server process that has imported what they need (1.2 s of
    imports each) and holds no connection or thread of this one; it is started on first use."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "infrastructure.bootstrap", "infrastructure.projections.worker"])
    multiprocessing.forkserver.ensure_running()
    return context


def _catch_up(settings: Settings, names: list[str], errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """A rebuild process: project the record into its group of (reset) views."""
    from infrastructure.bootstrap import build_app
    from infrastructure.projections.worker import build_projector

    try:
        app = build_app(settings, create_table=False)
        engine = create_projection_engine(settings)
        try:
            projector = build_projector(app, engine, settings, names)
            projector.settle_head = True
            projector.catch_up()
        finally:
            app.close()
            engine.dispose()
    except BaseException as error:  # reported by the parent, which fails the rebuild
        errors.put(f"{', '.join(names)}: {type(error).__name__}: {error}")
        raise SystemExit(1) from None


def _in_processes(
    settings: Settings,
    engine: sa.Engine,
    groups: list[list[str]],
    names: tuple[str, ...],
    head: int,
    progress: Callable[[int], None] | None,
) -> None:
    context = _context()
    errors = context.Queue()
    children = [context.Process(target=_catch_up, args=(settings, group, errors), daemon=True) for group in groups]
    for child in children:
        child.start()
    lowest = sa.select(sa.func.min(tracking.c.position)).where(tracking.c.name.in_(names))
    try:
        while any(child.is_alive() for child in children):
            if any(child.exitcode not in (None, 0) for child in children):
                break  # one failed: stop the others
            time.sleep(0.25)
            if progress is not None:
                with engine.connect().execution_options(snapshot=True) as conn:
                    progress(min(conn.execute(lowest).scalar() or 0, head))
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
    if any(child.exitcode != 0 for child in children):
        failures = []
        while True:
            try:
                failures.append(errors.get(timeout=0.5))
            except queue.Empty:
                break
        raise RuntimeError("rebuild failed: " + ("; ".join(failures) or "a rebuild process died"))
