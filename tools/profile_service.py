"""Where one answer's time goes in ``triage serve``: the ASGI app in-process, profiled.

    .venv/bin/python tools/profile_service.py                          # SQLite, synchronous=full
    .venv/bin/python tools/profile_service.py --synchronous normal
    .venv/bin/python tools/profile_service.py --database postgresql://USER@HOST/DB
    .venv/bin/python tools/profile_service.py --top 40                 # and the cProfile listing

The app runs in this process on one thread (the thread pool FastAPI runs endpoints in is
bypassed, so cProfile sees every call) and an httpx client speaks ASGI to it directly, no
sockets. It runs simulated calls on ``head_injury`` (the bench's caller: no to every
question) and prints, per answer: the time unprofiled (wall and CPU), then the profile's
split of CPU time: HTTP stack, token lookup, reading the log, the interpreter
(``Session.answer``), storing (insert, and the commit alone), building the response, the
client. Profiling slows Python code several-fold, so read the split as shares; the wait
for the disk (an fsync per commit with ``synchronous=full``) is the difference between
the unprofiled wall and CPU times on an idle machine. Not a test: the figures depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fastapi.dependencies.utils  # noqa: E402
import fastapi.routing  # noqa: E402
import httpx  # noqa: E402

import triage_dsl.service.auth  # noqa: E402
import triage_dsl.service.calls  # noqa: E402
from tools.bench_service import answer_for  # noqa: E402
from triage_dsl.clock import SYSTEM_CLOCK  # noqa: E402
from triage_dsl.service.app import create_app  # noqa: E402
from triage_dsl.store.calls import append_events  # noqa: E402
from triage_dsl.store.tokens import create_token  # noqa: E402
from triage_dsl.store.writer import Writer  # noqa: E402


async def _inline(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _append_here(self: Writer, *args: Any) -> None:
    append_events(self.db, *args)


async def _append_here_async(self: Writer, *args: Any) -> None:
    append_events(self.db, *args)


# one thread: endpoints and dependencies run where cProfile sees them, and each request
# stores its events itself (one request at a time: group commit would batch nothing)
setattr(fastapi.routing, "run_in_threadpool", _inline)  # noqa: B010
setattr(fastapi.dependencies.utils, "run_in_threadpool", _inline)  # noqa: B010
setattr(triage_dsl.service.calls, "run_in_threadpool", _inline)  # noqa: B010
setattr(triage_dsl.service.auth, "run_in_threadpool", _inline)  # noqa: B010
setattr(Writer, "append", _append_here)  # noqa: B010
setattr(Writer, "append_async", _append_here_async)  # noqa: B010

# (label, file suffix, function name): cumulative time of each, per answer
PARTS = [
    ("HTTP stack and endpoint (the ASGI app)", "fastapi/applications.py", "__call__"),
    ("  token check: the tokens' generation (auth)", "store/tokens.py", "generation"),
    ("  token lookup (a token not kept yet)", "store/tokens.py", "find_token"),
    ("  read the call's new events (GET only)", "store/calls.py", "load_events"),
    ("  interpreter: apply the answer (Session.answer)", "service/state.py", "apply"),
    ("  store the events: insert + commit", "store/calls.py", "append_events"),
    ("    of which the commit", "", "commit"),
    ("  build the response (call_out)", "service/views.py", "call_out"),
    ("  serialise the response (pydantic)", "fastapi/routing.py", "serialize_response"),
]


async def one_call(client: httpx.AsyncClient, headers: dict[str, str], protocol: str) -> int:
    state = (await client.post("/v1/calls", json={"protocols": [protocol]}, headers=headers)).json()
    given = 0
    while state["next_question"] is not None:
        question = state["next_question"]
        r = await client.post(
            f"/v1/calls/{state['id']}/answers",
            json={"answers": {question["id"]: answer_for(question)}},
            headers=headers,
        )
        r.raise_for_status()
        state = r.json()
        given += 1
    await client.post(f"/v1/calls/{state['id']}/close", headers=headers)
    return given


def _matches(filename: str, function: str, suffix: str, name: str) -> bool:
    if name == "commit" and not suffix:  # the driver's commit: SQLite's C method or psycopg's
        return (filename == "~" and function == "<method 'commit' of 'sqlite3.Connection' objects>") or (
            filename.endswith("psycopg/connection.py") and function == "commit"
        )
    return function == name and filename.endswith(suffix)


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    rows = stats.stats.items()  # type: ignore[attr-defined]
    spent = [
        row[3] for (filename, _line, function), row in rows if _matches(filename, function, suffix, name)
    ]
    return float(sum(spent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full", help="SQLite's setting")
    parser.add_argument("--calls", type=int, default=3, help="simulated calls measured (default 3)")
    parser.add_argument("--protocol", default="head_injury")
    parser.add_argument("--top", type=int, default=0, help="also print the N most expensive functions")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="triage-profile-"))
    url = args.database or f"sqlite:///{folder / 'triage.db'}"
    app = create_app(
        ROOT / "protocols", url, data_folder=folder / "data", sqlite_synchronous=args.synchronous
    )
    headers = {"Authorization": f"Bearer {create_token(app.state.db, 'call', 'profile', SYSTEM_CLOCK.now())}"}

    async def run() -> tuple[int, float, float, int, cProfile.Profile]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            await one_call(client, headers, args.protocol)  # warm-up
            wall, cpu = time.perf_counter(), time.process_time()
            answers = 0
            for _ in range(args.calls):
                answers += await one_call(client, headers, args.protocol)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            profiled = 0
            for _ in range(args.calls):
                profiled += await one_call(client, headers, args.protocol)
            profile.disable()
            return answers, wall, cpu, profiled, profile

    answers, wall, cpu, profiled, profile = asyncio.run(run())
    app.state.db.dispose()
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    kind = app.state.db.dialect + (
        f", synchronous={args.synchronous}" if app.state.db.dialect == "sqlite" else ""
    )
    print(f"{args.protocol} on {kind}; load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(
        f"unprofiled: {wall / answers * 1000:.2f} ms wall, {cpu / answers * 1000:.2f} ms CPU per answer "
        f"(client included; starts and closes counted in, {answers} answers)"
    )
    print(
        f"profiled, CPU time ({profiled} answers, {total / profiled * 1000:.2f} ms per answer under cProfile;"
        " waiting for the disk is not CPU: it is in the wall figure above):"
    )
    for label, suffix, name in PARTS:
        spent = cumulative(stats, suffix, name)
        print(f"  {label:<52} {spent / profiled * 1000:7.2f} ms  {spent / total:6.1%}")
    asgi = cumulative(stats, *PARTS[0][1:])
    client = total - asgi
    print(
        f"  {'the client (httpx), event loop':<52} {client / profiled * 1000:7.2f} ms  {client / total:6.1%}"
    )
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
