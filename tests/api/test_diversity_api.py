"""Diversity across inspections (issue 19): GET /v1/views/programmes/{p}/years/{y}/diversity.

Pooled from the scores view's per-inspection profile tallies over the year's published inspections
(reinspections left out), small cells suppressed; the same after a rebuild; as it stood with ``as_of``;
live inspections too with ``published_only=false``, for the inspectorate's roles only.
"""

from __future__ import annotations

from typing import Any

from freezegun import freeze_time

from infrastructure.projections.engine import create_projection_engine
from tests.api.api_client import Api, assert_problem
from tests.api.test_programme_years import a_year_with_a_tie_and_a_reinspection
from tests.factories import CCI_AREAS, body, characteristics, judgements
from web import services_of
from web.bootstrap import build_projector

DIVERSITY = "/v1/views/programmes/CCI/years/2011-12/diversity"


def project(api: Api, *, rebuild: bool = False) -> None:
    services = services_of(api.app)
    engine = create_projection_engine(services.settings)
    try:
        projector = build_projector(services.app, engine, services.settings, ["scores", "programme_years"])
        projector.ensure_tracking()
        if rebuild:
            projector.reset()
        projector.catch_up()
    finally:
        engine.dispose()


def inspection(api: Api, name: str, start: str, cases: list[tuple[str, bool]], published_on: str | None) -> str:
    """A CCI inspection with one case per (gender, verdict), every item judged alike; published if a date."""
    created = api.ok(
        api.post(
            "/v1/inspections",
            {"programme": "CCI", "inspected_body": body(name, "yot", "London"), "fieldwork_start": start},
        ),
        201,
    )
    inspection_id = created["id"]
    api.ok(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", {}))
    for n, (gender, verdict) in enumerate(cases):
        case = api.ok(
            api.post(
                f"/v1/inspections/{inspection_id}/cases",
                {"case_ref": f"{name[:3]}{n}", "characteristics": characteristics(gender=gender)},
            ),
            201,
        )
        api.ok(api.post(f"/v1/cases/{case['id']}/ratings", {"judgements": judgements(verdict, CCI_AREAS)}))
    if published_on is not None:
        api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
        api.ok(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": published_on}))
    return inspection_id


def a_year_of_two_reports_and_one_in_fieldwork(api: Api) -> None:
    """Greenwich: 12 girls and young women (all sufficient), 3 young men (none); Lambeth: 8 young men (half),
    2 of another gender (sufficient); Southwark, still in fieldwork: 5 young women (none)."""
    with freeze_time("2011-10-03 09:00:00"):
        inspection(api, "Greenwich", "2011-05-02", [("female", True)] * 12 + [("male", False)] * 3, "2011-09-30")
    with freeze_time("2011-12-01 09:00:00"):
        inspection(
            api,
            "Lambeth",
            "2011-06-06",
            [("male", True)] * 4 + [("male", False)] * 4 + [("other", True)] * 2,
            "2011-11-30",
        )
    with freeze_time("2012-01-09 09:00:00"):
        inspection(api, "Southwark", "2011-12-05", [("female", False)] * 5, None)


def risk(cell: dict[str, Any]) -> tuple[Any, ...]:
    r = cell["areas"]["risk_of_harm"]
    return r["score"], r["sufficient"], r["applicable"], r["difference"]


def test_cases_shares_scores_and_differences_by_characteristic_with_small_cells_suppressed(api: Api) -> None:
    a_year_of_two_reports_and_one_in_fieldwork(api)
    project(api)
    figures = api.ok(api.get(DIVERSITY))
    assert (figures["inspections"], figures["reinspections"], figures["cases"]) == (2, 0, 25)
    assert figures["published_only"] is True and figures["areas"] == list(CCI_AREAS)
    assert figures["overall"]["risk_of_harm"]["sufficient"] == 3 * (12 + 4 + 2)
    gender = figures["characteristics"]["gender"]
    # other (2 cases) is below 10, so the next smallest, male (11), is hidden too: 13 hidden together.
    assert [(v, c["suppressed"], c["cases"]) for v, c in gender.items()] == [
        ("female", False, 12),
        ("male", True, None),
        ("other", True, None),
        ("unknown", False, 0),
    ]
    female = gender["female"]
    assert female["share"] == 48.0
    # 36 of 36 judgements against the other 13 cases' 18 of 39 (Newcombe: 35.8 to 68.4 points)
    assert risk(female) == (100, 36, 36, {"points": 53.8, "ci95": [35.8, 68.4]})
    assert female["areas"]["risk_of_harm"]["ci95"] == [90.4, 100.0]
    assert gender["male"]["areas"] is None and gender["male"]["share"] is None
    # every case is bame: its group is the whole sample, with no one to compare with
    assert risk(figures["characteristics"]["ethnicity"]["bame"])[3] is None
    assert figures["characteristics"]["ethnicity"]["bame"]["share"] == 100.0
    assert figures["small_cells"]["min_cases"] == 10 and "Newcombe" in figures["method"]["difference_ci95"]

    project(api, rebuild=True)
    assert api.ok(api.get(DIVERSITY)) == figures

    # As it stood before Lambeth's report: Greenwich alone (15 cases: male 3 hidden, and female with it).
    earlier = api.ok(api.get(DIVERSITY, query_string={"as_of": "2011-11-01T00:00:00Z"}))
    assert (earlier["inspections"], earlier["cases"], earlier["as_of"]) == (1, 15, "2011-11-01T00:00:00+00:00")
    assert [c["suppressed"] for c in earlier["characteristics"]["gender"].values()] == [True, True, False, False]
    assert api.ok(api.get(DIVERSITY, query_string={"as_of": "2030-01-01T00:00:00Z"}))["cases"] == 25


def test_unpublished_inspections_count_only_when_asked_and_only_for_the_inspectorate(api: Api) -> None:
    a_year_of_two_reports_and_one_in_fieldwork(api)
    project(api)
    live = api.ok(api.get(DIVERSITY, "qa_reviewer", query_string={"published_only": "false"}))
    assert (live["published_only"], live["inspections"], live["cases"]) == (False, 3, 30)
    assert risk(live["characteristics"]["gender"]["female"])[:3] == (71, 36, 51)
    for role in ("organisation", "local_assessor"):
        assert_problem(api.get(DIVERSITY, role, query_string={"published_only": "false"}), 403)
    # published figures are for every reader, an organisation included (they pool published reports)
    assert api.ok(api.get(DIVERSITY, "organisation"))["cases"] == 25
    assert_problem(
        api.get(DIVERSITY, "admin", query_string={"published_only": "false", "as_of": "2011-11-01T00:00:00Z"}), 422
    )


def test_a_reinspection_is_left_out_as_from_the_years_pooled_figures(api: Api) -> None:
    a_year_with_a_tie_and_a_reinspection(api)
    project(api)
    figures = api.ok(api.get(DIVERSITY))
    year = api.ok(api.get("/v1/views/programmes/CCI/years/2011-12"))
    assert (figures["inspections"], figures["reinspections"], figures["cases"]) == (3, 1, 15)
    assert figures["overall"]["risk_of_harm"] == year["aggregate"]["risk_of_harm"] | {"ci95": [39.1, 67.1]}
    as_of = api.ok(api.get(DIVERSITY, query_string={"as_of": "2030-01-01T00:00:00Z"}))
    assert {k: v for k, v in as_of.items() if k != "as_of"} == figures


def test_bad_input_is_a_clear_4xx(api: Api) -> None:
    assert_problem(api.get("/v1/views/programmes/XYZ/years/2011-12/diversity"), 404)
    assert_problem(api.get("/v1/views/programmes/CCI/years/2011/diversity"), 404)
    for query in ({"published_only": "yes"}, {"as_of": "yesterday"}, {"min_position": "-1"}, {"colour": "red"}):
        assert_problem(api.get(DIVERSITY, query_string=query), 422)
    assert_problem(api.get(DIVERSITY, None), 401)
    empty = api.ok(api.get(DIVERSITY))
    assert (empty["inspections"], empty["cases"], empty["areas"]) == (0, 0, [])


def test_as_of_a_publication_the_scores_view_has_not_reached_is_503_with_retry_after(api: Api) -> None:
    with freeze_time("2011-10-03 09:00:00"):
        inspection(api, "Greenwich", "2011-05-02", [("female", True)] * 3, "2011-09-30")
    response = api.get(DIVERSITY, query_string={"as_of": "2030-01-01T00:00:00Z"})
    assert "scores view" in assert_problem(response, 503)["detail"] and response.headers["Retry-After"] == "1"
    project(api)
    assert api.ok(api.get(DIVERSITY, query_string={"as_of": "2030-01-01T00:00:00Z"}))["cases"] == 3


def test_a_2018_programme_year_is_broken_down_by_standard_and_key_question(api: Api) -> None:
    created = api.ok(
        api.post(
            "/v1/inspections",
            {
                "programme": "YOS",
                "fieldwork_start": "2019-03-04",
                "inspected_body": body("Cumbria", "yot", "North West"),
            },
        ),
        201,
    )
    inspection_id = created["id"]
    api.ok(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", {}))
    for n, gender in enumerate(["female"] * 10 + ["male"] * 10):
        case = api.ok(
            api.post(
                f"/v1/inspections/{inspection_id}/cases",
                {"case_ref": f"Y{n}", "characteristics": characteristics(gender=gender, age_band="15-17")},
            ),
            201,
        )
        api.ok(
            api.post(
                f"/v1/cases/{case['id']}/ratings",
                {
                    "judgements": [
                        {"standard": s, "question": q, "sufficient": gender == "female"}
                        for s in ("2.1", "2.2", "2.3", "2.4")
                        for q in ("desistance", "safety_and_wellbeing", "risk_of_harm")
                    ]
                },
            )
        )
    project(api)
    path = "/v1/views/programmes/YOS/years/2018-19/diversity"
    assert api.ok(api.get(path))["inspections"] == 0  # nothing published yet
    live = api.ok(api.get(path, "admin", query_string={"published_only": "false"}))
    assert live["areas"][:3] == ["2.1/desistance", "2.1/safety_and_wellbeing", "2.1/risk_of_harm"]
    female = live["characteristics"]["gender"]["female"]["areas"]["2.1/desistance"]
    assert (female["score"], female["sufficient"], female["applicable"]) == (100, 10, 10)
    assert female["difference"]["points"] == 100.0 and female["difference"]["ci95"][0] > 50
    assert live["characteristics"]["gender"]["male"]["areas"]["2.4/risk_of_harm"]["score"] == 0
