"""`inspectorate backup PATH` and `inspectorate restore PATH` (format and guarantees: infrastructure/backup.py)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from infrastructure.backup import BackupError, backup, restore
from infrastructure.config import Settings


def cmd_backup(args: argparse.Namespace) -> int:
    """Exit 0 with a backup written, 1 when it could not be (the reason on stderr)."""
    started = time.perf_counter()
    try:
        manifest = backup(Settings.from_env(), Path(args.path))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"backed up {manifest.events:,} events (head {manifest.head}, chain head {manifest.chain_head or '-'}) "
          f"from {manifest.source} to {args.path} in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Exit 0 with the record restored and its chain verified, 1 when refused or damaged."""
    started = time.perf_counter()
    try:
        manifest = restore(Settings.from_env(), Path(args.path))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"restored {manifest.events:,} events (head {manifest.head}) from a {manifest.source} backup of "
          f"{manifest.created_at}; hash chain verified in {time.perf_counter() - started:.1f} s")
    print("the views catch up by themselves once the service runs; `inspectorate views rebuild` does it now")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    taken = sub.add_parser("backup", help="write a consistent backup of the record to a new directory")
    taken.add_argument("path", help="a directory that does not exist yet (or is empty)")
    taken.set_defaults(func=cmd_backup)
    back = sub.add_parser("restore", help="restore a backup into an empty data dir or database")
    back.add_argument("path", help="a directory written by `inspectorate backup`")
    back.set_defaults(func=cmd_restore)


def _register_with_cli() -> None:
    from web.cli import EXTENSIONS

    if register not in EXTENSIONS:
        EXTENSIONS.append(register)


_register_with_cli()
