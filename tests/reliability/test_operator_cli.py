"""The real `inspectorate` console script as an operator meets it: exit codes, one-line errors, file modes."""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.helpers import REPO, Server, cli, create_token, open_fieldwork, server_env

POSTGRES_URL = os.environ.get("INSPECTORATE_TEST_POSTGRES_URL")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), inherited by the server: a file left to the defaults would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_malformed_cipher_key_exits_2_with_one_line(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", INSPECTORATE_CIPHER_KEY="not-a-key")
    for args in (("token", "list"), ("migrate",), ("serve", "--port", "1")):
        done = cli(env, *args, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith(
            "error: INSPECTORATE_CIPHER_KEY is malformed: a key is 16, 24 or 32 random bytes in base64"
        )


def test_a_database_that_is_down_exits_2_with_one_line(tmp_path: Path) -> None:
    port = closed_port()
    env = server_env(
        tmp_path / "var", INSPECTORATE_DATABASE_URL=f"postgresql+psycopg://inspectorate:s3cret@127.0.0.1:{port}/x"
    )
    for args in (("token", "create", "--name", "Ann", "--role", "admin"), ("migrate",), ("serve", "--port", "1")):
        done = cli(env, *args, check=False, timeout=60)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith(f"error: cannot reach the database (PostgreSQL at 127.0.0.1:{port})")
        assert "s3cret" not in done.stderr


def test_python_dash_m_web_cli_is_the_same_command_line(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", "--version"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == "inspectorate 0.1.0"
    assert cli(env, "--version").stdout.strip() == "inspectorate 0.1.0"


def test_key_generate_prints_a_key_the_service_starts_and_encrypts_with(
    tmp_path: Path, start_server: Callable[..., Server]
) -> None:
    key = cli(server_env(tmp_path / "keyless"), "key", "generate").stdout.strip()
    assert len(base64.b64decode(key, validate=True)) == 32
    server = start_server(INSPECTORATE_CIPHER_KEY=key)
    token = create_token(server.env, "Keyed Inspector", "inspector").secret
    inspection_id = open_fieldwork(server.port, token, "KEYEDSECRET Trust")
    read = server.request("GET", f"/v1/inspections/{inspection_id}", token=token)
    assert read.status == 200 and read.json()["inspected_body"]["name"] == "KEYEDSECRET Trust"
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("events.sqlite*"))
    assert stored and b"KEYEDSECRET" not in stored


def test_the_running_service_keeps_its_files_to_its_owner(
    start_server: Callable[..., Server], tmp_path: Path, open_umask: None
) -> None:
    server = start_server()  # (its data folder is made beforehand with the usual 0755: tightened at start)
    token = create_token(server.env, "Ann Inspector", "inspector").secret
    open_fieldwork(server.port, token, "Modes Trust")
    data = server.data_dir
    expected = {
        "events.sqlite",
        "events.sqlite-wal",
        "events.sqlite-shm",
        "events.sqlite-writers.lock",
        "views.sqlite",
        "views.sqlite-wal",
        "views.sqlite-shm",
    }
    files = {p.name: mode(p) for p in data.iterdir()}
    assert expected <= set(files), files
    assert mode(data) == 0o700
    assert files == {p.name: owner_only(p) for p in data.iterdir()}

    backup = tmp_path / "backup"
    cli(server.env, "backup", str(backup))
    assert mode(backup) == 0o700
    assert {p.name: mode(p) for p in backup.iterdir()} == {p.name: 0o600 for p in backup.iterdir()}

    # Left more open (an earlier version, a copy by hand): tightened when the service starts again.
    server.stop()
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644)
    server.start()
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {p.name: owner_only(p) for p in data.iterdir()}


def owner_only(path: Path) -> int:
    """The mode the service gives what it keeps in its data folder: folders 0700, files 0600."""
    return 0o700 if path.is_dir() else 0o600


@pytest.mark.postgres
def test_a_backup_of_postgresql_is_its_owners_alone(tmp_path: Path, open_umask: None) -> None:
    if not POSTGRES_URL:
        pytest.skip("INSPECTORATE_TEST_POSTGRES_URL not set")
    from tests.conftest import reset_postgres

    reset_postgres(POSTGRES_URL)
    env = server_env(tmp_path / "var", INSPECTORATE_DATABASE_URL=POSTGRES_URL)
    create_token(env, "Ann Inspector", "inspector")
    backup = tmp_path / "backup"
    cli(env, "backup", str(backup))
    assert mode(backup) == 0o700
    assert {p.name: mode(p) for p in backup.iterdir()} == {p.name: 0o600 for p in backup.iterdir()}
