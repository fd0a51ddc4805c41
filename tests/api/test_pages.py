"""The pages through Flask's test client, on both backends: sign-in, sessions, CSRF, roles, CSV,
headers and bad input. (tests/browser drives the same pages in Chromium.)"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import stat
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from infrastructure.config import Settings
from tests.api.api_client import Api, api  # noqa: F401 - fixture
from tests.api.test_views_api import project
from web import create_app, services_of
from web.pages.session import KEY_FILE

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: FlaskClient, path: str = "/sign-in") -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def signed_in(api: Api, role: str, **headers: str) -> FlaskClient:
    client = api.app.test_client()
    response = client.post("/sign-in", data={"token": api.token(role), "csrf_token": csrf_of(client)}, headers=headers)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def test_pages_need_a_signed_in_token_and_every_form_its_csrf_token(api: Api) -> None:
    client = api.app.test_client()
    first = client.get("/inspections?programme=OMI2")
    assert first.status_code == 303 and first.headers["Location"] == "/sign-in?next=/inspections?programme%3DOMI2"
    assert client.post("/sign-in", data={"token": api.token("inspector")}).status_code == 400
    assert client.post("/sign-in", data={"token": api.token("inspector"), "csrf_token": "forged"}).status_code == 400
    assert client.get("/inspections").status_code == 303  # still not signed in
    response = client.post(
        "/sign-in",
        data={"token": api.token("inspector"), "csrf_token": csrf_of(client), "next": "/inspections?programme=OMI2"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/inspections?programme=OMI2"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert api.token("inspector") not in cookie
    assert client.get("/inspections").status_code == 200
    assert client.post("/sign-out").status_code == 400  # no CSRF token: still signed in
    assert client.get("/inspections").status_code == 200
    assert client.post("/sign-out", data={"csrf_token": csrf_of(client, "/inspections")}).status_code == 303
    assert client.get("/inspections").status_code == 303


def test_a_wrong_token_is_401_and_the_integration_role_has_no_pages(api: Api) -> None:
    client = api.app.test_client()
    assert client.post("/sign-in", data={"token": "nope", "csrf_token": csrf_of(client)}).status_code == 401
    response = client.post("/sign-in", data={"token": api.token("integration"), "csrf_token": csrf_of(client)})
    assert response.status_code == 403 and "event feed only" in response.get_data(as_text=True)


def test_revoking_the_token_ends_its_sessions_at_once(api: Api) -> None:
    client = signed_in(api, "auditor")
    assert client.get("/inspections").status_code == 200
    tokens = services_of(api.app).tokens
    (info,) = [t for t in tokens.list() if t.role == "auditor"]
    assert tokens.revoke(info.id)
    assert client.get("/inspections").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_returns_only_to_a_page_of_this_site(api: Api, target: str) -> None:
    client = api.app.test_client()
    response = client.post(
        "/sign-in", data={"token": api.token("auditor"), "csrf_token": csrf_of(client), "next": target}
    )
    assert response.headers["Location"] == "/inspections"


def test_the_cookie_is_secure_behind_https(api: Api) -> None:
    client = api.app.test_client()
    response = client.post(
        "/sign-in",
        data={"token": api.token("auditor"), "csrf_token": csrf_of(client)},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "; Secure" in response.headers["Set-Cookie"]


def test_the_signing_key_is_made_once_kept_0600_in_the_data_dir_and_shared(settings: Settings) -> None:
    """SQLite: in the data folder, for every worker on it. PostgreSQL: in the database, for every API node
    behind a load balancer, each with a data folder of its own (api-2.md G)."""
    first = create_app(settings)
    key_file = Path(settings.data_dir) / KEY_FILE
    if settings.is_postgres:
        elsewhere = dataclasses.replace(settings, data_dir=Path(settings.data_dir).parent / "another-node")
        second = create_app(elsewhere)  # another machine: a cookie signed by one node is good at the other
        assert not key_file.exists() and not (elsewhere.data_dir / KEY_FILE).exists()
        assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) == 64
    else:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        second = create_app(settings)  # another worker on the same data dir signs and reads the same cookies
        assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    configured = create_app(settings, services=services_of(first), test_config={"SECRET_KEY": "k" * 64})
    assert configured.config["SECRET_KEY"] == "k" * 64
    for app in (first, second):
        services_of(app).close()


def test_pages_have_their_own_csp_no_script_and_nothing_from_another_origin(api: Api) -> None:
    published = api.published([True, False])
    project(api)
    client = signed_in(api, "admin")
    inspection_id = next(iter(api.ok(api.get("/v1/views/programmes/OMI2/years/2011-12"))["rows"]))["inspection_id"]
    assert published["status"] == "published"
    for path in (
        "/inspections",
        f"/inspections/{inspection_id}",
        "/programmes/OMI2/years/2011-12",
        "/consistency",
        "/complaints",
        "/audit",
        "/sign-in",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")
        assert response.headers["Cache-Control"] == "no-store"
        page = response.get_data(as_text=True)
        assert "<script" not in page and " style=" not in page, path
        assert re.findall(r'(?:src|href|action)="(?!/|#|\?)[^"]*"', page) == [], path
    docs = api.app.test_client().get("/docs")
    assert "cdn" not in docs.get_data(as_text=True) and "'unsafe-inline'" not in docs.headers["Content-Security-Policy"]
    assert re.findall(r"<script>", docs.get_data(as_text=True)) == []  # no inline script: every one has a src
    assert api.app.test_client().get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert api.app.test_client().get("/docs/assets/index.html").status_code == 404


def test_an_organisation_sees_its_own_body_only_and_not_the_qa_or_audit_pages(api: Api) -> None:
    api.published([True], name="Cumbria")
    other = api.in_fieldwork("Lancashire", "2011-06-01")
    project(api)
    client = signed_in(api, "organisation")  # speaks for Cumbria
    listed = client.get("/inspections").get_data(as_text=True)
    assert "Cumbria" in listed and "Lancashire" not in listed
    assert client.get(f"/inspections/{other}").status_code in (403, 404)
    for path in ("/consistency", "/audit"):
        response = client.get(path)
        assert response.status_code == 403 and response.mimetype == "text/html"
    assert "Lancashire" not in client.get("/inspections?format=csv").get_data(as_text=True)


def test_case_characteristics_only_for_auditor_and_admin_and_reads_are_recorded(api: Api) -> None:
    inspection_id = api.in_fieldwork()
    api.add_case(inspection_id, "C1")
    project(api)
    for role, shown in (("auditor", True), ("admin", True), ("inspector", False), ("qa_reviewer", False)):
        page = signed_in(api, role).get(f"/inspections/{inspection_id}").get_data(as_text=True)
        assert ("ethnicity: bame" in page) is shown, role
    reads = api.ok(api.get(f"/v1/audit/reads?subject_id={inspection_id}", "admin"))["items"]
    assert {(r["what"], r["actor"]["role"]) for r in reads} >= {
        ("inspection.history", "qa_reviewer"),
        ("case.list", "auditor"),
    }


def test_each_page_offers_its_csv_and_cells_cannot_start_a_formula(api: Api) -> None:
    api.published([True, False], name="=HYPERLINK(1)")
    project(api)
    client = signed_in(api, "auditor")
    view = api.ok(api.get("/v1/views/programmes/OMI2/years/2011-12"))
    iid = view["rows"][0]["inspection_id"]
    for path, first in (
        ("/inspections", "id"),
        (f"/inspections/{iid}", "position"),
        ("/programmes/OMI2/years/2011-12", "inspection_id"),
        ("/consistency", "inspection_id"),
        ("/complaints", "id"),
        ("/audit", "ok"),
    ):
        response = client.get(f"{path}?format=csv")
        assert response.status_code == 200 and response.mimetype == "text/csv", path
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert next(csv.reader(io.StringIO(response.get_data(as_text=True))))[0] == first
    answer = client.get("/programmes/OMI2/years/2011-12?format=csv")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert rows == [
        {
            "inspection_id": iid,
            "inspected_body": "'=HYPERLINK(1)",
            "cases": "2",
            **{area: str(score) for area, score in view["rows"][0]["headline"].items()},
        }
    ]


def test_bad_input_is_a_clear_4xx_page(api: Api) -> None:
    inspection_id = api.schedule()
    client = signed_in(api, "auditor")
    for path, status in (
        ("/inspections?status=bogus", 422),
        ("/inspections?year=2011", 422),
        (f"/inspections/{inspection_id}?as_of=yesterday", 422),
        (f"/inspections/{inspection_id}?as_of=2001-01-01T00:00", 404),
        ("/inspections/00000000-0000-0000-0000-000000000000", 404),
        ("/programmes/NOPE/years/2011-12", 404),
        ("/programmes/OMI2/years/11", 404),
    ):
        response = client.get(path)
        assert response.status_code == status, (path, response.status_code)
        assert response.mimetype == "text/html" and "<h1>" in response.get_data(as_text=True)


def test_a_programme_year_page_of_53_inspections_renders_in_under_100_ms(tmp_path: Path) -> None:
    from benchmarks.pages import TARGET_MS, measure

    figures = measure(tmp_path / "var", inspections=53, cases=3, renders=30)
    assert figures["median_ms"] < TARGET_MS, figures
    assert figures["bytes"] < 300 * 1024, figures
