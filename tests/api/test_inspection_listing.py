"""GET /v1/inspections: filters, newest first, cursor paging, organisations see their own (api-2 C)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.api_client import Api, api, assert_problem  # noqa: F401 - fixture
from tests.api.test_views_api import project


def listing(api: Api, query: str = "", role: str = "inspector") -> dict[str, Any]:
    return api.ok(api.get(f"/v1/inspections{query}", role))


def test_lists_newest_first_with_the_contract_fields(api: Api) -> None:
    older = api.schedule("Cumbria", "2010-05-03")
    newer = api.schedule("  north LINCOLNSHIRE ", "2011-06-01")
    project(api)
    body = listing(api)
    assert [i["id"] for i in body["items"]] == [newer, older] and body["next_cursor"] is None
    item = body["items"][0]
    assert set(item) >= {
        "id",
        "programme",
        "framework",
        "year",
        "inspected_body",
        "status",
        "fieldwork_start",
        "published_on",
    }
    assert item["fieldwork_start"] == "2011-06-01" and item["status"] == "scheduled"
    assert item["year"] == "2011-12" and item["programme"] == "OMI2" and item["published_on"] is None
    # the register's name (surrounding spaces dropped), with the body's register id
    assert item["inspected_body"]["name"] == "north LINCOLNSHIRE" and item["inspected_body"]["id"]


def test_filters_by_programme_year_status_body_and_q(api: Api) -> None:
    a = api.schedule("North Lincolnshire", "2011-06-01")
    b = api.schedule("Cumbria", "2010-05-03")
    c = api.published([True], name="Lancashire", start="2011-05-03")["id"]
    project(api)

    def ids(query: str) -> list[str]:
        return [i["id"] for i in listing(api, query)["items"]]

    assert ids("?year=2010-11") == [b]
    assert ids("?status=published") == [c]
    assert ids("?body=north%20lincolnshire") == [a]
    assert ids("?q=LINC") == [a]
    assert ids("?q=shire") == [a, c]
    assert ids("?programme=CCI") == []


def test_cursor_pages_through_every_inspection_once(api: Api) -> None:
    scheduled = [api.schedule(f"Body {n}", "2011-05-03") for n in range(3)]
    scheduled.append(api.schedule("Body 9", "2011-07-01"))
    project(api)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = listing(api, query)
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and sorted(seen) == sorted(scheduled) and len(seen) == 4
    assert seen[0] == scheduled[-1]  # the latest fieldwork first; ties by id


def test_an_organisation_sees_its_own(api: Api) -> None:
    own = api.schedule("Cumbria", "2011-05-03")
    api.schedule("Lancashire", "2011-05-03")
    project(api)
    assert [i["id"] for i in listing(api, role="organisation")["items"]] == [own]


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=201",
        "?cursor=nonsense!",
        "?cursor=WzFd",
        "?status=x",
        "?year=2011",
        "?unknown=1",
        "?min_position=1",
    ],
)
def test_bad_queries_are_422(api: Api, query: str) -> None:
    assert_problem(api.get(f"/v1/inspections{query}"), 422)
