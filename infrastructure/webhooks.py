"""Webhook subscriptions and their delivery (Standard Webhooks signatures, CloudEvents bodies).

A subscription lives in the read database with the position of the last event
its receiver acknowledged. The delivery loop (run by the projection worker,
``infrastructure.projections.worker``) follows the record from there, one event
at a time in position order, and moves the position only after a 2xx: so a
restart resumes from the last acknowledged event (at least once, never skipped).
A failure is retried from the same event with exponential back-off (1 s, 2 s,
4 s, ... at most an hour apart); a subscription failing for three days is
disabled until an administrator enables it again.

Only hosts named in ``INSPECTORATE_WEBHOOK_ALLOWED_HOSTS`` are called, checked
when a subscription is made and again before every delivery; redirects are not
followed. A webhook cannot make the server call into its own network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import orjson
import sqlalchemy as sa

from domain import clock
from domain.errors import InvalidValue, NotFound
from infrastructure.readdb import metadata

log = logging.getLogger("inspectorate.webhooks")

DISABLE_AFTER = timedelta(days=3)
MAX_BACKOFF_SECONDS = 3600.0
PAGE = 100  # events read at a time for one subscription
POLL_SECONDS = 0.02  # how often a caught-up subscription looks at the head of the record
IDLE_ROW_SECONDS = 0.5  # a caught-up subscription re-reads its row (an admin's replay, a deletion) this often
SYNC_SECONDS = 0.5  # how often the dispatcher looks for new, changed or deleted subscriptions
LEASE_SECONDS = 4.0  # a subscription is delivered by one process at a time; a dead one's lease runs out
COMMIT_SECONDS = 0.2  # the acknowledged position is committed at least this often (and after every page)
TIMEOUT_SECONDS = 10.0  # a receiver that does not answer within this is a failure
MAX_URL = 2000
CONTENT_TYPE = "application/cloudevents+json"

webhooks_table = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("url", sa.String(MAX_URL), nullable=False),
    sa.Column("secret", sa.String(200), nullable=False),  # sealed with the record's cipher when there is one
    sa.Column("types", sa.Text, nullable=True),  # a JSON list, or NULL: every type
    sa.Column("inspection_id", sa.String(36), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # active | disabled
    sa.Column("position", sa.BigInteger, nullable=False),  # the last event acknowledged (or passed by the filter)
    sa.Column("generation", sa.Integer, nullable=False),  # bumped by enable/replay: the deliverer re-reads
    sa.Column("attempts", sa.Integer, nullable=False),  # failures in a row of the event after `position`
    sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("delivered_total", sa.BigInteger, nullable=False),
    sa.Column("failures_total", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(36), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),  # epoch seconds
)


# -- signing (https://www.standardwebhooks.com/) -------------------------------------------------


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes, as the Standard Webhooks specification writes secrets."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


SEALED = "sealed:"


def seal_secret(secret: str, cipher: Any | None) -> str:
    """A credential: encrypted in the read database when INSPECTORATE_CIPHER_KEY sets a cipher."""
    if cipher is None:
        return secret
    return SEALED + base64.b64encode(cipher.encrypt(secret.encode())).decode()


def open_secret(stored: str, cipher: Any | None) -> str:
    if not stored.startswith(SEALED):
        return stored
    if cipher is None:
        raise RuntimeError("a webhook secret is sealed but INSPECTORATE_CIPHER_KEY is not set")
    return cipher.decrypt(base64.b64decode(stored.removeprefix(SEALED))).decode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    digest = hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def backoff_seconds(attempts: int) -> float:
    """The wait before retry number ``attempts`` (1, 2, 4, ... seconds, at most an hour)."""
    return min(MAX_BACKOFF_SECONDS, 2.0 ** max(0, attempts - 1))


# -- the subscriptions ---------------------------------------------------------------------------


def allowed_url(url: str, allowed_hosts: frozenset[str]) -> str | None:
    """Why ``url`` may not be a webhook, or None when it may."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "must be a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http or https URL"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    if host not in allowed_hosts:
        return f"the host {host!r} is not among the allowed webhook hosts (INSPECTORATE_WEBHOOK_ALLOWED_HOSTS)"
    return None


def public(row: Any) -> dict[str, Any]:
    """A subscription as the API shows it (never the secret, which is shown once, on creation)."""
    return {
        "id": row.id,
        "url": row.url,
        "types": orjson.loads(row.types) if row.types else None,
        "inspection_id": row.inspection_id,
        "status": row.status,
        "position": row.position,
        "attempts": row.attempts,
        "failing_since": _iso(row.failing_since),
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == "active" else None,
        "last_error": row.last_error,
        "delivered": row.delivered_total,
        "failures": row.failures_total,
        "created_at": _iso(row.created_at),
    }


def _iso(value: datetime | None) -> str | None:
    value = _aware(value)
    return None if value is None else value.isoformat()


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives times back naive (they were stored as UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class WebhookStore:
    """Subscriptions in the read database (admin operations; the deliverer has its own statements)."""

    def __init__(self, engine: sa.Engine, cipher: Any | None = None) -> None:
        self.engine = engine
        self.cipher = cipher

    def create(self, url: str, types: Sequence[str] | None, inspection_id: UUID | None, head: int) -> dict[str, Any]:
        """A new active subscription delivering every event recorded after ``head``; its secret once."""
        secret = new_secret()
        row = {
            "id": str(uuid.uuid4()),
            "url": url,
            "secret": seal_secret(secret, self.cipher),
            "types": orjson.dumps(sorted(set(types))).decode() if types else None,
            "inspection_id": str(inspection_id) if inspection_id else None,
            "status": "active",
            "position": head,
            "generation": 0,
            "attempts": 0,
            "failing_since": None,
            "next_attempt_at": None,
            "last_error": None,
            "delivered_total": 0,
            "failures_total": 0,
            "created_at": clock.now(),
            "lease_owner": None,
            "lease_until": None,
        }
        with self.engine.begin() as conn:
            conn.execute(webhooks_table.insert().values(**row))
        return {**self.get(str(row["id"])), "secret": secret}

    def list(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(webhooks_table).order_by(webhooks_table.c.created_at)).all()
        return [public(row) for row in rows]

    def get(self, webhook_id: str) -> dict[str, Any]:
        return public(self._row(webhook_id))

    def _row(self, webhook_id: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(webhooks_table).where(webhooks_table.c.id == webhook_id)).first()
        if row is None:
            raise NotFound(f"no webhook {webhook_id}")
        return row

    def delete(self, webhook_id: str) -> None:
        with self.engine.begin() as conn:
            if conn.execute(webhooks_table.delete().where(webhooks_table.c.id == webhook_id)).rowcount != 1:
                raise NotFound(f"no webhook {webhook_id}")

    def enable(self, webhook_id: str) -> dict[str, Any]:
        """Active again, retried at once from the event it stopped at (nothing is skipped)."""
        self._update(webhook_id, status="active", attempts=0, failing_since=None, next_attempt_at=None, last_error=None)
        return self.get(webhook_id)

    def replay(self, webhook_id: str, after: int, head: int) -> dict[str, Any]:
        """Deliver again every event after ``after`` (which may also skip ahead, up to the head)."""
        if after < 0 or after > head:
            raise InvalidValue("after", f"must be between 0 and the head of the record ({head})")
        self._update(webhook_id, position=after, attempts=0, failing_since=None, next_attempt_at=None, last_error=None)
        return self.get(webhook_id)

    def _update(self, webhook_id: str, **values: Any) -> None:
        table = webhooks_table
        with self.engine.begin() as conn:
            done = conn.execute(
                table.update().where(table.c.id == webhook_id).values(generation=table.c.generation + 1, **values)
            )
        if done.rowcount != 1:
            raise NotFound(f"no webhook {webhook_id}")

    def stats(self) -> Sequence[Any]:
        """Each subscription's id, status, position and counters (for the metrics)."""
        t = webhooks_table
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(t.c.id, t.c.status, t.c.position, t.c.attempts, t.c.delivered_total, t.c.failures_total)
                ).all()
            )


# -- delivery ------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What a receiver answered: a status, or an error before any status."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender:
    """POSTs to one receiver over a kept-alive connection (http.client; no redirects followed)."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.netloc = parts.netloc
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> Delivery:
        for attempt in (1, 2):  # a kept-alive connection the receiver closed meanwhile: once more on a new one
            fresh = self.conn is None
            if self.conn is None:
                cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
                self.conn = cls(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", self.target, body, headers)
                response = self.conn.getresponse()
                response.read(65536)
                if not response.isclosed() and response.read(1):  # a long answer: not worth reading nor reusable
                    self.close()
                if response.will_close:
                    self.close()
                return Delivery(response.status)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self.close()
                if fresh or attempt == 2:
                    return Delivery(None, _describe(error))
            except (OSError, http.client.HTTPException) as error:
                self.close()
                return Delivery(None, _describe(error))
        return Delivery(None, "connection failed")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    return f"{type(error).__name__}: {error}"[:300]


class SubscriptionDeliverer:
    """Delivers one subscription's events in order, one at a time, until stopped, disabled or deleted."""

    def __init__(self, dispatcher: WebhookDispatcher, webhook_id: str) -> None:
        self.d = dispatcher
        self.id = webhook_id
        self.generation: int | None = None
        self.position = 0
        self.sender: Sender | None = None
        self.url = ""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"webhook-{webhook_id[:8]}", daemon=True)
        self.lease_renewed = 0.0
        self.idle_until = 0.0

    def run(self) -> None:
        backoff = 0.1
        while not self.stop.is_set() and not self.d.stop.is_set():
            try:
                if not self.step():
                    break
                backoff = 0.1
            except Exception as error:
                log.warning("webhook %s: %s; retrying", self.id, type(error).__name__)
                self.generation = None  # re-read the subscription: the position we held may be stale
                self.d.stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
        if self.sender is not None:
            self.sender.close()

    def step(self) -> bool:
        """One round: a page of events delivered, or a wait. False when this thread should end."""
        # Caught up a moment ago: only the head of the record is looked at (the row, for an admin's
        # change or a deletion, at least every IDLE_ROW_SECONDS).
        if (
            time.monotonic() < self.idle_until
            and self._hold_lease()
            and (self.d.app.recorder.max_notification_id() or 0) <= self.position
        ):
            self._wait(POLL_SECONDS)
            return True
        self.idle_until = 0.0
        row = self.d.load(self.id)
        if row is None or row.status != "active":
            return False
        if not self._hold_lease():
            self.d.stop.wait(1.0)
            return True
        if row.generation != self.generation:  # first round, or an admin's enable/replay since
            self.generation, self.position = row.generation, row.position
        if row.url != self.url:
            if self.sender is not None:
                self.sender.close()
            self.url, self.sender = row.url, Sender(row.url)
        due = _aware(row.next_attempt_at)
        if due is not None and due > clock.now():
            self._wait((due - clock.now()).total_seconds())
            return True
        events = self.d.events_after(row, self.position)
        if not events:
            self.idle_until = time.monotonic() + IDLE_ROW_SECONDS
            self._wait(POLL_SECONDS)
            return True
        key = _key(open_secret(row.secret, self.d.app.mapper.cipher))
        delivered, committed = 0, time.monotonic()
        for event in events:
            if delivered and not self._hold_lease():  # (a slow receiver: the lease is renewed as it goes)
                break
            reason = allowed_url(row.url, self.d.allowed_hosts)
            if reason is not None:
                self._failed(delivered, f"not delivered: {reason}")
                return True
            body = orjson.dumps(event)
            now = int(time.time())
            headers = {
                "Content-Type": CONTENT_TYPE,
                "User-Agent": "inspectorate-webhooks/1",
                "webhook-id": event["id"],
                "webhook-timestamp": str(now),
                "webhook-signature": sign(key, event["id"], now, body),
            }
            started = time.perf_counter()
            answer = self.sender.post(body, headers)  # type: ignore[union-attr]
            self.d.observe(self.id, answer, time.perf_counter() - started, event)
            if not answer.ok:
                self._failed(delivered, answer.error or f"the receiver answered {answer.status}")
                return True
            self.position = event["position"]
            delivered += 1
            if time.monotonic() - committed >= COMMIT_SECONDS:  # a slow receiver: keep the position current
                self._acknowledged(delivered)
                delivered, committed = 0, time.monotonic()
            if self.stop.is_set() or self.d.stop.is_set():
                break
        self._acknowledged(delivered)
        return True

    def _acknowledged(self, delivered: int) -> None:
        """Commit the position the receiver acknowledged (and any filtered positions up to it)."""
        t = webhooks_table
        with self.d.engine.begin() as conn:
            done = conn.execute(
                t.update()
                .where(t.c.id == self.id, t.c.generation == self.generation)
                .values(
                    position=self.position,
                    attempts=0,
                    failing_since=None,
                    next_attempt_at=None,
                    last_error=None,
                    delivered_total=t.c.delivered_total + delivered,
                )
            )
        if done.rowcount != 1:  # deleted, or an admin replayed meanwhile: start from what the row says
            self.generation = None

    def _failed(self, delivered: int, error: str) -> None:
        """Keep what was acknowledged; retry the same event later; disable after three days of failures.

        The failure state is read again inside the writing transaction (locked on PostgreSQL): an
        admin's or another writer's change made while the attempt was in flight is not overwritten.
        """
        t = webhooks_table
        now = clock.now()
        with self.d.engine.begin() as conn:
            current = conn.execute(
                sa.select(t.c.failing_since, t.c.attempts)
                .where(t.c.id == self.id, t.c.generation == self.generation)
                .with_for_update()
            ).first()
            since = (_aware(current.failing_since) if current and current.failing_since else None) or now
            attempts = (current.attempts if current else 0) + 1
            disabled = now - since >= DISABLE_AFTER
            done = conn.execute(
                t.update()
                .where(t.c.id == self.id, t.c.generation == self.generation)
                .values(
                    position=self.position,
                    attempts=attempts,
                    failing_since=since,
                    last_error=error[:500],
                    next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
                    status="disabled" if disabled else "active",
                    delivered_total=t.c.delivered_total + delivered,
                    failures_total=t.c.failures_total + 1,
                )
            )
        if done.rowcount != 1:
            self.generation = None
        if disabled:
            log.warning("webhook %s disabled after failing since %s", self.id, since.isoformat())
        if self.sender is not None:
            self.sender.close()

    def _hold_lease(self) -> bool:
        """Take or renew this subscription's lease: one process delivers it at a time."""
        mono = time.monotonic()
        if mono - self.lease_renewed < LEASE_SECONDS / 4:
            return True
        t, now = webhooks_table, time.time()
        with self.d.engine.begin() as conn:
            done = conn.execute(
                t.update()
                .where(
                    t.c.id == self.id,
                    sa.or_(t.c.lease_owner.is_(None), t.c.lease_owner == self.d.owner, t.c.lease_until < now),
                )
                .values(lease_owner=self.d.owner, lease_until=now + LEASE_SECONDS)
            )
        if done.rowcount == 1:
            self.lease_renewed = mono
            return True
        self.lease_renewed = 0.0
        self.generation = None  # another process delivered meanwhile: its position is the one to take
        return False

    def _wait(self, seconds: float) -> None:
        self.stop.wait(min(max(seconds, 0.0), 0.5))


class WebhookDispatcher:
    """Starts a deliverer thread for each active subscription and ends those of disabled or deleted ones."""

    def __init__(
        self,
        engine: sa.Engine,
        app: Any,
        allowed_hosts: frozenset[str],
        stop: threading.Event,
        *,
        events: Callable[[int, int, Sequence[str], UUID | None], list[dict[str, Any]]],
        observe: Callable[[str, Delivery, float, dict[str, Any]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.app = app
        self.events = events  # (after, limit, types, inspection) -> CloudEvents: Composer.events_after
        self.allowed_hosts = allowed_hosts
        self.stop = stop
        self.owner = str(uuid.uuid4())
        self.running: dict[str, SubscriptionDeliverer] = {}
        self._observe = observe
        t = webhooks_table
        self._load = sa.select(t).where(t.c.id == sa.bindparam("id"))

    def load(self, webhook_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(self._load, {"id": webhook_id}).first()

    def events_after(self, row: Any, position: int) -> list[dict[str, Any]]:
        """The subscription's next events as CloudEvents (as the feed gives them to the integration role)."""
        types = orjson.loads(row.types) if row.types else ()
        inspection = UUID(row.inspection_id) if row.inspection_id else None
        return self.events(position, PAGE, types, inspection)

    def observe(self, webhook_id: str, answer: Delivery, seconds: float, event: dict[str, Any]) -> None:
        if self._observe is not None:
            self._observe(webhook_id, answer, seconds, event)

    def sync(self) -> None:
        t = webhooks_table
        with self.engine.connect() as conn:
            active = {row.id for row in conn.execute(sa.select(t.c.id).where(t.c.status == "active"))}
        for webhook_id, deliverer in list(self.running.items()):
            if not deliverer.thread.is_alive():
                del self.running[webhook_id]
        for webhook_id in active - set(self.running):
            deliverer = self.running[webhook_id] = SubscriptionDeliverer(self, webhook_id)
            deliverer.thread.start()

    def run(self) -> None:
        """Until ``stop`` is set: keep a deliverer running for every active subscription."""
        while not self.stop.is_set():
            try:
                self.sync()
            except Exception as error:
                log.warning("webhook dispatcher: %s; retrying", type(error).__name__)
            self.stop.wait(SYNC_SECONDS)
        for deliverer in self.running.values():
            deliverer.stop.set()
        for deliverer in self.running.values():
            deliverer.thread.join(timeout=TIMEOUT_SECONDS + 1)
        self._release()

    def take_over(self) -> None:
        """Clear every other process's lease: called by the worker that has just become the leader.

        The one before it has stopped working (its leadership ended with its database session), so
        its leases need not be waited out (up to LEASE_SECONDS). Should it still finish a request in
        flight, the receiver gets that event twice at worst; positions only ever record events that
        some receiver acknowledged, so nothing is skipped.
        """
        t = webhooks_table
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.lease_owner.is_not(None), t.c.lease_owner != self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    def _release(self) -> None:
        """Give up this process's leases, so a successor need not wait for them to run out."""
        t = webhooks_table
        try:
            with self.engine.begin() as conn:
                conn.execute(t.update().where(t.c.lease_owner == self.owner).values(lease_owner=None, lease_until=None))
        except Exception as error:  # the leases then run out by themselves (LEASE_SECONDS)
            log.info("webhooks: leases not released (%s)", type(error).__name__)


def check_types(types: Sequence[str] | None, known: set[str]) -> None:
    for name in types or ():
        if name not in known:
            raise InvalidValue("types", f"unknown event type {name!r}")
