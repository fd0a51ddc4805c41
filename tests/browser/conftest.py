"""Fixtures for the browser tests: a real `inspectorate serve` with a small record, and Debian's Chromium
driven by Playwright.

Chromium is the Debian package (`/usr/bin/chromium`): Playwright's own browser download cannot be
fetched here. Without it (or without Playwright) these tests skip locally, and fail in CI (CI=true),
where .ci/run installs both.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infrastructure.config import Settings
from tests.api.test_real_server import Server, serving
from tests.factories import body, characteristics, judgements
from web.bootstrap import build_services

CHROMIUM = os.environ.get("INSPECTORATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots of every page the tests visit: look at them (gitignored).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _chromium_or_skip() -> None:
    """As tests/conftest.py's _postgres_or_skip: skip on a developer's machine without it, fail in CI."""
    missing = None
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        missing = f"playwright / axe-playwright-python not installed ({error.name})"
    if missing is None and not os.access(CHROMIUM, os.X_OK):
        missing = f"{CHROMIUM} not found (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: browser tests may not be skipped in CI")
        pytest.skip(missing)


@dataclass
class Record:
    """The server, a token per role and the ids of what was recorded."""

    server: Server
    tokens: dict[str, str] = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)  # body name -> inspection id
    fieldwork: str = ""
    head: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def api(self, path: str, role: str = "auditor", method: str = "GET", data: Any = None, status: int = 200) -> Any:
        """The JSON API, as `role`: what the pages are checked against."""
        payload = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(self.origin + path, data=payload, method=method)
        request.add_header("Authorization", f"Bearer {self.tokens[role]}")
        if payload is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                code, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            code, headers, raw = error.code, error.headers, error.read()
        assert code == status, (method, path, code, raw[:500])
        position = headers.get("Inspectorate-Position")
        if position:
            self.head = max(self.head, int(position))
        return json.loads(raw) if raw else None


ROLES = {
    "inspector": None,
    "auditor": None,
    "admin": None,
    "qa_reviewer": None,
    "organisation": "Cumbria",
    "integration": None,
}


def _seed(record: Record) -> None:
    """Three published OMI2 inspections of 2011-12 and one in fieldwork; a moderation that disagrees;
    a complaint from Cumbria. Lancashire's sample is larger, ten of its cases men's, so that the year's
    figures by characteristic have two groups of ten (no smaller group is shown)."""
    lancashire = (True, True, True, False, True, False, True, True, False, True, True, True, False)
    for name, verdicts in (
        ("Cumbria", (True, False, True)),
        ("Lancashire", lancashire),
        ("Durham", (False, False, True, None)),
    ):
        iid = record.api(
            "/v1/inspections",
            "inspector",
            "POST",
            {"programme": "OMI2", "inspected_body": body(name), "fieldwork_start": "2011-05-03"},
            201,
        )["id"]
        record.api(f"/v1/inspections/{iid}/start-fieldwork", "inspector", "POST", {})
        for n, verdict in enumerate(verdicts):
            case = record.api(
                f"/v1/inspections/{iid}/cases",
                "inspector",
                "POST",
                {
                    "case_ref": f"{name[:2].upper()}{n}",
                    "characteristics": characteristics(gender="male" if name == "Lancashire" and n >= 3 else "female"),
                },
                201,
            )["id"]
            record.api(f"/v1/cases/{case}/ratings", "inspector", "POST", {"judgements": judgements(verdict)})
            if name == "Cumbria" and n == 0:
                moderated = [
                    {**j, "sufficient": j["criterion"] != "outcomes"}  # outcomes: they disagree
                    for j in judgements(True)
                ]
                record.api(
                    f"/v1/cases/{case}/moderations",
                    "qa_reviewer",
                    "POST",
                    {"judgements": moderated, "note": "Outcomes not evidenced."},
                )
        record.api(f"/v1/inspections/{iid}/complete-fieldwork", "inspector", "POST", {})
        record.api(f"/v1/inspections/{iid}/publish", "inspector", "POST", {"published_on": "2012-01-10"})
        record.published[name] = iid
    record.fieldwork = record.api(
        "/v1/inspections",
        "inspector",
        "POST",
        {"programme": "OMI2", "inspected_body": body("Cheshire"), "fieldwork_start": "2011-09-05"},
        201,
    )["id"]
    record.api(f"/v1/inspections/{record.fieldwork}/start-fieldwork", "inspector", "POST", {})
    case = record.api(
        f"/v1/inspections/{record.fieldwork}/cases",
        "inspector",
        "POST",
        {"case_ref": "CH0", "characteristics": characteristics()},
        201,
    )["id"]
    record.api(f"/v1/cases/{case}/ratings", "inspector", "POST", {"judgements": judgements(True)})
    record.api(
        "/v1/complaints",
        "organisation",
        "POST",
        {
            "inspection_id": record.published["Cumbria"],
            "category": "methodology",
            "summary": "The sample left out custody cases.",
        },
        201,
    )
    # Every view has caught up with everything recorded before the pages are read.
    for view in (
        f"/v1/views/inspections/{record.fieldwork}/scores",
        "/v1/views/complaints",
        "/v1/views/consistency",
        "/v1/views/programmes/OMI2/years/2011-12",
    ):
        record.api(f"{view}?min_position={record.head}")


@pytest.fixture(scope="session")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    _chromium_or_skip()
    settings = Settings(data_dir=tmp_path_factory.mktemp("pages") / "var")
    with serving(settings) as server:
        record = Record(server)
        services = build_services(settings)
        try:
            for role, organisation in ROLES.items():
                name = f"{role.replace('_', ' ').title()} ({organisation or 'HMI Probation'})"
                record.tokens[role] = services.tokens.create(name, role, organisation)[1]
        finally:
            services.close()
        _seed(record)
        yield record


@pytest.fixture(scope="session")
def browser(record: Record) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
