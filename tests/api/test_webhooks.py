"""Webhooks: real deliveries to a receiver on loopback, verified with the Standard Webhooks reference library."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from domain import clock
from infrastructure.config import Settings
from infrastructure.projections.worker import run_webhooks
from infrastructure.webhooks import backoff_seconds, webhooks_table
from tests.api.api_client import Api, assert_problem
from tests.api.test_real_server import INSPECTORATE, REPO, environment
from tests.api.webhook_receiver import receiving
from web import create_app, services_of
from web.bootstrap import COMPOSER

LOOPBACK = frozenset({"127.0.0.1"})


@pytest.fixture
def hooked(settings: Settings) -> Iterator[Api]:
    """The API, with loopback allowed for webhooks and the delivery loop running (as the worker runs it)."""
    settings = dataclasses.replace(settings, webhook_allowed_hosts=LOOPBACK)
    app = create_app(settings)
    stop = threading.Event()
    loop = threading.Thread(target=run_webhooks, args=(services_of(app).app, settings, stop, COMPOSER), daemon=True)
    loop.start()
    yield Api(app)
    stop.set()
    loop.join(timeout=15)
    services_of(app).close()


def subscribe(api: Api, url: str, **extra: object) -> dict:
    return api.ok(api.post("/v1/webhooks", {"url": url, **extra}, role="admin"), 201)


def feed_after(api: Api, after: int) -> list[dict]:
    return api.ok(api.get(f"/v1/events?after={after}&limit=1000", role="integration"))["events"]


def some_events(api: Api, cases: int = 3) -> str:
    inspection_id = api.in_fieldwork()
    for n in range(cases):
        api.add_case(inspection_id, f"C{n}")
    return inspection_id


def test_every_event_is_posted_as_the_feeds_cloudevent_signed_as_standard_webhooks_says(hooked: Api) -> None:
    with receiving() as receiver:
        created = subscribe(hooked, receiver.url)
        assert created["secret"].startswith("whsec_") and created["status"] == "active"
        some_events(hooked)
        expected = feed_after(hooked, created["position"])
        got = receiver.wait_for(len(expected))
    verifier = Webhook(created["secret"])
    for delivery, event in zip(got, expected, strict=True):
        assert verifier.verify(delivery.body, delivery.headers) == event  # the reference library's check
        assert delivery.headers["webhook-id"] == event["id"]
        assert delivery.headers["content-type"] == "application/cloudevents+json"
        assert "characteristics" not in delivery.event["data"]  # special category data: as for integration
    with pytest.raises(Exception):
        Webhook("whsec_" + "A" * 43 + "=").verify(got[0].body, got[0].headers)
    shown = hooked.ok(hooked.get(f"/v1/webhooks/{created['id']}", role="admin"))
    assert shown["position"] == expected[-1]["position"] and shown["delivered"] == len(expected)
    assert "secret" not in shown and shown["failing_since"] is None and shown["last_error"] is None


def test_a_receiver_that_fails_then_recovers_gets_every_event_once_acknowledged_in_order(hooked: Api) -> None:
    failing = threading.Event()
    failing.set()
    with receiving(lambda n: 503 if failing.is_set() else 200) as receiver:
        created = subscribe(hooked, receiver.url)
        some_events(hooked, cases=4)
        expected = feed_after(hooked, created["position"])
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:  # two failed attempts, then recover
            time.sleep(0.05)
        failing_state = hooked.ok(hooked.get(f"/v1/webhooks/{created['id']}", role="admin"))
        failing.clear()
        got = receiver.wait_for(len(expected), timeout=30)
    assert failing_state["failing_since"] is not None and "503" in failing_state["last_error"]
    assert failing_state["position"] == created["position"]  # nothing acknowledged, nothing skipped
    assert [r.headers["webhook-id"] for r in got] == [e["id"] for e in expected]  # each once, in order
    # Every failed attempt was at the first event: retried from the same one, never skipped.
    assert {r.headers["webhook-id"] for r in receiver.received if r.status != 200} == {expected[0]["id"]}
    shown = hooked.ok(hooked.get(f"/v1/webhooks/{created['id']}", role="admin"))
    assert shown["failures"] >= 2 and shown["failing_since"] is None and shown["last_error"] is None


def test_back_off_is_exponential_first_retry_within_5_s_at_most_an_hour_apart() -> None:
    delays = [backoff_seconds(n) for n in range(1, 20)]
    assert delays[0] <= 5 and delays == sorted(delays) and max(delays) == 3600
    assert delays[1] == 2 * delays[0]


def test_three_days_of_failures_disable_it_and_an_admin_enables_it_again(hooked: Api) -> None:
    answer = {"status": 500}
    with receiving(lambda n: answer["status"]) as receiver:
        created = subscribe(hooked, receiver.url)
        some_events(hooked, cases=1)
        expected = feed_after(hooked, created["position"])
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
        engine = services_of(hooked.app).read_engine
        with engine.begin() as conn:  # it has been failing for three days; the next attempt is due now
            conn.execute(
                webhooks_table.update()
                .where(webhooks_table.c.id == created["id"])
                .values(failing_since=clock.now() - timedelta(days=3, seconds=1), next_attempt_at=clock.now())
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            shown = hooked.ok(hooked.get(f"/v1/webhooks/{created['id']}", role="admin"))
            if shown["status"] == "disabled":
                break
            time.sleep(0.05)
        assert shown["status"] == "disabled" and shown["position"] == created["position"]
        answer["status"] = 200
        tried = len(receiver.received)
        time.sleep(1.5)
        assert len(receiver.received) == tried  # disabled: no more attempts
        assert_problem(hooked.post(f"/v1/webhooks/{created['id']}/enable", role="inspector"), 403)
        enabled = hooked.ok(hooked.post(f"/v1/webhooks/{created['id']}/enable", role="admin"))
        assert enabled["status"] == "active" and enabled["failing_since"] is None
        got = receiver.wait_for(len(expected))
    assert [r.headers["webhook-id"] for r in got] == [e["id"] for e in expected]


def test_replay_from_a_position_and_filters_by_type_and_inspection(hooked: Api) -> None:
    with receiving() as everything, receiving() as published, receiving() as one:
        head = subscribe(hooked, everything.url)["position"]
        subscribe(hooked, published.url, types=["inspection.fieldwork_started.v1"])
        other = hooked.in_fieldwork("Lancashire")
        mine = some_events(hooked, cases=2)
        subscribe(hooked, one.url, inspection_id=mine)  # from now on, only this inspection's events
        hooked.add_case(other, "X1")
        hooked.add_case(mine, "M9")
        expected = feed_after(hooked, head)
        everything.wait_for(len(expected))
        assert [r.event["type"] for r in published.wait_for(2)] == ["inspection.fieldwork_started.v1"] * 2
        got_one = one.wait_for(2)  # the case's sampling: an event of the inspection and one of the case
        assert {r.event["subject"] for r in got_one} <= {mine} | {e["subject"] for e in expected}
        assert all(r.event["subject"] != other for r in got_one)
        webhook_id = hooked.ok(hooked.get("/v1/webhooks", role="admin"))["items"][0]["id"]
        replay_after = expected[-3]["position"]
        hooked.ok(hooked.post(f"/v1/webhooks/{webhook_id}/replay", {"after": replay_after}, role="admin"))
        everything.wait_for(len(expected))
        deadline = time.monotonic() + 10
        while len(everything.acknowledged()) < len(expected) + 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        again = [r.headers["webhook-id"] for r in everything.acknowledged()[len(expected) :]]
        assert again == [e["id"] for e in expected[-2:]]
        too_far = hooked.post(f"/v1/webhooks/{webhook_id}/replay", {"after": 10**12}, role="admin")
        assert "after" in assert_problem(too_far, 422)["errors"]
        assert hooked.call("DELETE", f"/v1/webhooks/{webhook_id}", role="admin").status_code == 204
        assert_problem(hooked.get(f"/v1/webhooks/{webhook_id}", role="admin"), 404)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",  # loopback: refused unless named
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/hook",
        "ftp://partner.example.org/x",
        "not a url",
        "http://user:pw@partner.example.org/",
    ],
)
def test_a_url_to_a_host_not_allowed_is_422(api: Api, url: str) -> None:
    problem = assert_problem(api.post("/v1/webhooks", {"url": url}, role="admin"), 422)
    assert "url" in problem["errors"]
    assert api.ok(api.get("/v1/webhooks", role="admin"))["items"] == []


def test_webhooks_are_for_admins_and_bad_fields_are_422(hooked: Api) -> None:
    assert_problem(hooked.post("/v1/webhooks", {"url": "http://127.0.0.1/"}, role="integration"), 403)
    assert_problem(hooked.get("/v1/webhooks", role="inspector"), 403)
    for body in (
        {"url": "http://127.0.0.1/", "types": ["no.such.v1"]},
        {"url": "http://127.0.0.1/", "inspection_id": "3f1c2b8e-6a0d-4d57-9a53-2b7e2f9c1d40"},
        {"url": "http://127.0.0.1/", "colour": "red"},
        {},
    ):
        assert_problem(hooked.post("/v1/webhooks", body, role="admin"), 422)


def _project(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**environment(settings), "INSPECTORATE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    with open(log, "ab") as out:
        return subprocess.Popen([INSPECTORATE, "project"], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def test_the_worker_killed_mid_delivery_resumes_from_the_last_acknowledged_event(
    settings: Settings, tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings, webhook_allowed_hosts=LOOPBACK)
    app = create_app(settings)
    api = Api(app)
    with receiving(delay=0.03) as receiver:  # a slow receiver: the worker is killed with events still to send
        created = subscribe(api, receiver.url)
        some_events(api, cases=40)
        expected = [e["id"] for e in feed_after(api, created["position"])]
        worker = _project(settings, tmp_path / "worker.log")
        try:
            receiver.wait_for(15, timeout=60)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            time.sleep(0.3)  # a request in flight when the worker died still reaches the receiver
            cut = len(receiver.acknowledged())
            assert cut < len(expected), "the worker finished before it was killed"
            worker = _project(settings, tmp_path / "worker.log")
            receiver.wait_for(len(expected), timeout=90)
        finally:
            worker.kill()
            worker.wait(timeout=10)
        got = [r.headers["webhook-id"] for r in receiver.acknowledged()]
    # At least once and never skipped: after the restart, delivery starts again at or before the first event
    # not yet acknowledged (a few may come twice: acknowledged but not yet committed), then goes on in order;
    # not from the beginning: from the position committed before the kill.
    assert got[:cut] == expected[:cut]
    rest = got[cut:]
    restart = expected.index(rest[0])
    assert 0 < restart <= cut and rest == expected[restart:]
    assert cut - restart <= 10  # the position is committed at least every 0.2 s (the receiver takes 0.03 s)
    services_of(app).close()


def test_delivery_state_survives_in_the_database_not_the_process(settings: Settings) -> None:
    """The position acknowledged is the subscription's row: another process reads the same."""
    settings = dataclasses.replace(settings, webhook_allowed_hosts=LOOPBACK)
    app = create_app(settings)
    api = Api(app)
    with receiving() as receiver:
        created = subscribe(api, receiver.url)
        some_events(api, cases=1)
        stop = threading.Event()
        loop = threading.Thread(target=run_webhooks, args=(services_of(app).app, settings, stop, COMPOSER), daemon=True)
        loop.start()
        expected = feed_after(api, created["position"])
        receiver.wait_for(len(expected))
        stop.set()
        loop.join(timeout=15)
    engine = sa.create_engine(settings.read_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(webhooks_table).where(webhooks_table.c.id == created["id"])).one()
    engine.dispose()
    assert row.position == expected[-1]["position"] and row.lease_owner is None  # released on a clean stop
    services_of(app).close()


def test_serve_killed_outright_mid_delivery_resumes_after_a_restart(settings: Settings, tmp_path: Path) -> None:
    """`inspectorate serve` (HTTP workers and the projection worker that delivers) killed with SIGKILL, all of it."""
    import json
    import urllib.request

    from tests.api.test_real_server import _children, free_port, wait_until_healthy

    env = {**environment(settings), "INSPECTORATE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    port = free_port()

    def start() -> tuple[subprocess.Popen[bytes], object]:
        log = open(tmp_path / "serve.log", "ab")  # noqa: SIM115 - the server writes to it as long as it runs
        process = subprocess.Popen(
            [INSPECTORATE, "serve", "--port", str(port)], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
        wait_until_healthy(port, process, log)
        return process, log

    def kill_all(process: subprocess.Popen[bytes]) -> None:
        for child in _children(process.pid):  # the projection worker first: no clean stop for anyone
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        process.kill()
        process.wait(timeout=10)

    def token(role: str) -> str:
        created = subprocess.run(
            [INSPECTORATE, "token", "create", "--name", role, "--role", role],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return created.stdout.strip().splitlines()[-1]

    def call(method: str, path: str, secret: str, body: object = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read() or b"null")

    process, _log = start()
    try:
        admin, inspector, integration = token("admin"), token("inspector"), token("integration")
        with receiving(delay=0.03) as receiver:
            created = call("POST", "/v1/webhooks", admin, {"url": receiver.url})
            inspection = call(
                "POST",
                "/v1/inspections",
                inspector,
                {
                    "programme": "OMI2",
                    "inspected_body": {"name": "Cumbria", "type": "probation_trust", "region": "North West"},
                    "fieldwork_start": "2011-05-03",
                },
            )["id"]
            call("POST", f"/v1/inspections/{inspection}/start-fieldwork", inspector, {})
            for n in range(30):
                call(
                    "POST",
                    f"/v1/inspections/{inspection}/cases",
                    inspector,
                    {
                        "case_ref": f"C{n}",
                        "characteristics": {
                            "gender": "male",
                            "ethnicity": "white",
                            "age_band": "25-49",
                            "disability": False,
                            "looked_after": None,
                            "disposal": "community",
                            "risk_level": "low",
                        },
                    },
                )
            expected = [
                e["id"]
                for e in call("GET", f"/v1/events?after={created['position']}&limit=1000", integration)["events"]
            ]
            receiver.wait_for(10, timeout=60)
            kill_all(process)
            time.sleep(0.3)
            cut = len(receiver.acknowledged())
            assert cut < len(expected)
            process, _log = start()
            receiver.wait_for(len(expected), timeout=90)
            got = [r.headers["webhook-id"] for r in receiver.acknowledged()]
    finally:
        kill_all(process)
    assert got[:cut] == expected[:cut]
    restart = expected.index(got[cut])
    assert 0 < restart <= cut and got[cut:] == expected[restart:]


def test_with_a_cipher_key_the_secret_is_sealed_and_deliveries_still_verify(settings: Settings) -> None:
    from eventsourcing.cryptography import AESCipher

    settings = dataclasses.replace(settings, webhook_allowed_hosts=LOOPBACK, cipher_key=AESCipher.create_key(32))
    app = create_app(settings)
    api = Api(app)
    stop = threading.Event()
    loop = threading.Thread(target=run_webhooks, args=(services_of(app).app, settings, stop, COMPOSER), daemon=True)
    loop.start()
    try:
        with receiving() as receiver:
            created = subscribe(api, receiver.url)
            api.schedule()
            got = receiver.wait_for(1)
        # the first event of the scheduling: its new body's registration (then the link, then the inspection)
        assert Webhook(created["secret"]).verify(got[0].body, got[0].headers)["type"] == "body.registered.v1"
        with services_of(app).read_engine.connect() as conn:
            stored = conn.execute(sa.select(webhooks_table.c.secret)).scalar_one()
        assert stored.startswith("sealed:") and created["secret"].removeprefix("whsec_") not in stored
    finally:
        stop.set()
        loop.join(timeout=15)
        services_of(app).close()
