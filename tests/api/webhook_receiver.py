"""A real HTTP receiver on loopback for webhook tests: records what it was sent, answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.time() when it arrived

    @property
    def event(self) -> dict[str, Any]:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    port: int
    answer: Callable[[int], int] = lambda n: 200  # n: requests so far (0-based) -> status
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def acknowledged(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The acknowledged deliveries once there are ``count`` distinct events among them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            acked = self.acknowledged()
            if len({r.headers["webhook-id"] for r in acked}) >= count:
                return acked
            time.sleep(0.02)
        raise AssertionError(f"{len(self.acknowledged())} of {count} events acknowledged in {timeout} s")


@contextmanager
def receiving(answer: Callable[[int], int] | None = None, delay: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(0, delay=delay)
    if answer is not None:
        receiver.answer = answer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                status = receiver.answer(len(receiver.received))
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body, status, time.time())
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
