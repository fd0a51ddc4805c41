"""Fixtures for the reliability tests: real servers as subprocesses, each with its own data dir."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.helpers import Server, server_env

POSTGRES_URL = os.environ.get("INSPECTORATE_TEST_POSTGRES_URL")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers on demand (`start_server(**env)`); every one is stopped at teardown."""
    started: list[Server] = []

    def start(name: str = "var", args: tuple[str, ...] = (), start: bool = True, **env: Any) -> Server:
        server = Server(server_env(tmp_path / name, **{k: str(v) for k, v in env.items()}), args=args)
        started.append(server)
        return server.start() if start else server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One SQLite-backed server shared by a module's tests (starting one costs about a second)."""
    server = Server(server_env(tmp_path_factory.mktemp("server") / "var"))
    server.start()
    yield server
    server.stop()
