"""The `inspectorate` command line: one click group, its commands grouped by topic below.

Errors an operator can fix (a malformed setting, a database that cannot be
reached, a wrong argument) are one line on stderr and exit 2, never a
traceback; ``main`` is the console script and ``python -m web.cli``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlparse

import click

from infrastructure.availability import is_database_unavailable
from infrastructure.config import Settings, SettingsError, generate_cipher_key
from infrastructure.tokens import ROLES

NAME_LIMIT = 200
# Roles that act for one body: a token for them names it (api-2.md A).
ORGANISATION_ROLES = ("local_assessor", "organisation")
_ANCHOR = re.compile(r"^([1-9][0-9]{0,18}):([0-9a-f]{64})$")


class OperatorError(click.ClickException):
    """Something the operator can put right (a setting, the database): one line, exit 2."""

    exit_code = 2


class _Group(click.Group):
    """The root group: expected operator errors become one line, and every error is one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingsError as error:
            raise OperatorError(str(error)) from None
        except Exception as error:
            if is_database_unavailable(error):
                raise OperatorError(_unreachable(error)) from None
            if isinstance(error, OSError) and error.filename:  # say, a data folder it may not write to
                raise OperatorError(f"{error.strerror}: {error.filename}") from None
            raise

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as error:
            _one_line(error)
            result = error.exit_code
        except click.Abort:
            click.echo("Aborted.", err=True)
            result = 1
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


def _one_line(error: click.ClickException) -> None:
    message = " ".join(error.format_message().split())
    if isinstance(error, click.UsageError) and error.ctx is not None:
        message += f" (see '{error.ctx.command_path} --help')"
    click.echo(f"error: {message}", err=True)


def _unreachable(error: BaseException) -> str:
    """What is wrong, where (never the password), and what to do, in one line."""
    settings = Settings.from_env()
    if settings.is_postgres:
        url = urlparse(str(settings.database_url))
        where = f"PostgreSQL at {url.hostname or '127.0.0.1'}:{url.port or 5432}"
    elif settings.database_url:
        where = f"SQLite at {settings.database_url.split('///', 1)[-1]}"
    else:
        where = f"SQLite in {settings.data_dir}"
    detail = _innermost(error)
    if settings.database_url and (password := urlparse(settings.database_url).password):
        detail = detail.replace(password, "***")
    return (
        f"cannot reach the database ({where}): {detail}; start it, or point INSPECTORATE_DATABASE_URL at one that runs"
    )


def _innermost(error: BaseException) -> str:
    """The first line of the deepest cause: the driver's own words (connection refused, no such file...)."""
    seen: list[BaseException] = [error]
    while (cause := seen[-1].__cause__ or seen[-1].__context__) is not None and cause not in seen:
        seen.append(cause)
    for candidate in reversed(seen):
        text = str(getattr(candidate, "orig", None) or candidate).strip()
        if text:
            return " ".join(text.splitlines()[0].split())
    return type(error).__name__


def _fail(message: str, code: int = 1) -> NoReturn:
    """A refusal that is not the operator's setup (no such token, a broken chain): one line, ``code``."""
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _settings() -> Settings:
    return Settings.from_env()


@click.group("inspectorate", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="inspectorate", prog_name="inspectorate", message="%(prog)s %(version)s")
def cli() -> None:
    """Inspections of probation and youth offending work: the API and its operations.

    Settings come from the environment: INSPECTORATE_DATA_DIR (default ./var),
    INSPECTORATE_DATABASE_URL, INSPECTORATE_CIPHER_KEY, INSPECTORATE_RATE_LIMIT.
    """


# -- serving ----------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=lambda: int(os.environ.get("PORT", "8000")),
    help="TCP port to listen on (default: $PORT, else 8000).",
)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="HTTP worker processes.")
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not run the projection worker beside the server (run `inspectorate project` yourself).",
)
def serve(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve the HTTP API (and keep the read views current)."""
    from web.server import serve as run

    _settings()  # a malformed setting is one line here, not a worker's traceback
    raise click.exceptions.Exit(run(host, port, workers=workers, run_worker=not no_worker) or 0)


@cli.command()
@click.option(
    "--exit-with-parent",
    is_flag=True,
    hidden=True,
    help="Stop when the process that started this one exits (used by `serve`).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Do not run: exit 0 if a worker's loop turned within the last 30 s (its heartbeat file), else 1.",
)
def project(exit_with_parent: bool, check: bool) -> None:
    """Run the projection worker (read views, deadline process) until SIGTERM or SIGINT."""
    from infrastructure.projections.worker import HEARTBEAT_MAX_AGE, heartbeat_age, run_worker
    from web.bootstrap import COMPOSER, migrate

    settings = _settings()
    if check:  # a container health check: cheap, no database
        age = heartbeat_age(settings)
        if age is None or age > HEARTBEAT_MAX_AGE:
            click.echo(
                "projection worker: no heartbeat"
                if age is None
                else f"projection worker: no heartbeat for {age:.0f} s",
                err=True,
            )
            raise click.exceptions.Exit(1)
        click.echo(f"projection worker: alive ({age:.0f} s since its last heartbeat)")
        return
    migrate(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(settings, stop, composer=COMPOSER, parent_pid=os.getppid() if exit_with_parent else None)


@cli.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema."""
    from web.bootstrap import migrate

    migrate(_settings())
    click.echo("schema ready")


# -- keys and tokens ---------------------------------------------------------------------


@cli.group()
def key() -> None:
    """Encryption keys for INSPECTORATE_CIPHER_KEY."""


@key.command("generate")
def key_generate() -> None:
    """Print a new random key (32 bytes in base64) for INSPECTORATE_CIPHER_KEY."""
    click.echo(generate_cipher_key())


@cli.group()
def token() -> None:
    """API tokens (stored hashed)."""


def _bounded(_: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    if value is not None and len(value) > NAME_LIMIT:
        raise click.BadParameter(f"must be at most {NAME_LIMIT} characters", param=parameter)
    return value


@token.command("create")
@click.option("--name", required=True, callback=_bounded, help="Who the token is for (at most 200 characters).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the token may do.")
@click.option(
    "--organisation",
    default=None,
    callback=_bounded,
    help=f"The body the token acts for; required for {' and '.join(ORGANISATION_ROLES)}.",
)
def token_create(name: str, role: str, organisation: str | None) -> None:
    """Create a token; its secret is printed alone on the last line (it is not stored)."""
    from web.bootstrap import build_services, migrate

    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="'--name'")
    if role in ORGANISATION_ROLES and not (organisation or "").strip():
        raise click.UsageError(f"a token with role {role} acts for one body: give --organisation ORG")
    settings = _settings()
    migrate(settings)
    services = build_services(settings)
    try:
        info, secret = services.tokens.create(name, role, organisation)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    finally:
        services.close()
    click.echo(f"created token {info.id} for {info.name} ({info.role})")
    click.echo(secret)


@token.command("list")
def token_list() -> None:
    """One tab-separated line per token: id, name, role, organisation, created, state (never a secret)."""
    from web.bootstrap import build_services, migrate

    settings = _settings()
    migrate(settings)
    services = build_services(settings)
    try:
        click.echo("id\tname\trole\torganisation\tcreated_at\tstate")
        for info in services.tokens.list():
            state = "revoked" if info.revoked_at else "active"
            click.echo(
                f"{info.id}\t{info.name}\t{info.role}\t{info.organisation or '-'}\t"
                f"{info.created_at.isoformat()}\t{state}"
            )
    finally:
        services.close()


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id (from `token list`); exit 1 if there is no such active token."""
    from web.bootstrap import build_services, migrate

    settings = _settings()
    migrate(settings)
    services = build_services(settings)
    try:
        revoked = services.tokens.revoke(token_id)
    finally:
        services.close()
    if not revoked:
        _fail(f"no active token with id {token_id}")
    click.echo(f"revoked token {token_id}")


# -- read views --------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr: events done, events per second, time left."""

    def __init__(self, start: int, head: int, out: TextIO = sys.stderr, every: float = 0.25) -> None:
        self.start, self.head, self.out, self.every = start, head, out, every
        self.began = self.shown = time.perf_counter()

    def update(self, position: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.shown < self.every:
            return
        self.shown = now
        done, total = position - self.start, max(1, self.head - self.start)
        rate = done / max(now - self.began, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        filled = int(30 * min(done, total) / total)
        self.out.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,} events  {rate:,.0f} ev/s  ETA {eta:,.0f} s "
        )
        self.out.flush()

    def finish(self, position: int) -> float:
        self.update(position, force=True)
        self.out.write("\n")
        return time.perf_counter() - self.began


def _view_names() -> list[str]:
    from application.projections import VIEW_NAMES

    return list(VIEW_NAMES)


@cli.group()
def views() -> None:
    """Read views: rebuild them, or see how far behind the record they are."""


@views.command("rebuild")
@click.option(
    "--view",
    "names",
    multiple=True,
    type=click.Choice(_view_names()),
    help="A view to rebuild (repeatable); default: all.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="Rebuild processes (default: one a CPU, at most one a view).",
)
def views_rebuild(names: tuple[str, ...], processes: int | None) -> None:
    """Drop the named views (or all) and rebuild them from the first event, in parallel processes."""
    from infrastructure.projections.rebuild import rebuild
    from web.bootstrap import COMPOSER, build_app, migrate

    settings = _settings()
    migrate(settings)
    app = build_app(settings, create_table=False)
    head = app.recorder.max_notification_id() or 0
    app.close()
    progress = Progress(0, head)
    done = rebuild(settings, list(names) or None, composer=COMPOSER, processes=processes, progress=progress.update)
    progress.finish(head)
    click.echo(
        f"rebuilt {', '.join(done.names)}: {done.events:,} events in {done.seconds:.1f} s "
        f"({done.events / max(done.seconds, 1e-9):,.0f} ev/s, {done.processes} process(es))"
    )


@views.command("status")
def views_status() -> None:
    """Each view's position and lag behind the head of the record (and, on PostgreSQL, the leading worker)."""
    from infrastructure.leadership import current_leader
    from infrastructure.projections.engine import create_projection_engine
    from infrastructure.projections.reader import ViewReader
    from web.bootstrap import build_app, migrate

    settings = _settings()
    migrate(settings)
    app = build_app(settings, create_table=False)
    engine = create_projection_engine(settings)
    try:
        head = app.recorder.max_notification_id() or 0
        click.echo(f"head\t{head}")
        if settings.is_postgres:  # several workers may run: which one leads (works) now
            click.echo(f"leader\t{current_leader(settings) or 'none'}")
        for name, position in ViewReader(engine).positions().items():
            click.echo(f"{name}\tposition {position}\tlag {max(0, head - position)}")
    finally:
        app.close()
        engine.dispose()


# -- the tamper-evident record -----------------------------------------------------------


@cli.group()
def erasures() -> None:
    """Erasures of cases' personal data (docs/personal-data.md)."""


@erasures.command("list")
def erasures_list() -> None:
    """Print every erasure the record holds, one JSON object a line ({case_id, reason, at}): keep it
    apart from the backups, to re-apply after restoring one taken before some of them."""
    from web.bootstrap import build_app

    app = build_app(_settings(), create_table=False)
    try:
        for n in app.recorder.select_notifications(0, 1 << 62, topics=["case.personal_data_erased.v1"]):
            event = app.describe(n)
            click.echo(
                json.dumps(
                    {"case_id": event["stream"], "reason": event["data"].get("reason"), "at": event["recorded_at"]}
                )
            )
    finally:
        app.close()


@erasures.command("reapply")
@click.argument("listing", type=click.File("r"), required=False)
def erasures_reapply(listing: Any) -> None:
    """Destroy again the key of every case the record says was erased; with LISTING (the output of
    `erasures list`, kept from before a restore), erase each listed case the record does not show
    erased yet, with its reason. Then run `views rebuild` (views restored with the backup may hold
    what the erasures removed)."""
    from uuid import UUID

    from domain.base import SYSTEM
    from domain.errors import NotFound
    from web.bootstrap import build_app, migrate

    settings = _settings()
    migrate(settings)
    app = build_app(settings, create_table=False)
    try:
        erased, missing = 0, 0
        for line in listing or ():
            if not line.strip():
                continue
            entry = json.loads(line)
            try:
                result = app.erase_case(
                    SYSTEM,
                    UUID(entry["case_id"]),
                    entry.get("reason") or "re-applied",
                    correlation_id="erasures-reapply",
                )
            except NotFound:
                missing += 1  # a case sampled after the backup was taken: not in the restored record
                continue
            erased += result.position is not None
        destroyed = app.reapply_erasures()
    finally:
        app.close()
    click.echo(
        f"{erased} case(s) erased again from the listing, {missing} not in this record; "
        f"{destroyed} key(s) of erased cases destroyed again"
    )


@cli.group()
def audit() -> None:
    """Check the tamper-evident record."""


def _anchors(_: click.Context, parameter: click.Parameter, values: tuple[str, ...]) -> dict[int, bytes]:
    anchors = {}
    for anchor in values:
        match = _ANCHOR.match(anchor)
        if not match:
            raise click.BadParameter(
                f"must be POSITION:HASH (64 lowercase hex digits), not {anchor!r}", param=parameter
            )
        anchors[int(match[1])] = bytes.fromhex(match[2])
    return anchors


@audit.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="POSITION:HASH",
    callback=_anchors,
    help="A head kept from earlier (`audit head`); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit_verify(anchors: dict[int, bytes], as_json: bool) -> None:
    """Recompute the hash chain over every stored event: exit 0 intact, 1 broken, 2 not checkable."""
    from application.audit import verify_record
    from web.bootstrap import build_app

    app = build_app(_settings(), create_table=False)
    try:
        started = time.perf_counter()
        report = verify_record(app, anchors)
        seconds = time.perf_counter() - started
    except Exception as error:
        _fail(f"could not verify the record: {type(error).__name__}: {_innermost(error)}", 2)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(report))
    elif report["ok"]:
        rate = report["checked"] / seconds if seconds else 0
        click.echo(f"ok: {report['checked']} events verified in {seconds:.2f} s ({rate:,.0f}/s)")
        click.echo(f"head {report['head_position']} {report['head_hash']}")
    else:
        broken = report["first_broken"]
        click.echo(f"BROKEN at position {broken['position']}: {broken['reason']}")
        click.echo(f"{report['checked']} events verified before it")
    if not report["ok"]:
        raise click.exceptions.Exit(1)


@audit.command("head")
def audit_head() -> None:
    """Print the last link as POSITION:HASH, to keep elsewhere."""
    from application.audit import record_head
    from web.bootstrap import build_app

    app = build_app(_settings(), create_table=False)
    try:
        head = record_head(app)
    finally:
        app.close()
    click.echo(f"{head['position']}:{head['hash']}" if head["hash"] else "0: (empty record)")


# -- the register of bodies --------------------------------------------------------------


@cli.group()
def bodies() -> None:
    """The register of inspected bodies."""


@bodies.command("derive")
def bodies_derive() -> None:
    """Register the body of every inspection scheduled before the register existed, and link them
    (idempotent: run once on upgrade; running it again changes nothing)."""
    from web.bootstrap import build_app, migrate

    settings = _settings()
    migrate(settings)
    app = build_app(settings, create_table=False)
    try:
        linked = app.derive_register()
    finally:
        app.close()
    click.echo(f"linked {linked} inspection(s) to the register")


# -- backup and restore ------------------------------------------------------------------


@cli.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent backup of the record to PATH, a directory that does not exist yet (or is empty).

    Exit 1 when it could not be written (the reason on stderr).
    """
    from infrastructure.backup import BackupError, backup
    from web.bootstrap import COMPOSER

    started = time.perf_counter()
    try:
        manifest = backup(_settings(), path, composer=COMPOSER)
    except BackupError as error:
        _fail(str(error))
    click.echo(
        f"backed up {manifest.events:,} events (head {manifest.head}, chain head "
        f"{manifest.chain_head or '-'}) from {manifest.source} to {path} "
        f"in {time.perf_counter() - started:.1f} s"
    )


@cli.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
def restore_command(path: Path) -> None:
    """Restore the backup at PATH into an empty data dir or database, and verify its hash chain.

    Exit 1 when refused or the backup is damaged.
    """
    from infrastructure.backup import BackupError, restore
    from web.bootstrap import COMPOSER

    started = time.perf_counter()
    try:
        manifest = restore(_settings(), path, composer=COMPOSER)
    except BackupError as error:
        _fail(str(error))
    click.echo(
        f"restored {manifest.events:,} events (head {manifest.head}) from a {manifest.source} backup of "
        f"{manifest.created_at}; hash chain verified in {time.perf_counter() - started:.1f} s"
    )
    click.echo("the views catch up by themselves once the service runs; `inspectorate views rebuild` does it now")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code is returned (the console script exits with it)."""
    result = cli.main(list(argv) if argv is not None else None, prog_name="inspectorate", standalone_mode=False)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
