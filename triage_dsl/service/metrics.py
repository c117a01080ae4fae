"""Counters and histograms kept in the process, shown in the Prometheus text format.

Each worker process keeps its own counters, labelled with its ``pid`` (a scrape reaches
one worker: sum them in the query, or read the database-wide gauges). What the database
holds (calls, answers, records) is read from the database at each scrape, so those
gauges are the same whichever worker answers."""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from typing import Any, ClassVar

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    inner = ",".join(f'{k}="{esc(v)}"' for k, v in labels)
    return "{" + inner + "}" if inner else ""


class Metrics:
    """
    >>> m = Metrics()
    >>> m.count("triage_calls_started_total")
    >>> "triage_calls_started_total" in m.render()
    True
    """

    HELP: ClassVar[dict[str, tuple[str, str]]] = {
        "triage_http_requests_total": ("counter", "HTTP requests by route, method and status, this process"),
        "triage_http_request_seconds": ("histogram", "time to answer an HTTP request, this process"),
        "triage_calls_started_total": ("counter", "calls started by this process"),
        "triage_answers_stored_total": ("counter", "answers stored by this process"),
        "triage_calls_closed_total": ("counter", "calls closed (record stored) by this process"),
        "triage_conflicts_total": (
            "counter",
            "changes this process retried because another process appended first",
        ),
        "triage_replays_total": (
            "counter",
            "POSTs sent again with a stored Idempotency-Key: answered, nothing applied, this process",
        ),
    }
    # database-wide gauges: name -> (key of store_counts, help)
    STORED: ClassVar[dict[str, tuple[str, str]]] = {
        "triage_calls_stored": ("calls", "calls in the database (every process)"),
        "triage_calls_closed_stored": ("calls_closed", "closed calls in the database (every process)"),
        "triage_answers_stored": ("answers", "answer events in the database (every process)"),
        "triage_records_stored": ("records", "sealed records in the database (every process)"),
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._hist: dict[str, dict[tuple[tuple[str, str], ...], list[float]]] = defaultdict(dict)

    def count(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0) + amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._hist[name]
            values = series.setdefault(key, [0.0] * (len(BUCKETS) + 2))  # buckets, +Inf, sum
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    values[i] += 1
            values[len(BUCKETS)] += 1
            values[len(BUCKETS) + 1] += seconds

    def render(self, stored: dict[str, int] | None = None) -> str:
        """The text format: ``stored`` (:func:`~triage_dsl.store.calls.store_counts`) as
        database-wide gauges without a ``pid``, then this process's series with it."""
        pid = ("pid", str(os.getpid()))
        lines: list[str] = []
        for name, (field, text) in self.STORED.items():
            if stored is not None and field in stored:
                lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {stored[field]}"]
        with self._lock:
            for name in sorted(set(self._counters) | set(self._hist) | set(self.HELP)):
                kind, text = self.HELP.get(name, ("counter", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for key, value in sorted(self._counters.get(name, {}).items()):
                    lines.append(f"{name}{_labels((*key, pid))} {value:g}")
                for key, values in sorted(self._hist.get(name, {}).items()):
                    for bound, n in zip(BUCKETS, values, strict=False):
                        lines.append(f"{name}_bucket{_labels((*key, pid, ('le', f'{bound:g}')))} {n:g}")
                    lines.append(f"{name}_bucket{_labels((*key, pid, ('le', '+Inf')))} {values[-2]:g}")
                    lines.append(f"{name}_count{_labels((*key, pid))} {values[-2]:g}")
                    lines.append(f"{name}_sum{_labels((*key, pid))} {values[-1]:.6f}")
        return "\n".join(lines) + "\n"


class Measure:
    """ASGI middleware: count each HTTP request by route, method and status and time it.

    Plain ASGI (not a ``BaseHTTPMiddleware``), so a request costs no extra task or body
    relay; the route is the one the router matched (``unmatched`` for none)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = ["500"]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.count(
                "triage_http_requests_total", route=path, method=scope["method"], status=status[0]
            )
            self.metrics.observe("triage_http_request_seconds", time.perf_counter() - started, route=path)
