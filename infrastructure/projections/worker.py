"""The projection worker: follows the record live, runs the deadline process and delivers webhooks.

Several may run (on several machines, against one PostgreSQL): exactly one of them
works at a time, the leader (``infrastructure.leadership``); the others stand by and
take over within seconds of its death.

SQLite is polled (a cheap MAX(rowid) every 50 ms). PostgreSQL wakes on the
recorder's NOTIFY (channel = the events table's name), at most once per
25 ms (so under load a page covers several commits), with a poll every
second as a fallback in case a notification is lost over a reconnection.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from functools import partial
from pathlib import Path

import psycopg

from infrastructure.composer import Composer, EventApp
from infrastructure.config import Settings
from infrastructure.files import private_file
from infrastructure.leadership import Leadership, leadership_for
from infrastructure.parent import watch_parent
from infrastructure.projections.engine import create_projection_engine
from infrastructure.projections.runner import Projector

log = logging.getLogger("inspectorate.projections")

POLL_SECONDS = 0.05
FALLBACK_POLL_SECONDS = 1.0
GATHER_SECONDS = 0.025  # PostgreSQL: after a notification, wait this long for more before a page
DEADLINE_SECONDS = 60.0
HEARTBEAT_FILE = "projection-worker.heartbeat"  # in the data directory
HEARTBEAT_MAX_AGE = 30.0  # `project --check`: a worker whose loop has not turned for this long is unhealthy


class Poller:
    """SQLite: wake when the head of the record passes the projector's position."""

    def __init__(self, app: EventApp, interval: float = POLL_SECONDS) -> None:
        self.app = app
        self.interval = interval

    def arm(self) -> None:
        return None

    def wait(self, stop: threading.Event, position: int) -> None:
        """Until the head passes ``position``, or a second at most: the loop turns (and beats) while idle."""
        until = time.monotonic() + FALLBACK_POLL_SECONDS
        while not stop.is_set() and time.monotonic() < until:
            if (self.app.recorder.max_notification_id() or 0) > position:
                return
            stop.wait(self.interval)

    def close(self) -> None:
        return None


class Listener:
    """PostgreSQL: a thread LISTENs on the events channel and raises a flag on every NOTIFY."""

    def __init__(
        self, settings: Settings, channel: str, fallback: float = FALLBACK_POLL_SECONDS, gather: float = GATHER_SECONDS
    ) -> None:
        self.dsn = settings.database_url.replace("postgresql+psycopg", "postgresql")  # type: ignore[union-attr]
        self.channel = channel
        self.fallback = fallback
        self.gather = gather
        self._armed_at = 0.0
        self.notified = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="projection-listener", daemon=True)
        self._thread.start()

    def arm(self) -> None:
        """Forget earlier notifications: the caller is about to read everything there is."""
        self.notified.clear()
        self._armed_at = time.monotonic()

    def wait(self, stop: threading.Event, position: int) -> None:
        if self.notified.wait(self.fallback) and self.gather:
            # At most one catch-up per ``gather`` seconds: under load a page per notification
            # cost ~1.5 ms of CPU per event (a page's round trips), taken from the requests.
            # When commits are further apart than that, nothing waits.
            remaining = self._armed_at + self.gather - time.monotonic()
            if remaining > 0:
                stop.wait(remaining)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(self.channel)))
                    self.notified.set()  # anything committed before LISTEN took effect
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.25, stop_after=1):
                            self.notified.set()
            except Exception as error:
                log.warning("projection listener: %s; reconnecting", type(error).__name__)
                self.notified.set()
                self._stop.wait(1.0)


class Heartbeat:
    """A file the worker touches as its loop turns (at most once a second), so that something outside
    (compose's health check: `inspectorate project --check`) can tell a live worker from a stuck one."""

    def __init__(self, path: Path, every: float = 1.0) -> None:
        self.path, self.every = path, every
        self._last = 0.0

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        first, self._last = not self._last, now
        try:
            if first:  # created (or tightened) to 0600 like every file in the data directory
                private_file(self.path)
            os.utime(self.path)
        except OSError as error:  # a full or read-only disk must not stop the views; --check will say so
            log.warning("projection worker: heartbeat not written (%s)", type(error).__name__)


def heartbeat_path(settings: Settings) -> Path:
    return settings.data_dir / HEARTBEAT_FILE


def heartbeat_age(settings: Settings) -> float | None:
    """Seconds since the worker's loop last turned, or None: no heartbeat at all."""
    try:
        return max(0.0, time.time() - heartbeat_path(settings).stat().st_mtime)
    except OSError:
        return None


def follow(
    projector: Projector, waiter: Poller | Listener, stop: threading.Event, heartbeat: Heartbeat | None = None
) -> None:
    """Keep the views current until ``stop`` is set; survives database outages."""
    backoff = 0.1
    while not stop.is_set():
        if heartbeat is not None:  # also while the database is down: the worker is alive, retrying
            heartbeat.beat()
        try:
            waiter.arm()
            projector.catch_up()
            backoff = 0.1
        except Exception as error:
            log.warning("projection step failed (%s: %s); retrying", type(error).__name__, error)
            stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)
            continue
        waiter.wait(stop, projector.position)


def run_deadlines(
    app: EventApp, stop: threading.Event, interval: float = DEADLINE_SECONDS, settings: Settings | None = None
) -> None:
    """The deadline process: mark reinspections due and recommendations' responses overdue, and apply
    the retention schedule (when INSPECTORATE_RETENTION_YEARS sets one), at start and then every
    ``interval`` seconds."""
    while not stop.is_set():
        try:
            marked = app.mark_due_reinspections()
            if marked:
                log.info("deadline process: %d reinspection(s) became due", marked)
            overdue = app.mark_overdue_responses()
            if overdue:
                log.info("deadline process: %d recommendation response(s) became overdue", overdue)
            if settings is not None and settings.retention_years:
                erased = apply_retention(app, settings)
                if erased:
                    log.info("deadline process: %d case(s) erased under the retention schedule", erased)
        except Exception as error:
            log.warning("deadline process failed (%s); will retry", type(error).__name__)
        stop.wait(interval)


def apply_retention(app: EventApp, settings: Settings) -> int:
    """Erase the cases the retention schedule says are due, and forget kept answers that quote them."""
    if not settings.retention_years:
        return 0
    erased = app.erase_expired_cases(settings.retention_years)
    if erased:
        from infrastructure.idempotency import IdempotencyStore
        from infrastructure.readdb import create_read_engine

        engine = create_read_engine(settings)
        try:
            store = IdempotencyStore(engine, app.mapper.cipher)
            for case_id in erased:
                store.forget_mentioning(str(case_id))
        finally:
            engine.dispose()
    return len(erased)


def run_webhooks(app: EventApp, settings: Settings, stop: threading.Event, composer: Composer) -> None:
    """Webhook delivery: a thread per active subscription, each following the record from its own position."""
    from infrastructure.metrics import Meters, multiprocess
    from infrastructure.readdb import create_read_engine
    from infrastructure.webhooks import Delivery, WebhookDispatcher

    observe = None
    if multiprocess():  # under `serve`: the deliveries show in its /metrics
        m = Meters()
        app.on_recorded = m.recorded.inc

        def observe(_: str, answer: Delivery, __: float, event: dict) -> None:
            m.webhook_deliveries.labels("acknowledged" if answer.ok else "failed").inc()
            if answer.ok:
                m.webhook_delay.observe(max(0.0, time.time() - _epoch(event["time"])))

    engine = create_read_engine(settings)
    try:
        dispatcher = WebhookDispatcher(
            engine,
            app,
            settings.webhook_allowed_hosts,
            stop,
            events=partial(composer.events_after, app),
            observe=observe,
        )
        try:
            dispatcher.take_over()  # this worker leads: whoever held a lease before has stopped (or died)
        except Exception as error:  # then the leases run out (LEASE_SECONDS)
            log.warning("webhooks: leases not taken over (%s)", type(error).__name__)
        dispatcher.run()
    finally:
        engine.dispose()


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def run_worker(
    settings: Settings,
    stop: threading.Event,
    *,
    composer: Composer,
    parent_pid: int | None = None,
    leadership: Leadership | None = None,
) -> None:
    """Stand by until this worker leads (``infrastructure.leadership``), then keep the views current,
    run the deadline process and deliver webhooks while it leads; stand by again if it loses the lead.
    Until ``stop`` is set (or the parent dies). Of several workers, exactly one works at a time."""
    leadership = leadership or leadership_for(settings)
    heartbeat = Heartbeat(heartbeat_path(settings))  # standing by, too: a standby is alive
    watcher = None
    if parent_pid is not None:
        watcher = threading.Thread(
            target=watch_parent,
            args=(parent_pid, lambda: _parent_gone(stop), stop, 1.0),
            name="parent-watch",
            daemon=True,
        )
        watcher.start()
    try:
        while not stop.is_set():
            term = leadership.acquire(stop, heartbeat.beat)
            if term is None:
                break
            try:
                lead(settings, composer, term.lost, heartbeat)
            finally:
                leadership.release()
            if not stop.is_set():
                log.warning("projection worker: no longer leads; standing by")
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(timeout=2)


def lead(settings: Settings, composer: Composer, lost: threading.Event, heartbeat: Heartbeat | None = None) -> None:
    """The leader's work (views, deadline process, webhook delivery) until ``lost`` is set."""
    app = composer.open_app(settings)
    engine = create_projection_engine(settings)
    waiter: Poller | Listener | None = None
    threads: list[threading.Thread] = []
    try:
        projector: Projector = composer.projector(app, engine, settings)
        projector.yield_on_conflict = True  # a `views rebuild` running meanwhile goes first
        projector.ensure_tracking()
        waiter = Listener(settings, app.recorder.channel_name) if settings.is_postgres else Poller(app)  # type: ignore[attr-defined]
        threads = [
            threading.Thread(
                target=run_deadlines, args=(app, lost, DEADLINE_SECONDS, settings), name="deadlines", daemon=True
            ),
            threading.Thread(target=run_webhooks, args=(app, settings, lost, composer), name="webhooks", daemon=True),
        ]
        for thread in threads:
            thread.start()
        follow(projector, waiter, lost, heartbeat)
    finally:
        lost.set()
        if waiter is not None:
            waiter.close()
        for thread in threads:
            thread.join(timeout=5)
        app.close()
        engine.dispose()


def _parent_gone(stop: threading.Event) -> None:
    log.warning("projection worker: parent process gone; stopping")
    stop.set()
