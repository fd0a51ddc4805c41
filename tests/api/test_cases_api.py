"""Cases over HTTP: sampling, ratings by the assessor, moderations, reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from tests.api.api_client import Api, assert_problem
from tests.factories import CCI_AREAS, characteristics, judgements

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def test_add_case_answers_201_with_the_caller_as_assessor_and_no_characteristics(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    response = api.post(
        f"/v1/inspections/{inspection_id}/cases",
        {"case_ref": "YOT-0001", "characteristics": characteristics(disability="unknown")},
        "local_assessor",
    )
    case = api.ok(response, 201)
    assert case["inspection_id"] == inspection_id and case["case_ref"] == "YOT-0001"
    assert case["assessor"]["role"] == "local_assessor"
    assert case["assessor"]["organisation"] == "Lancashire"
    assert "characteristics" not in case
    assert response.headers["ETag"] == '"1"' and int(response.headers["Inspectorate-Position"]) > 0
    assert api.ok(api.get(f"/v1/inspections/{inspection_id}"))["case_count"] == 1


def test_cases_only_during_fieldwork_and_never_the_same_ref_twice(api: Api) -> None:
    inspection_id = api.schedule()
    data = {"case_ref": "C1", "characteristics": characteristics()}
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/cases", data), 409)
    api.post(f"/v1/inspections/{inspection_id}/start-fieldwork")
    api.ok(api.post(f"/v1/inspections/{inspection_id}/cases", data), 201)
    assert_problem(api.post(f"/v1/inspections/{inspection_id}/cases", data), 409)


def test_a_local_assessor_never_assesses_their_own_organisation(api: Api) -> None:
    inspection_id = api.in_fieldwork("Lancashire")
    data = {"case_ref": "C1", "characteristics": characteristics()}
    problem = assert_problem(api.post(f"/v1/inspections/{inspection_id}/cases", data, "local_assessor"), 403)
    assert "own organisation" in problem["detail"]
    other_spelling = api.client.post(
        f"/v1/inspections/{inspection_id}/cases",
        json=data,
        headers={"Authorization": f"Bearer {api.token('local_assessor', organisation='  LANCASHIRE ', name='Lou')}"},
    )
    assert_problem(other_spelling, 403)
    api.ok(api.post(f"/v1/inspections/{inspection_id}/cases", data, "inspector"), 201)


def test_the_cases_assessor_or_an_inspector_rates_others_may_not(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    case_id = api.add_case(inspection_id, role="local_assessor")
    rated = api.rate(case_id, True, "local_assessor")
    assert rated["judged"] is True and len(rated["judgements"]) == 9
    assert "characteristics" not in rated
    other = api.client.post(
        f"/v1/cases/{case_id}/ratings",
        json={"judgements": judgements(False)},
        headers={"Authorization": f"Bearer {api.token('local_assessor', organisation='Durham', name='Another')}"},
    )
    assert_problem(other, 403)
    response = api.post(
        f"/v1/cases/{case_id}/ratings",
        {
            "judgements": [
                {"area": "risk_of_harm", "criterion": "outcomes", "sufficient": None, "note": "not applicable here"}
            ]
        },
    )
    replaced = api.ok(response)
    outcome = [j for j in replaced["judgements"] if (j["area"], j["criterion"]) == ("risk_of_harm", "outcomes")]
    assert outcome[0]["sufficient"] is None and outcome[0]["note"] == "not applicable here"
    assert response.headers["ETag"] == '"3"'


def test_a_judgement_outside_the_framework_is_422(api: Api) -> None:
    case_id = api.add_case(api.in_fieldwork())
    response = api.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(True, CCI_AREAS)})
    problem = assert_problem(response, 422)
    assert "area" in problem["errors"]
    assert_problem(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": []}), 422)


def test_ratings_after_publication_are_409_moderations_still_allowed(api: Api) -> None:
    published = api.published([True])
    case_id = api.ok(api.get(f"/v1/inspections/{published['id']}/cases"))["items"][0]["id"]
    assert_problem(api.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(False)}), 409)
    moderated = api.ok(
        api.post(
            f"/v1/cases/{case_id}/moderations",
            {"judgements": judgements(False)[:1], "note": "dip sample"},
            "qa_reviewer",
        )
    )
    assert moderated["moderations"][0]["after_publication"] is True
    assert api.ok(api.get(f"/v1/inspections/{published['id']}"))["headline_scores"] == published["headline_scores"]


def test_moderation_is_a_second_judgement_of_items_already_judged(api: Api) -> None:
    case_id = api.add_case(api.in_fieldwork())
    items = judgements(True)[:2]
    assert_problem(api.post(f"/v1/cases/{case_id}/moderations", {"judgements": items, "note": "n"}, "qa_reviewer"), 409)
    api.rate(case_id, True)
    moderated = api.ok(
        api.post(
            f"/v1/cases/{case_id}/moderations", {"judgements": judgements(False)[:2], "note": "disagree"}, "qa_reviewer"
        )
    )
    first = moderated["moderations"][0]
    assert first["sufficient"] is False and first["first"] is True and first["moderation_note"] == "disagree"
    assert_problem(api.post(f"/v1/cases/{case_id}/moderations", {"judgements": items}, "qa_reviewer"), 422)


def test_the_case_list_and_one_case(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    first, second = api.add_case(inspection_id, "C1"), api.add_case(inspection_id, "C2", "local_assessor")
    api.rate(first, False)
    items = api.ok(api.get(f"/v1/inspections/{inspection_id}/cases", "auditor"))["items"]
    assert [(i["id"], i["case_ref"], i["judged"]) for i in items] == [(first, "C1", True), (second, "C2", False)]
    assert items[1]["assessor"]["role"] == "local_assessor"
    assert all("characteristics" not in item for item in items)
    response = api.get(f"/v1/cases/{first}", "qa_reviewer")
    case = api.ok(response)
    assert case["characteristics"] == characteristics()
    assert len(case["judgements"]) == 9 and case["moderations"] == []
    assert response.headers["ETag"] == '"2"'


def test_a_case_as_of_a_past_moment(api: Api) -> None:
    with freeze_time(datetime(2011, 5, 4, 9, tzinfo=UTC)) as frozen:
        case_id = api.add_case(api.in_fieldwork())
        frozen.tick(timedelta(minutes=5))
        api.rate(case_id, True)
    before = api.ok(api.get(f"/v1/cases/{case_id}", query_string={"as_of": "2011-05-04T09:04:59Z"}))
    assert before["judged"] is False and before["version"] == 1
    after = api.ok(api.get(f"/v1/cases/{case_id}", query_string={"as_of": "2011-05-04T10:05:00+01:00"}))
    assert after["judged"] is True
    assert_problem(api.get(f"/v1/cases/{case_id}", query_string={"as_of": "2011-05-04T08:59:59Z"}), 404)


def test_an_organisation_reads_only_its_own_cases(api: Api) -> None:
    """Another body's case does not exist for an organisation: the same 404 as an unknown id."""
    own_case = api.add_case(api.in_fieldwork("Cumbria"))
    other_inspection = api.in_fieldwork("Lancashire")
    other_case = api.add_case(other_inspection)
    assert api.ok(api.get(f"/v1/cases/{own_case}", "organisation"))["id"] == own_case
    hidden = assert_problem(api.get(f"/v1/cases/{other_case}", "organisation"), 404)
    unknown = assert_problem(api.get(f"/v1/cases/{UNKNOWN}", "organisation"), 404)
    assert hidden == {**unknown, "detail": unknown["detail"].replace(UNKNOWN, other_case)}
    as_of = {"as_of": "2999-01-01T00:00:00Z"}
    hidden = assert_problem(api.get(f"/v1/cases/{other_case}", "organisation", query_string=as_of), 404)
    assert hidden["detail"] == f"no CaseAssessment with id {other_case} at 2999-01-01T00:00:00+00:00"
    hidden = assert_problem(api.get(f"/v1/inspections/{other_inspection}/cases", "organisation"), 404)
    unknown = assert_problem(api.get(f"/v1/inspections/{UNKNOWN}/cases", "organisation"), 404)
    assert hidden == {**unknown, "detail": unknown["detail"].replace(UNKNOWN, other_inspection)}


def test_unknown_cases_are_404(api: Api) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    assert_problem(api.get(f"/v1/cases/{unknown}"), 404)
    assert_problem(api.get(f"/v1/inspections/{unknown}/cases"), 404)
    assert_problem(api.post(f"/v1/cases/{unknown}/ratings", {"judgements": judgements(True)}), 404)
    inspection_id = api.schedule()
    assert_problem(api.get(f"/v1/cases/{inspection_id}"), 404)  # an id of another kind of record
