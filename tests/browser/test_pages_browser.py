"""The pages in a real browser (Debian's Chromium, driven by Playwright) against a real server.

Each page is signed in to, walked, and checked: what it shows against the JSON API; that no request
leaves the origin; that the console stays free of errors (a CSP refusal is one); axe-core finds nothing
serious or critical; the page weighs under 300 KB; it fits a phone's width. A screenshot of each is
kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Record

pytestmark = pytest.mark.browser

MAX_PAGE_BYTES = 300 * 1024
WEIGHT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return nav.decodedBodySize + performance.getEntriesByType('resource').reduce((s, r) => s + r.decodedBodySize, 0);
}"""


@dataclass
class Watched:
    """A page, and everything it asked for and complained of."""

    page: Any
    origin: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        response = self.page.goto(path)
        assert response is not None
        return response

    def check(self, name: str, screenshots: Path) -> None:
        """The checks every page passes, then its screenshot."""
        from axe_playwright_python.sync_playwright import Axe

        away = [url for url in self.requests if not url.startswith(self.origin + "/")]
        assert away == [], f"{name}: requests leaving the origin: {away}"
        assert self.errors == [], f"{name}: console errors: {self.errors}"
        weight = self.page.evaluate(WEIGHT_JS)
        assert 0 < weight < MAX_PAGE_BYTES, f"{name}: {weight} bytes"
        violations = [
            (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
            for v in Axe().run(self.page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert violations == [], f"{name}: axe-core: {violations}"
        self.page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def watch(context: Any, origin: str) -> Watched:
    page = context.new_page()
    watched = Watched(page, origin)
    page.on("request", lambda r: watched.requests.append(r.url))
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    return watched


def sign_in(context: Any, record: Record, role: str) -> None:
    page = context.new_page()
    page.goto("/inspections")
    assert "/sign-in" in page.url  # not signed in yet: sent to sign in, and back afterwards
    page.get_by_label("Token").fill(record.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/inspections")
    page.close()


@pytest.fixture(scope="module")
def auditor(browser: Any, record: Record) -> Iterator[Any]:
    context = browser.new_context(base_url=record.origin, accept_downloads=True)
    sign_in(context, record, "auditor")
    yield context
    context.close()


def cells(page: Any, caption: str) -> list[list[str]]:
    """A table's body, found by its caption, as the text of each row's cells (header cell first)."""
    table = page.locator("table", has=page.locator("caption", has_text=caption))
    return [[c.strip() for c in row.locator("th, td").all_inner_texts()] for row in table.locator("tbody tr").all()]


def pct(score: int | None) -> str:
    return "—" if score is None else f"{score}%"


# -- signing in ------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_cookie_and_a_wrong_token_is_refused(browser: Any, record: Record) -> None:
    context = browser.new_context(base_url=record.origin)
    page = context.new_page()
    response = page.goto("/sign-in")
    assert "form-action 'self'" in response.headers["content-security-policy"]
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That token is unknown or has been revoked."
    assert [c for c in context.cookies() if "token_id" in c["value"]] == []
    page.get_by_label("Token").fill(record.tokens["inspector"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/inspections")
    (cookie,) = [c for c in context.cookies() if c["name"] == "inspectorate_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # out of the reach of script
    assert "Inspector (HMI Probation)" in page.locator("header").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    page.goto("/inspections")
    assert "/sign-in" in page.url
    context.close()


def test_the_sign_in_page_itself(browser: Any, record: Record, screenshots: Path) -> None:
    context = browser.new_context(base_url=record.origin)
    w = watch(context, record.origin)
    w.goto("/sign-in")
    assert w.page.get_by_label("Token").get_attribute("type") == "password"
    w.check("sign-in", screenshots)
    context.close()


def test_a_token_of_the_integration_role_has_no_pages(browser: Any, record: Record) -> None:
    context = browser.new_context(base_url=record.origin)
    page = context.new_page()
    page.goto("/sign-in")
    page.get_by_label("Token").fill(record.tokens["integration"])
    page.get_by_role("button", name="Sign in").click()
    assert "event feed only" in page.get_by_role("alert").inner_text()
    context.close()


# -- each page, as an auditor ----------------------------------------------------


def test_inspections_list_filters_and_search(auditor: Any, record: Record, screenshots: Path) -> None:
    w = watch(auditor, record.origin)
    response = w.goto("/inspections")
    assert response.status == 200 and response.headers["cache-control"] == "no-store"
    rows = cells(w.page, "inspection")
    assert sorted(r[0] for r in rows) == ["Cheshire", "Cumbria", "Durham", "Lancashire"]
    for name, status in [(r[0], r[3]) for r in rows]:
        iid = record.published.get(name, record.fieldwork)
        assert status == record.api(f"/v1/inspections/{iid}")["status"].replace("_", " ")
    w.check("inspections", screenshots)
    w.page.get_by_label("Status").select_option("published")
    w.page.get_by_label("Body name").fill("LANCA")
    w.page.get_by_role("button", name="Filter").click()
    w.page.wait_for_url("**/inspections?*")
    assert [r[0] for r in cells(w.page, "inspection")] == ["Lancashire"]
    w.check("inspections-filtered", screenshots)
    w.page.get_by_role("link", name="Lancashire").click()
    assert w.page.get_by_role("heading", level=1).inner_text() == "Lancashire"


def test_an_inspection_shows_lifecycle_scores_with_intervals_cases_and_history(
    auditor: Any, record: Record, screenshots: Path
) -> None:
    iid = record.published["Cumbria"]
    w = watch(auditor, record.origin)
    w.goto(f"/inspections/{iid}")
    scores = record.api(f"/v1/views/inspections/{iid}/scores")
    shown = {r[0]: r[1:] for r in cells(w.page, "Headline scores")}
    assert shown == {
        area.replace("_", " "): [
            pct(s["score"]),
            str(s["sufficient"]),
            str(s["applicable"]),
            f"{s['ci95'][0]}–{s['ci95'][1]}%",
        ]
        for area, s in scores["headline"].items()
    }
    chart = w.page.get_by_role("img", name="Headline scores with 95% intervals")
    assert chart.locator("rect").count() == len(scores["headline"])
    for s in scores["headline"].values():  # the description reads out every interval
        assert f"95% interval {s['ci95'][0]}–{s['ci95'][1]}%" in chart.locator("desc").text_content()
    assert w.page.locator("[aria-current=step] .step-name").inner_text().lower() == "published"
    cases = record.api(f"/v1/inspections/{iid}/cases")["items"]
    assert sorted(r[0] for r in cells(w.page, "sampled case")) == sorted(c["case_ref"] for c in cases)
    history = record.api(f"/v1/inspections/{iid}/history")["events"]
    assert w.page.locator("ol.timeline > li").count() == len(history)
    w.check("inspection", screenshots)


def test_the_as_of_picker_shows_the_inspection_as_it_stood(auditor: Any, record: Record, screenshots: Path) -> None:
    iid = record.published["Cumbria"]
    history = record.api(f"/v1/inspections/{iid}/history")["events"]
    fieldwork_started = next(e for e in history if e["type"] == "inspection.fieldwork_started.v1")
    w = watch(auditor, record.origin)
    w.goto(f"/inspections/{iid}")
    # the timeline's entry for the start of fieldwork links to the inspection as it stood just after it
    w.page.locator("ol.timeline > li", has_text="fieldwork").filter(
        has=w.page.locator(f"time[datetime='{fieldwork_started['recorded_at']}']")
    ).get_by_role("link").click()
    w.page.wait_for_url("**as_of=*")
    then = record.api(f"/v1/inspections/{iid}?as_of={fieldwork_started['recorded_at'].replace('+', '%2B')}")
    assert then["status"] == "fieldwork"
    assert w.page.locator("[aria-current=step] .step-name").inner_text().lower() == then["status"]
    assert "No scores had been published at that time." in w.page.locator("main").inner_text()
    assert w.page.locator("ol.timeline > li").count() == len(
        [e for e in history if e["position"] <= fieldwork_started["position"]]
    )
    w.check("inspection-as-of", screenshots)
    # the picker itself: a time before the inspection existed is a clear 404 page
    w.page.get_by_label("Show as it stood at (UTC)").fill("2001-01-01T00:00:00")
    with w.page.expect_navigation() as navigation:
        w.page.get_by_role("button", name="Show").click()
    assert navigation.value.status == 404


def test_an_inspection_in_fieldwork_shows_live_scores(auditor: Any, record: Record, screenshots: Path) -> None:
    w = watch(auditor, record.origin)
    w.goto(f"/inspections/{record.fieldwork}")
    assert w.page.locator("[aria-current=step] .step-name").inner_text().lower() == "fieldwork"
    scores = record.api(f"/v1/views/inspections/{record.fieldwork}/scores")
    assert scores["frozen"] is False
    assert "Live: from the judgements recorded so far." in w.page.locator("main").inner_text()
    assert {r[0]: r[1] for r in cells(w.page, "Headline scores")} == {
        area.replace("_", " "): pct(s["score"]) for area, s in scores["headline"].items()
    }
    w.check("inspection-fieldwork", screenshots)


def test_the_programme_year_table_chart_aggregate_and_csv(auditor: Any, record: Record, screenshots: Path) -> None:
    view = record.api("/v1/views/programmes/OMI2/years/2011-12")
    w = watch(auditor, record.origin)
    w.goto("/programmes/OMI2/years/2011-12")
    summary = {r[0]: r[1:] for r in cells(w.page, "pooled, lowest and highest")}
    for area, pooled in view["aggregate"].items():
        row = summary[area.replace("_", " ")]
        assert row[0] == pct(pooled["score"]) and row[1] == f"{pooled['sufficient']} / {pooled['applicable']}"
        assert row[2] == f"{pct(view['lowest'][area]['score'])}, {view['lowest'][area]['inspected_body']}"
        assert row[3] == f"{pct(view['highest'][area]['score'])}, {view['highest'][area]['inspected_body']}"
    rows = cells(w.page, "Scores of each inspection")
    assert {r[0]: r[2:] for r in rows} == {
        r["inspected_body"]: [pct(r["headline"][a]) for a in view["aggregate"]] for r in view["rows"]
    }
    chart = w.page.get_by_role("img", name="Every inspection's scores, OMI2 2011-12")
    dots = sum(1 for r in view["rows"] for s in r["headline"].values() if s is not None)
    assert chart.locator("circle").count() == dots
    w.check("programme-year", screenshots)
    with w.page.expect_download() as download:
        w.page.get_by_role("link", name="Download as CSV").click()
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {r["inspection_id"]: r["inspected_body"] for r in table} == {
        r["inspection_id"]: r["inspected_body"] for r in view["rows"]
    }
    assert [int(r[a]) if r[a] else None for r in table for a in view["aggregate"]] == [
        r["headline"][a] for r in view["rows"] for a in view["aggregate"]
    ]


def test_the_programme_year_by_characteristic_table_charts_and_csv(
    auditor: Any, record: Record, screenshots: Path
) -> None:
    figures = record.api("/v1/views/programmes/OMI2/years/2011-12/diversity")
    gender = figures["characteristics"]["gender"]
    assert (gender["female"]["cases"], gender["male"]["cases"]) == (10, 10)  # the seed: two groups of ten
    w = watch(auditor, record.origin)
    w.goto("/programmes/OMI2/years/2011-12")
    rows = [r for r in cells(w.page, "Cases and scores by characteristic") if len(r) > 1]
    shown = {r[0]: r[1:] for r in rows[:4]}  # gender comes first: female, male, other, unknown
    for value in ("female", "male"):
        cell = gender[value]
        want = [str(cell["cases"]), f"{cell['share']}%"]
        for area in figures["areas"]:
            t = cell["areas"][area]
            d = t["difference"]
            want += [
                f"{pct(t['score'])} ({t['ci95'][0]}–{t['ci95'][1]})",
                f"{d['points']:+.1f} ({d['ci95'][0]} to {d['ci95'][1]})",
            ]
        assert shown[value] == want
    assert shown["other"][:2] == ["0", "0.0%"]
    for area in figures["areas"]:
        chart = w.page.get_by_role("img", name=f"{area.replace('_', ' ')} by characteristic, OMI2 2011-12")
        female = gender["female"]["areas"][area]
        assert (
            f"gender: female: {female['score']}% (95% interval {female['ci95'][0]}–{female['ci95'][1]}%)"
            in chart.locator("desc").text_content()
        )
    w.check("programme-year-diversity", screenshots)
    with w.page.expect_download() as download:
        w.page.get_by_role("link", name="Download the figures by characteristic as CSV").click()
    table = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    first = figures["areas"][0]
    row = next(r for r in table if (r["characteristic"], r["value"], r["area"]) == ("gender", "male", first))
    assert float(row["difference"]) == gender["male"]["areas"][first]["difference"]["points"]


def test_consistency_by_assessor_and_area_with_the_disagreements(
    auditor: Any, record: Record, screenshots: Path
) -> None:
    view = record.api("/v1/views/consistency")
    w = watch(auditor, record.origin)
    w.goto("/consistency")
    overall = w.page.locator("#overall").inner_text()
    assert f"over {view['overall']['pairs']} pairs" in overall
    assert f"kappa {view['overall']['kappa']:.2f}" in overall if view["overall"]["kappa"] is not None else True
    by_area = {r[0]: r[1:] for r in cells(w.page, "By area")}
    assert by_area == {
        area: [
            str(s["pairs"]),
            str(s["agreements"]),
            f"{100 * s['agreement_rate']:.0f}%",
            "—" if s["kappa"] is None else f"{s['kappa']:.2f}",
        ]
        for area, s in view["by_area"].items()
    }
    assert [r[0] for r in cells(w.page, "By first assessor")] == [
        f"{a['name']} ({a['role'].replace('_', ' ')})" for a in view["by_assessor"]
    ]
    assert len(cells(w.page, "disagreement")) == len(view["disagreements"]) > 0
    w.check("consistency", screenshots)


def test_complaints_open_overdue_and_by_category(auditor: Any, record: Record, screenshots: Path) -> None:
    view = record.api("/v1/views/complaints")
    w = watch(auditor, record.origin)
    w.goto("/complaints")
    assert w.page.locator("#open-count").inner_text() == str(view["open"])
    assert w.page.locator("#overdue-count").inner_text() == str(view["overdue"])
    assert {r[0]: r[2] for r in cells(w.page, "By category")} == {
        k.replace("_", " "): str(v) for k, v in view["by_category"].items()
    }
    assert len(cells(w.page, "Every complaint")) == len(view["items"]) == 1
    w.check("complaints", screenshots)


def test_audit_shows_the_chain_verified_and_its_head(auditor: Any, record: Record, screenshots: Path) -> None:
    head = record.api("/v1/audit/head")
    verified = record.api("/v1/audit/verify")
    w = watch(auditor, record.origin)
    w.goto("/audit")
    assert w.page.locator("#verdict").inner_text().startswith("Intact.") and verified["ok"] is True
    assert w.page.locator("#head-position").inner_text() == str(head["position"])
    assert w.page.locator("#head-hash").inner_text() == head["hash"]
    w.check("audit", screenshots)


def test_docs_serves_its_own_swagger_ui(auditor: Any, record: Record, screenshots: Path) -> None:
    w = watch(auditor, record.origin)
    response = w.goto("/docs")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    assert "unsafe" not in response.headers["content-security-policy"]
    w.page.locator(".opblock").first.wait_for()
    assert w.page.locator(".opblock").count() > 20
    away = [url for url in w.requests if not url.startswith(record.origin + "/")]
    assert away == [] and w.errors == []
    w.page.screenshot(path=str(screenshots / "docs.png"))


# -- roles, phones, keyboards ----------------------------------------------------


def test_an_organisation_sees_only_its_own_and_not_the_qa_or_audit_pages(
    browser: Any, record: Record, screenshots: Path
) -> None:
    context = browser.new_context(base_url=record.origin)
    sign_in(context, record, "organisation")
    w = watch(context, record.origin)
    w.goto("/inspections")
    assert [r[0] for r in cells(w.page, "inspection")] == ["Cumbria"]
    assert w.page.get_by_role("navigation").get_by_role("link").all_inner_texts() == [
        "Inspections",
        "Complaints",
        "API",
    ]
    w.check("organisation-inspections", screenshots)
    page = context.new_page()
    for path in ("/consistency", "/audit"):
        assert page.goto(path).status == 403
    # Another body's inspection does not exist for an organisation: the same page as an unknown id.
    hidden_id = record.published["Lancashire"]
    other = page.goto(f"/inspections/{hidden_id}")
    assert other.status == 404
    hidden = page.inner_text("main").replace(hidden_id, "ID")
    unknown_id = str(uuid.uuid4())
    assert page.goto(f"/inspections/{unknown_id}").status == 404
    assert page.inner_text("main").replace(unknown_id, "ID") == hidden
    assert "Lancashire" not in hidden
    context.close()


def test_case_characteristics_only_for_auditor_and_admin(browser: Any, record: Record, auditor: Any) -> None:
    iid = record.published["Cumbria"]
    page = auditor.new_page()
    page.goto(f"/inspections/{iid}")
    assert "gender: female" in page.locator("main").inner_text()
    context = browser.new_context(base_url=record.origin)
    sign_in(context, record, "qa_reviewer")
    page = context.new_page()
    page.goto(f"/inspections/{iid}")
    assert "Characteristics" not in page.locator("main").inner_text()
    assert "gender" not in page.locator("main").inner_text()
    context.close()


PAGES = (
    "/inspections",
    "/inspections/{iid}",
    "/programmes/OMI2/years/2011-12",
    "/consistency",
    "/complaints",
    "/audit",
    "/sign-in",
)


def test_every_page_fits_a_phone(browser: Any, record: Record, screenshots: Path) -> None:
    context = browser.new_context(
        base_url=record.origin,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    sign_in(context, record, "auditor")
    page = context.new_page()
    for path in PAGES:
        page.goto(path.format(iid=record.published["Cumbria"]))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        name = "phone" + (path.replace("/", "-").replace("{iid}", "id") or "-home")
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    context.close()


def test_keyboard_skip_link_then_filters_in_order(auditor: Any, record: Record) -> None:
    page = auditor.new_page()
    page.goto("/inspections")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("cumb")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=cumb*")
    assert [r[0] for r in cells(page, "inspection")] == ["Cumbria"]
