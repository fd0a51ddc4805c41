"""The `inspectorate` command line: serve, migrate, tokens (and more, registered below)."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from infrastructure.bootstrap import build_services, migrate
from infrastructure.config import Settings
from infrastructure.tokens import ROLES

Command = Callable[[argparse.Namespace], int]


def cmd_migrate(_: argparse.Namespace) -> int:
    migrate(Settings.from_env())
    print("schema ready")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    migrate(settings)
    for label, value in (("name", args.name), ("organisation", args.organisation)):
        if value is not None and len(value) > 200:
            print(f"error: {label} must be at most 200 characters", file=sys.stderr)
            return 2
    services = build_services(settings)
    try:
        info, secret = services.tokens.create(args.name, args.role, args.organisation)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        services.close()
    print(f"created token {info.id} for {info.name} ({info.role})")
    print(secret)
    return 0


def cmd_token_list(_: argparse.Namespace) -> int:
    """One tab-separated line per token (never the secret, which is not stored)."""
    settings = Settings.from_env()
    migrate(settings)
    services = build_services(settings)
    try:
        print("id\tname\trole\torganisation\tcreated_at\tstate")
        for info in services.tokens.list():
            state = "revoked" if info.revoked_at else "active"
            print(f"{info.id}\t{info.name}\t{info.role}\t{info.organisation or '-'}\t"
                  f"{info.created_at.isoformat()}\t{state}")
    finally:
        services.close()
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    migrate(settings)
    services = build_services(settings)
    try:
        revoked = services.tokens.revoke(args.token_id)
    finally:
        services.close()
    if not revoked:
        print(f"error: no active token with id {args.token_id}", file=sys.stderr)
        return 1
    print(f"revoked token {args.token_id}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from web.server import serve

    return serve(args.host, args.port, workers=args.workers, run_worker=not args.no_worker,
                 pin=False if args.no_pin else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inspectorate")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--no-worker", action="store_true", help="do not run the projection worker in-process")
    serve.add_argument("--no-pin", action="store_true",
                       help="leave the workers to the OS scheduler (by default, with as many workers as cores, "
                            "each has a core of its own)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="create the schema").set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a token; the secret is printed alone on the last line")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--organisation", default=None)
    create.set_defaults(func=cmd_token_create)
    token.add_parser("list", help="list tokens (ids, names, roles; never secrets)").set_defaults(func=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a token by its id (from `token list`)")
    revoke.add_argument("token_id")
    revoke.set_defaults(func=cmd_token_revoke)

    for register in EXTENSIONS:
        register(sub)
    return parser


# Other modules add their subcommands here: each takes the subparsers object.
EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


import web.cli_audit  # noqa: E402,F401 - registers `inspectorate audit`
import web.cli_backup  # noqa: E402,F401 - registers `inspectorate backup` and `inspectorate restore`
import web.cli_views  # noqa: E402,F401 - registers `inspectorate project` and `inspectorate views`

if __name__ == "__main__":  # `python -m web.cli`: run the imported module, where the extensions registered
    from web import cli

    sys.exit(cli.main())
