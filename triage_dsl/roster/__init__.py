"""On-call rosters: who holds each role of the escalation plans, when.

A roster is an iCalendar file (RFC 5545) whose events are shifts (``calendar``); a
contacts file gives each person's channels (``contacts``); ``resolve`` says who holds a
role at an instant and who backs them up; ``coverage`` finds the minutes a role is not
held and the holders who cannot be reached. ``times`` reads instants exactly across
daylight-saving changes. The calendar libraries load on first use of a name below.

>>> from triage_dsl.roster import load_roster, who   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "Roster": "calendar",
    "Shift": "calendar",
    "load_roster": "calendar",
    "parse_roster": "calendar",
    "Contacts": "contacts",
    "Person": "contacts",
    "RosterError": "contacts",
    "load_contacts": "contacts",
    "Holder": "resolve",
    "chain": "resolve",
    "who": "resolve",
    "Coverage": "coverage",
    "Gap": "coverage",
    "check": "coverage",
    "needs_of": "coverage",
    "Directory": "directory",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'triage_dsl.roster' has no attribute '{name}'")
    return getattr(importlib.import_module(f"triage_dsl.roster.{module}"), name)
