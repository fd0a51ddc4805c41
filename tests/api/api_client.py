"""A small client over the Flask test client: tokens per role, JSON in and out, lifecycle shortcuts.

Import the ``api`` fixture into a test module to use it (``from tests.api.api_client import api``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from infrastructure.config import Settings
from tests.factories import body, characteristics, judgements
from web import create_app, services_of

ROLES = ("admin", "inspector", "local_assessor", "qa_reviewer", "auditor", "organisation", "integration")
# The organisation token speaks for Cumbria, the body the shortcuts inspect; the local assessor is from elsewhere.
ORGANISATION_OF = {"organisation": "Cumbria", "local_assessor": "Lancashire"}
PROBLEM = "application/problem+json"


class Api:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self._tokens: dict[tuple[str, str | None, str], str] = {}

    def token(self, role: str, organisation: str | None = None, name: str | None = None) -> str:
        """A bearer token (created once) for the role; the default organisation per ORGANISATION_OF."""
        organisation = organisation if organisation is not None else ORGANISATION_OF.get(role)
        name = name or f"{role.replace('_', ' ').title()} ({organisation or 'HMI Probation'})"
        key = (role, organisation, name)
        if key not in self._tokens:
            self._tokens[key] = services_of(self.app).tokens.create(name, role, organisation)[1]
        return self._tokens[key]

    def headers(self, role: str | None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if role is not None:
            headers["Authorization"] = f"Bearer {self.token(role)}"
        return headers

    def call(
        self,
        method: str,
        path: str,
        role: str | None = "inspector",
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        all_headers = {**self.headers(role), **(headers or {})}
        return self.client.open(path, method=method, json=json, headers=all_headers, **kwargs)

    def get(self, path: str, role: str | None = "inspector", **kwargs: Any) -> TestResponse:
        return self.call("GET", path, role, **kwargs)

    def post(self, path: str, json: Any = None, role: str | None = "inspector", **kwargs: Any) -> TestResponse:
        return self.call("POST", path, role, json=json, **kwargs)

    # -- lifecycle shortcuts, each asserting the step worked --------------------------------

    def ok(self, response: TestResponse, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, (response.status_code, response.get_json())
        return response.get_json()

    def schedule(self, name: str = "Cumbria", start: str = "2011-05-03", programme: str = "OMI2", **extra: Any) -> str:
        data = {"programme": programme, "inspected_body": body(name), "fieldwork_start": start, **extra}
        return self.ok(self.post("/v1/inspections", data), 201)["id"]

    def in_fieldwork(self, name: str = "Cumbria", start: str = "2011-05-03") -> str:
        inspection_id = self.schedule(name, start)
        self.ok(self.post(f"/v1/inspections/{inspection_id}/start-fieldwork", {}))
        return inspection_id

    def add_case(self, inspection_id: str, case_ref: str = "C1", role: str = "inspector") -> str:
        data = {"case_ref": case_ref, "characteristics": characteristics()}
        return self.ok(self.post(f"/v1/inspections/{inspection_id}/cases", data, role), 201)["id"]

    def rate(self, case_id: str, sufficient: bool | None, role: str = "inspector") -> dict[str, Any]:
        return self.ok(self.post(f"/v1/cases/{case_id}/ratings", {"judgements": judgements(sufficient)}, role))

    def published(
        self, verdicts: list[bool], name: str = "Cumbria", start: str = "2011-05-03", on: str = "2012-01-10"
    ) -> dict[str, Any]:
        """An inspection with one case per verdict, published: the publish response."""
        inspection_id = self.in_fieldwork(name, start)
        for n, verdict in enumerate(verdicts):
            self.rate(self.add_case(inspection_id, f"C{n}"), verdict)
        self.ok(self.post(f"/v1/inspections/{inspection_id}/complete-fieldwork"))
        return self.ok(self.post(f"/v1/inspections/{inspection_id}/publish", {"published_on": on}))


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The response is problem+json with this status and the four members."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM, response.mimetype
    problem = response.get_json(force=True)
    assert problem["status"] == status
    assert problem["type"] and problem["title"] and problem["detail"]
    return problem


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    app = create_app(settings)
    yield Api(app)
    services_of(app).close()
