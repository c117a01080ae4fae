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
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect once, then exempt every object alive from later collections."""
    gc.collect()
    gc.freeze()
