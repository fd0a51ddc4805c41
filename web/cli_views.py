"""`inspectorate project` (the projection worker) and `inspectorate views rebuild|status`."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import TextIO

from application.projections import VIEW_NAMES
from infrastructure.bootstrap import build_app, migrate
from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.reader import ViewReader
from infrastructure.projections.rebuild import rebuild
from infrastructure.projections.worker import run_worker


def cmd_project(args: argparse.Namespace) -> int:
    """Keep every view current and run the deadline process until SIGTERM/SIGINT."""
    settings = Settings.from_env()
    migrate(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(settings, stop, parent_pid=os.getppid() if args.exit_with_parent else None)
    return 0


class Progress:
    """A one-line progress bar on stderr: events done, events per second, time left."""

    def __init__(self, start: int, head: int, out: TextIO = sys.stderr, every: float = 0.25) -> None:
        self.start, self.head, self.out, self.every = start, head, out, every
        self.began = self.shown = time.perf_counter()

    def update(self, position: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.shown < self.every:
            return
        self.shown = now
        done, total = position - self.start, max(1, self.head - self.start)
        rate = done / max(now - self.began, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        filled = int(30 * min(done, total) / total)
        self.out.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} events  {rate:,.0f} ev/s  ETA {eta:,.0f} s "
        )
        self.out.flush()

    def finish(self, position: int) -> float:
        self.update(position, force=True)
        self.out.write("\n")
        return time.perf_counter() - self.began


def cmd_views_rebuild(args: argparse.Namespace) -> int:
    """Drop the named views (or all) and rebuild them from the first event, in parallel processes."""
    settings = Settings.from_env()
    migrate(settings)
    app = build_app(settings, create_table=False)
    head = app.recorder.max_notification_id() or 0
    app.close()
    progress = Progress(0, head)
    done = rebuild(settings, args.view, processes=args.processes, progress=progress.update)
    progress.finish(head)
    print(
        f"rebuilt {', '.join(done.names)}: {done.events:,} events in {done.seconds:.1f} s "
        f"({done.events / max(done.seconds, 1e-9):,.0f} ev/s, {done.processes} process(es))"
    )
    return 0


def cmd_views_status(_: argparse.Namespace) -> int:
    """Each view's position and lag behind the head of the record."""
    settings = Settings.from_env()
    migrate(settings)
    app = build_app(settings, create_table=False)
    engine = create_projection_engine(settings)
    try:
        head = app.recorder.max_notification_id() or 0
        print(f"head\t{head}")
        for name, position in ViewReader(engine).positions().items():
            print(f"{name}\tposition {position}\tlag {max(0, head - position)}")
    finally:
        app.close()
        engine.dispose()
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number of at least 1")
    return int(text)


def register(sub: argparse._SubParsersAction) -> None:
    project = sub.add_parser("project", help="run the projection worker (views and deadline process)")
    project.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    project.set_defaults(func=cmd_project)
    views = sub.add_parser("views", help="read views").add_subparsers(dest="views_command", required=True)
    parser = views.add_parser("rebuild", help="drop and rebuild views from the first event")
    parser.add_argument("--view", action="append", choices=VIEW_NAMES, help="a view to rebuild (repeatable); default all")
    parser.add_argument(
        "--processes", type=_positive, default=None, help="rebuild processes (default: one a CPU, at most one a view)"
    )
    parser.set_defaults(func=cmd_views_rebuild)
    views.add_parser("status", help="each view's position and lag").set_defaults(func=cmd_views_status)


def _register_with_cli() -> None:
    from web.cli import EXTENSIONS

    if register not in EXTENSIONS:
        EXTENSIONS.append(register)


_register_with_cli()
