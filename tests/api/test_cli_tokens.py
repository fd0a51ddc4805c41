"""`inspectorate token create|list|revoke` against the same database the API uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.config import Settings
from web import create_app, services_of
from web.cli import main


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("INSPECTORATE_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("INSPECTORATE_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("INSPECTORATE_DATABASE_URL", raising=False)
    return settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_create_prints_the_secret_alone_on_the_last_line_and_it_authenticates(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "token", "create", "--name", "Ann Inspector", "--role", "inspector")
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert " " not in secret and len(secret) >= 32
    app = create_app(cli_env)
    try:
        response = app.test_client().get(
            "/v1/inspections/00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code == 404  # authenticated; the inspection just does not exist
    finally:
        services_of(app).close()


def test_list_shows_tokens_without_secrets_and_revoke_disables_one(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(
        capsys, "token", "create", "--name", "Org rep", "--role", "organisation", "--organisation", "Cumbria"
    )
    secret = out.strip().splitlines()[-1]
    code, listing, _ = run(capsys, "token", "list")
    assert code == 0 and secret not in listing
    rows = [line.split("\t") for line in listing.strip().splitlines()[1:]]
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [("Org rep", "organisation", "Cumbria", "active")]

    code, out, _ = run(capsys, "token", "revoke", rows[0][0])
    assert code == 0 and rows[0][0] in out
    _, listing, _ = run(capsys, "token", "list")
    assert listing.strip().splitlines()[1].endswith("\trevoked")
    code, _, err = run(capsys, "token", "revoke", rows[0][0])
    assert code == 1 and "no active token" in err

    app = create_app(cli_env)
    try:
        response = app.test_client().get(
            "/v1/inspections/00000000-0000-0000-0000-000000000000", headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code == 401
    finally:
        services_of(app).close()


def test_bad_token_arguments_are_refused_without_a_traceback(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "token", "create", "--name", "X", "--role", "superuser")
    assert code == 2 and "superuser" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "token", "create", "--name", "   ", "--role", "auditor")
    assert code == 2 and "name" in err
    code, _, err = run(capsys, "token", "create", "--name", "N" * 201, "--role", "auditor")
    assert code == 2 and "200" in err


def test_python_dash_m_web_cli_has_every_command(tmp_path: Path) -> None:
    """`python -m web.cli` (as the benchmarks run it, e.g. under -O) knows the commands other modules add."""
    env = {**os.environ, "INSPECTORATE_DATA_DIR": str(tmp_path / "var")}
    env.pop("INSPECTORATE_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", "views", "status"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "scores" in done.stdout
