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
    it, not the event loop); else on the event loop."""

    def __init__(self, read: Callable[[], T], in_thread: bool) -> None:
        self._read = read
        self._in_thread = in_thread
        self._next: asyncio.Task[T] | None = None  # a read that has not started yet
        self.reads = 0  # reads run (for the tests)

    async def __call__(self) -> T:
        task = self._next
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = self._next = asyncio.get_running_loop().create_task(self._run())
            task.add_done_callback(_retrieve)
        # shielded: a request that goes away does not cancel the read the others wait for
        return await asyncio.shield(task)

    async def _run(self) -> T:
        if self._next is asyncio.current_task():
            self._next = None  # started: whoever asks from now on waits for the next read
        self.reads += 1
        if self._in_thread:
            return await run_in_threadpool(self._read)
        return self._read()


def _retrieve(task: asyncio.Task[T]) -> None:
    """Every waiter may have gone (cancelled): the read's error is theirs, not a warning
    at exit."""
    if not task.cancelled():
        task.exception()
