"""Coverage: every role an escalation plan names is held at every instant of a window,
and every holder can be reached on every channel a plan uses for that role.

The roles and channels come from the compiled protocols (their escalation plans, through
:func:`triage_dsl.graph.plan.escalation_roles`), the holders from the roster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from triage_dsl.roster.calendar import Ignored, Roster, Shift
from triage_dsl.roster.contacts import Contacts


@dataclass(frozen=True)
class Need:
    """A role some plan notifies: by which channels, in which plans and protocols."""

    role: str
    uses: tuple[tuple[str, str], ...]  # (plan, channel), sorted
    protocols: tuple[str, ...]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for _, c in self.uses))

    @property
    def plans(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p, _ in self.uses))

    def plans_using(self, channel: str | None) -> tuple[str, ...]:
        return self.plans if channel is None else tuple(p for p, c in self.uses if c == channel)


@dataclass(frozen=True)
class Gap:
    """``role`` has no holder from ``start`` to ``end`` (UTC, end excluded)."""

    role: str
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class ContactProblem:
    """A holder of ``role`` who cannot be reached on ``channel`` (or is not in the contacts)."""

    role: str
    person: str
    channel: str | None  # None: the person is not in the contacts file at all
    plans: tuple[str, ...]
    first_shift: datetime


@dataclass
class Coverage:
    start: datetime
    end: datetime
    needs: list[Need]
    gaps: list[Gap] = field(default_factory=list)
    contacts: list[ContactProblem] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    shifts: int = 0

    @property
    def ok(self) -> bool:
        return not self.gaps and not self.contacts


def needs_of(uses: Iterable[tuple[str, Mapping[str, list[tuple[str, str]]]]]) -> list[Need]:
    """Merge each protocol's roles (``protocol id -> {role: [(plan, channel)]}``)."""
    merged: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for protocol, roles in uses:
        for role, pairs in roles.items():
            found, protocols = merged.setdefault(role, (set(), set()))
            protocols.add(protocol)
            found.update(pairs)
    return [Need(role, tuple(sorted(p)), tuple(sorted(q))) for role, (p, q) in sorted(merged.items())]


def gaps(shifts: Iterable[Shift], start: datetime, end: datetime, role: str) -> list[Gap]:
    """The parts of ``[start, end)`` that no shift covers."""
    out: list[Gap] = []
    cursor = start
    for shift in sorted(shifts, key=lambda s: s.start):
        if shift.end <= cursor:
            continue
        if shift.start > cursor:
            out.append(Gap(role, cursor, min(shift.start, end)))
        cursor = max(cursor, shift.end)
        if cursor >= end:
            break
    if cursor < end:
        out.append(Gap(role, cursor, end))
    return [g for g in out if g.end > g.start]


def check(
    roster: Roster, needs: list[Need], start: datetime, end: datetime, contacts: Contacts | None
) -> Coverage:
    """Gaps and unreachable holders of every needed role in ``[start, end)``."""
    shifts, ignored = roster.events(start, end)
    report = Coverage(start, end, needs, ignored=ignored, shifts=len(shifts))
    for need in needs:
        mine = [s for s in shifts if s.role == need.role]
        report.gaps.extend(gaps(mine, start, end, need.role))
        if contacts is None:
            continue
        seen: set[tuple[str, str | None]] = set()
        for shift in sorted(mine, key=lambda s: s.start):
            person = contacts.find(shift.person)
            missing: list[str | None] = (
                [None] if person is None else [c for c in need.channels if c not in person.channels]
            )
            for channel in missing:
                key = (shift.person, channel)
                if key in seen:
                    continue
                seen.add(key)
                report.contacts.append(
                    ContactProblem(
                        need.role, shift.person, channel, need.plans_using(channel), max(shift.start, start)
                    )
                )
    return report


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def report_json(report: Coverage, roster: str, where: tzinfo | None) -> dict[str, Any]:
    """The report as ``roster check --format json`` (and the service) give it."""
    return {
        "roster": roster,
        "from": _iso(report.start),
        "to": _iso(report.end),
        "zone": str(where) if where else None,
        "ok": report.ok,
        "shifts": report.shifts,
        "roles": [
            {
                "role": n.role,
                "channels": list(n.channels),
                "plans": list(n.plans),
                "protocols": list(n.protocols),
            }
            for n in report.needs
        ],
        "gaps": [
            {"role": g.role, "from": _iso(g.start), "to": _iso(g.end), "minutes": g.minutes}
            for g in report.gaps
        ],
        "contacts": [
            {
                "role": c.role,
                "person": c.person,
                "channel": c.channel,
                "plans": list(c.plans),
                "first_shift": _iso(c.first_shift),
            }
            for c in report.contacts
        ],
        "ignored": [{"uid": i.uid, "summary": i.summary, "reason": i.reason} for i in report.ignored],
    }
