"""A roster from an iCalendar file (RFC 5545): who holds which role when.

Each ``VEVENT`` is a shift (recurring ones included, expanded by recurring-ical-events):

- **role**: the ``X-TRIAGE-ROLE`` property, else the ``SUMMARY`` up to its first colon
  (``on_call_physician: Dr Lee``) when that is a role id;
- **person**: ``X-TRIAGE-PERSON`` (a person id of the contacts file), else the first
  ``ATTENDEE``'s address (``mailto:ana.lee@example.org``, matched to a contact's email);
- **priority**: ``X-TRIAGE-PRIORITY``, else the standard ``PRIORITY`` (1 is first; 0 or
  none means 1). Among the shifts of one role at one instant, the lowest number holds
  the role and the others are its backups, in that order;
- ``STATUS:CANCELLED`` events (and cancelled occurrences) are not shifts.

Times are exact instants: a ``TZID`` is read with zoneinfo, so a shift from 20:00 to
08:00 New York time lasts 11 hours on the night the clocks spring forward and 13 on the
night they fall back. A floating time or an all-day event is read in the calendar's
``X-WR-TIMEZONE``, else the zone the caller gives; with neither it is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import recurring_ical_events
from icalendar import Calendar

from triage_dsl.io import read_bytes
from triage_dsl.io.files import decode
from triage_dsl.roster.contacts import RosterError
from triage_dsl.roster.times import TimeTextError, localise, zone

MAX_ROSTER_BYTES = 20_000_000
# How often a rule may repeat: a shift lasts an hour at the least. SECONDLY and MINUTELY
# rules expand to hundreds of thousands of occurrences a week (a check took minutes).
FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
ROLE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Shift:
    """One occurrence of a roster event: ``person`` holds ``role`` from ``start`` until
    ``end`` (UTC, end excluded), at ``priority`` (1 holds the role; 2, 3... back it up)."""

    role: str
    start: datetime
    end: datetime
    priority: int
    person: str
    uid: str


@dataclass(frozen=True)
class Ignored:
    """An event the roster could not use, and why (listed by ``roster check``)."""

    uid: str
    summary: str
    reason: str


def _text(component: Any, name: str) -> str | None:
    value = component.get(name)
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0]
    text = str(value).strip()
    return text or None


class Roster:
    """An iCalendar roster, expanded on demand for a window of time."""

    def __init__(self, calendar: Calendar, path: str = "<roster>", default_zone: tzinfo | None = None):
        self.calendar = calendar
        self.path = path
        declared = _text(calendar, "X-WR-TIMEZONE")
        try:
            self.zone: tzinfo | None = zone(declared) if declared else default_zone
        except TimeTextError as exc:
            raise RosterError(f"{path}: X-WR-TIMEZONE: {exc}") from exc
        _check_rules(calendar, path)

    def _instant(self, value: Any, uid: str) -> datetime:
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return value.astimezone(UTC)
            wall = value
        elif isinstance(value, date):
            wall = datetime.combine(value, time())
        else:
            raise RosterError(f"{self.path}: event {uid}: a start or end that is not a date or time")
        if self.zone is None:
            raise RosterError(
                f"{self.path}: event {uid} has a time without a zone: add a TZID, "
                "X-WR-TIMEZONE to the calendar, or give --tz ZONE"
            )
        try:
            return localise(wall, self.zone, wall.isoformat())
        except TimeTextError:
            # RFC 5545 3.3.5: a skipped wall time means the time after the gap; a repeated
            # one, its first occurrence. zoneinfo's fold=0 reading is exactly that.
            return wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    def events(self, start: datetime, end: datetime) -> tuple[list[Shift], list[Ignored]]:
        """Every shift overlapping ``[start, end)`` (UTC), and the events left out, with why."""
        try:
            found = recurring_ical_events.of(self.calendar).between(
                start - timedelta(days=1), end + timedelta(days=1)
            )
        except Exception as exc:  # the library raises many kinds on malformed rules
            raise RosterError(f"{self.path}: the recurrences cannot be expanded: {exc}") from exc
        shifts: list[Shift] = []
        ignored: dict[str, Ignored] = {}
        for event in found:
            uid = _text(event, "UID") or "(no UID)"
            summary = _text(event, "SUMMARY") or ""
            if (_text(event, "STATUS") or "").upper() == "CANCELLED":
                continue
            role = _text(event, "X-TRIAGE-ROLE")
            if role is None and ":" in summary:
                role = summary.split(":", 1)[0].strip()
            if role is None or not ROLE_ID.match(role):
                ignored.setdefault(
                    uid, Ignored(uid, summary, "names no role (X-TRIAGE-ROLE, or SUMMARY 'role_id: ...')")
                )
                continue
            person = _text(event, "X-TRIAGE-PERSON")
            if person is None:
                attendee = _text(event, "ATTENDEE")
                if attendee is not None:
                    person = re.sub(r"^mailto:", "", attendee, flags=re.IGNORECASE)
            if person is None:
                ignored.setdefault(
                    uid, Ignored(uid, summary, "names no person (X-TRIAGE-PERSON or ATTENDEE)")
                )
                continue
            priority = self._priority(event, uid)
            if "DTSTART" not in event:
                ignored.setdefault(uid, Ignored(uid, summary, "has no DTSTART"))
                continue
            begins = self._instant(event["DTSTART"].dt, uid)
            if "DTEND" in event:
                ends = self._instant(event["DTEND"].dt, uid)
            elif "DURATION" in event:
                ends = begins + event["DURATION"].dt
            else:
                ignored.setdefault(uid, Ignored(uid, summary, "has no end (DTEND or DURATION)"))
                continue
            if ends <= begins:
                ignored.setdefault(uid, Ignored(uid, summary, "ends before it starts"))
                continue
            if ends > start and begins < end:
                shifts.append(Shift(role, begins, ends, priority, person, uid))
        return sorted(set(shifts)), sorted(ignored.values(), key=lambda i: i.uid)

    def _priority(self, event: Any, uid: str) -> int:
        text = _text(event, "X-TRIAGE-PRIORITY") or _text(event, "PRIORITY") or "1"
        try:
            value = int(text)
        except ValueError:
            raise RosterError(f"{self.path}: event {uid}: priority '{text}' is not a whole number") from None
        if not 0 <= value <= 99:
            raise RosterError(f"{self.path}: event {uid}: priority {value} is not from 1 to 99")
        return value or 1

    def shifts_at(self, role: str, at: datetime) -> list[Shift]:
        """The shifts of ``role`` holding at instant ``at``: first priority first."""
        at = at.astimezone(UTC)
        shifts, _ = self.events(at, at + timedelta(seconds=1))
        found = [s for s in shifts if s.role == role and s.start <= at < s.end]
        return sorted(found, key=lambda s: (s.priority, s.start, s.person, s.uid))


def _check_rules(calendar: Calendar, path: str) -> None:
    """Refuse a recurrence rule no rota needs and that would take minutes to expand: one
    repeating more often than hourly, or an INTERVAL below 1 (RFC 5545 3.3.10: a positive
    integer; 0 made the expansion spin)."""
    for component in calendar.walk():
        rules = component.get("RRULE")
        if rules is None:
            continue
        where = _text(component, "UID") or component.name
        for rule in rules if isinstance(rules, list) else [rules]:
            try:
                freq = [str(f).upper() for f in rule.get("FREQ", [])]
                intervals = list(rule.get("INTERVAL", []))
            except Exception as exc:  # icalendar keeps a rule it could not parse, and raises on use
                raise RosterError(f"{path}: {where}: the RRULE cannot be read: {exc}") from exc
            if not freq or freq[0] not in FREQUENCIES:
                raise RosterError(
                    f"{path}: {where}: RRULE FREQ={','.join(freq) or '(none)'}: a shift repeats "
                    f"at most hourly ({', '.join(FREQUENCIES)})"
                )
            for interval in intervals:
                if not isinstance(interval, int) or interval < 1:
                    raise RosterError(
                        f"{path}: {where}: RRULE INTERVAL={interval}: must be a whole number of 1 or more"
                    )


def parse_roster(text: str, path: str = "<roster>", default_zone: tzinfo | None = None) -> Roster:
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # icalendar raises ValueError and others on bad input
        raise RosterError(f"{path}: not an iCalendar file: {exc}") from exc
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise RosterError(f"{path}: not an iCalendar file (BEGIN:VCALENDAR expected)")
    return Roster(calendar, path, default_zone)


def load_roster(path: str | Path, default_zone: tzinfo | str | None = None) -> Roster:
    """Read an ``.ics`` roster; ``default_zone`` reads floating times and all-day events
    when the calendar has no ``X-WR-TIMEZONE``."""
    name = str(path)
    where = zone(default_zone) if isinstance(default_zone, str) else default_zone
    return parse_roster(decode(read_bytes(path, MAX_ROSTER_BYTES), name), name, where)
