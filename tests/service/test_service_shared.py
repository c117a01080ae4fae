"""SharedRead: one read of the tokens' generation for every request that asked before it
started, and never a read that started before a request asked."""

from __future__ import annotations

import asyncio
import threading

import pytest

from triage_dsl.service.shared import SharedRead


class Counter:
    """A read returning 1, 2, 3...; in a thread it waits until let go."""

    def __init__(self) -> None:
        self.value = 0
        self.started = threading.Event()
        self.go = threading.Event()
        self.go.set()

    def read(self) -> int:
        self.value += 1
        mine = self.value
        self.started.set()
        assert self.go.wait(10)
        return mine


@pytest.mark.parametrize("in_thread", [False, True])
def test_requests_asking_together_share_one_read(in_thread: bool) -> None:
    counter = Counter()
    shared = SharedRead(counter.read, in_thread=in_thread)

    async def main() -> tuple[list[int], list[int]]:
        together = await asyncio.gather(*(shared() for _ in range(10)))
        after = [await shared(), await shared()]
        return list(together), after

    together, after = asyncio.run(main())
    assert together == [1] * 10
    assert after == [2, 3]  # each asked once the last read was over: a read each
    assert shared.reads == 3


def test_a_request_asking_once_a_read_started_waits_for_the_next() -> None:
    """The read in progress may have run its query before the second request came (a
    token revoked in between would be missed): the second request gets a read of its own."""
    counter = Counter()
    counter.go.clear()
    shared = SharedRead(counter.read, in_thread=True)

    async def main() -> tuple[int, int]:
        first = asyncio.ensure_future(shared())
        await asyncio.get_running_loop().run_in_executor(None, counter.started.wait, 10)
        second = asyncio.ensure_future(shared())
        await asyncio.sleep(0.01)
        counter.go.set()
        return await first, await second

    assert asyncio.run(main()) == (1, 2)
    assert shared.reads == 2


def test_a_request_that_goes_away_does_not_cancel_the_read_of_the_others() -> None:
    counter = Counter()
    counter.go.clear()
    shared = SharedRead(counter.read, in_thread=True)

    async def main() -> int:
        leaving = asyncio.ensure_future(shared())
        staying = asyncio.ensure_future(shared())
        await asyncio.get_running_loop().run_in_executor(None, counter.started.wait, 10)
        leaving.cancel()
        counter.go.set()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying

    assert asyncio.run(main()) == 1


def test_a_failed_read_fails_every_request_that_waited_for_it_and_the_next_reads_again() -> None:
    calls = []

    def read() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the database went away")
        return 7

    shared = SharedRead(read, in_thread=False)

    async def main() -> tuple[list[object], int]:
        failed = await asyncio.gather(shared(), shared(), return_exceptions=True)
        return list(failed), await shared()

    failed, value = asyncio.run(main())
    assert [type(e) for e in failed] == [OSError, OSError]
    assert value == 7
