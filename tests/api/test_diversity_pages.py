"""The programme year's page shows the diversity figures (table, charts, CSV) as the API answers them."""

from __future__ import annotations

import csv
import io
import re

from tests.api.api_client import Api, api  # noqa: F401 - fixture
from tests.api.test_diversity_api import DIVERSITY, a_year_of_two_reports_and_one_in_fieldwork, project
from tests.api.test_pages import signed_in

PAGE = "/programmes/CCI/years/2011-12"


def test_the_year_page_has_the_diversity_table_charts_and_csv_of_the_api_figures(api: Api) -> None:
    a_year_of_two_reports_and_one_in_fieldwork(api)
    project(api)
    figures = api.ok(api.get(DIVERSITY, "organisation"))
    client = signed_in(api, "organisation")
    html = client.get(PAGE).get_data(as_text=True)
    female = re.search(r'<tr data-characteristic="gender" data-value="female">(.*?)</tr>', html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", female, re.S)]
    risk = figures["characteristics"]["gender"]["female"]["areas"]["risk_of_harm"]
    assert cells[:3] == ["female", "12", "48.0%"]
    assert "100% (90.4–100.0)" in cells and f"+53.8 ({risk['difference']['ci95'][0]} to 68.4)" in cells
    male = re.search(r'<tr data-characteristic="gender" data-value="male">(.*?)</tr>', html, re.S).group(1)
    assert "hidden" in male and "%" not in male
    # a chart per area, of the values shown, with their intervals in its description
    assert html.count('<svg class="chart"') == 1 + 3
    assert "gender: female: 100% (95% interval 90.4–100.0%)" in html
    assert "gender: male" not in html.split('id="diversity"')[1].split("<table")[0]

    answer = client.get(f"{PAGE}?format=csv&table=diversity")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "diversity.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    row = next(r for r in rows if (r["characteristic"], r["value"], r["area"]) == ("gender", "female", "risk_of_harm"))
    assert (row["cases"], row["share"], row["score"], row["difference"], row["difference_ci95_high"]) == (
        "12",
        "48.0",
        "100",
        "53.8",
        "68.4",
    )
    hidden = [r for r in rows if r["characteristic"] == "gender" and r["suppressed"] == "true"]
    assert [r["value"] for r in hidden] == ["male", "other"] and not any(r["cases"] for r in hidden)
    assert client.get(f"{PAGE}?format=csv&table=nope").status_code == 422
