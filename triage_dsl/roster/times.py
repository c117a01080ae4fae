"""Instants from text, exact across daylight-saving changes (zoneinfo).

A roster is asked about *instants*: a call arrives at one moment, whatever the wall clock
says. Text with an offset (``2026-03-08T02:30-05:00``, ``...Z``) is that instant. A wall
time without an offset is read in a zone (``--tz``) and refused when the zone's clocks
skip it (spring forward) or show it twice (fall back): the refusal names both readings,
so nobody is paged on a guess.

>>> from zoneinfo import ZoneInfo
>>> parse_instant("2026-11-01T02:30", ZoneInfo("America/New_York")).isoformat()
'2026-11-01T07:30:00+00:00'
>>> parse_instant("2026-03-08T02:30", ZoneInfo("America/New_York"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
triage_dsl.roster.times.TimeTextError: 2026-03-08T02:30 does not exist in America/New_York: ...
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage_dsl.errors import TriageError


class TimeTextError(TriageError):
    """A time that cannot be read as one instant (no zone, skipped or repeated)."""


def zone(name: str) -> ZoneInfo:
    """An IANA zone by name (``America/New_York``), or :class:`TimeTextError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeTextError(f"unknown time zone '{name}': use an IANA name such as America/New_York") from exc


def _offset(value: timedelta | None) -> str:
    total = int((value or timedelta()).total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def localise(wall: datetime, where: tzinfo, text: str) -> datetime:
    """The one instant a wall time names in ``where`` (UTC), or :class:`TimeTextError`."""
    first = wall.replace(tzinfo=where, fold=0)
    second = wall.replace(tzinfo=where, fold=1)
    name = str(where)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    back = first.astimezone(UTC).astimezone(where).replace(tzinfo=None)
    if back != wall:  # skipped: the clocks jump over it
        before, after = first.utcoffset(), second.utcoffset()
        jump_to = first.astimezone(UTC).astimezone(where)
        return _raise(
            f"{text} does not exist in {name}: the clocks jump forward ({_offset(before)} -> "
            f"{_offset(after)}); give the offset, e.g. {text}{_offset(before)} (the clock before "
            f"the change: {jump_to:%H:%M} after it)"
        )
    return _raise(
        f"{text} happens twice in {name} (the clocks go back): give the offset, "
        f"{text}{_offset(first.utcoffset())} for the first, "
        f"{text}{_offset(second.utcoffset())} for the second"
    )


def _raise(message: str) -> datetime:
    raise TimeTextError(message)


def parse_instant(text: str, where: tzinfo | None) -> datetime:
    """An instant in UTC from ISO 8601 text: with an offset, or a wall time in ``where``;
    a date alone is its midnight in ``where``."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            wall = datetime.combine(date.fromisoformat(raw), time())
        else:
            wall = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise TimeTextError(
            f"'{text}' is not a date or time: write 2026-11-01, 2026-11-01T02:30 or 2026-11-01T02:30-05:00"
        ) from exc
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    if where is None:
        raise TimeTextError(f"'{text}' has no offset: add one (2026-11-01T02:30-05:00) or give --tz ZONE")
    return localise(wall, where, text)


def show(instant: datetime, where: tzinfo | None) -> str:
    """``2026-11-01 Sun 01:30 EDT (05:30Z)`` for people (the UTC weekday too when the
    UTC date is another); UTC alone without a zone."""
    utc = instant.astimezone(UTC)
    if where is None:
        return f"{utc.date().isoformat()} {utc:%H:%M}Z"  # a four-digit year (%Y gives "1")
    local = utc.astimezone(where)
    day = "" if utc.date() == local.date() else f"{utc:%a} "
    return f"{local.date().isoformat()} {local:%a %H:%M} {local.tzname()} ({day}{utc:%H:%M}Z)"
