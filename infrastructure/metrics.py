"""Prometheus metrics: counted by each process, or read from the database when scraped.

Requests, their durations and events recorded are counted where they happen.
Under ``inspectorate serve`` several processes count (two server workers, the
projection worker), so ``PROMETHEUS_MULTIPROC_DIR`` is set before any of them
starts (``prepare_multiprocess``) and a scrape sums their files
(prometheus_client's multiprocess mode). Views' and webhooks' positions, lag and
failures are state kept in the database: they are read at scrape time, so they
are right whichever process (or machine) moved them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def prepare_multiprocess(data_dir: Path) -> Path:
    """An empty folder (0700) for the processes' metric files, named in the environment their children inherit.

    Must run before prometheus_client is imported in this process or any child: it picks
    its storage once, on import.
    """
    folder = data_dir / "prometheus"
    if folder.exists():
        shutil.rmtree(folder)  # files of an earlier run's (dead) processes would be summed in
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(folder, 0o700)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


class Meters:
    """The counters and histograms of this process (shared through files in multiprocess mode)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        # Not the global registry: an app made in a test and another made later each have their own.
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "inspectorate_http_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "inspectorate_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and method",
            ["route", "method"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.recorded = Counter(
            "inspectorate_events_recorded", "Events recorded (by every process of this service)", registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "inspectorate_webhook_deliveries",
            "Webhook deliveries attempted, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_delay = Histogram(
            "inspectorate_webhook_delivery_lag_seconds",
            "From an event's recording to its receiver's 2xx",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
            registry=self.registry,
        )


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class DatabaseCollector:
    """Views' and webhooks' positions, lag and failures, and the head of the record, read when scraped."""

    def __init__(self, services: Any) -> None:
        self.services = services

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from infrastructure.projections.reader import ViewReader
        from infrastructure.webhooks import WebhookStore

        head = self.services.app.recorder.max_notification_id() or 0
        yield GaugeMetricFamily(
            "inspectorate_record_head_position", "The position of the last recorded event", value=head
        )
        lag = GaugeMetricFamily(
            "inspectorate_view_lag_events", "Events recorded but not yet in the view", labels=["view"]
        )
        position = GaugeMetricFamily(
            "inspectorate_view_position", "The last position the view processed", labels=["view"]
        )
        for name, at in ViewReader(self.services.read_engine).positions().items():
            lag.add_metric([name], max(0, head - at))
            position.add_metric([name], at)
        yield lag
        yield position
        hooks = WebhookStore(self.services.read_engine).stats()
        w_lag = GaugeMetricFamily(
            "inspectorate_webhook_lag_events",
            "Events after the last one the webhook's receiver acknowledged",
            labels=["webhook"],
        )
        w_active = GaugeMetricFamily(
            "inspectorate_webhook_active", "1 while the webhook is delivered, 0 if disabled", labels=["webhook"]
        )
        w_failing = GaugeMetricFamily(
            "inspectorate_webhook_consecutive_failures",
            "Failed attempts in a row at the webhook's next event",
            labels=["webhook"],
        )
        w_delivered = CounterMetricFamily(
            "inspectorate_webhook_delivered", "Events the receiver acknowledged", labels=["webhook"]
        )
        w_failures = CounterMetricFamily(
            "inspectorate_webhook_failures", "Failed delivery attempts", labels=["webhook"]
        )
        for hook in hooks:
            w_lag.add_metric([hook.id], max(0, head - hook.position))
            w_active.add_metric([hook.id], 1 if hook.status == "active" else 0)
            w_failing.add_metric([hook.id], hook.attempts)
            w_delivered.add_metric([hook.id], hook.delivered_total)
            w_failures.add_metric([hook.id], hook.failures_total)
        yield from (w_lag, w_active, w_failing, w_delivered, w_failures)


def exposition(services: Any, own: Meters) -> tuple[bytes, str]:
    """The scrape: every process's meters (multiprocess mode) or this app's, and the database's figures."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(own.registry))
    registry.register(DatabaseCollector(services))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    """This process's own meters in the scrape's registry."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()
