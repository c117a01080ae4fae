"""The contacts file: each person of a roster and how to reach them, by channel.

JSON (read by the strict reader, so a key given twice is refused) or TOML (``.toml``)::

    {"people": {"lee": {"name": "Dr Ana Lee", "email": "ana.lee@example.org",
                        "secure_page": "4401", "phone": "+1 555 0101"}}}

A person's keys are ``name`` and ``email`` (how a calendar's ATTENDEE names them), and one
address per escalation channel (``secure_page``, ``phone``, ``secure_message``,
``text_message``, ``email``, ``fax``). Anything else is refused with its place, so a
misspelt ``secure_mesage`` cannot leave a channel silently empty.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from triage_dsl.errors import TriageError, did_you_mean
from triage_dsl.io import loads, read_bytes
from triage_dsl.io.files import decode

CHANNELS = ("secure_page", "phone", "secure_message", "text_message", "email", "fax")
MAX_CONTACTS_BYTES = 5_000_000
PERSON_ID = re.compile(r"^[A-Za-z0-9_.@+-]{1,200}$")


class RosterError(TriageError):
    """A roster or contacts file that cannot be used, with the place and the fix."""


@dataclass(frozen=True)
class Person:
    """One person of the roster: ``id`` as the calendar names them, and their channels."""

    id: str
    name: str | None = None
    email: str | None = None
    channels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Contacts:
    people: Mapping[str, Person]
    path: str = "<contacts>"

    def find(self, ref: str) -> Person | None:
        """A person by id, or by email (case-insensitive) as a calendar's ATTENDEE gives it."""
        if ref in self.people:
            return self.people[ref]
        low = ref.lower()
        for person in self.people.values():
            if person.email is not None and person.email.lower() == low:
                return person
        return None


def parse_contacts(raw: Any, path: str) -> Contacts:
    if not isinstance(raw, Mapping) or set(raw) != {"people"} or not isinstance(raw["people"], Mapping):
        raise RosterError(f'{path}: a contacts file holds one object, {{"people": {{"ID": {{...}}}}}}')
    people: dict[str, Person] = {}
    for pid, entry in raw["people"].items():
        where = f"{path}: people.{pid}"
        if not PERSON_ID.match(pid):
            raise RosterError(f"{where}: a person id is letters, digits and _ . @ + - (at most 200)")
        if not isinstance(entry, Mapping):
            raise RosterError(f"{where}: expected an object of channels")
        channels: dict[str, str] = {}
        for key, value in entry.items():
            if key not in (*CHANNELS, "name"):
                hint = did_you_mean(key, (*CHANNELS, "name")) or f"channels: {', '.join(CHANNELS)}"
                raise RosterError(f"{where}.{key}: unknown key ({hint})")
            if not isinstance(value, str) or not value.strip() or len(value) > 500:
                raise RosterError(f"{where}.{key}: expected a non-empty text of at most 500 characters")
            if key in CHANNELS:
                channels[key] = value.strip()
        name = entry.get("name")
        people[pid] = Person(
            pid,
            name.strip() if isinstance(name, str) else None,
            channels.get("email"),
            MappingProxyType(channels),
        )
    return Contacts(MappingProxyType(people), path)


def load_contacts(path: str | Path) -> Contacts:
    """Read a contacts file (``.toml`` as TOML, anything else as strict JSON)."""
    name = str(path)
    data = read_bytes(path, MAX_CONTACTS_BYTES)
    if name.endswith(".toml"):
        try:
            raw: Any = tomllib.loads(decode(data, name))
        except tomllib.TOMLDecodeError as exc:
            raise RosterError(f"{name}: not valid TOML: {exc}") from exc
    else:
        raw = loads(data, path=name)
    return parse_contacts(raw, name)
