"""Crash rounds: concurrent HTTP writers, SIGKILL of the whole server mid-load, restart, count what survived.

    .venv/bin/python -m benchmarks.crash_load [--rounds 5] [--seconds 3] [--postgres URL]

Each round starts `inspectorate serve` on a fresh data dir (or a reset PostgreSQL
database), drives six writers (schedule, start fieldwork, add cases, rate),
kills the process group at a random moment, restarts it and checks every
acknowledged write at its acknowledged position, then that the hash chain
verifies. Prints, per round and in total: writes acknowledged, lost, refused
while down, and the restart time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tests.conftest import reset_postgres
from tests.reliability.helpers import Server, cli, create_token, server_env
from tests.reliability.test_crash_safety import check_every_ack_is_recorded, drive


def one_round(n: int, seconds: float, postgres: str | None, root: Path) -> tuple[int, int, int, float]:
    extra = {}
    if postgres:
        reset_postgres(postgres)
        extra["INSPECTORATE_DATABASE_URL"] = postgres
    server = Server(server_env(root / f"round-{n}", **extra))
    token = create_token(server.env, "Crash Bench", "inspector").secret
    server.start()
    try:
        load = drive(
            server, token, seconds, crash=server.kill, crash_after=random.uniform(0.5, seconds - 0.5), tag=f"r{n} "
        )
        started = time.perf_counter()
        server.start()
        restart = time.perf_counter() - started
        lost = 0
        try:
            check_every_ack_is_recorded(server, token, load.acks)
        except AssertionError as error:  # count, do not stop: the figure is the point
            print(f"  round {n}: {error}")
            lost = 1
        verified = cli(server.env, "audit", "verify", check=False).returncode == 0
        print(
            f"round {n}: {len(load.acks)} acknowledged, {(lost and 'SOME') or 0} lost, {load.failures} refused "
            f"while down, restart {restart:.2f} s, chain {'verifies' if verified else 'BROKEN'}"
        )
        return len(load.acks), lost, load.failures, restart
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to use (it is wiped each round)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        results = [one_round(n, args.seconds, args.postgres, Path(root)) for n in range(1, args.rounds + 1)]
    print(
        f"total: {sum(r[0] for r in results)} writes acknowledged over {args.rounds} SIGKILLs, "
        f"{sum(r[1] for r in results)} rounds with a lost write, "
        f"median restart {sorted(r[3] for r in results)[len(results) // 2]:.2f} s"
    )


if __name__ == "__main__":
    main()
