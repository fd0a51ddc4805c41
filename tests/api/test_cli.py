"""The `inspectorate` click group: every command, help for every option, operator errors in one line.

(The console script itself, as a subprocess, is exercised in tests/reliability/test_operator_cli.py.)
"""

from __future__ import annotations

import base64
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from infrastructure.config import Settings
from web import create_app, services_of
from web.cli import ORGANISATION_ROLES, cli

# The commands the README and the contract list (api.md "Running it", api-2.md A).
COMMANDS = [
    ("serve",),
    ("project",),
    ("migrate",),
    ("token", "create"),
    ("token", "list"),
    ("token", "revoke"),
    ("views", "rebuild"),
    ("views", "status"),
    ("audit", "verify"),
    ("audit", "head"),
    ("backup",),
    ("restore",),
    ("key", "generate"),
]
BAD_KEYS = ["abc", "not base64 at all!", base64.b64encode(b"ten bytes!").decode(), "x" * 44]


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI reads the same settings from the environment (nothing from the developer's shell)."""
    for name in ("INSPECTORATE_DATABASE_URL", "INSPECTORATE_CIPHER_KEY", "INSPECTORATE_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSPECTORATE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("INSPECTORATE_DATABASE_URL", settings.database_url)
    yield settings


def invoke(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env or None)


def one_line_error(result: Result) -> str:
    """The error, asserting it is exactly one line on stderr and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))


def test_version_and_every_command_of_the_contract_with_its_help() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == "inspectorate 0.1.0"
    for command in COMMANDS:
        result = invoke(*command, "--help")
        assert result.exit_code == 0, (command, result.output)
        assert result.output.startswith(f"Usage: inspectorate {' '.join(command)}")


def test_every_option_has_a_help_line() -> None:
    missing = [
        (path, param.name)
        for path, command in walk(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert not missing
    assert all(command.help for _, command in walk(cli))


def test_the_options_the_readme_lists_are_accepted_and_no_pin_is_gone() -> None:
    serve = cli.commands["serve"]
    assert {o for p in serve.params for o in p.opts} >= {"--host", "--port", "--workers", "--no-worker"}
    assert [o for p in cli.commands["project"].params for o in p.opts] == ["--exit-with-parent", "--check"]
    result = invoke("serve", "--no-pin")
    assert result.exit_code == 2 and "--no-pin" in one_line_error(result)


def test_a_usage_error_is_one_line_with_where_to_look() -> None:
    result = invoke("token", "create", "--role", "inspector")
    assert result.exit_code == 2
    assert one_line_error(result) == ("error: Missing option '--name'. (see 'inspectorate token create --help')")


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize(
    "command",
    [("migrate",), ("token", "list"), ("views", "status"), ("audit", "verify"), ("serve", "--port", "1"), ("project",)],
)
def test_a_malformed_cipher_key_is_one_line_and_exit_2(env: Settings, command: tuple[str, ...], key: str) -> None:
    result = invoke(*command, INSPECTORATE_CIPHER_KEY=key)
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert "INSPECTORATE_CIPHER_KEY" in line and "base64" in line and "inspectorate key generate" in line
    assert key not in line  # the key is a secret, even a wrong one
    assert not list(env.data_dir.glob("*.sqlite"))  # refused before anything was opened


def test_key_generate_prints_a_key_the_application_runs_with(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = invoke("key", "generate"), invoke("key", "generate")
    assert first.exit_code == 0 and first.stdout.count("\n") == 1
    key = first.stdout.strip()
    assert key != second.stdout.strip()
    assert len(base64.b64decode(key, validate=True)) == 32
    replacing = invoke("key", "generate", INSPECTORATE_CIPHER_KEY="the malformed key it replaces")
    assert replacing.exit_code == 0 and len(base64.b64decode(replacing.stdout.strip())) == 32
    monkeypatch.setenv("INSPECTORATE_CIPHER_KEY", key)
    created = invoke("token", "create", "--name", "Ann Inspector", "--role", "inspector")
    assert created.exit_code == 0, created.output
    app = create_app(Settings.from_env())
    try:
        headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
        answer = app.test_client().post(
            "/v1/inspections",
            headers=headers,
            json={
                "programme": "OMI2",
                "fieldwork_start": "2011-05-03",
                "inspected_body": {"name": "Keyed Trust", "type": "probation_trust", "region": "North West"},
            },
        )
        assert answer.status_code == 201, answer.get_json()
        read = app.test_client().get(f"/v1/inspections/{answer.get_json()['id']}", headers=headers)
        assert read.status_code == 200 and read.get_json()["inspected_body"]["name"] == "Keyed Trust"
    finally:
        services_of(app).close()
    if not env.is_postgres:
        assert b"Keyed Trust" not in env.events_path.read_bytes()  # stored as ciphertext: the key is in use


@pytest.mark.parametrize(
    "command",
    [
        ("migrate",),
        ("token", "list"),
        ("token", "create", "--name", "A", "--role", "admin"),
        ("views", "status"),
        ("audit", "verify"),
        ("audit", "head"),
    ],
)
def test_a_database_that_is_down_is_one_line_and_exit_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    url = f"postgresql+psycopg://inspectorate:hunter2secret@127.0.0.1:{closed_port()}/inspectorate"
    result = invoke(*command, INSPECTORATE_DATABASE_URL=url, INSPECTORATE_DATA_DIR=str(tmp_path / "var"))
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert line.startswith("error: cannot reach the database (PostgreSQL at 127.0.0.1:")
    assert "INSPECTORATE_DATABASE_URL" in line and "hunter2secret" not in result.output


def test_a_malformed_setting_is_one_line_and_exit_2(env: Settings) -> None:
    result = invoke("token", "list", INSPECTORATE_RATE_LIMIT="lots")
    assert result.exit_code == 2
    assert one_line_error(result) == "error: INSPECTORATE_RATE_LIMIT must be a whole number, not 'lots'"
    result = invoke("token", "list", INSPECTORATE_PUBLIC_URL="ftp://somewhere")
    assert result.exit_code == 2
    assert one_line_error(result).startswith("error: INSPECTORATE_PUBLIC_URL must be an http(s) URL")


@pytest.mark.parametrize("role", ORGANISATION_ROLES)
def test_a_token_for_an_organisations_role_names_the_organisation(env: Settings, role: str) -> None:
    for organisation in ([], ["--organisation", "   "]):
        result = invoke("token", "create", "--name", "Org rep", "--role", role, *organisation)
        assert result.exit_code == 2, result.output
        assert "--organisation" in one_line_error(result) and not result.stdout
    listing = invoke("token", "list")
    assert listing.exit_code == 0 and listing.stdout.strip().count("\n") == 0  # the header alone: none was made
    made = invoke("token", "create", "--name", "Org rep", "--role", role, "--organisation", "Cumbria")
    assert made.exit_code == 0, made.output
    assert "\tCumbria\t" in invoke("token", "list").stdout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), so that a file left to the defaults would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_backup_and_restore_write_files_only_their_owner_can_read(
    env: Settings, tmp_path: Path, open_umask: None
) -> None:
    assert invoke("token", "create", "--name", "Ann Inspector", "--role", "inspector").exit_code == 0
    target = tmp_path / "backups" / "today"
    result = invoke("backup", str(target))
    assert result.exit_code == 0, result.output
    assert _mode(target) == 0o700
    files = sorted(p.name for p in target.iterdir())
    assert {"events.sqlite", "views.sqlite", "manifest.json"} <= set(files)
    assert {name: _mode(target / name) for name in files} == {name: 0o600 for name in files}

    restored = tmp_path / "restored"
    result = invoke("restore", str(target), INSPECTORATE_DATA_DIR=str(restored), INSPECTORATE_DATABASE_URL="")
    assert result.exit_code == 0, result.output
    assert _mode(restored) == 0o700
    assert {p.name: _mode(p) for p in restored.iterdir()} == {p.name: 0o600 for p in restored.iterdir()}


def test_the_data_folder_and_its_databases_are_the_owners_alone(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch, open_umask: None
) -> None:
    monkeypatch.delenv("INSPECTORATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("INSPECTORATE_DATA_DIR", str(sqlite_settings.data_dir))
    assert invoke("token", "create", "--name", "Ann Inspector", "--role", "inspector").exit_code == 0
    data = sqlite_settings.data_dir
    assert _mode(data) == 0o700
    assert {p.name: _mode(p) for p in data.iterdir()} == {p.name: 0o600 for p in data.iterdir()}
    assert {"events.sqlite", "views.sqlite"} <= {p.name for p in data.iterdir()}

    # A folder and files left more open (by an earlier version, by hand) are tightened at start.
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644)
    assert invoke("token", "list").exit_code == 0
    assert _mode(data) == 0o700
    assert {p.name: _mode(p) for p in data.iterdir()} == {p.name: 0o600 for p in data.iterdir()}


def test_bodies_derive_registers_the_bodies_of_earlier_inspections_once(env: Settings) -> None:
    from datetime import date

    from domain.body import Body, body_id_for
    from domain.inspection import Inspection
    from tests.factories import body
    from web.bootstrap import build_app

    app = build_app(env)
    app.save(Inspection.schedule("OMI2", body("Cumbria"), date(2010, 5, 3)))  # as recorded before the register
    app.close()
    first, second = invoke("bodies", "derive"), invoke("bodies", "derive")
    assert (first.exit_code, first.output.strip()) == (0, "linked 1 inspection(s) to the register")
    assert second.output.strip() == "linked 0 inspection(s) to the register"
    app = build_app(env)
    try:
        assert app._find(Body, body_id_for("probation_trust", "cumbria")).name == "Cumbria"
    finally:
        app.close()
