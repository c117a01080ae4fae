"""One read serving every request that asked for it before it started.

Each request reads the tokens' generation before trusting the token holders this process
keeps (a revoked token must be refused by every process on its next request). Under
load many requests reach that check in the same turn of the event loop; instead of one
read each, they wait together for one read that starts after all of them asked, so it
sees every commit any of them could have needed to see. A request that asks once that
read has started waits for the next one: no request is ever answered from a read that
began before it asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class SharedRead(Generic[T]):
    """``await shared()``: the value of ``read()`` run after this call was made, shared
    with every call made before that run started. ``in_thread``: run it in a worker
    thread (a network round trip: a stalled server holds up the requests that wait for
    it, not the event loop); else on the event loop, as a callback.

    Each waiter has a future of its own, so one that goes away (cancelled) cancels
    nothing the others wait for."""

    def __init__(self, read: Callable[[], T], in_thread: bool) -> None:
        self._read = read
        self._in_thread = in_thread
        self._waiting: list[asyncio.Future[T]] | None = None  # for a read not started yet
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that read is for
        self._tasks: set[asyncio.Task[None]] = set()
        self.reads = 0  # reads run (for the tests)

    async def __call__(self) -> T:
        loop = asyncio.get_running_loop()
        waiting = self._waiting
        if waiting is None or self._loop is not loop:
            waiting = self._waiting = []
            self._loop = loop
            if self._in_thread:
                task = loop.create_task(self._in_worker(waiting))
                self._tasks.add(task)  # kept until done (the loop keeps only a weak reference)
                task.add_done_callback(self._tasks.discard)
            else:
                loop.call_soon(self._now, waiting)
        future: asyncio.Future[T] = loop.create_future()
        waiting.append(future)
        return await future

    def _started(self, waiting: list[asyncio.Future[T]]) -> None:
        if self._waiting is waiting:
            self._waiting = None  # whoever asks from now on waits for the next read
        self.reads += 1

    def _now(self, waiting: list[asyncio.Future[T]]) -> None:
        self._started(waiting)
        try:
            value = self._read()
        except BaseException as exc:
            _settle(waiting, None, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            _settle(waiting, value, None)

    async def _in_worker(self, waiting: list[asyncio.Future[T]]) -> None:
        self._started(waiting)
        try:
            value = await run_in_threadpool(self._read)
        except asyncio.CancelledError:  # the loop is shutting down
            for future in waiting:
                future.cancel()
            raise
        except BaseException as exc:
            _settle(waiting, None, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            _settle(waiting, value, None)


def _settle(waiting: list[asyncio.Future[T]], value: T | None, error: BaseException | None) -> None:
    for future in waiting:
        if future.done():  # its request went away
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]
