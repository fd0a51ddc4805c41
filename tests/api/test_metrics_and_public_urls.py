"""GET /metrics (Prometheus text, admin), and the problem/schema URLs resolving on INSPECTORATE_PUBLIC_URL."""

from __future__ import annotations

import dataclasses
import subprocess
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.config import Settings
from infrastructure.projections.engine import create_projection_engine
from tests.api.api_client import Api, assert_problem
from tests.api.test_real_server import INSPECTORATE, REPO, environment, serving
from web import create_app, services_of
from web.bootstrap import build_projector

PUBLIC = "https://inspectorate.test.example/api"


@pytest.fixture
def public_api(settings: Settings) -> Iterator[Api]:
    app = create_app(dataclasses.replace(settings, public_url=PUBLIC))
    yield Api(app)
    services_of(app).close()


def samples(text: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_metrics_need_an_admin_token_and_parse_with_prometheus_clients_parser(public_api: Api) -> None:
    api = public_api
    assert_problem(api.get("/metrics", role=None), 401)
    assert_problem(api.get("/metrics", role="auditor"), 403)
    inspection_id = api.in_fieldwork()
    api.add_case(inspection_id)
    api.get(f"/v1/inspections/{inspection_id}")
    response = api.get("/metrics", role="admin")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    found = samples(response.get_data(as_text=True))
    requests = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in found["inspectorate_http_requests_total"]
    }
    assert requests[("/v1/inspections", "POST", "201")] == 1
    assert requests[("/v1/inspections/<uuid:inspection_id>", "GET", "200")] == 1
    buckets = [
        s
        for s in found["inspectorate_http_request_duration_seconds_bucket"]
        if s.labels["route"] == "/v1/inspections/<uuid:inspection_id>/cases"
    ]
    assert buckets and buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 1
    # scheduled (with its body registered and linked: 3 events), started, sampled (x2)
    assert found["inspectorate_events_recorded_total"][0].value == 6
    head = found["inspectorate_record_head_position"][0].value
    lags = {s.labels["view"]: s.value for s in found["inspectorate_view_lag_events"]}
    assert lags and all(lag == head for lag in lags.values())  # no worker ran: every view is behind by all
    engine = create_projection_engine(services_of(api.app).settings)
    projector = build_projector(services_of(api.app).app, engine, services_of(api.app).settings)
    projector.ensure_tracking()
    projector.catch_up()
    engine.dispose()
    found = samples(api.get("/metrics", role="admin").get_data(as_text=True))
    assert all(s.value == 0 for s in found["inspectorate_view_lag_events"])


def test_webhook_lag_and_failures_are_in_the_metrics(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, webhook_allowed_hosts=frozenset({"127.0.0.1"})))
    api = Api(app)
    created = api.ok(api.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}, role="admin"), 201)
    api.schedule()
    found = samples(api.get("/metrics", role="admin").get_data(as_text=True))
    # the inspection, its new body's registration and their link
    assert {s.labels["webhook"]: s.value for s in found["inspectorate_webhook_lag_events"]} == {created["id"]: 3}
    assert found["inspectorate_webhook_failures_total"][0].value == 0
    assert found["inspectorate_webhook_active"][0].value == 1
    services_of(app).close()


def test_problem_types_and_event_schemas_resolve_on_the_public_url(public_api: Api) -> None:
    api = public_api
    problem = assert_problem(api.get("/v1/inspections/3f1c2b8e-6a0d-4d57-9a53-2b7e2f9c1d40"), 404)
    assert problem["type"] == f"{PUBLIC}/problems/404"
    described = api.get(urlsplit(problem["type"]).path.removeprefix("/api"), role=None)
    assert described.status_code == 200 and described.get_json()["status"] == 404
    assert described.get_json()["type"] == problem["type"]
    invalid = assert_problem(api.post("/v1/inspections", {"programme": "NOPE"}), 422)
    assert api.get(urlsplit(invalid["type"]).path.removeprefix("/api"), role=None).status_code == 200
    api.schedule()
    events = api.ok(api.get("/v1/events?after=0", role="integration"))["events"]
    event = next(e for e in events if e["type"] == "inspection.scheduled.v1")  # (after its new body's events)
    assert event["dataschema"] == f"{PUBLIC}/schemas/events/inspection.scheduled.v1"
    schema = api.get(urlsplit(event["dataschema"]).path.removeprefix("/api"), role=None)
    assert schema.status_code == 200 and schema.mimetype == "application/schema+json"
    assert schema.get_json()["$id"] == event["dataschema"]
    catalogue = api.ok(api.get("/v1/events/schemas", role="integration"))
    assert catalogue["types"]["inspection.scheduled.v1"]["$id"] == event["dataschema"]
    assert_problem(api.get("/schemas/events/no.such.v1", role=None), 404)
    assert_problem(api.get("/problems/418", role=None), 404)


def test_public_url_from_the_environment() -> None:
    assert (
        Settings.from_env({"INSPECTORATE_PUBLIC_URL": "https://x.example.org/"}).public_url == "https://x.example.org"
    )
    assert Settings.from_env({}).public_url == "http://127.0.0.1:8000"
    with pytest.raises(ValueError, match="INSPECTORATE_PUBLIC_URL"):
        Settings.from_env({"INSPECTORATE_PUBLIC_URL": "inspectorate.example"})
    hosts = Settings.from_env({"INSPECTORATE_WEBHOOK_ALLOWED_HOSTS": " Hooks.Example.org, 127.0.0.1 ,"})
    assert hosts.webhook_allowed_hosts == frozenset({"hooks.example.org", "127.0.0.1"})


def test_under_serve_the_workers_metrics_are_summed_in_multiprocess_mode(settings: Settings) -> None:
    with serving(settings) as server:
        env = environment(settings)
        created = subprocess.run(
            [INSPECTORATE, "token", "create", "--name", "Ops", "--role", "admin"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        admin = created.stdout.strip().splitlines()[-1]
        for _ in range(40):  # new connections each: shared out across both workers
            assert server.call("GET", "/v1/views/complaints").status == 200
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/metrics", headers={"Authorization": f"Bearer {admin}"}
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            text = response.read().decode()
        folder = settings.data_dir / "prometheus"
        files = sorted(p.name for p in folder.iterdir())
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
    found = samples(text)
    reads = [s for s in found["inspectorate_http_requests_total"] if s.labels["route"] == "/v1/views/complaints"]
    assert sum(s.value for s in reads) == 40
    assert len({name.rsplit("_", 1)[-1] for name in files}) >= 2, files  # more than one process counted
