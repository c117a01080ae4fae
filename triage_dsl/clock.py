"""Where times come from (session answers, records): an injectable clock (UTC), fixed in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything with ``now()`` giving an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests: starts at ``at`` and moves ``step`` forward at each reading.

    >>> clock = FixedClock("2026-03-01T02:14:00Z", step=timedelta(minutes=1))
    >>> clock.now().isoformat(), clock.now().isoformat()
    ('2026-03-01T02:14:00+00:00', '2026-03-01T02:15:00+00:00')
    """

    def __init__(self, at: datetime | str, step: timedelta = timedelta(0)) -> None:
        self._at = utc(at)
        self._step = step

    def now(self) -> datetime:
        at = self._at
        self._at = at + self._step
        return at


def utc(at: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO 8601 text; naive times are refused."""
    value = datetime.fromisoformat(at.replace("Z", "+00:00")) if isinstance(at, str) else at
    if value.tzinfo is None:
        raise ValueError(f"time {value.isoformat()} has no time zone; record times are UTC")
    return value.astimezone(UTC)


SYSTEM_CLOCK: Clock = SystemClock()
