"""Idempotency-Key on POST: the first answer again, nothing recorded; another body 422; two at once, one write."""

from __future__ import annotations

import threading
from datetime import timedelta

from freezegun import freeze_time

from domain import clock
from infrastructure.config import Settings
from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - the fixture
from tests.factories import characteristics

KEY = {"Idempotency-Key": "7c4b0b1e-complaint-1"}


def head(api: Api) -> int:
    return api.ok(api.get("/v1/events?after=0&limit=1", role="auditor"))["head"]


def complaint(inspection_id: str, summary: str = "The sample missed our custody cases.") -> dict:
    return {"inspection_id": inspection_id, "category": "methodology", "summary": summary}


def test_a_replayed_post_answers_the_first_answer_and_records_nothing(api: Api) -> None:
    inspection_id = api.schedule()
    first = api.post("/v1/complaints", complaint(inspection_id), headers=KEY)
    assert first.status_code == 201
    history = api.ok(api.get(f"/v1/inspections/{inspection_id}/history"))["events"]
    at = head(api)
    again = api.post("/v1/complaints", complaint(inspection_id), headers=KEY)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    for name in ("ETag", "Inspectorate-Position", "Content-Type"):
        assert again.headers[name] == first.headers[name]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert head(api) == at
    assert api.ok(api.get(f"/v1/inspections/{inspection_id}/history"))["events"] == history
    assert len(api.ok(api.get("/v1/views/complaints?min_position=0", role="admin"))["items"]) <= 1


def test_the_same_key_with_another_body_is_422_and_records_nothing(api: Api) -> None:
    inspection_id = api.schedule()
    api.ok(api.post("/v1/complaints", complaint(inspection_id), headers=KEY), 201)
    at = head(api)
    problem = assert_problem(api.post("/v1/complaints", complaint(inspection_id, "Another."), headers=KEY), 422)
    assert "Idempotency-Key" in problem["errors"]
    elsewhere = api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", {}, headers=KEY)  # another path
    assert_problem(elsewhere, 422)
    assert head(api) == at


def test_keys_are_per_token_and_requests_without_one_are_not_deduplicated(api: Api) -> None:
    inspection_id = api.schedule()
    api.ok(api.post("/v1/complaints", complaint(inspection_id), headers=KEY), 201)
    at = head(api)
    other = api.post("/v1/complaints", complaint(inspection_id), role="organisation", headers=KEY)
    assert other.status_code == 201 and head(api) > at  # another token: its own key space
    at = head(api)
    api.ok(api.post("/v1/complaints", complaint(inspection_id)), 201)
    api.ok(api.post("/v1/complaints", complaint(inspection_id)), 201)
    assert head(api) == at + 4  # (each complaint: received, and linked to the inspection)


def test_two_at_once_give_one_write(api: Api) -> None:
    inspection_id = api.schedule()
    at = head(api)
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(6)
    token = api.token("inspector")

    def send() -> None:
        client = api.app.test_client()
        barrier.wait()
        response = client.post(
            "/v1/complaints", json=complaint(inspection_id), headers={"Authorization": f"Bearer {token}", **KEY}
        )
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(status for status, _ in answers)
    assert len(answers) == 6 and set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert len({body["id"] for status, body in answers if status == 201}) == 1
    assert head(api) == at + 2  # one complaint: received, and linked to the inspection
    in_flight = [body for status, body in answers if status == 409]
    assert all(body["title"] == "Request in flight" for body in in_flight)


def test_an_answer_is_kept_24_hours(api: Api) -> None:
    inspection_id = api.schedule()
    now = clock.now()
    with freeze_time(now):
        api.ok(api.post("/v1/complaints", complaint(inspection_id), headers=KEY), 201)
    at = head(api)
    with freeze_time(now + timedelta(hours=23, minutes=59)):
        assert api.post("/v1/complaints", complaint(inspection_id), headers=KEY).headers["Idempotent-Replayed"]
    assert head(api) == at
    with freeze_time(now + timedelta(hours=24, minutes=1)):
        fresh = api.post("/v1/complaints", complaint(inspection_id), headers=KEY)
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers and head(api) > at


def test_errors_are_kept_too_but_a_bad_key_is_422(api: Api) -> None:
    inspection_id = api.schedule()
    bad = {"inspection_id": inspection_id, "category": "weather", "summary": "x"}
    assert_problem(api.post("/v1/complaints", bad, headers=KEY), 422)
    assert api.post("/v1/complaints", bad, headers=KEY).headers["Idempotent-Replayed"] == "true"
    for key in ("", "x" * 256, "caf\u00e9"):
        assert_problem(api.post("/v1/complaints", complaint(inspection_id), headers={"Idempotency-Key": key}), 422)


def test_while_the_first_is_in_flight_the_same_key_is_409(api: Api) -> None:
    import json

    from infrastructure.idempotency import IdempotencyStore
    from infrastructure.tokens import hash_token
    from web import services_of
    from web.idempotency import request_hash

    inspection_id = api.schedule()
    body = complaint(inspection_id)
    # The same request has claimed the key and not answered yet (its claim is the row the INSERT made).
    digest = request_hash("POST", "/v1/complaints", b"", json.dumps(body).encode())
    store = IdempotencyStore(services_of(api.app).read_engine)
    assert store.claim(hash_token(api.token("inspector")), KEY["Idempotency-Key"], digest).kind == "claimed"
    at = head(api)
    problem = assert_problem(
        api.client.post(
            "/v1/complaints",
            data=json.dumps(body),
            content_type="application/json",
            headers={**api.headers("inspector"), **KEY},
        ),
        409,
    )
    assert problem["title"] == "Request in flight" and head(api) == at


def test_with_a_cipher_key_kept_answers_are_sealed(settings: Settings) -> None:
    import dataclasses

    import sqlalchemy as sa
    from eventsourcing.cryptography import AESCipher

    from infrastructure.idempotency import idempotency_table
    from web import create_app, services_of

    app = create_app(dataclasses.replace(settings, cipher_key=AESCipher.create_key(32)))
    sealed = Api(app)
    inspection_id = sealed.in_fieldwork()
    data = {"case_ref": "SECRETREF123", "characteristics": characteristics()}
    first = sealed.post(f"/v1/inspections/{inspection_id}/cases", data, headers=KEY)
    again = sealed.post(f"/v1/inspections/{inspection_id}/cases", data, headers=KEY)
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert again.get_json()["case_ref"] == "SECRETREF123" and again.headers["Idempotent-Replayed"] == "true"
    with services_of(app).read_engine.connect() as conn:
        stored = conn.execute(sa.select(idempotency_table.c.body)).scalar_one()
    assert b"SECRETREF123" not in stored
    services_of(app).close()
