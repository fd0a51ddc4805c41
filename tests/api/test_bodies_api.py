"""The register of bodies over HTTP (api-2 C): register, unique names, successions, indicators, reads,
inspections that refer to the register, and what an organisation may read."""

from __future__ import annotations

import threading
from typing import Any

from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.factories import body


def register(
    api: Api, name: str, type_: str = "yot", region: str = "North West", role: str = "inspector", **extra: Any
) -> dict[str, Any]:
    return api.ok(api.post("/v1/bodies", {"name": name, "type": type_, "region": region, **extra}, role), 201)


def test_register_and_read_a_body(api: Api) -> None:
    created = register(api, "  Cumbria YOT ", region="North West", role="admin")
    assert created["name"] == "Cumbria YOT" and created["type"] == "yot" and created["region"] == "North West"
    assert created["succeeds"] == [] and created["succeeded_by"] == []
    got = api.ok(api.get(f"/v1/bodies/{created['id']}", "auditor"))
    assert got["id"] == created["id"] and got["inspections"] == [] and got["indicators"] == {}


def test_a_name_is_unique_within_a_type_ignoring_case_and_spaces(api: Api) -> None:
    first = register(api, "Cumbria")
    again = api.post("/v1/bodies", {"name": " CUMBRIA ", "type": "yot", "region": "North West"})
    assert "already registered" in assert_problem(again, 409)["detail"]
    other_type = register(api, "Cumbria", "probation_trust")
    assert other_type["id"] != first["id"]


def test_racing_registrations_of_one_name_make_one_body(api: Api) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def attempt(n: int) -> None:
        client = api.app.test_client()
        barrier.wait()
        response = client.post(
            "/v1/bodies",
            json={"name": f"Racing{' ' * n}", "type": "yot", "region": "X"},
            headers=api.headers("inspector"),
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    assert [b["name"] for b in api.ok(api.get("/v1/bodies?q=racing"))["items"]] == ["Racing"]


def test_only_admin_and_inspector_register(api: Api) -> None:
    for role in ("local_assessor", "qa_reviewer", "auditor", "organisation"):
        assert_problem(api.post("/v1/bodies", {"name": "X", "type": "yot", "region": "Y"}, role), 403)


def test_bad_registrations_are_422(api: Api) -> None:
    cases = [
        {"name": "X", "type": "school", "region": "Y"},
        {"name": "  ", "type": "yot", "region": "Y"},
        {"name": "X", "type": "yot"},
        {"name": "X", "type": "yot", "region": "Y", "succeeds": ["not-a-uuid"]},
        {"name": "X", "type": "yot", "region": "Y", "colour": "red"},
    ]
    for data in cases:
        assert_problem(api.post("/v1/bodies", data), 422)
    unknown = api.post(
        "/v1/bodies", {"name": "X", "type": "yot", "region": "Y", "succeeds": ["00000000-0000-0000-0000-000000000001"]}
    )
    assert assert_problem(unknown, 422)["errors"]["succeeds"]
    assert api.ok(api.get("/v1/bodies"))["items"] == []


def test_successions_are_kept_both_ways(api: Api) -> None:
    cumbria = register(api, "Cumbria", "probation_trust")
    lancashire = register(api, "Lancashire", "probation_trust")
    crc = register(api, "Cumbria and Lancashire CRC", "crc", succeeds=[cumbria["id"], lancashire["id"]])
    nps = register(api, "NPS North West", "nps_division", succeeds=[cumbria["id"]])
    assert crc["succeeds"] == [cumbria["id"], lancashire["id"]]
    got = api.ok(api.get(f"/v1/bodies/{cumbria['id']}"))
    assert got["succeeded_by"] == [crc["id"], nps["id"]]
    pdu = register(api, "Cumbria PDU", "probation_delivery_unit", succeeds=[crc["id"]])
    assert api.ok(api.get(f"/v1/bodies/{crc['id']}"))["succeeded_by"] == [pdu["id"]]
    # a YOT does not succeed a probation trust
    wrong = api.post("/v1/bodies", {"name": "Y", "type": "yot", "region": "Z", "succeeds": [cumbria["id"]]})
    assert "does not succeed" in assert_problem(wrong, 422)["detail"]


def test_list_filters_by_type_region_and_q(api: Api) -> None:
    register(api, "Cumbria", "yot", "North West")
    register(api, "Cumbria", "probation_trust", "North West")
    register(api, "Durham", "yot", "North East")

    def names(query: str) -> list[tuple[str, str]]:
        return [(b["name"], b["type"]) for b in api.ok(api.get(f"/v1/bodies{query}"))["items"]]

    assert names("") == sorted(names(""), key=lambda n: n[0].casefold())
    assert names("?type=yot") == [("Cumbria", "yot"), ("Durham", "yot")]
    assert names("?region=north%20east") == [("Durham", "yot")]
    assert names("?q=UMB") == [("Cumbria", "probation_trust"), ("Cumbria", "yot")] or names("?q=UMB") == [
        ("Cumbria", "yot"),
        ("Cumbria", "probation_trust"),
    ]
    assert_problem(api.get("/v1/bodies?type=school"), 422)
    assert_problem(api.get("/v1/bodies?colour=red"), 422)


def test_indicators_are_recorded_by_year(api: Api) -> None:
    yot = register(api, "Cumbria")
    path = f"/v1/bodies/{yot['id']}/indicators/2017-18"
    response = api.call("PUT", path, json={"caseload": 240, "reoffending_rate": 41.5})
    assert api.ok(response) == {
        "body_id": yot["id"],
        "year": "2017-18",
        "indicators": {"caseload": 240, "reoffending_rate": 41.5},
    }
    api.ok(api.call("PUT", path, json={"caseload": 250}))  # a year again replaces its figures
    got = api.ok(api.get(f"/v1/bodies/{yot['id']}"))
    assert got["indicators"] == {"2017-18": {"caseload": 250}}
    for bad in (
        {},
        {"caseload": -1},
        {"caseload": 1.5},
        {"caseload": "10"},
        {"caseload": 1, "reoffending_rate": 101},
        {"caseload": 1, "mood": 3},
    ):
        assert_problem(api.call("PUT", path, json=bad), 422)
    assert_problem(api.call("PUT", f"/v1/bodies/{yot['id']}/indicators/2017-19", json={"caseload": 1}), 422)
    assert_problem(api.call("PUT", f"/v1/bodies/{yot['id']}/indicators/2017", json={"caseload": 1}), 422)
    missing = "/v1/bodies/00000000-0000-0000-0000-000000000001/indicators/2017-18"
    assert_problem(api.call("PUT", missing, json={"caseload": 1}), 404)
    assert_problem(api.call("PUT", path, role="organisation", json={"caseload": 1}), 403)


def test_an_inspection_of_name_type_region_registers_or_resolves_the_body(api: Api) -> None:
    first = api.ok(
        api.post(
            "/v1/inspections",
            {"programme": "OMI2", "inspected_body": body("  cumbria "), "fieldwork_start": "2010-05-03"},
        ),
        201,
    )
    registered = api.ok(api.get("/v1/bodies?type=probation_trust"))["items"]
    assert [b["name"] for b in registered] == ["cumbria"]
    body_id = registered[0]["id"]
    assert first["inspected_body"] == {
        "id": body_id,
        "name": "cumbria",
        "type": "probation_trust",
        "region": "North West",
    }
    # another spelling, another region: the same body (the register's region wins)
    second = api.ok(
        api.post(
            "/v1/inspections",
            {
                "programme": "OMI2",
                "inspected_body": body("CUMBRIA", region="Elsewhere"),
                "fieldwork_start": "2011-05-03",
            },
        ),
        201,
    )
    assert second["inspected_body"]["id"] == body_id and second["inspected_body"]["region"] == "North West"
    by_id = api.ok(
        api.post(
            "/v1/inspections", {"programme": "OMI2", "inspected_body": {"id": body_id}, "fieldwork_start": "2012-05-03"}
        ),
        201,
    )
    assert by_id["inspected_body"]["id"] == body_id
    got = api.ok(api.get(f"/v1/bodies/{body_id}"))
    assert [i["id"] for i in got["inspections"]] == [by_id["id"], second["id"], first["id"]]
    assert got["inspections"][0] == {
        "id": by_id["id"],
        "programme": "OMI2",
        "year": "2012-13",
        "status": "scheduled",
        "fieldwork_start": "2012-05-03",
        "published_on": None,
    }
    assert api.ok(api.get(f"/v1/inspections/{first['id']}"))["inspected_body"]["id"] == body_id
    assert len(api.ok(api.get("/v1/bodies"))["items"]) == 1


def test_an_inspected_body_by_id_must_be_registered_and_alone(api: Api) -> None:
    unknown = api.post(
        "/v1/inspections",
        {
            "programme": "OMI2",
            "fieldwork_start": "2011-05-03",
            "inspected_body": {"id": "00000000-0000-0000-0000-000000000001"},
        },
    )
    assert "inspected_body.id" in assert_problem(unknown, 422)["errors"]
    yot = register(api, "Cumbria", "probation_trust")
    mixed = api.post(
        "/v1/inspections",
        {"programme": "OMI2", "fieldwork_start": "2011-05-03", "inspected_body": {"id": yot["id"], "name": "Other"}},
    )
    assert_problem(mixed, 422)
    partial = api.post(
        "/v1/inspections",
        {"programme": "OMI2", "fieldwork_start": "2011-05-03", "inspected_body": {"name": "Other", "type": "yot"}},
    )
    assert_problem(partial, 422)
    # a programme that inspects other bodies refuses the registered body's type
    wrong = api.post(
        "/v1/inspections", {"programme": "YOS", "fieldwork_start": "2018-09-03", "inspected_body": {"id": yot["id"]}}
    )
    assert_problem(wrong, 422)
    assert api.ok(api.get(f"/v1/bodies/{yot['id']}"))["inspections"] == []


def test_a_refused_inspection_registers_nothing(api: Api) -> None:
    refused = api.post(
        "/v1/inspections", {"programme": "OMI2", "fieldwork_start": "2001-05-03", "inspected_body": body("Newbody")}
    )
    assert_problem(refused, 422)
    assert api.ok(api.get("/v1/bodies"))["items"] == []


def test_an_organisation_reads_its_own_body_only(api: Api) -> None:
    own = register(api, "Cumbria", "probation_trust")
    other = register(api, "Lancashire", "probation_trust")
    assert api.ok(api.get(f"/v1/bodies/{own['id']}", "organisation"))["name"] == "Cumbria"
    hidden = assert_problem(api.get(f"/v1/bodies/{other['id']}", "organisation"), 404)
    unknown = assert_problem(api.get("/v1/bodies/00000000-0000-0000-0000-000000000001", "organisation"), 404)
    assert hidden["detail"].replace(other["id"], "X") == unknown["detail"].replace(
        "00000000-0000-0000-0000-000000000001", "X"
    )
    assert [b["name"] for b in api.ok(api.get("/v1/bodies", "organisation"))["items"]] == ["Cumbria"]
    # and its inspections keep matching it by name
    inspection_id = api.schedule("Cumbria")
    assert api.ok(api.get(f"/v1/inspections/{inspection_id}", "organisation"))["inspected_body"]["id"] == own["id"]
