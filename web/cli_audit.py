"""`inspectorate audit verify` and `inspectorate audit head`: the tamper-evident record from a shell."""
from __future__ import annotations

import argparse
import json
import re
import sys
import time

from application.audit import record_head, verify_record
from infrastructure.bootstrap import build_app
from infrastructure.config import Settings

_ANCHOR = re.compile(r"^([1-9][0-9]{0,18}):([0-9a-f]{64})$")


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every link holds, 1 when the chain is broken, 2 when it could not be checked."""
    anchors = {}
    for anchor in args.anchor:
        match = _ANCHOR.match(anchor)
        if not match:
            print(f"error: --anchor must be POSITION:HASH (64 lowercase hex digits), not {anchor!r}", file=sys.stderr)
            return 2
        anchors[int(match[1])] = bytes.fromhex(match[2])
    app = build_app(Settings.from_env(), create_table=False)
    try:
        started = time.perf_counter()
        report = verify_record(app, anchors)
        seconds = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - a missing table or database is reported, not a traceback
        print(f"error: could not verify the record: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        app.close()
    if args.json:
        print(json.dumps(report))
    elif report["ok"]:
        rate = report["checked"] / seconds if seconds else 0
        print(f"ok: {report['checked']} events verified in {seconds:.2f} s ({rate:,.0f}/s)")
        print(f"head {report['head_position']} {report['head_hash']}")
    else:
        broken = report["first_broken"]
        print(f"BROKEN at position {broken['position']}: {broken['reason']}")
        print(f"{report['checked']} events verified before it")
    return 0 if report["ok"] else 1


def cmd_head(_: argparse.Namespace) -> int:
    app = build_app(Settings.from_env(), create_table=False)
    try:
        head = record_head(app)
    finally:
        app.close()
    print(f"{head['position']}:{head['hash']}" if head["hash"] else "0: (empty record)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help="check the tamper-evident record").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser("verify", help="recompute the hash chain over every stored event")
    verify.add_argument("--anchor", action="append", default=[], metavar="POSITION:HASH",
                        help="a head kept from earlier (`audit head`); repeatable")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=cmd_verify)
    audit.add_parser("head", help="print the last link as POSITION:HASH, to keep elsewhere").set_defaults(
        func=cmd_head
    )


def _register_with_cli() -> None:
    from web.cli import EXTENSIONS

    if register not in EXTENSIONS:
        EXTENSIONS.append(register)


_register_with_cli()
