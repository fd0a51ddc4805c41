"""Who is who, and who sees what: actors by id, characteristics only for auditors and admins.

- A case's assessor is the token that sampled it (its id), never whoever shares its name.
- Every event's actor is ``{id, name, role, organisation}``, in history, CSV and the feed.
- The consistency view groups first assessors by id.
- Case characteristics are in history, CSV and the feed only for auditor and admin.

(Another body's records answering 404 to an organisation is tested with each resource.)
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import orjson

from tests.api.api_client import Api, assert_problem
from tests.api.test_views_api import project
from tests.factories import characteristics, judgements
from web import services_of

SPECIAL = ("characteristics", "risk_level", "looked_after", "disability")
NOT_PRIVILEGED = ("inspector", "local_assessor", "qa_reviewer", "organisation")


class Person:
    """A token of its own (``Api.token`` shares one per role): two people may share a name."""

    def __init__(self, api: Api, name: str, role: str, organisation: str | None = None) -> None:
        self.info, secret = services_of(api.app).tokens.create(name, role, organisation)
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.api = api

    @property
    def id(self) -> str:
        return self.info.id

    def post(self, path: str, body: Any) -> Any:
        return self.api.client.post(path, json=body, headers=self.headers)


def sample(person: Person, inspection_id: str, case_ref: str) -> str:
    response = person.post(
        f"/v1/inspections/{inspection_id}/cases",
        {"case_ref": case_ref, "characteristics": characteristics(risk_level="very_high")},
    )
    return person.api.ok(response, 201)["id"]


def test_a_namesake_of_the_cases_assessor_may_not_rate_it(api: Api) -> None:
    """The attack: a local assessor of the inspected body, named like an inspector, rates that inspector's case."""
    inspection_id = api.in_fieldwork("Cumbria")
    inspector = Person(api, "Sam Taylor", "inspector")
    insider = Person(api, "Sam Taylor", "local_assessor", organisation="Cumbria")
    case_id = sample(inspector, inspection_id, "C1")
    assert api.ok(api.get(f"/v1/cases/{case_id}"))["assessor"]["id"] == inspector.id
    problem = assert_problem(insider.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(False)}), 403)
    assert "assessor" in problem["detail"]
    assert api.ok(api.get(f"/v1/cases/{case_id}"))["judged"] is False  # nothing was recorded

    # Between local assessors of the same organisation, too: the name is no identity.
    lee = Person(api, "Lee Evans", "local_assessor", organisation="Lancashire")
    namesake = Person(api, "Lee Evans", "local_assessor", organisation="Lancashire")
    lees_case = sample(lee, inspection_id, "C2")
    assert_problem(namesake.post(f"/v1/cases/{lees_case}/ratings", {"judgements": judgements(True)}), 403)
    rated = api.ok(lee.post(f"/v1/cases/{lees_case}/ratings", {"judgements": judgements(True)}))
    assert {j["by"]["id"] for j in rated["judgements"]} == {lee.id}
    api.ok(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(True)}, "inspector"))  # any inspector


def test_events_carry_the_actors_id_in_history_csv_and_feed(api: Api) -> None:
    inspection_id = api.in_fieldwork("Cumbria")
    first = Person(api, "Lee Evans", "local_assessor", organisation="Lancashire")
    second = Person(api, "Lee Evans", "local_assessor", organisation="Durham")
    for n, person in enumerate((first, second)):
        case_id = sample(person, inspection_id, f"C{n}")
        api.ok(person.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(True)}))

    events = api.ok(api.get(f"/v1/inspections/{inspection_id}/history", "inspector"))["events"]
    rated = [e for e in events if e["type"] == "case.rated.v1"]
    assert [e["actor"] for e in rated] == [
        {"id": first.id, "name": "Lee Evans", "role": "local_assessor", "organisation": "Lancashire"},
        {"id": second.id, "name": "Lee Evans", "role": "local_assessor", "organisation": "Durham"},
    ]
    sampled = [e for e in events if e["type"] == "case.sampled.v1"]
    assert [e["data"]["assessor"]["id"] for e in sampled] == [first.id, second.id]

    text = api.get(f"/v1/inspections/{inspection_id}/history?format=csv", "inspector").get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["type"] == "case.rated.v1"]
    assert [(r["actor_id"], r["actor_name"], r["actor_organisation"]) for r in rows] == [
        (first.id, "Lee Evans", "Lancashire"),
        (second.id, "Lee Evans", "Durham"),
    ]

    feed = api.ok(api.get(f"/v1/events?inspection_id={inspection_id}&types=case.rated.v1", "integration"))
    assert [e["data"]["actor"]["id"] for e in feed["events"]] == [first.id, second.id]
    stream = api.get("/v1/events/stream?types=case.rated.v1&max_events=2&timeout=5", "integration")
    sent = [
        orjson.loads(line[len("data: ") :])
        for line in stream.get_data(as_text=True).splitlines()
        if line.startswith("data: ")
    ]
    assert [e["data"]["actor"]["id"] for e in sent] == [first.id, second.id]


def test_the_consistency_view_tells_two_assessors_with_one_name_apart(api: Api) -> None:
    inspection_id = api.in_fieldwork("Cumbria")
    first = Person(api, "Lee Evans", "local_assessor", organisation="Lancashire")
    second = Person(api, "Lee Evans", "local_assessor", organisation="Lancashire")
    moderation = {
        "judgements": [{"area": "risk_of_harm", "criterion": "outcomes", "sufficient": False}],
        "note": "Dip sample.",
    }
    for n, person in enumerate((first, second)):
        case_id = sample(person, inspection_id, f"C{n}")
        api.ok(person.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(n == 0)}))
        api.ok(api.post(f"/v1/cases/{case_id}/moderations", moderation, "qa_reviewer"))
    project(api)
    body = api.ok(api.get("/v1/views/consistency", "qa_reviewer"))
    rows = sorted(
        ((a["id"], a["name"], a["pairs"], a["agreements"]) for a in body["by_assessor"]),
        key=lambda row: row[0] != first.id,
    )
    assert rows == [(first.id, "Lee Evans", 1, 0), (second.id, "Lee Evans", 1, 1)]
    assert {d["first_assessor"]["id"] for d in body["disagreements"]} == {first.id}


def _sampled_data(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == "case.sampled.v1"]


def test_history_carries_characteristics_only_for_auditors_and_admins(api: Api) -> None:
    inspection_id = api.in_fieldwork("Cumbria")
    api.add_case(inspection_id, "C1")
    api.add_case(inspection_id, "C2", "local_assessor")
    path = f"/v1/inspections/{inspection_id}/history"
    for role in NOT_PRIVILEGED:
        events = api.ok(api.get(path, role))["events"]
        sampled = _sampled_data(events)
        assert len(sampled) == 2 and all("characteristics" not in data for data in sampled), role
        assert [data["case_ref"] for data in sampled] == ["C1", "C2"]
        text = api.get(f"{path}?format=csv", role).get_data(as_text=True)
        assert text.count("case.sampled.v1") == 2
        assert not any(word in json.dumps(events) or word in text for word in SPECIAL), role
    for role in ("auditor", "admin"):
        sampled = _sampled_data(api.ok(api.get(path, role))["events"])
        assert [data["characteristics"] for data in sampled] == [characteristics()] * 2, role
        rows = csv.DictReader(io.StringIO(api.get(f"{path}?format=csv", role).get_data(as_text=True)))
        sampled = [json.loads(r["data"]) for r in rows if r["type"] == "case.sampled.v1"]
        assert [data["characteristics"] for data in sampled] == [characteristics()] * 2, role


def test_the_feed_and_its_stream_carry_characteristics_only_for_auditors_and_admins(api: Api) -> None:
    inspection_id = api.in_fieldwork("Cumbria")
    api.add_case(inspection_id, "C1")
    for role, expected in (("integration", None), ("auditor", characteristics()), ("admin", characteristics())):
        page = api.ok(api.get("/v1/events?types=case.sampled.v1", role))
        assert [e["data"].get("characteristics") for e in page["events"]] == [expected], role
        stream = api.get("/v1/events/stream?types=case.sampled.v1&max_events=1&timeout=5", role)
        text = stream.get_data(as_text=True)
        (line,) = [line for line in text.splitlines() if line.startswith("data: ")]
        assert orjson.loads(line[len("data: ") :])["data"].get("characteristics") == expected, role
        if expected is None:
            assert not any(word in text for word in SPECIAL)
