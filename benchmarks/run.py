"""`make bench`: the quick benchmarks in one go (each is also runnable alone, with more options).

    .venv/bin/python -m benchmarks.run

The long ones (1M-event projection rebuild, crash load, PostgreSQL variants)
are run on purpose with their own modules; see each module's docstring.
"""

from __future__ import annotations

import subprocess
import sys

QUICK = [
    ["benchmarks.event_store", "--inspections", "100", "--backends", "sqlite"],
    ["benchmarks.http_commands", "--seconds", "10", "--read-seconds", "5"],
    ["benchmarks.verify"],
    ["benchmarks.feed"],
    ["benchmarks.pages"],
]


def main() -> int:
    failed = 0
    for module, *args in QUICK:
        print(f"\n== {module} {' '.join(args)}", flush=True)
        failed += subprocess.call([sys.executable, "-m", module, *args]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
