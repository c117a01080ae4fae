"""Load benchmark of ``triage serve``: many calls at once, client on the same machine.

    .venv/bin/python tools/bench_service.py         # closed loop: SQLite (full, normal), PostgreSQL
    .venv/bin/python tools/bench_service.py --databases sqlite --rate 200,500,1000 --answers 20
    .venv/bin/python tools/bench_service.py --databases sqlite --think 5 --answers 10
    .venv/bin/python tools/bench_service.py --workers 2 --client httpx --json out.json

For each database the real service runs as ``triage serve protocols/`` in its own process
(a fresh SQLite file with ``synchronous=full``, the default, or ``sqlite-normal``, or a
throwaway PostgreSQL server started as the service tests start theirs), and a client runs
``--calls`` simulated calls at once: start the call, answer each question the service
asks (no to every yes/no question, the middle of every range, the first option) until
the outcome or ``--answers`` answers, then close the call.

Two kinds of load:

- *closed loop* (the default): each call sends its next answer the moment the last one
  is answered, so the service is always saturated. By Little's law the p50 latency is
  about calls / throughput: 200 calls at 1,000 answers/s wait 200 ms each, whatever the
  service does; this mode measures the most the service can take, not a latency.
- *think time* (``--think SECONDS``, or ``--rate N``: think = calls / N): each call waits
  a random time (exponential, mean SECONDS; seeded) before each answer, as a nurse reads
  the question and hears the caller, and the calls start spread over one think time. The
  offered rate is calls / think; the run reports the rate achieved (below the offered
  when the service cannot keep up) and the latency at that load. ``--rate 200,500,1000``
  runs one sweep per rate on the same service.

Every POST carries an ``Idempotency-Key``; a POST that got no response (connection
dropped or closed, timeout) is sent again with the same key, up to three times, as an
integrator should (docs/service.md, Retries); ``--no-keys`` sends no key and never
retries. ``--client stream`` (default) is a small keep-alive HTTP/1.1 client on asyncio
streams (tools/bench_http.py), run on uvloop when installed (``--loop asyncio`` for the
standard loop); ``--client httpx`` is the client of the earlier figures. Reported per
run: answers/s while nearly every call is answering (the 5% of calls that start last and
end first left out, so the calls' spread-out start and end do not count), p50/p99 latency
of one answer (request to response, retries included), the retries and replays, the
calls that failed (none may fail) and the machine's load average during the run; and,
measured in the same run with the same client at the same concurrency, ``GET /healthz``
round trips (the HTTP stack and the client alone: the ceiling for any endpoint) and,
once, the same answers given in-process with ``Session.answer`` (the interpreter alone,
no HTTP, no database). The CPU the service's processes and the client used per request
is printed too (from /proc: the capacity bound, whatever else the machine runs).

Not a test: the figures depend on the machine and its load (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "service"))

from tests.web.live_service import LiveService, running_service  # noqa: E402
from tools.bench_http import CLIENTS, Client, TransportError, make_client  # noqa: E402
from triage_dsl import load  # noqa: E402
from triage_dsl.runtime.session import Session  # noqa: E402

DEFAULT_PROTOCOL = "head_injury"
RETRIES = 3  # a POST that got no response is sent again, with its key, at most this often
SEED = 12


def answer_for(question: dict[str, Any]) -> Any:
    """The simulated caller: no, the middle of the range, the first option."""
    kind = question["type"]
    if kind == "yes/no":
        return False
    if kind == "choice":
        return question["options"][0]["id"]
    if kind == "age":
        return {"value": 30, "unit": "years"}
    if kind == "duration":
        return {"value": 1, "unit": "days"}
    low, high = question["range"]
    middle = (low + high) / 2
    return round(middle) if kind == "whole number" else round(middle, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Run:
    keys: bool = True
    think: float = 0.0  # mean think time before each answer (0: closed loop)
    max_answers: int | None = None
    latencies: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retries: int = 0  # POSTs sent again after a transport error
    replayed: int = 0  # of which the service had already stored the first
    done_at: list[float] = field(default_factory=list)  # when each answer was answered
    call_spans: list[tuple[float, float]] = field(default_factory=list)  # first answer sent, last answered
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))

    def pause(self) -> float:
        return self.rng.expovariate(1 / self.think) if self.think > 0 else 0.0


async def post(client: Client, path: str, run: Run, body: Any = None) -> Any:
    """POST with an Idempotency-Key, sent again with the same key when it got no response."""
    if not run.keys:
        return await client.request("POST", path, body)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(RETRIES + 1):
        try:
            reply = await client.request("POST", path, body, headers)
        except TransportError:
            if attempt == RETRIES:
                raise
            run.retries += 1
            continue
        if attempt and reply.headers.get("idempotent-replayed") == "true":
            run.replayed += 1
        return reply
    raise AssertionError("unreachable")


async def one_call(client: Client, protocol: str, run: Run) -> None:
    try:
        await _one_call(client, protocol, run)
    except TransportError as exc:
        run.failures.append(f"transport: {exc}")


async def _one_call(client: Client, protocol: str, run: Run) -> None:
    if run.think > 0:
        await asyncio.sleep(run.rng.uniform(0, run.think))  # calls arrive spread out
    started = time.perf_counter()
    reply = await post(client, "/v1/calls", run, {"protocols": [protocol]})
    run.other.append(time.perf_counter() - started)
    if reply.status != 201:
        run.failures.append(f"start: {reply.status} {reply.text[:200]}")
        return
    state = reply.json()
    call = state["id"]
    given = 0
    first = done = 0.0
    while state["next_question"] is not None and (run.max_answers is None or given < run.max_answers):
        question = state["next_question"]
        if run.think > 0:
            await asyncio.sleep(run.pause())
        started = time.perf_counter()
        first = first if given else started
        reply = await post(
            client, f"/v1/calls/{call}/answers", run, {"answers": {question["id"]: answer_for(question)}}
        )
        done = time.perf_counter()
        run.latencies.append(done - started)
        run.done_at.append(done)
        if reply.status != 200:
            run.failures.append(f"answer: {reply.status} {reply.text[:200]}")
            return
        state = reply.json()
        given += 1
    if given:
        run.call_spans.append((first, done))
    started = time.perf_counter()
    reply = await post(client, f"/v1/calls/{call}/close", run)
    run.other.append(time.perf_counter() - started)
    if reply.status != 200:
        run.failures.append(f"close: {reply.status} {reply.text[:200]}")


async def calls(service: LiveService, kind: str, protocol: str, count: int, run: Run) -> None:
    """Run ``count`` calls at once."""
    client = make_client(kind, service.url, service.headers(), connections=count)
    try:
        await one_call(client, protocol, Run(keys=run.keys))  # warm-up: protocol loaded
        await asyncio.gather(*(one_call(client, protocol, run) for _ in range(count)))
    finally:
        await client.aclose()


def steady_rate(run: Run) -> tuple[float, float, bool]:
    """Answers/s while (nearly) every call was answering: from the first answer of the
    call that started 95% of them to the last answer of the call that ended 5% (no ramp up
    or down), that window's seconds, and whether it was long enough to use (else the whole
    run, first answer to last)."""
    if not run.call_spans:
        return 0.0, 0.0, False
    firsts = sorted(first for first, _ in run.call_spans)
    lasts = sorted(last for _, last in run.call_spans)
    cut = len(firsts) // 20  # the 5% of calls that start last and end first
    begin, end = firsts[-1 - cut], lasts[cut]
    inside = sum(1 for at in run.done_at if begin < at <= end)
    if end - begin >= 1.0 and inside >= 100:
        return inside / (end - begin), end - begin, True
    begin = min(first for first, _ in run.call_spans)
    end = max(last for _, last in run.call_spans)
    return len(run.done_at) / max(1e-9, end - begin), end - begin, False


async def health_round_trips(
    service: LiveService, kind: str, concurrency: int, total: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    client = make_client(kind, service.url, connections=concurrency)

    async def worker(n: int) -> None:
        for _ in range(n):
            started = time.perf_counter()
            reply = await client.request("GET", "/healthz")
            latencies.append(time.perf_counter() - started)
            if reply.status != 200:
                raise SystemExit(f"GET /healthz: {reply.status}")

    try:
        await client.request("GET", "/healthz")
        per_worker = max(1, total // concurrency)
        started = time.perf_counter()
        await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
        return latencies, time.perf_counter() - started
    finally:
        await client.aclose()


def process_tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by ``pid`` and its living descendants (the
    service and its worker processes); None where /proc cannot tell (not Linux)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    if pid not in stats:
        return None
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats[current][1]
        todo += [child for child, (parent, _) in stats.items() if parent == current]
    return total


def in_process_rate(protocol_path: Path, minimum_seconds: float = 1.0) -> tuple[float, int]:
    """``Session.answer`` per second for the same simulated caller, and answers per call."""
    protocol = load(protocol_path)
    answers = 0
    calls_done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < minimum_seconds:
        session = Session(protocol)
        while (question := session.next_question()) is not None:
            info = question.model_dump()
            session.answer(question.id, answer_for(info))
            answers += 1
        calls_done += 1
    elapsed = time.perf_counter() - started
    return answers / elapsed, answers // max(1, calls_done)


@contextmanager
def load_sampler(every: float = 1.0) -> Iterator[list[float]]:
    """The 1-minute load average, sampled every ``every`` seconds while the block runs
    (and once at its start)."""
    samples: list[float] = [os.getloadavg()[0]]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            samples.append(os.getloadavg()[0])

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


@contextmanager
def database_url(kind: str) -> Iterator[str | None]:
    """None for SQLite (the service's default file in its folder; ``sqlite-normal`` with
    ``synchronous=normal``), or a fresh PostgreSQL database on a throwaway server."""
    if kind in ("sqlite", "sqlite-normal"):
        before = os.environ.get("TRIAGE_SQLITE_SYNCHRONOUS")
        os.environ["TRIAGE_SQLITE_SYNCHRONOUS"] = "normal" if kind == "sqlite-normal" else "full"
        try:
            yield None
        finally:
            if before is None:
                os.environ.pop("TRIAGE_SQLITE_SYNCHRONOUS", None)
            else:
                os.environ["TRIAGE_SQLITE_SYNCHRONOUS"] = before
        return
    if kind != "postgresql":
        raise SystemExit(f"unknown database '{kind}' (sqlite, sqlite-normal, postgresql)")
    from pgserver import Server, binaries

    bindir = binaries()
    if bindir is None:
        raise SystemExit("no PostgreSQL binaries (apt-get install postgresql)")
    server = Server(bindir)
    server.start()
    try:
        yield server.create_database("triage_bench")
    finally:
        server.stop()


@contextmanager
def answer_route(route: str) -> Iterator[None]:
    """The service started within serves the answers below FastAPI (``shortcut``) or
    through FastAPI's route (``fastapi``)."""
    before = os.environ.get("TRIAGE_SERVE_SHORTCUT")
    os.environ["TRIAGE_SERVE_SHORTCUT"] = "1" if route == "shortcut" else "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TRIAGE_SERVE_SHORTCUT", None)
        else:
            os.environ["TRIAGE_SERVE_SHORTCUT"] = before


def protocol_file(protocol_id: str) -> Path:
    found = [p for p in (ROOT / "protocols").rglob(f"{protocol_id}.triage") if load(p).id == protocol_id]
    if len(found) != 1:
        raise SystemExit(f"no single protocol file for '{protocol_id}': {found}")
    return found[0]


def event_loop(name: str) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """``asyncio.run`` on the client's event loop: uvloop when asked for and installed."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise SystemExit("--loop uvloop: uvloop is not installed (pip install uvloop)") from None

        def run(main: Coroutine[Any, Any, Any]) -> Any:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main)

        return run
    return asyncio.run


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _thinks(rates: str | None, calls: int) -> list[float]:
    """The think time of each ``--rate`` (``closed``: none, a closed loop)."""
    if not rates:
        return []
    return [0.0 if part == "closed" else calls / float(part) for part in rates.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="simulated calls at once (default 200)")
    parser.add_argument(
        "--protocol", default=DEFAULT_PROTOCOL, help=f"protocol id (default {DEFAULT_PROTOCOL})"
    )
    parser.add_argument(
        "--databases",
        default="sqlite,sqlite-normal,postgresql",
        help="comma-separated: sqlite (synchronous=full), sqlite-normal, postgresql",
    )
    parser.add_argument("--workers", type=int, default=1, help="service worker processes (default 1)")
    parser.add_argument(
        "--answers",
        type=int,
        default=None,
        metavar="N",
        help="close each call after N answers (default: all)",
    )
    load_kind = parser.add_mutually_exclusive_group()
    load_kind.add_argument(
        "--think", type=float, default=None, metavar="SECONDS", help="mean think time before each answer"
    )
    load_kind.add_argument(
        "--rate",
        default=None,
        metavar="N[,N...]",
        help="answers/s offered (think time = calls / N); several: one run each, same service "
        "('closed': a closed-loop run among them)",
    )
    parser.add_argument(
        "--client", choices=CLIENTS, default="stream", help="the HTTP client (default stream)"
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default=None,
        help="the client's event loop (default: uvloop when installed, for the stream client)",
    )
    parser.add_argument(
        "--healthz", type=int, default=10, metavar="N", help="GET /healthz round trips per call (default 10)"
    )
    parser.add_argument(
        "--no-keys", action="store_true", help="send no Idempotency-Key and never retry (as before keys)"
    )
    parser.add_argument(
        "--answer-route",
        default="shortcut",
        metavar="R[,R...]",
        help="how the service serves the answers: shortcut (below FastAPI, the default) or fastapi "
        "(FastAPI's route, TRIAGE_SERVE_SHORTCUT=0); several: one service each, in turn, to compare",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--latencies",
        metavar="FILE",
        help="also write each answer's send time (s from the sweep's first) and latency (ms), "
        "one JSON line a sweep: to see when the slowest answers were sent",
    )
    args = parser.parse_args(argv)
    routes = args.answer_route.split(",")
    if not set(routes) <= {"shortcut", "fastapi"}:
        raise SystemExit(f"--answer-route: shortcut or fastapi, not {args.answer_route!r}")

    loop_name = args.loop
    if loop_name is None:
        try:
            import uvloop  # noqa: F401

            loop_name = "uvloop" if args.client == "stream" else "asyncio"
        except ImportError:
            loop_name = "asyncio"
    run_on = event_loop(loop_name)
    thinks = _thinks(args.rate, args.calls) or [args.think or 0.0]

    path = protocol_file(args.protocol)
    session_rate, per_call = in_process_rate(path)
    load1, load5, _ = os.getloadavg()
    print(
        f"protocol {args.protocol}: {per_call} answers per simulated call"
        f"{f' (at most {args.answers} given)' if args.answers else ''}; {args.calls} calls at once;"
        f" client {args.client} on {loop_name};"
        f" {args.workers} worker(s);"
        f" {os.cpu_count()} CPUs, load average {load1:.1f} (1 min) {load5:.1f} (5 min)"
    )
    print(
        f"baseline, in-process Session.answer: {session_rate:,.0f} answers/s (one core, no HTTP, no database)"
    )
    figures: dict[str, Any] = {
        "protocol": args.protocol,
        "calls": args.calls,
        "workers": args.workers,
        "client": args.client,
        "client_loop": loop_name,
        "idempotency_keys": not args.no_keys,
        "session_answer_per_s": session_rate,
        "load_average_1min": load1,
        "runs": [],
    }
    for kind, route in [(kind, route) for kind in args.databases.split(",") for route in routes]:
        with (
            answer_route(route),
            tempfile.TemporaryDirectory(prefix="triage-bench-") as folder,
            database_url(kind) as url,
            running_service(Path(folder), database=url, workers=args.workers, log_level="warning") as live,
        ):
            with load_sampler() as health_loads:
                health, health_time = run_on(
                    health_round_trips(live, args.client, args.calls, args.calls * args.healthz)
                )
            health_rate = len(health) / health_time
            print(f"\n== {kind}, {args.workers} worker(s), client {args.client}, answers served by {route}")
            print(
                f"GET /healthz:  {health_rate:8,.0f} requests/s  p50 {ms(percentile(health, 50))}"
                f"  p99 {ms(percentile(health, 99))}  (same client, {args.calls} at once;"
                f" load {min(health_loads):.1f}-{max(health_loads):.1f})"
            )
            for think in thinks:
                run = Run(keys=not args.no_keys, think=think, max_answers=args.answers)
                server_before, client_before = process_tree_cpu(live.pid), time.process_time()
                with load_sampler() as loads:
                    run_on(calls(live, args.client, args.protocol, args.calls, run))
                server_after, client_cpu = process_tree_cpu(live.pid), time.process_time() - client_before
                server_cpu = (
                    server_after - server_before
                    if server_before is not None and server_after is not None
                    else None
                )
                if args.latencies:
                    write_latencies(Path(args.latencies), kind, run, args.calls)
                figures["runs"].append(
                    report(kind, run, args.calls, health_rate, session_rate, loads, server_cpu, client_cpu)
                    | {
                        "answer_route": route,
                        "healthz_per_s": health_rate,
                        "healthz_p50_ms": percentile(health, 50) * 1000,
                        "healthz_p99_ms": percentile(health, 99) * 1000,
                    }
                )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def sent_times(run: Run) -> list[float]:
    """When each answer was sent, in seconds from the sweep's first answer."""
    sent = [done - took for done, took in zip(run.done_at, run.latencies, strict=True)]
    first = min(sent, default=0.0)
    return [at - first for at in sent]


def write_latencies(path: Path, kind: str, run: Run, count: int) -> None:
    line = {
        "database": kind,
        "offered_per_s": count / run.think if run.think else None,
        "answers": [
            [round(at, 4), round(took * 1000, 3)]
            for at, took in zip(sent_times(run), run.latencies, strict=True)
        ],
    }
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def report(
    kind: str,
    run: Run,
    count: int,
    health_rate: float,
    session_rate: float,
    loads: list[float],
    server_cpu: float | None,
    client_cpu: float,
) -> dict[str, Any]:
    answers = len(run.latencies)
    rate, elapsed, steady = steady_rate(run)
    requests = answers + 2 * len(run.call_spans)  # with each call's start and close
    p50, p99 = percentile(run.latencies, 50), percentile(run.latencies, 99)
    mode = "closed loop" if run.think == 0 else f"think {run.think:.3g} s, offered {count / run.think:,.0f}/s"
    print(
        f"{mode:>32}: {rate:8,.0f} answers/s  p50 {ms(p50)}  p99 {ms(p99)}"
        f"  ({answers} answers; {'steady' if steady else 'whole run'} {elapsed:.1f} s;"
        f" load {min(loads):.1f}-{max(loads):.1f};"
        f" {run.retries} retries, {run.replayed} replayed, {len(run.failures)} calls failed"
        + ("" if run.keys else ", no keys")
        + f"; {rate / health_rate:.2f} of /healthz)"
    )
    server_ms = server_cpu * 1000 / requests if server_cpu is not None and requests else None
    client_ms = client_cpu * 1000 / requests if requests else 0.0
    print(
        f"{'':>32}  CPU per request (starts and closes included): service "
        + (f"{server_ms:.2f} ms" if server_ms is not None else "n/a")
        + f", client {client_ms:.2f} ms"
    )
    # where the tail comes from: the answers sent while the calls start (all within the
    # first think time) wait behind the starts; after the first second they do not
    later = [took for at, took in zip(sent_times(run), run.latencies, strict=True) if at >= 1.0]
    if later:
        print(f"{'':>32}  p99 of the answers sent after the first second: {ms(percentile(later, 99))}")
    for failure in run.failures[:5]:
        print(f"  failed: {failure}")
    return {
        "database": kind,
        "think_s": run.think,
        "offered_per_s": count / run.think if run.think else None,
        "answers": answers,
        "seconds": elapsed,
        "steady_window": steady,
        "answers_per_s": rate,
        "answer_p50_ms": p50 * 1000,
        "answer_p99_ms": p99 * 1000,
        "answer_p99_after_1s_ms": percentile(later, 99) * 1000 if later else None,
        "start_close_p50_ms": percentile(run.other, 50) * 1000,
        "failures": len(run.failures),
        "retries": run.retries,
        "retries_replayed": run.replayed,
        "load_average_during": [min(loads), max(loads)],
        "of_healthz": rate / health_rate,
        "service_cpu_ms_per_request": server_ms,
        "client_cpu_ms_per_request": client_ms,
        "of_session_answer": rate / session_rate,
    }


if __name__ == "__main__":
    raise SystemExit(main())
