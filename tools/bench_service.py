"""Load benchmark of ``triage serve``: many calls at once, client on the same machine.

    .venv/bin/python tools/bench_service.py                      # SQLite (both modes) and PostgreSQL
    .venv/bin/python tools/bench_service.py --databases sqlite,sqlite-normal --calls 50
    .venv/bin/python tools/bench_service.py --workers 2 --json out.json

For each database the real service runs as ``triage serve protocols/`` in its own process
(a fresh SQLite file with ``synchronous=full``, the default, or ``sqlite-normal``, or a
throwaway PostgreSQL server started as the service tests start theirs), and an httpx
async client runs ``--calls`` simulated calls at once: start the call, answer each
question the service asks (no to every yes/no question, the middle of every range, the
first option) until the outcome, then close the call. Every POST carries an
``Idempotency-Key``; a POST that fails in transport (read error, connection closed by the
server, timeout) is sent again with the same key, up to three times, as an integrator
should (docs/service.md, Retries); ``--no-keys`` sends no key and never retries. Reported:

- answers/s over the whole run (starts and closes included in the time) and p50/p99
  latency of one answer (request to response, as the client sees it, retries included);
  the retries, the retries the service answered as already stored (replayed), the calls
  that still failed (none may fail) and the machine's load average during the run;
- baselines measured in the same run: the same client doing ten ``GET /healthz`` round
  trips per simulated call at the same concurrency (the HTTP stack and the client
  alone: the ceiling for any endpoint on this machine), and the same answers given
  in-process with ``Session.answer`` (the interpreter alone, no HTTP, no database).

Not a test: the figures depend on the machine and its load (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "service"))

import httpx  # noqa: E402

from tests.web.live_service import LiveService, running_service  # noqa: E402
from triage_dsl import load  # noqa: E402
from triage_dsl.runtime.session import Session  # noqa: E402

DEFAULT_PROTOCOL = "head_injury"
# The client drops an idle connection before uvicorn does (after 5 s), so that a request is
# never sent on a connection the server is closing.
KEEPALIVE = 2.0
RETRIES = 3  # a POST that failed in transport is sent again, with its key, at most this often
RETRYABLE = (httpx.ReadError, httpx.RemoteProtocolError, httpx.TimeoutException)


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


class Run:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.other: list[float] = []
        self.failures: list[str] = []
        self.answers_per_call: list[int] = []
        self.retries = 0  # POSTs sent again after a transport error
        self.replayed = 0  # of which the service had already stored the first
        self.keys = True


async def post(client: httpx.AsyncClient, path: str, run: Run, body: Any = None) -> httpx.Response:
    """POST with an Idempotency-Key, sent again with the same key when it fails in transport."""
    if not run.keys:
        return await client.post(path, json=body)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(RETRIES + 1):
        try:
            response = await client.post(path, json=body, headers=headers)
        except RETRYABLE:
            if attempt == RETRIES:
                raise
            run.retries += 1
            continue
        if attempt and response.headers.get("Idempotent-Replayed") == "true":
            run.replayed += 1
        return response
    raise AssertionError("unreachable")


async def one_call(client: httpx.AsyncClient, protocol: str, run: Run) -> None:
    try:
        await _one_call(client, protocol, run)
    except httpx.TransportError as exc:
        run.failures.append(f"transport: {type(exc).__name__} {exc}")


async def _one_call(client: httpx.AsyncClient, protocol: str, run: Run) -> None:
    started = time.perf_counter()
    response = await post(client, "/v1/calls", run, {"protocols": [protocol]})
    run.other.append(time.perf_counter() - started)
    if response.status_code != 201:
        run.failures.append(f"start: {response.status_code} {response.text[:200]}")
        return
    state = response.json()
    call = state["id"]
    given = 0
    while state["next_question"] is not None:
        question = state["next_question"]
        started = time.perf_counter()
        response = await post(
            client, f"/v1/calls/{call}/answers", run, {"answers": {question["id"]: answer_for(question)}}
        )
        run.latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            run.failures.append(f"answer: {response.status_code} {response.text[:200]}")
            return
        state = response.json()
        given += 1
    run.answers_per_call.append(given)
    started = time.perf_counter()
    response = await post(client, f"/v1/calls/{call}/close", run)
    run.other.append(time.perf_counter() - started)
    if response.status_code != 200:
        run.failures.append(f"close: {response.status_code} {response.text[:200]}")


async def calls(service: LiveService, protocol: str, count: int, keys: bool = True) -> tuple[Run, float]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count, keepalive_expiry=KEEPALIVE)
    async with httpx.AsyncClient(
        base_url=service.url, headers=service.headers(), limits=limits, timeout=120
    ) as client:
        await one_call(client, protocol, Run())  # warm-up: protocol loaded, connections open
        run = Run()
        run.keys = keys
        started = time.perf_counter()
        await asyncio.gather(*(one_call(client, protocol, run) for _ in range(count)))
        return run, time.perf_counter() - started


async def health_round_trips(service: LiveService, concurrency: int, total: int) -> tuple[list[float], float]:
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=KEEPALIVE
    )
    latencies: list[float] = []

    async def worker(n: int) -> None:
        for _ in range(n):
            started = time.perf_counter()
            response = await client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=120) as client:
        await client.get("/healthz")
        per_worker = max(1, total // concurrency)
        started = time.perf_counter()
        await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


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
    """The 1-minute load average, sampled every ``every`` seconds while the block runs."""
    samples: list[float] = []
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


def protocol_file(protocol_id: str) -> Path:
    found = [p for p in (ROOT / "protocols").rglob(f"{protocol_id}.triage") if load(p).id == protocol_id]
    if len(found) != 1:
        raise SystemExit(f"no single protocol file for '{protocol_id}': {found}")
    return found[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


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
        "--no-keys", action="store_true", help="send no Idempotency-Key and never retry (as before keys)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    path = protocol_file(args.protocol)
    session_rate, per_call = in_process_rate(path)
    load1, load5, _ = os.getloadavg()
    print(
        f"protocol {args.protocol}: {per_call} answers per simulated call; {args.calls} calls at once;"
        f" {os.cpu_count()} CPUs, load average {load1:.1f} (1 min) {load5:.1f} (5 min)"
    )
    print(
        f"baseline, in-process Session.answer: {session_rate:,.0f} answers/s (one core, no HTTP, no database)"
    )
    figures: dict[str, Any] = {
        "protocol": args.protocol,
        "calls": args.calls,
        "workers": args.workers,
        "idempotency_keys": not args.no_keys,
        "session_answer_per_s": session_rate,
        "load_average_1min": load1,
    }
    for kind in args.databases.split(","):
        with (
            tempfile.TemporaryDirectory(prefix="triage-bench-") as folder,
            database_url(kind) as url,
            running_service(Path(folder), database=url, workers=args.workers, log_level="warning") as live,
        ):
            health, health_time = asyncio.run(health_round_trips(live, args.calls, args.calls * 10))
            with load_sampler() as loads:
                run, elapsed = asyncio.run(calls(live, args.protocol, args.calls, not args.no_keys))
        answers = len(run.latencies)
        rate = answers / elapsed
        health_rate = len(health) / health_time
        result = {
            "answers": answers,
            "seconds": elapsed,
            "answers_per_s": rate,
            "answer_p50_ms": percentile(run.latencies, 50) * 1000,
            "answer_p99_ms": percentile(run.latencies, 99) * 1000,
            "start_close_p50_ms": percentile(run.other, 50) * 1000,
            "failures": len(run.failures),
            "retries": run.retries,
            "retries_replayed": run.replayed,
            "healthz_per_s": health_rate,
            "healthz_p50_ms": percentile(health, 50) * 1000,
            "healthz_p99_ms": percentile(health, 99) * 1000,
            "load_average_during": [min(loads, default=0), max(loads, default=0)],
        }
        figures[kind] = result
        print(f"\n== {kind}, {args.workers} worker(s)")
        print(
            f"answers:  {rate:8,.0f} answers/s  p50 {ms(percentile(run.latencies, 50))}"
            f"  p99 {ms(percentile(run.latencies, 99))}  ({answers} answers in {elapsed:.1f} s)"
        )
        print(
            f"retries:  {run.retries} POSTs sent again with their key after a transport error"
            f" ({run.replayed} of them already stored: replayed); {len(run.failures)} calls failed"
            + ("" if run.keys else " (no keys, no retries)")
        )
        if loads:
            print(f"load average (1 min) during the run: {min(loads):.1f} to {max(loads):.1f}")
        print(
            f"baseline GET /healthz: {health_rate:8,.0f} requests/s  p50 {ms(percentile(health, 50))}"
            f"  p99 {ms(percentile(health, 99))}  (same client, same concurrency)"
        )
        print(
            f"ratios: answers/s is {rate / health_rate:.2f} of the /healthz rate and"
            f" {rate / session_rate:.2f} of in-process Session.answer"
        )
        for failure in run.failures[:5]:
            print(f"  failed: {failure}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
