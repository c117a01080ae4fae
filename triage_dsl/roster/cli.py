"""``triage roster check`` and ``triage roster who``: the roster commands.

The main CLI adds these with :func:`add_parsers`; each handler reads its files, calls the
roster API and prints (text, or JSON with ``--format json``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the roster modules (and the errors') load only when a roster command runs
    from datetime import datetime, tzinfo

    from triage_dsl.errors import TriageError
    from triage_dsl.roster.calendar import Roster
    from triage_dsl.roster.contacts import Contacts
    from triage_dsl.roster.coverage import Coverage

OK, NO, USAGE = 0, 1, 2


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "roster",
        help="check an on-call roster (iCalendar) against the escalation plans; who holds a role",
        description="Rosters are iCalendar files whose events say who holds which role when "
        "(docs/escalation.md).",
    )
    inner = p.add_subparsers(dest="roster_command", metavar="ROSTER_COMMAND", parser_class=type(p))
    c = inner.add_parser(
        "check",
        help="every role the plans notify is held at every minute; every holder reachable",
        description="Exit 1 on any gap (role, from, to) or any holder without a contact for a "
        "channel a plan uses; 2 on unreadable input.",
    )
    c.add_argument("roster", metavar="ROSTER.ics")
    c.add_argument("--contacts", metavar="FILE", help="JSON or TOML: each person's channels")
    c.add_argument("--protocols", metavar="DIR", action="append", required=True, help="repeat for more")
    c.add_argument("--from", dest="start", metavar="DATE", required=True, help="2026-11-01, or a time")
    c.add_argument(
        "--to", dest="end", metavar="DATE", required=True, help="excluded: 2026-11-08 ends at its midnight"
    )
    c.add_argument("--tz", metavar="ZONE", help="zone of dates and wall times (default: the calendar's)")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.set_defaults(handler=_check)
    w = inner.add_parser(
        "who",
        help="who holds a role at a time, and the backups",
        description="Exit 1 when nobody holds the role then.",
    )
    w.add_argument("role")
    w.add_argument("--roster", metavar="ROSTER.ics", required=True)
    w.add_argument(
        "--at", metavar="TIME", required=True, help="2026-03-08T02:30-05:00, or a wall time with --tz"
    )
    w.add_argument("--contacts", metavar="FILE")
    w.add_argument("--tz", metavar="ZONE")
    w.add_argument("--format", choices=("text", "json"), default="text")
    w.set_defaults(handler=_who)
    p.set_defaults(handler=_missing(p))


def _missing(p: argparse.ArgumentParser) -> Any:
    def handler(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
        p.print_help(err)
        return USAGE

    return handler


def _open(path: str, contacts: str | None, tz: str | None) -> tuple[Roster, Contacts | None, tzinfo | None]:
    from triage_dsl.roster.calendar import load_roster
    from triage_dsl.roster.contacts import load_contacts
    from triage_dsl.roster.times import zone

    roster = load_roster(path, zone(tz) if tz else None)
    where = zone(tz) if tz else roster.zone
    return roster, load_contacts(contacts) if contacts else None, where


def _iso(instant: datetime) -> str:
    from datetime import UTC

    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _fail(err: TextIO, exc: TriageError) -> int:
    print(f"triage: {exc}", file=err)
    return USAGE


def _check(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.errors import TriageError
    from triage_dsl.roster.times import parse_instant

    try:
        roster, contacts, where = _open(args.roster, args.contacts, args.tz)
        start, end = parse_instant(args.start, where), parse_instant(args.end, where)
    except TriageError as exc:
        return _fail(err, exc)
    from triage_dsl.compiler import compile_file
    from triage_dsl.graph.plan import escalation_roles
    from triage_dsl.roster.coverage import check, needs_of, report_json
    from triage_dsl.testing.runner import discover

    if end <= start:
        print("triage: --to must come after --from", file=err)
        return USAGE
    uses = []
    for path in discover(args.protocols):
        protocol = compile_file(path)
        uses.append((protocol.id, escalation_roles(protocol.plan)))
    try:
        report = check(roster, needs_of(uses), start, end, contacts)
    except TriageError as exc:
        return _fail(err, exc)
    if args.format == "json":
        import json

        print(json.dumps(report_json(report, roster.path, where), indent=2), file=out)
    else:
        _text(report, roster, where, contacts is not None, out)
    return OK if report.ok else NO


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _text(report: Coverage, roster: Roster, where: tzinfo | None, with_contacts: bool, out: TextIO) -> None:
    from triage_dsl.roster.times import show

    print(
        f"roster {roster.path}: {report.shifts} shift(s) "
        f"from {show(report.start, where)} to {show(report.end, where)}",
        file=out,
    )
    for need in report.needs:
        print(f"  role {need.role}: by {', '.join(need.channels)} (plans {', '.join(need.plans)})", file=out)
    for g in report.gaps:
        print(
            f"gap: {g.role} is not held from {show(g.start, where)} to {show(g.end, where)} "
            f"({_duration(g.minutes)})",
            file=out,
        )
    for c in report.contacts:
        what = "is not in the contacts file" if c.channel is None else f"has no {c.channel} contact"
        print(
            f"contact: {c.person}, holding {c.role} from {show(c.first_shift, where)}, {what} "
            f"(used by {', '.join(c.plans)})",
            file=out,
        )
    for i in report.ignored:
        print(f"note: event {i.uid} ({i.summary!r}) is not a shift: it {i.reason}", file=out)
    if not with_contacts:
        print("note: no --contacts given: reachability not checked", file=out)
    verdict = "covered" if report.ok else "NOT covered"
    print(f"{verdict}: {len(report.gaps)} gap(s), {len(report.contacts)} contact problem(s)", file=out)


def _who(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.errors import TriageError
    from triage_dsl.roster.resolve import chain
    from triage_dsl.roster.times import parse_instant, show

    try:
        roster, contacts, where = _open(args.roster, args.contacts, args.tz)
        at = parse_instant(args.at, where)
        holders = chain(roster, args.role, at, contacts)
    except TriageError as exc:
        return _fail(err, exc)
    if args.format == "json":
        body = {
            "role": args.role,
            "at": _iso(at),
            "chain": [
                {
                    "rank": h.rank,
                    "person": h.person,
                    "name": h.contact.name if h.contact else None,
                    "priority": h.priority,
                    "shift": {"uid": h.shift.uid, "from": _iso(h.shift.start), "to": _iso(h.shift.end)},
                    "channels": dict(h.contact.channels) if h.contact else None,
                }
                for h in holders
            ],
        }
        import json

        print(json.dumps(body, indent=2), file=out)
    elif not holders:
        print(f"nobody holds {args.role} at {show(at, where)}", file=out)
    else:
        print(f"{args.role} at {show(at, where)}:", file=out)
        for h in holders:
            name = f" ({h.contact.name})" if h.contact and h.contact.name else ""
            kind = "holder" if h.rank == 0 else f"backup {h.rank}"
            print(
                f"  {kind}: {h.person}{name}, priority {h.priority}, shift {h.shift.uid} "
                f"until {show(h.shift.end, where)}",
                file=out,
            )
    return OK if holders else NO
