"""Rebuild views from the first event, in parallel processes.

Each view has its own tables and its own tracked position, so views can be
rebuilt independently: the views are split into groups of about equal cost
(``View.cost``), one process a group, up to one a CPU; this process takes
the costliest group itself. Each projects the whole record into its group's
(reset) tables in pages (one transaction a page, see ``runner.Projector.step``:
the write lock is held only to write, so the processes run side by side even
on SQLite). This process shows progress from the tracked positions and reports
the first failure. A rebuild stopped anywhere resumes as any projection does.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from infrastructure.composer import Composer
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.tables import tracking

if TYPE_CHECKING:
    from infrastructure.projections.runner import Projector


@dataclass(frozen=True)
class Rebuilt:
    names: tuple[str, ...]
    events: int  # positions passed: the head of the record when the rebuild started
    seconds: float
    processes: int


def plan(composer: Composer, names: Sequence[str] | None, processes: int) -> list[list[str]]:
    """The views in at most ``processes`` groups of about equal cost (greedy, costliest first)."""
    views = sorted(composer.views(names), key=lambda v: (-v.cost, v.name))
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
    composer: Composer,
    processes: int | None = None,
    progress: Callable[[int], None] | None = None,
    child: Callable[..., None] | None = None,
) -> Rebuilt:
    """Drop the named views (default: all) and rebuild them up to the head of the record.

    This process rebuilds the costliest group itself; each other group gets a process of its own,
    started just before (fresh, ``spawn``: no inherited connection or thread), whose imports
    (over a second) then overlap with this process's work instead of delaying it. ``child`` is what those
    processes run (default ``_catch_up``; tests stand in a failing one).
    """
    groups = plan(composer, names, processes or os.cpu_count() or 1)
    chosen = tuple(sorted(name for group in groups for name in group))
    started = time.perf_counter()
    app = composer.open_app(settings)
    engine = create_projection_engine(settings)
    try:
        head = app.recorder.max_notification_id() or 0
        projector = composer.projector(app, engine, settings, list(chosen))
        projector.reset()  # every chosen view at position 0, its tables empty, in one transaction
        own = composer.projector(app, engine, settings, groups[0])
        own.settle_head = True
        if len(groups) == 1:
            own.catch_up(progress)
        else:
            _with_processes(settings, composer, engine, own, groups[1:], chosen, head, progress, child or _catch_up)
    finally:
        app.close()
        engine.dispose()
    return Rebuilt(chosen, head, time.perf_counter() - started, len(groups))


def _catch_up(settings: Settings, composer: Composer, names: list[str], errors: multiprocessing.Queue) -> None:
    """A rebuild process: project the record into its group of (reset) views."""
    try:
        app = composer.open_app(settings)
        engine = create_projection_engine(settings)
        try:
            projector = composer.projector(app, engine, settings, names)
            projector.settle_head = True
            projector.catch_up()
        finally:
            app.close()
            engine.dispose()
    except BaseException as error:  # reported by the parent, which fails the rebuild
        errors.put(f"{', '.join(names)}: {type(error).__name__}: {error}")
        raise SystemExit(1) from None


class _ChildFailed(Exception):
    pass


def _with_processes(
    settings: Settings,
    composer: Composer,
    engine: sa.Engine,
    own: Projector,
    groups: list[list[str]],
    names: tuple[str, ...],
    head: int,
    progress: Callable[[int], None] | None,
    target: Callable[..., None],
) -> None:
    """Rebuild ``own``'s group here while the other groups are rebuilt in processes of their own
    (each runs ``target(settings, composer, names, errors)``: ``_catch_up``, or a test's stand-in)."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    children = [
        context.Process(target=target, args=(settings, composer, group, errors), daemon=True) for group in groups
    ]
    for child in children:
        child.start()
    lowest = sa.select(sa.func.min(tracking.c.position)).where(tracking.c.name.in_(names))
    last_shown = 0.0

    def show(_: int = 0, *, every: float = 0.25) -> None:
        """Progress over every view (the lowest position), at most every ``every`` s; stop at a failure."""
        nonlocal last_shown
        if any(child.exitcode not in (None, 0) for child in children):
            raise _ChildFailed
        if progress is not None and time.monotonic() - last_shown >= every:
            last_shown = time.monotonic()
            with engine.connect().execution_options(snapshot=True) as conn:
                progress(min(conn.execute(lowest).scalar() or 0, head))

    failed = False
    try:
        own.catch_up(show)
        while any(child.is_alive() for child in children):
            show()
            time.sleep(0.05)
        show(every=0)
    except _ChildFailed:
        failed = True
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
    if failed or any(child.exitcode != 0 for child in children):
        failures = []
        while True:
            try:
                failures.append(errors.get(timeout=0.5))
            except queue.Empty:
                break
        raise RuntimeError("rebuild failed: " + ("; ".join(failures) or "a rebuild process died"))
