"""Connections shared out across server workers (web.balance): the count, the board, the shedding.

Over real HTTP against `inspectorate serve`, in tests/api/test_real_server.py.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from web.balance import Balanced, Board, client_connections, create_board

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")


def test_the_count_is_of_connections_accepted_on_this_processs_listening_sockets() -> None:
    before = client_connections()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        outgoing = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        accepted = [listener.accept()[0] for _ in range(2)]  # the third waits in the backlog
        try:
            assert client_connections() == before + 2  # not the 3 this process opened itself
            accepted.pop().close()
            assert client_connections() == before + 1
        finally:
            for sock in outgoing + accepted:
                sock.close()
    assert client_connections() == before


def test_a_connection_nothing_came_over_lately_is_not_counted() -> None:
    before = client_connections(active_within=0.25)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        outgoing = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        accepted = [listener.accept()[0] for _ in range(2)]
        try:
            assert client_connections(active_within=0.25) == before + 2  # new ones count
            time.sleep(0.4)
            assert client_connections(active_within=0.25) == before  # idle since
            outgoing[0].sendall(b"GET /health HTTP/1.1\r\n\r\n")
            time.sleep(0.05)
            assert client_connections(active_within=0.25) == before + 1
        finally:
            for sock in outgoing + accepted:
                sock.close()


def test_the_board_shows_each_worker_the_live_others(tmp_path: Path) -> None:
    path = create_board(str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    first = Board(path, pid=int(dead))  # a worker that has since died
    first.publish(7, 100.0)
    me = Board(path)
    assert me.slot == first.slot  # its slot is taken over
    other = Board(path, pid=os.getppid())  # any other live process
    assert other.slot != me.slot
    me.publish(3, 100.0)
    other.publish(5, 100.0)
    assert me.peers(100.5) == [5] and other.peers(100.5) == [3]
    assert me.peers(102.5) == []  # a count 2 s old: a worker stuck, or its pid now another process's
    other.release()
    assert me.peers(100.5) == []


class _Counts:
    def __init__(self, tmp_path: Path, peer: int) -> None:
        path = create_board(str(tmp_path))
        self.peer = Board(path, pid=os.getppid())
        self.peer.publish(peer, 100.0)
        self.mine = 0
        self.balanced = Balanced(_app, Board(path), count=lambda: self.mine, clock=lambda: 100.1)

    def respond(self) -> list[tuple[str, str]]:
        sent: list[tuple[str, str]] = []
        body = self.balanced({}, lambda status, headers, exc_info=None: sent.extend(headers))
        assert list(body) == [b"ok"]
        return sent


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _closes(headers: list[tuple[str, str]]) -> bool:
    return ("Connection", "close") in headers


def test_a_worker_two_connections_over_its_least_loaded_peer_closes_one(tmp_path: Path) -> None:
    counts = _Counts(tmp_path, peer=2)
    counts.mine = 6
    counts.balanced.measure()
    assert not _closes(counts.respond())  # once may be a moment's count: not yet
    counts.balanced.measure()
    assert _closes(counts.respond())  # twice running: the next response closes its connection
    assert not _closes(counts.respond())  # one connection a period, no more
    assert counts.balanced.closed == 1
    counts.mine = 5
    counts.balanced.measure()
    counts.balanced.measure()
    assert _closes(counts.respond())  # 5 against 2: still over
    counts.peer.publish(4, 100.0)
    counts.balanced.measure()
    counts.balanced.measure()
    assert not _closes(counts.respond())  # 5 against 4 is as even as 9 connections get


def test_an_imbalance_seen_once_between_two_even_counts_closes_nothing(tmp_path: Path) -> None:
    counts = _Counts(tmp_path, peer=4)
    for mine in (4, 6, 4, 6, 4):
        counts.mine = mine
        counts.balanced.measure()
        assert not _closes(counts.respond())


def test_a_lone_worker_closes_nothing(tmp_path: Path) -> None:
    counts = _Counts(tmp_path, peer=0)
    counts.peer.release()
    counts.mine = 8
    counts.balanced.measure()
    counts.balanced.measure()
    assert not _closes(counts.respond())


def test_a_response_that_already_says_how_its_connection_goes_is_left_alone(tmp_path: Path) -> None:
    counts = _Counts(tmp_path, peer=0)
    counts.mine = 3

    def keeps(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Connection", "keep-alive")])
        return [b"ok"]

    counts.balanced.app = keeps
    counts.balanced.measure()
    counts.balanced.measure()
    assert counts.respond() == [("Connection", "keep-alive")]


def test_a_count_that_fails_stops_the_sharing_out_not_the_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> int:
        raise OSError("no /proc")

    balanced = Balanced(_app, Board(create_board(str(tmp_path))), count=broken)
    thread = balanced.run(period=0.01)
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert '"event": "connection balancing stopped", "error": "OSError"' in capsys.readouterr().err
    sent: list[tuple[str, str]] = []
    assert list(balanced({}, lambda status, headers, exc_info=None: sent.extend(headers))) == [b"ok"]


def test_a_new_board_clears_away_the_boards_of_servers_no_longer_running(tmp_path: Path) -> None:
    """A `serve` killed outright cannot remove its board: the next one does."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = tmp_path / f"inspectorate-board-{gone.pid}-x1y2"
    running = tmp_path / f"inspectorate-board-{os.getpid()}-z3w4"
    unknown = tmp_path / "inspectorate-board-q5r6"  # not named by a pid: left alone
    for board in (left, running, unknown):
        board.write_bytes(b"")
    made = create_board(str(tmp_path))
    assert not left.exists()
    assert running.exists() and unknown.exists()
    assert made.name.startswith(f"inspectorate-board-{os.getpid()}-")
