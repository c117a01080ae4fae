"""Who holds a role at an instant, and the backup chain behind them.

>>> from triage_dsl.roster.calendar import parse_roster
>>> roster = parse_roster('''BEGIN:VCALENDAR
... VERSION:2.0
... PRODID:-//example//roster//EN
... BEGIN:VEVENT
... UID:nights
... SUMMARY:on_call_physician: nights
... X-TRIAGE-PERSON:lee
... DTSTART;TZID=America/New_York:20260307T200000
... DTEND;TZID=America/New_York:20260308T080000
... END:VEVENT
... END:VCALENDAR
... ''')
>>> from datetime import datetime, UTC
>>> who(roster, "on_call_physician", datetime(2026, 3, 8, 7, 30, tzinfo=UTC)).person
'lee'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from triage_dsl.roster.calendar import Roster, Shift
from triage_dsl.roster.contacts import Contacts, Person


@dataclass(frozen=True)
class Holder:
    """A person holding a role at an instant: ``rank`` 0 holds it, 1.. are the backups."""

    role: str
    person: str
    rank: int
    priority: int
    shift: Shift
    contact: Person | None = None


def chain(roster: Roster, role: str, at: datetime, contacts: Contacts | None = None) -> list[Holder]:
    """Everyone holding ``role`` at ``at``: the holder first, then the backups by priority
    (a person listed twice keeps their first place)."""
    out: list[Holder] = []
    seen: set[str] = set()
    for shift in roster.shifts_at(role, at):
        person = contacts.find(shift.person) if contacts is not None else None
        key = person.id if person is not None else shift.person
        if key in seen:
            continue
        seen.add(key)
        out.append(Holder(role, key, len(out), shift.priority, shift, person))
    return out


def who(roster: Roster, role: str, at: datetime, contacts: Contacts | None = None) -> Holder | None:
    """The person holding ``role`` at ``at``, or None when nobody does."""
    found = chain(roster, role, at, contacts)
    return found[0] if found else None
