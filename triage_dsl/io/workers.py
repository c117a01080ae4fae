"""Worker processes forked by a command (``eval --cases``, ``check``): how they take the
stop signals, and a map over items in forked workers with the results in order.

The command's own process turns SIGTERM and SIGHUP into an exception while it runs
(``triage_dsl.cli``), and Ctrl-C reaches the whole process group. A worker inherits
those handlers with the fork; it must not print a traceback of its own when the parent
stops it, and it must not stop before its parent has decided to. The workers here are
never replaced: one that dies is reported (:class:`WorkerLost`), never silently
restarted, and every worker is stopped before the map returns or raises, so none
outlives the command holding its output open.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar, cast

from triage_dsl.errors import TriageError

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that stop a command: Ctrl-C, then those a process manager sends."""
_MASKS = hasattr(signal, "pthread_sigmask")

Item = TypeVar("Item")
Result = TypeVar("Result")


class WorkerLost(TriageError):
    """A worker process ended without being asked to."""


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Around starting a worker: a stop signal that comes meanwhile waits, in the parent
    and in the new worker (which takes it once :func:`quiet_worker` has run), so it never
    reaches a worker still holding the parent's handlers."""
    if not _MASKS:  # no signal masks here (Windows): nothing to hold
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def quiet_worker() -> None:
    """In a worker, at its start: Ctrl-C is left to the parent (which stops the workers),
    and SIGTERM and SIGHUP end the worker at once, as the parent's terminate means; then
    the stop signals held over the fork are let through."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stop in STOP_SIGNALS[1:]:
        signal.signal(stop, signal.SIG_DFL)
    if _MASKS:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def wanted(jobs: int) -> int:
    """The workers ``--jobs N`` asks for: N, or one per core for 0 (the default)."""
    return jobs if jobs > 0 else (os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def forked_map(function: Callable[[Item], Result], items: Sequence[Item], workers: int) -> Iterator[Result]:
    """``function`` of each item, computed in ``workers`` forked processes (each given its
    next item as it returns one), yielded in the items' order. An exception ``function``
    raises in a worker is raised here; a worker that dies raises :class:`WorkerLost`."""
    context = multiprocessing.get_context("fork")
    started: list[tuple[Any, Connection]] = []
    try:
        for _ in range(min(workers, len(items))):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child, function), daemon=True)
            with signals_held():
                process.start()
            child.close()
            started.append((process, parent))
        yield from _ordered(started, items)
        for _, conn in started:
            with contextlib.suppress(OSError):
                conn.send(None)
    finally:
        failed = any(process.exitcode not in (None, 0) for process, _ in started)
        for process, conn in started:
            if process.is_alive() and (failed or sys.exc_info()[0] is not None):
                process.terminate()
            process.join(5)
            conn.close()


def _ordered(started: list[tuple[Any, Connection]], items: Sequence[Item]) -> Iterator[Any]:
    done: dict[int, tuple[bool, Any]] = {}
    busy: dict[Connection, int] = {}
    given = taken = 0
    for _, conn in started:
        conn.send((given, items[given]))
        busy[conn] = given
        given += 1
    while taken < len(items):
        while taken not in done:
            for ready in wait(list(busy)):
                conn = cast(Connection, ready)  # wait() gives back what it was given
                try:
                    index, ok, value = conn.recv()
                except (EOFError, OSError):
                    for _ in range(10):  # a signal to the group reaches the workers first:
                        threading.Event().wait(0.05)  # let the parent's own handler raise
                    raise WorkerLost("a worker process ended unexpectedly; run again with --jobs 1") from None
                done[index] = (ok, value)
                del busy[conn]
                if given < len(items):
                    conn.send((given, items[given]))
                    busy[conn] = given
                    given += 1
        ok, value = done.pop(taken)
        taken += 1
        if not ok:
            raise value
        yield value


def _serve(conn: Connection, function: Callable[[Any], Any]) -> None:
    """A worker: compute each item it is sent until told to stop (None)."""
    quiet_worker()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        index, item = task
        try:
            reply = (index, True, function(item))
        except Exception as exc:
            reply = (index, False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # a result or an exception that cannot be pickled
            conn.send((index, False, TriageError(f"a worker's result could not be sent back: {exc}")))
