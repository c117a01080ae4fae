"""A roster and its contacts together: the resolver an escalation run asks who to reach.

``Directory.resolve(role, channel, at)`` gives a :class:`StepResolution` for the record:
the role's holder at ``at`` when they have an address on ``channel``, else the first
backup (by roster priority) who has one, else nobody (the explanation says which).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from triage_dsl.model.result import StepResolution
from triage_dsl.roster.calendar import Roster
from triage_dsl.roster.contacts import Contacts
from triage_dsl.roster.resolve import chain


@dataclass(frozen=True)
class Directory:
    roster: Roster
    contacts: Contacts
    roster_sha256: str | None = None

    @classmethod
    def load(cls, roster_path: str, contacts_path: str, default_zone: str | None = None) -> Directory:
        from triage_dsl.io import read_bytes
        from triage_dsl.roster.calendar import MAX_ROSTER_BYTES, load_roster
        from triage_dsl.roster.contacts import load_contacts

        digest = hashlib.sha256(read_bytes(roster_path, MAX_ROSTER_BYTES)).hexdigest()
        return cls(load_roster(roster_path, default_zone), load_contacts(contacts_path), digest)

    def resolve(self, role: str, channel: str, at: datetime) -> StepResolution:
        when = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        holders = chain(self.roster, role, at, self.contacts)
        base = {"role": role, "channel": channel, "roster_sha256": self.roster_sha256}
        if not holders:
            return StepResolution(
                **base,
                person=None,
                explanation=f"nobody holds {role} at {when} in the roster: the notification reaches nobody",
            )
        skipped: list[str] = []
        for holder in holders:
            address = holder.contact.channels.get(channel) if holder.contact else None
            if address is None:
                skipped.append(holder.person)
                continue
            who = "the holder" if holder.rank == 0 else f"backup {holder.rank} (priority {holder.priority})"
            why = f"; skipped {', '.join(skipped)}: no {channel} contact" if skipped else ""
            return StepResolution(
                **base,
                person=holder.person,
                rank=holder.rank,
                contact=address,
                shift=holder.shift.uid,
                explanation=f"{holder.person} is {who} of {role} at {when} (shift {holder.shift.uid}){why}",
            )
        return StepResolution(
            **base,
            person=holders[0].person,
            shift=holders[0].shift.uid,
            explanation=f"nobody holding {role} at {when} ({', '.join(skipped)}) has a {channel} contact: "
            "the notification reaches nobody",
        )
