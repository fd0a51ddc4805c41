"""Keep-alive connections shared out evenly across the server's workers.

granian hands a new connection to whichever worker accepts it first, and the
connection then stays with that worker for as long as the client keeps it
alive. 8 clients on 2 workers were split 5/3, 6/2 or 7/1 in most benchmark
runs, and the busier worker's clients waited two to three times as long as
the others (issue 3 notes): their latencies made the p99. How busy a worker
is does not show it: with 8 clients always waiting, both workers were ~93%
busy in a 5/3 split. How many connections each holds does.

So each worker counts the client connections it holds (its open sockets on
the listening port, from /proc/self/fd) a few times a second and publishes
the count on a board in shared memory: a small file, one slot a worker,
made by ``serve`` before the workers start and named to them in the
environment. A worker holding at least two more than its least loaded peer
answers its next request with ``Connection: close``. HTTP/1.1 clients
reconnect on their own, and the new connection goes to whichever worker
accepts it; the busier worker goes on shedding, one connection a period,
until the counts are even. Dead workers' slots are ignored, then reused; a
count more than 2 s old is ignored too (a stuck worker's, or that of a dead
worker whose pid another process now has).

A server should keep hop-by-hop headers to itself (PEP 3333 forbids them to
applications); this runs only under granian, which honours the header: it
sends the response and then closes the connection (tests/api/test_real_server.py).
"""
from __future__ import annotations

import fcntl
import mmap
import os
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from web.logging import log_event

BOARD_ENV = "INSPECTORATE_WORKER_BOARD"
SLOT = struct.Struct("=qqd")  # a worker's pid, the client connections it holds, when counted (time.monotonic)
SLOTS = 64
STALE = 2.0  # a count older than this is of a worker that is stuck, or gone and its pid taken by another
PERIOD = 0.1  # seconds between two counts; a worker sheds at most one connection every two
ACTIVE = 1.0  # a connection counts if a request came over it within this many seconds
_LAST_DATA_RECV = struct.Struct("=I")  # struct tcp_info's tcpi_last_data_recv (ms), at byte 52 (Linux)
BOARD_PREFIX = "inspectorate-board-"  # then the pid of the serve that made the board


def create_board(directory: str | None = None) -> Path:
    """A zeroed board for up to ``SLOTS`` workers; ``serve`` names it to its workers in ``BOARD_ENV``.

    Its name carries the pid of the ``serve`` that made it. ``serve`` removes its board when it
    exits; one killed outright cannot, so boards left by servers no longer running are removed here.
    """
    shm = "/dev/shm"
    where = directory or (shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None)
    _remove_left_boards(Path(where or tempfile.gettempdir()))
    handle, name = tempfile.mkstemp(prefix=f"{BOARD_PREFIX}{os.getpid()}-", dir=where)
    with os.fdopen(handle, "wb") as file:
        file.write(bytes(SLOT.size * SLOTS))
    return Path(name)


def _remove_left_boards(directory: Path) -> None:
    for board in directory.glob(f"{BOARD_PREFIX}*-*"):
        owner = board.name[len(BOARD_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            board.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Board:
    """One worker's seat on the board: its own slot to write, the others' to read."""

    def __init__(self, path: str | os.PathLike[str], pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        with open(path, "r+b") as file:
            self._map = mmap.mmap(file.fileno(), SLOT.size * SLOTS)
            fcntl.flock(file, fcntl.LOCK_EX)  # two workers starting at once do not take one slot
            try:
                self.slot = self._claim()
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)

    def _claim(self) -> int:
        for index in range(SLOTS):
            pid, _, _ = SLOT.unpack_from(self._map, index * SLOT.size)
            if pid in (0, self.pid) or not _alive(pid):  # free, or left by a worker that died
                SLOT.pack_into(self._map, index * SLOT.size, self.pid, 0, time.monotonic())
                return index
        raise RuntimeError(f"no free slot on the worker board (at most {SLOTS} workers)")

    def publish(self, connections: int, now: float) -> None:
        SLOT.pack_into(self._map, self.slot * SLOT.size, self.pid, connections, now)

    def peers(self, now: float) -> list[int]:
        """The connection counts of the other live workers, as each last counted them within ``STALE``."""
        counts = []
        for index in range(SLOTS):
            pid, connections, counted = SLOT.unpack_from(self._map, index * SLOT.size)
            if pid and index != self.slot and now - counted < STALE and _alive(pid):
                counts.append(connections)
        return counts

    def release(self) -> None:
        SLOT.pack_into(self._map, self.slot * SLOT.size, 0, 0, 0.0)


def client_connections(active_within: float = ACTIVE) -> int:
    """The connections this process holds on its own listening sockets and that a client sent
    something over within ``active_within`` seconds (Linux; 0 where /proc is missing).

    Each socket is looked at in place (wrapped, queried, let go; never closed or
    duplicated): a listening one gives its port, any other TCP socket its local
    port and, from the kernel's TCP_INFO, how long ago data last came in. The
    connections are the sockets on a listening port: those this process opened
    (to PostgreSQL, say) are on other ports. Idle keep-alive connections (a
    pool's spare, a finished client's) are left out, since they put nothing
    on the worker: with one counted, 5 busy clients against 3 busy and 1 idle
    looked even.
    """
    within_ms = active_within * 1000
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    listening: set[int] = set()
    local: list[int] = []
    for name in names:
        try:
            sock = socket.socket(fileno=int(name))
        except (OSError, ValueError):  # not a socket, or closed meanwhile
            continue
        try:
            if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            port = sock.getsockname()[1]
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                listening.add(port)
            else:
                info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
                if _LAST_DATA_RECV.unpack_from(info, 52)[0] <= within_ms:
                    local.append(port)
        except OSError:
            continue
        finally:
            sock.detach()
    return sum(port in listening for port in local)


class Balanced:
    """WSGI middleware: answers with ``Connection: close`` once a count finds this worker over-full."""

    def __init__(self, app: Callable[..., Iterable[bytes]], board: Board,
                 count: Callable[[], int] = client_connections, clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.board, self.count, self.clock = app, board, count, clock
        self._shed = self._over = False
        self.closed = 0  # connections closed so far

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._shed:
            self._shed = False
            self.closed += 1
            start_response = _closing(start_response)
        return self.app(environ, start_response)

    def measure(self) -> None:
        """Count, publish, and decide whether the next response closes its connection."""
        mine, now = self.count(), self.clock()
        self.board.publish(mine, now)
        peers = self.board.peers(now)
        over = bool(peers) and mine >= min(peers) + 2
        # Over-full at two counts running: a peer's count is up to a period old, and a connection
        # being closed or opened just then is not an imbalance.
        self._shed, self._over = over and self._over, over

    def run(self, period: float = PERIOD) -> threading.Thread:
        """Measures every ``period`` seconds in a daemon thread, for as long as the worker lives.

        Should a count ever fail, this worker stops sharing out (one line on stderr says so) and
        serves on as before: balance is worth less than the requests.
        """

        def loop() -> None:
            while True:
                time.sleep(period)
                try:
                    self.measure()
                except Exception as error:
                    log_event("connection balancing stopped", error=type(error).__name__)
                    return

        thread = threading.Thread(target=loop, name="connection-balance", daemon=True)
        thread.start()
        return thread


def _closing(start_response: Callable[..., Any]) -> Callable[..., Any]:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not any(name.lower() == "connection" for name, _ in headers):
            headers.append(("Connection", "close"))
        return start_response(status, headers, exc_info)

    return start
