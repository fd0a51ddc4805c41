"""Long-held requests (the event stream, a view read waiting for ``min_position``) are admitted
through a bounded number of places per server worker, and a few per token.

A worker answers on ``THREADS`` Python threads (granian's ``blocking_threads``); long-held requests
may take at most ``PLACES`` of them, so ``THREADS - PLACES`` always remain for short requests: no
number of streams or waits can hold up a plain read (docs/serving.md). Beyond its place count, or
its token's, a long-held request is refused at once (503 with Retry-After) rather than queued.
While it waits it holds a thread, but no database connection or transaction: both poll the
database briefly and sleep between polls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from flask import request

from infrastructure.tokens import hash_token
from web.errors import LongHeldRefused

THREADS = 32  # Python threads per server worker (granian starts them as requests need them)
PLACES = 24  # of which long-held requests may take at most this many: 8 are always left for the rest
PER_TOKEN = 8  # long-held requests one token may have open in one worker


class Gate:
    """The places of one process, and how many each token holds."""

    def __init__(self, places: int = PLACES, per_token: int = PER_TOKEN) -> None:
        self.places, self.per_token = places, per_token
        self._lock = threading.Lock()
        self._open = 0
        self._by_token: dict[str, int] = {}

    @property
    def open(self) -> int:
        return self._open

    def admit(self, token: str) -> Callable[[], None] | None:
        """A release function (idempotent) if there is a place for this token, else None at once."""
        with self._lock:
            held = self._by_token.get(token, 0)
            if self._open >= self.places or held >= self.per_token:
                return None
            self._open += 1
            self._by_token[token] = held + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._open -= 1
                left = self._by_token[token] - 1
                if left:
                    self._by_token[token] = left
                else:
                    del self._by_token[token]

        return release


GATE = Gate()  # one per process: each server worker has its own


def _token() -> str:
    _, _, secret = request.headers.get("Authorization", "").partition(" ")
    return hash_token(secret.strip())


def admit() -> Callable[[], None]:
    """A place for the current request (call the answer to release it when done); none free: ``LongHeldRefused``."""
    release = GATE.admit(_token())
    if release is None:
        raise LongHeldRefused
    return release


def held_while(body: Iterator[bytes], release: Callable[[], None]) -> Iterator[bytes]:
    """A streamed body that gives its place back when it ends, fails, or is closed early."""
    try:
        yield from body
    finally:
        release()
