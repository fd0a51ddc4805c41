"""Crash safety: SIGKILL the server (or the projection worker) under concurrent writes, restart, check.

Every write that got a 2xx must be there after the restart, at the position it
was acknowledged with; multi-aggregate writes are all or nothing; the views
catch up to exactly what a rebuild from the record gives; the hash chain holds.
"""

from __future__ import annotations

import http.client
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.helpers import (
    CHARACTERISTICS,
    INSPECTORATE,
    REPO,
    Server,
    cli,
    create_token,
    inspection_body,
    judgements,
    open_fieldwork,
    request,
    view_rows,
    wait_views_current,
)

WRITERS = 6


@dataclass
class Ack:
    """A write the server acknowledged with a 2xx."""

    kind: str  # scheduled, fieldwork, case, rating
    inspection_id: str
    position: int
    case_id: str | None = None
    case_ref: str | None = None


@dataclass
class Load:
    """Concurrent writers over HTTP, each recording what was acknowledged."""

    port: int
    token: str
    shared: list[str]
    tag: str = ""
    acks: list[Ack] = field(default_factory=list)
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, writer: int) -> None:
        rng = random.Random(writer)
        mine: list[tuple[str, str]] = []  # (inspection, case) this writer added
        scheduled: list[str] = []
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self._step(writer, i, rng, mine, scheduled)
            except (OSError, http.client.HTTPException):  # killed before or while answering: not acknowledged
                self.failures += 1
                time.sleep(0.02)

    def _step(self, writer: int, i: int, rng: random.Random, mine: list[tuple[str, str]], scheduled: list[str]) -> None:
        action = i % 4
        if action == 0:
            reply = request(
                self.port, "POST", "/v1/inspections", inspection_body(f"Crash {self.tag}{writer}-{i}"), token=self.token
            )
            if reply.status == 201:
                scheduled.append(reply.json()["id"])
                self._ack(reply, "scheduled", reply.json()["id"])
        elif action == 1 and scheduled:
            inspection_id = scheduled.pop()
            reply = request(self.port, "POST", f"/v1/inspections/{inspection_id}/start-fieldwork", {}, token=self.token)
            self._ack(reply, "fieldwork", inspection_id)
        elif action == 2 or not mine:
            inspection_id = rng.choice(self.shared)
            case_ref = f"CR-{self.tag}{writer}-{i}"
            reply = request(
                self.port,
                "POST",
                f"/v1/inspections/{inspection_id}/cases",
                {"case_ref": case_ref, "characteristics": CHARACTERISTICS},
                token=self.token,
            )
            if reply.status == 201:
                mine.append((inspection_id, reply.json()["id"]))
                self._ack(reply, "case", inspection_id, reply.json()["id"], case_ref)
        else:
            inspection_id, case_id = rng.choice(mine)
            reply = request(
                self.port,
                "POST",
                f"/v1/cases/{case_id}/ratings",
                {"judgements": judgements(rng.choice([True, False, None]))},
                token=self.token,
            )
            self._ack(reply, "rating", inspection_id, case_id)

    def _ack(
        self, reply: Any, kind: str, inspection_id: str, case_id: str | None = None, case_ref: str | None = None
    ) -> None:
        assert reply.status < 500, (reply.status, reply.data[:300])
        if 200 <= reply.status < 300:
            self.acks.append(Ack(kind, inspection_id, int(reply.headers["inspectorate-position"]), case_id, case_ref))


def drive(
    server: Server,
    token: str,
    seconds: float,
    crash: Callable[[], None] | None = None,
    crash_after: float = 0.0,
    tag: str = "",
) -> Load:
    shared = [open_fieldwork(server.port, token, f"Shared {tag}{n}") for n in range(3)]
    load = Load(server.port, token, shared, tag)
    threads = [threading.Thread(target=load.run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    if crash is not None:
        time.sleep(crash_after)
        crash()
    time.sleep(max(0.0, seconds - crash_after))
    load.stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return load


def check_every_ack_is_recorded(server: Server, token: str, acks: list[Ack]) -> None:
    """Each acknowledged write is in the history at its acknowledged position; cases are whole."""
    histories: dict[str, dict[int, dict[str, Any]]] = {}
    for inspection_id in {a.inspection_id for a in acks}:
        reply = server.request("GET", f"/v1/inspections/{inspection_id}/history", token=token)
        assert reply.status == 200, (inspection_id, reply.status)
        events = reply.json()["events"]
        positions = [e["position"] for e in events]
        assert positions == sorted(set(positions))
        histories[inspection_id] = {e["position"]: e for e in events}
    expected_type = {"scheduled": "inspection.scheduled.v1", "rating": "case.rated.v1"}
    for ack in acks:
        event = histories[ack.inspection_id].get(ack.position)
        assert event is not None, f"acknowledged {ack.kind} at position {ack.position} is missing"
        if ack.kind in expected_type:
            assert event["type"] == expected_type[ack.kind], (ack, event["type"])
        assert (
            event["stream"] == (ack.case_id if ack.kind in ("case", "rating") else ack.inspection_id)
            or ack.kind == "case"
        ), (ack, event)
        if ack.kind == "case":
            case = server.request("GET", f"/v1/cases/{ack.case_id}", token=token)
            assert case.status == 200 and case.json()["case_ref"] == ack.case_ref
    # All or nothing: every case an inspection lists exists, and every case points back.
    for inspection_id in histories:
        listed = server.request("GET", f"/v1/inspections/{inspection_id}/cases", token=token)
        for item in listed.json()["items"]:
            case = server.request("GET", f"/v1/cases/{item['id']}", token=token)
            assert case.status == 200 and case.json()["inspection_id"] == inspection_id


def check_views_equal_a_rebuild_and_chain_holds(server: Server, admin: str) -> None:
    wait_views_current(server, admin)
    server.stop()
    live = view_rows(server.data_dir)
    assert sum(len(rows) for rows in live.values()) > 0
    cli(server.env, "views", "rebuild")
    assert view_rows(server.data_dir) == live
    verified = cli(server.env, "audit", "verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_sigkill_of_the_server_mid_load_loses_no_acknowledged_write(start_server: Callable[..., Server]) -> None:
    server = start_server()
    token = create_token(server.env, "Crash Inspector", "inspector").secret
    admin = create_token(server.env, "Crash Admin", "admin").secret
    load = drive(server, token, seconds=2.5, crash=server.kill, crash_after=1.5)
    acked_before_kill = len(load.acks)
    assert acked_before_kill > 50, acked_before_kill
    assert load.failures > 0  # the kill really landed mid-load

    server.start()  # same data dir: the record is recovered from the SQLite file and its WAL
    check_every_ack_is_recorded(server, token, load.acks)
    print(
        f"\nserver SIGKILL: {acked_before_kill} writes acknowledged, 0 lost, "
        f"{load.failures} refused while down; kinds "
        f"{ {k: sum(a.kind == k for a in load.acks) for k in ('scheduled', 'fieldwork', 'case', 'rating')} }"
    )
    # The service carries on writing after the crash.
    after = drive(server, token, seconds=0.5, tag="after ")
    check_every_ack_is_recorded(server, token, after.acks)
    check_views_equal_a_rebuild_and_chain_holds(server, admin)


def test_sigkill_of_the_projection_worker_mid_page_then_views_equal_a_rebuild(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(args=("--no-worker",))
    token = create_token(server.env, "Worker Inspector", "inspector").secret
    admin = create_token(server.env, "Worker Admin", "admin").secret
    kills = 0
    worker: subprocess.Popen[bytes] | None = None

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [INSPECTORATE, "project"], env=server.env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def crash_worker_repeatedly() -> None:
        nonlocal worker, kills
        for _ in range(4):
            worker = start_worker()
            time.sleep(random.uniform(0.6, 0.9))  # start-up takes ~0.5 s, then it projects live
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1

    load = drive(server, token, seconds=3.5, crash=crash_worker_repeatedly, crash_after=0.2)
    assert kills == 4 and len(load.acks) > 50
    worker = start_worker()
    try:
        check_every_ack_is_recorded(server, token, load.acks)
        wait_views_current(server, admin)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    check_views_equal_a_rebuild_and_chain_holds(server, admin)
