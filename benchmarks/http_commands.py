"""HTTP command and read throughput against the real server (`inspectorate serve`: granian, 2 workers).

    .venv/bin/python -m benchmarks.http_commands [--clients 8] [--seconds 20] [--read-seconds 10]
        [--workers 2] [--cases-per-client 20] [--database-url URL] [--python-opt] [--no-projection-worker]
        [--rate N] [--held N]

Starts the server on the embedded default (SQLite in a temporary data
folder) unless --database-url is given (a scratch database: it is used as
is, not emptied). Client processes (not threads, so that the GIL does not
inflate the measured latencies) each rate their own cases in a loop: one
POST /v1/cases/{id}/ratings with a full set of judgements per request,
over one keep-alive connection per client (a lean socket client, `Client`, which reconnects
when the server closes a connection to share connections out across its workers). Then the
same clients GET one inspection. Prints commands/s, p50/p99 latency and
the error count; targets from the issue are >= 600 commands/s with p99 <
15 ms, and read p99 < 5 ms.

Closed loop (the default) finds the most the server answers; with 8
clients always waiting, each request queues behind the others, so its
latency is the queue, not the service. ``--rate N`` offers N requests/s
in all, on a fixed schedule, and times each from when it was due: the
latency a client sees at that load (as wrk2 measures it), arrivals at
random (Poisson). Each line also gives the time spent in the app, from
the server's access log: the rest is queueing, HTTP and the machine's
scheduler, on a 2-core machine that also runs the 8 client processes.

``--held N`` holds N long-held requests open on the server through both phases, from 4 auditor
tokens (a separate process, threads): half event streams (``/v1/events/stream``, 25 s each, for a
type the benchmark does not write, so they hold rather than send), half reads waiting for a view
position (``/v1/views/complaints?min_position=<head>``), each asked again as soon as it ends. The
waits are long only while the views lag the head, so use it with --no-projection-worker. What the
held requests got back (200, 503 refused, ...) is printed at the end.

Two figures per phase say how the machine itself stood, since every
other figure moves with it:

- the server's CPU per request (its processes and threads, from ``/proc``):
  on this machine it has measured 1.3-1.5 ms a rating when the host was
  quiet and up to 2.6 ms when it was not, for the same code;
- how long the server's threads were ready to run but waited for a core
  (the kernel's ``/proc/<pid>/task/<tid>/schedstat``), per request and as a
  share of the time they ran: the client processes, the projection worker
  and anything else on the machine compete with them for the 2 cores.
"""

from __future__ import annotations

import argparse
import http.client  # (only to wait for the server to start)
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
AREAS = ("risk_of_harm", "likelihood_of_reoffending", "compliance_and_enforcement")
CRITERIA = ("assessment_and_planning", "interventions", "outcomes")
CHARACTERISTICS = {
    "gender": "male",
    "ethnicity": "white",
    "age_band": "25-49",
    "disability": False,
    "looked_after": None,
    "disposal": "community",
    "risk_level": "high",
}


def judgements(seed: int) -> list[dict[str, Any]]:
    return [
        {"area": a, "criterion": c, "sufficient": (seed + i) % 4 != 0}
        for i, (a, c) in enumerate((a, c) for a in AREAS for c in CRITERIA)
    ]


def inspectorate_command(python_opt: bool) -> list[str]:
    # -O dropped the library's per-event isinstance(Protocol) assert (perf-baseline.md); the app now
    # goes around those paths, and a rating costs the same either way (1.0-1.1 ms in-process).
    if python_opt:
        return [sys.executable, "-O", "-m", "web.cli"]
    beside = Path(sys.executable).with_name("inspectorate")
    return [str(beside)] if beside.exists() else [shutil.which("inspectorate") or "inspectorate"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive HTTP/1.1 connection over a plain socket, reconnecting when the server closes it.

    A load generator should cost as little as it can, since it shares the
    2 cores with the server: http.client spent ~0.3 ms of CPU a request
    here (header objects, email-style parsing), this ~0.1 ms. It reads
    exactly one response a request: the status line, the headers up to the
    blank line, and a body of Content-Length bytes (the server always sends
    one; chunked answers are not expected here and fail loudly).
    """

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n".encode()
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.connects = 0

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        self.connects += 1
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        typed = f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if body is not None else ""
        request = f"{method} {path} HTTP/1.1\r\n".encode() + self.head + f"{typed}\r\n".encode() + data
        for attempt in (1, 2):
            try:
                return self._exchange(request)
            except (ConnectionError, TimeoutError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        sock = self.sock or self._connect()
        sock.sendall(request)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv(sock)
        head, buffer = buffer[:end].decode("latin-1").lower(), buffer[end + 4 :]
        status = int(head[9:12])
        length = close = None
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip() == "close"
            elif name == "transfer-encoding":
                raise ConnectionError(f"unexpected transfer-encoding {value.strip()}")
        if length is None:
            raise ConnectionError("a response without Content-Length")
        while len(buffer) < length:
            buffer += self._recv(sock)
        payload, self.buffer = buffer[:length], buffer[length:]
        if close:
            self.close()
        return status, payload

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        return chunk


def start_server(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen[bytes], int, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTORATE_")}
    env["INSPECTORATE_DATA_DIR"] = str(workdir / "var")
    if args.database_url:
        env["INSPECTORATE_DATABASE_URL"] = args.database_url
    port = free_port()
    command = inspectorate_command(args.python_opt)
    extra = ["--no-worker"] if args.no_projection_worker else []
    log = (workdir / "server.log").open("wb")  # the access log: one JSON line a request, with its duration
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", str(args.workers), *extra],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server, port, env
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not start")


def create_token(env: dict[str, str], python_opt: bool, role: str = "inspector", name: str = "Bench Inspector") -> str:
    done = subprocess.run(
        [*inspectorate_command(python_opt), "token", "create", "--name", name, "--role", role],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def hold(port: int, tokens: list[str], count: int, stop: Any, outcomes: Any) -> None:
    """``count`` long-held requests kept open (threads), each asked again when it ends, until ``stop``."""
    import collections
    import threading

    seen: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def head(token: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/v1/views/status", headers={"Authorization": f"Bearer {token}"})
        return int(json.loads(conn.getresponse().read())["head"])

    def one(n: int) -> None:
        token = tokens[n % len(tokens)]
        position = head(token)
        path = (
            f"/v1/events/stream?after={position}&types=complaint.received.v1&timeout=25"
            if n % 2 == 0
            else f"/v1/views/complaints?min_position={position}"
        )
        while not stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                response.read()
                outcome = str(response.status)
                conn.close()
            except OSError as error:
                outcome = type(error).__name__
            with lock:
                seen[f"{'stream' if n % 2 == 0 else 'wait'} {outcome}"] += 1
            if outcome != "200" and not outcome.startswith("5"):
                stop.wait(0.5)
            elif outcome.startswith("5"):
                stop.wait(0.2)

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    stop.wait()
    outcomes.update(dict(seen))


def set_up(port: int, token: str, clients: int, cases_per_client: int) -> tuple[str, list[list[str]]]:
    """One inspection in fieldwork and a separate set of cases per client (assessors rate their own)."""
    client = Client(port, token)
    status, body = client.call(
        "POST",
        "/v1/inspections",
        {
            "programme": "OMI2",
            "inspected_body": {"name": f"Bench {time.time_ns()}", "type": "probation_trust", "region": "North West"},
            "fieldwork_start": "2011-05-03",
        },
    )
    assert status == 201, body
    inspection_id = json.loads(body)["id"]
    assert client.call("POST", f"/v1/inspections/{inspection_id}/start-fieldwork", {})[0] == 200
    case_sets = []
    for c in range(clients):
        ids = []
        for n in range(cases_per_client):
            status, body = client.call(
                "POST",
                f"/v1/inspections/{inspection_id}/cases",
                {"case_ref": f"B{c:02d}-{n:04d}", "characteristics": CHARACTERISTICS},
            )
            assert status == 201, body
            ids.append(json.loads(body)["id"])
        case_sets.append(ids)
    return inspection_id, case_sets


def drive(
    port: int,
    token: str,
    case_ids: list[str] | None,
    path: str | None,
    seconds: float,
    rate: float | None,
    start_at: float,
) -> tuple[list[float], int, float, list[float], int]:
    """One client: ratings of its own cases (``case_ids``) or reads of ``path``, for ``seconds``.

    Closed loop (``rate`` None): each request as soon as the last is answered, timed from its send.
    Open loop: requests arriving at random (Poisson, ``rate`` per second for this client), each
    timed from when it was due, so a slow answer also counts against the requests it held up (no
    coordinated omission). Returns the latencies, the error count, the client's own CPU seconds and,
    open loop, how late the client itself woke for each request it slept for (its own share of the
    latency on a busy machine, not the server's), and how many times the client connected (more
    than once where the server closed a connection to share connections out across its workers).
    """
    client = Client(port, token)
    while time.time() < start_at:
        time.sleep(0.001)
    arrivals = random.Random(os.getpid())
    latencies: list[float] = []
    woke_late: list[float] = []
    errors = n = 0
    cpu = time.process_time()
    began = due = time.perf_counter()
    while True:
        if rate is None:
            due = time.perf_counter()
        else:
            due += arrivals.expovariate(rate)  # independent clients, not a drum beat
            wait = due - time.perf_counter()
            if wait > 0 and due - began < seconds:
                time.sleep(wait)
                woke_late.append(time.perf_counter() - due)
        if due - began >= seconds:
            break
        try:
            if case_ids:
                status, _ = client.call(
                    "POST", f"/v1/cases/{case_ids[n % len(case_ids)]}/ratings", {"judgements": judgements(n)}
                )
            else:
                status, _ = client.call("GET", path)
        except OSError:
            status = 0
        latencies.append(time.perf_counter() - due)
        errors += status != 200
        n += 1
    return latencies, errors, time.process_time() - cpu, woke_late, client.connects


def _tree(root_pid: int) -> set[int]:
    """The server's process and its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(entry.parent.name)] = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def server_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of the server and its descendants so far (Linux /proc; 0 elsewhere).

    Per request, this is what the server costs whatever else the machine is doing,
    which the wall-clock figures on a shared machine are not.
    """
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for pid in _tree(root_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
    return total


def server_scheduling(root_pid: int) -> tuple[float, float]:
    """(seconds run, seconds waited for a core while ready to run) by the server's live threads so far.

    From ``/proc/<pid>/task/<tid>/schedstat``; (0, 0) where the kernel does not give it.
    """
    ran = waited = 0
    for pid in _tree(root_pid):
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                run_ns, wait_ns, _ = stat.read_text().split()
            except (OSError, ValueError):
                continue
            ran += int(run_ns)
            waited += int(wait_ns)
    return ran / 1e9, waited / 1e9


def run_phase(pool: Any, loop: Any, jobs: list[tuple[Any, ...]], server_pid: int, log: Path) -> dict[str, Any]:
    start_at = time.time() + 0.5
    cpu_before = server_cpu_seconds(server_pid)
    sched_before = server_scheduling(server_pid)
    logged_before = log.stat().st_size
    began = time.perf_counter()
    results = pool.starmap(loop, [(*job, start_at) for job in jobs])
    elapsed = time.perf_counter() - began - 0.5
    latencies = [lat for lats, *_ in results for lat in lats]
    time.sleep(0.2)  # the last access-log lines
    with log.open("rb") as lines:
        lines.seek(logged_before)
        served = [json.loads(line)["duration_ms"] for line in lines if line.startswith(b'{"ts"')]
    return {
        "latencies": latencies,
        "errors": sum(errors for _, errors, *_ in results),
        "seconds": elapsed,
        "per_client_p50_ms": [statistics.median(lats) * 1000 if lats else float("nan") for lats, *_ in results],
        "server_cpu": server_cpu_seconds(server_pid) - cpu_before,
        "served_ms": served,
        "server_sched": tuple(
            after - before for after, before in zip(server_scheduling(server_pid), sched_before, strict=False)
        ),
        "client_cpu": sum(cpu for _, _, cpu, *_ in results),
        "woke_late_ms": [late * 1000 for *_, lates, _ in results for late in lates],
        "connects": sum(connects for *_, connects in results),
    }


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def report(label: str, phase: dict[str, Any]) -> None:
    ms = sorted(lat * 1000 for lat in phase["latencies"])
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    cpu_ms = phase["server_cpu"] * 1000 / len(ms)
    served = phase["served_ms"]
    print(
        f"{label:<24} {len(ms) / phase['seconds']:6.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  "
        f"max {ms[-1]:7.2f} ms  errors {phase['errors']}  ({len(ms)} in {phase['seconds']:.1f} s; "
        f"server CPU {cpu_ms:.2f} ms/request, clients' {phase['client_cpu'] * 1000 / len(ms):.2f})"
    )
    print(
        f"{'':<24} in the app (access log, {len(served)} requests): p50 {_p(served, 0.5):.2f} ms  "
        f"p99 {_p(served, 0.99):.2f} ms  max {max(served, default=float('nan')):.2f} ms"
    )
    ran, waited = phase["server_sched"]
    if ran:
        print(
            f"{'':<24} server threads waited for a core while ready to run: {waited * 1000 / len(ms):.2f} ms a request "
            f"({waited / ran * 100:.0f}% of the time they ran)"
        )
    # A connection is served by one worker: uneven shares of connections show here, and the
    # connections beyond one a client are those the server closed to even the shares out.
    print(
        f"{'':<24} each client's p50 (ms): {' '.join(f'{x:.1f}' for x in phase['per_client_p50_ms'])}; "
        f"{phase['connects']} connections for {len(phase['per_client_p50_ms'])} clients"
    )
    late = phase["woke_late_ms"]
    if late:  # open loop: the load generator's own lateness, already inside the latencies above
        print(
            f"{'':<24} clients woke late for a due request: p50 {_p(late, 0.5):.2f} ms  p99 {_p(late, 0.99):.2f} ms  "
            f"max {max(late):.2f} ms ({len(late)} of {len(ms)} requests slept for)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--read-seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cases-per-client", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: offer this many requests/s in all (latency from each request's due time); "
        "default: closed loop, each client as fast as it is answered",
    )
    parser.add_argument("--python-opt", action="store_true", help="run the server under python -O")
    parser.add_argument(
        "--no-projection-worker",
        action="store_true",
        help="serve --no-worker: without the in-process projection worker",
    )
    parser.add_argument(
        "--held",
        type=int,
        default=0,
        help="hold this many long-held requests (streams, min_position waits) open throughout",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="inspectorate-bench-"))
    server, port, env = start_server(args, workdir)
    log = workdir / "server.log"
    try:
        token = create_token(env, args.python_opt)
        inspection_id, case_sets = set_up(port, token, args.clients, args.cases_per_client)
        backend = "postgres" if args.database_url else "sqlite (embedded)"
        print(
            f"server: {args.workers} granian workers, {backend}"
            f"{', no projection worker' if args.no_projection_worker else ', projection worker'}"
            f"{f', {args.held} long-held requests open' if args.held else ''}; "
            f"{args.clients} client processes; {os.cpu_count()} CPUs{'; python -O' if args.python_opt else ''}"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        holding = None
        if args.held:
            tokens = [create_token(env, args.python_opt, "auditor", f"Bench Auditor {n}") for n in range(4)]
            manager = multiprocessing.get_context("fork").Manager()
            stop, outcomes = manager.Event(), manager.dict()
            holding = multiprocessing.get_context("fork").Process(
                target=hold, args=(port, tokens, args.held, stop, outcomes)
            )
            holding.start()
            time.sleep(2.0)  # all of them open before the clients start
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            path = f"/v1/inspections/{inspection_id}"
            each = args.rate / args.clients if args.rate else None  # open loop: the offered rate, shared out
            at = f" at {args.rate:.0f}/s" if args.rate else ""
            jobs = [(port, token, ids, None, args.seconds, each) for ids in case_sets]
            report(f"POST ratings{at or ' (commands)'}", run_phase(pool, drive, jobs, server.pid, log))
            jobs = [(port, token, None, path, args.read_seconds, each)] * args.clients
            report(
                f"GET {'inspection' + at if at else 'one inspection'}", run_phase(pool, drive, jobs, server.pid, log)
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if holding is not None:
            stop.set()
            holding.join(timeout=60)
            print(f"long-held requests, what they got: {dict(sorted(outcomes.items()))}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
