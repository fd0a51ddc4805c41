"""The pages' inspection list reads the API's listing (ViewReader.inspection_list), a page at a time."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from tests.api.api_client import Api, api  # noqa: F401 - fixture
from tests.api.test_pages import signed_in
from tests.api.test_views_api import project
from web.pages import views


def test_the_list_pages_newest_fieldwork_first_with_next_links_and_the_csv_has_every_one(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    starts = ["2011-05-03", "2011-06-06", "2011-07-04", "2011-08-01", "2011-09-05"]
    ids = [api.schedule(f"Body {n}", start=start) for n, start in enumerate(starts)]
    project(api)
    client = signed_in(api, "auditor")
    seen, path = [], "/inspections?programme=OMI2"
    while path:
        page = client.get(path).get_data(as_text=True)
        seen.append(re.findall(r'href="/inspections/([0-9a-f-]{36})"', page))
        found = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', page)
        path = html.unescape(found.group(1)) if found else None
        if path:
            assert "programme=OMI2" in path  # the filters go with the page
    assert seen == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert "First page" in page
    listed = list(csv.DictReader(io.StringIO(client.get("/inspections?format=csv").get_data(as_text=True))))
    assert [r["id"] for r in listed] == ids[::-1] and listed[0]["inspected_body"] == "Body 4"
    assert client.get("/inspections?cursor=not-one").status_code == 422
