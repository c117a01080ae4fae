"""``triage eval --cases``: a stream of cases in, a stream of result lines out.

Lines are read one at a time (each within :data:`MAX_ANSWERS_BYTES`), grouped in chunks
of :data:`CHUNK`, evaluated and written in input order, so memory stays bounded by a few
chunks whatever the size of the input. A line that cannot be read as a case gives an
error line naming its place and, when readable, its id; the batch goes on.

Large batches use worker processes, each with a private pipe (no lock is shared, so a
worker killed by a signal cannot stall the others). Chunk ``k`` goes to worker
``k mod jobs`` and results are taken back in the same order. SIGINT, SIGTERM and SIGHUP
only set a note; the loop sees it between waits, stops the workers and raises
``KeyboardInterrupt`` or :class:`Terminated`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any, TextIO

from triage_dsl.compiler import compile_file
from triage_dsl.errors import Terminated
from triage_dsl.io.files import lines, open_input
from triage_dsl.io.strict_json import MAX_ANSWERS_BYTES, JSONInputError, loads
from triage_dsl.io.workers import STOP_SIGNALS, WorkerLost, quiet_worker, signals_held, wanted
from triage_dsl.model.result import TriageResult
from triage_dsl.model.serialize import dumps
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.interpreter import evaluate_protocol, program

CHUNK = 2000
"""Cases per work item."""

Line = tuple[int, bytes | None]
Chunk = list[Line]
Produced = list[tuple[str, bool]]


def _error_line(protocol: Protocol, case_id: Any, number: int, code: str, message: str) -> str:
    error = {
        "id": case_id,
        "line": number,
        "protocol": program(protocol).ref.model_dump(),  # what ran, on a refused line too
        "status": "error",
        "disposition": None,
        "error": message,
        "errors": [{"question": "", "code": code, "message": message}],
    }
    return json.dumps(error, ensure_ascii=False)


def _case_id(case: Any) -> Any:
    """The case's id when it is a plain, printable JSON scalar (anything else is not shown)."""
    if isinstance(case, dict):
        value = case.get("id")
        if isinstance(value, str):
            with contextlib.suppress(UnicodeEncodeError):
                value.encode("utf-8")
                return value
        elif (
            value is None
            or isinstance(value, bool | int)
            or (isinstance(value, float) and value == value and abs(value) != float("inf"))
        ):
            return value
    return None


def _refused_case_id(line: str | bytes) -> Any:
    """The id of a line the strict reader refused, when a lenient reading still finds one
    (so the error line names its case); None when it cannot."""
    try:
        return _case_id(json.loads(line))
    except (ValueError, RecursionError, UnicodeDecodeError, TypeError):
        return None


# Characters that some line readers (Python's splitlines, older JavaScript) take as line
# breaks: escaped in the output so that one case is always one line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _id_json(case_id: Any) -> str:
    """The case id as JSON, as ``json.dumps(case_id, ensure_ascii=False)`` writes it."""
    if type(case_id) is int:  # the common id, written as is (bool is not an int here)
        return str(case_id)
    return json.dumps(case_id, ensure_ascii=False)


def case_line(
    protocol: Protocol,
    line: str | bytes | None,
    number: int,
    trace: bool = True,
    path: str = "<cases>",
    now: datetime | None = None,
) -> tuple[str, bool]:
    """One line of ``--cases`` in, one JSON line out and whether it failed; never raises.

    ``line`` is None for a line longer than the limit (it was never read whole). ``now``
    (``--at``) is the evaluation time of every case: it turns a date of birth into an age;
    without it such an answer is refused, so a batch never depends on the wall clock.
    """
    text, failed = _case_line(protocol, line, number, trace, path, now)
    if "\x85" in text or "\u2028" in text or "\u2029" in text:  # three scans cost less than translate
        text = text.translate(_LINE_BREAKS)
    return text, failed


def _case_line(
    protocol: Protocol, line: str | bytes | None, number: int, trace: bool, path: str, now: datetime | None
) -> tuple[str, bool]:
    if line is None:
        message = f"{path}:{number}: the line is longer than the limit of {MAX_ANSWERS_BYTES:,} bytes"
        return _error_line(protocol, None, number, "line_too_long", message), True
    try:
        case = loads(line, path=path, line=number)
    except JSONInputError as exc:
        return _error_line(protocol, _refused_case_id(line), number, "invalid_json", str(exc)), True
    case_id = _case_id(case)
    if not isinstance(case, dict) or not isinstance(case.get("answers"), dict):
        message = f'{path}:{number}: expected an object with "answers": {{...}}'
        return _error_line(protocol, case_id, number, "not_a_case", message), True
    result: TriageResult = evaluate_protocol(protocol, case["answers"], trace=trace, now=now)
    # orjson writes the result (pydantic's bytes, see model/serialize.py); the case id and line go first
    body = dumps(result, exclude=("note",)).decode()
    head = '{"id":' + _id_json(case_id) + ',"line":' + str(number) + ","
    return head + body[1:], result.status == "error"


def case_lines(name: str, inp: TextIO) -> Iterator[Line]:
    """The lines of the cases file (``-``: standard input), one at a time, blank ones left out."""
    if name == "-":
        buffer = getattr(inp, "buffer", None)
        if buffer is not None:
            source: Iterator[Line] = lines(buffer, MAX_ANSWERS_BYTES)
        else:  # a text stream (tests)
            source = ((n, text.encode("utf-8", "surrogatepass")) for n, text in enumerate(inp, start=1))
        yield from ((n, b) for n, b in source if b is None or b.strip())
        return
    with open_input(name) as stream:
        yield from ((n, b) for n, b in lines(stream, MAX_ANSWERS_BYTES) if b is None or b.strip())


def _chunks(items: Iterator[Line], size: int) -> Iterator[Chunk]:
    while True:
        chunk = list(itertools.islice(items, size))
        if not chunk:
            return
        yield chunk


def _worker(
    conn: Connection, path: str, roots: list[str], trace: bool, name: str, now: datetime | None
) -> None:
    """A worker process: compile once, then evaluate chunks until told to stop (None)."""
    quiet_worker()
    protocol = compile_file(path, roots)
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        conn.send([case_line(protocol, line, number, trace, name, now) for number, line in chunk])


def _stopped(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def run_cases(
    protocol: Protocol,
    source: Iterator[Line],
    out: IO[str],
    *,
    name: str = "<cases>",
    jobs: int = 0,
    trace: bool = True,
    roots: Sequence[str | Path] = (),
    now: datetime | None = None,
) -> bool:
    """Evaluate every line of ``source`` and write one line each to ``out``, in order.

    ``jobs`` 0 means one worker per core; never more workers than chunks. Returns whether
    any line failed (an error line, or a result with status ``error``).
    """
    chunks = _chunks(source, CHUNK)
    asked = wanted(jobs)
    ahead = list(itertools.islice(chunks, max(1, asked)))
    failed = False

    def write(produced: Produced) -> None:
        nonlocal failed
        out.write("".join(text + "\n" for text, _ in produced))
        failed = failed or any(bad for _, bad in produced)

    count = min(asked, len(ahead))
    workers = (
        _start_workers(protocol, count, [str(r) for r in roots], trace, name, now) if count > 1 else None
    )
    if workers is None:  # one process: the same output
        for chunk in itertools.chain(ahead, chunks):
            write([case_line(protocol, line, number, trace, name, now) for number, line in chunk])
        return failed
    stop: list[int] = []
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, lambda s, frame: stop.append(s))
    try:
        pending: deque[int] = deque()

        def take() -> int:
            index = pending.popleft()
            conn = workers[index][1]
            while not conn.poll(0.1):
                if stop:
                    _stopped(stop[0])
            try:
                produced: Produced = conn.recv()
            except (EOFError, OSError):
                for _ in range(10):  # a signal to the group reaches the workers first
                    if stop:
                        _stopped(stop[0])
                    threading.Event().wait(0.05)
                raise WorkerLost("a worker process ended unexpectedly; run again with --jobs 1") from None
            write(produced)
            return index

        for number, chunk in enumerate(itertools.chain(ahead, chunks)):
            # each worker holds one chunk at a time: it reads the next only after its
            # result was taken, so neither side can block the other on a full pipe
            index = take() if len(pending) == count else number
            if stop:
                _stopped(stop[0])
            workers[index][1].send(chunk)
            pending.append(index)
        while pending:
            take()
        for _, conn in workers:
            with contextlib.suppress(OSError):
                conn.send(None)
    finally:
        for process, conn in workers:
            if process.is_alive() and (stop or sys.exc_info()[0] is not None):
                process.terminate()
            process.join(5)
            conn.close()
        for signum, old in previous.items():
            signal.signal(signum, old)
    return failed


def _start_workers(
    protocol: Protocol, count: int, roots: list[str], trace: bool, name: str, now: datetime | None
) -> list[tuple[Any, Connection]] | None:
    import multiprocessing

    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    workers: list[tuple[Any, Connection]] = []
    try:
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(  # type: ignore[attr-defined]
                target=_worker, args=(child, protocol.path, roots, trace, name, now), daemon=True
            )
            with signals_held():
                process.start()
            child.close()
            workers.append((process, parent))
    except OSError:  # no process support here
        for process, conn in workers:
            process.terminate()
            conn.close()
        return None
    return workers
