"""The heap of a long-running process, settled once it has loaded what it keeps.

A service process holds a quarter of a million objects that live as long as it does
(the compiled protocols, their generated code, the web framework, the database layer).
CPython's cyclic garbage collector walks every one of them in each full collection, a
pause of 100-500 ms on the 2-core machine under load, taken on the event loop's thread
in the middle of some caller's answer: the tail of the answers' latency
(docs/performance.md, "Garbage collection"). :func:`settle_heap` collects once, then
moves every object alive into the collector's permanent generation (``gc.freeze``), so
later collections walk only what was made since: the calls and records in flight.
Frozen objects are still freed by reference counting; only a cycle among them would
stay, and nothing made before the freeze is thrown away in cycles.

It also makes the youngest generation's collection wait for :data:`YOUNG_THRESHOLD`
new objects instead of CPython's 700. A service answer makes a few hundred objects the
collector tracks, and nearly all of them are freed by reference counting as the response
leaves; at 700 the collector ran two or three times an answer, walking the objects of
the answers in flight each time. Measured on ``triage serve`` (2026-12-02,
docs/performance.md): 13-19% less service CPU an answer, and a lower p99 at 500
answers/s offered.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""New tracked objects between two collections of the youngest generation."""
MIDDLE_THRESHOLD = 20
"""Youngest-generation collections between two of the middle generation (CPython: 10)."""


def settle_heap() -> None:
    """Collect once, exempt every object alive from later collections, and collect the
    youngest generation less often."""
    gc.collect()
    gc.freeze()
    oldest = gc.get_threshold()[2]
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, oldest)
