"""Programme years (issue 16, item 12): a reinspection is listed but not pooled, and ties name every body.

The live view, a rebuild from the first event and the as-of path (``?as_of=``, computed from the events)
must give the same figures.
"""

from __future__ import annotations

from typing import Any

from freezegun import freeze_time

from infrastructure.projections.engine import create_projection_engine
from tests.api.api_client import Api
from tests.factories import CCI_AREAS, body, characteristics, judgements
from web import services_of
from web.bootstrap import build_projector

YEAR = "/v1/views/programmes/CCI/years/2011-12"
LATER = "2030-01-01T00:00:00Z"


def project(api: Api, *, rebuild: bool = False) -> None:
    services = services_of(api.app)
    engine = create_projection_engine(services.settings)
    try:
        projector = build_projector(services.app, engine, services.settings, ["programme_years"])
        projector.ensure_tracking()
        if rebuild:
            projector.reset()
        projector.catch_up()
    finally:
        engine.dispose()


def cci(
    api: Api, name: str, start: str, verdicts: list[bool], published_on: str, reinspection_of: str | None = None
) -> tuple[str, str | None]:
    """A CCI inspection of a youth offending team, one case per verdict (every item judged alike), published:
    its id and its reinspection's, if of concern."""
    created = api.ok(
        api.post(
            "/v1/inspections",
            {"programme": "CCI", "inspected_body": body(name, "yot", "London"), "fieldwork_start": start},
        ),
        201,
    )
    inspection_id = created["id"]
    if reinspection_of is not None:
        api.ok(api.post(f"/v1/reinspections/{reinspection_of}/schedule", {"inspection_id": inspection_id}))
    api.ok(api.post(f"/v1/inspections/{inspection_id}/start-fieldwork", {}))
    for n, verdict in enumerate(verdicts):
        case = api.ok(
            api.post(
                f"/v1/inspections/{inspection_id}/cases",
                {"case_ref": f"{name[:3]}{n}", "characteristics": characteristics()},
            ),
            201,
        )
        api.ok(api.post(f"/v1/cases/{case['id']}/ratings", {"judgements": judgements(verdict, CCI_AREAS)}))
    api.ok(api.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
    published = api.ok(api.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": published_on}))
    return inspection_id, published["reinspection"]["id"] if published["reinspection"] else None


def a_year_with_a_tie_and_a_reinspection(api: Api) -> dict[str, str]:
    """CCI 2011-12: Greenwich and Lambeth tie on the lowest score (40); Southwark 80; Greenwich's report of
    concern is followed up within the year by a reinspection scoring 100, which is not the year's highest."""
    ids: dict[str, str] = {}
    with freeze_time("2011-10-03 09:00:00"):
        ids["greenwich"], reinspection = cci(
            api, "Greenwich", "2011-05-02", [True, True, False, False, False], "2011-09-30"
        )
    with freeze_time("2011-12-01 09:00:00"):
        ids["lambeth"], _ = cci(api, "Lambeth", "2011-06-06", [True, True, False, False, False], "2011-11-30")
        ids["southwark"], _ = cci(api, "Southwark", "2011-07-04", [True, True, True, True, False], "2011-11-30")
    with freeze_time("2012-03-30 09:00:00"):
        ids["follow_up"], _ = cci(
            api, "Greenwich", "2011-10-10", [True, True], "2012-03-30", reinspection_of=reinspection
        )
    assert api.ok(api.get(f"/v1/reinspections/{reinspection}"))["status"] == "completed"
    return ids


def expected(ids: dict[str, str]) -> dict[str, Any]:
    def named(*keys: str) -> list[dict[str, str]]:
        names = {"greenwich": "Greenwich", "lambeth": "Lambeth", "southwark": "Southwark"}
        return [{"inspection_id": ids[k], "inspected_body": names[k]} for k in keys]

    lowest = {
        "score": 40,
        "inspection_id": ids["greenwich"],
        "inspected_body": "Greenwich",
        "tied": named("greenwich", "lambeth"),
    }
    highest = {
        "score": 80,
        "inspection_id": ids["southwark"],
        "inspected_body": "Southwark",
        "tied": named("southwark"),
    }
    return {
        "inspections": 3,
        "reinspections": 1,
        "cases": 17,
        "aggregate": {area: {"score": 53, "sufficient": 8 * 3, "applicable": 15 * 3} for area in CCI_AREAS},
        "lowest": {area: lowest for area in CCI_AREAS},
        "highest": {area: highest for area in CCI_AREAS},
        "rows": [
            (ids["greenwich"], False, 40),
            (ids["lambeth"], False, 40),
            (ids["southwark"], False, 80),
            (ids["follow_up"], True, 100),
        ],
    }


def figures(year: dict[str, Any]) -> dict[str, Any]:
    return {
        "inspections": year["inspections"],
        "reinspections": year["reinspections"],
        "cases": year["cases"],
        "aggregate": year["aggregate"],
        "lowest": year["lowest"],
        "highest": year["highest"],
        "rows": [(r["inspection_id"], r["reinspection"], r["headline"]["risk_of_harm"]) for r in year["rows"]],
    }


def test_a_reinspection_is_listed_not_pooled_and_ties_name_every_body(api: Api) -> None:
    ids = a_year_with_a_tie_and_a_reinspection(api)
    want = expected(ids)
    project(api)
    live = api.ok(api.get(YEAR))
    assert figures(live) == want
    assert [len(r["headline"]) for r in live["rows"]] == [3, 3, 3, 3]

    project(api, rebuild=True)
    assert figures(api.ok(api.get(YEAR))) == want
    as_of = api.ok(api.get(YEAR, query_string={"as_of": LATER}))
    assert figures(as_of) == want
    # Before the follow-up was published, as the record stood then: three inspections, no reinspection.
    earlier = api.ok(api.get(YEAR, query_string={"as_of": "2012-01-01T00:00:00Z"}))
    assert (earlier["inspections"], earlier["reinspections"], earlier["lowest"]["risk_of_harm"]) == (
        3,
        0,
        want["lowest"]["risk_of_harm"],
    )


def test_the_programme_year_answer_matches_its_documented_schema(api: Api) -> None:
    a_year_with_a_tie_and_a_reinspection(api)
    project(api)
    document = api.ok(api.get("/openapi.json", None))
    schemas = document["components"]["schemas"]
    year = schemas["ProgrammeYearOut"]
    assert {"inspections", "reinspections", "lowest", "highest", "rows"} <= set(year["required"])
    assert set(schemas["ExtremeOut"]["required"]) == {"score", "inspection_id", "inspected_body", "tied"}
    assert "reinspection" in schemas["YearRowOut"]["required"]
