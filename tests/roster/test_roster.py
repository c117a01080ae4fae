"""Rosters from iCalendar files: exact instants across daylight-saving nights, backups,
coverage gaps and strict contacts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from triage_dsl.roster.calendar import parse_roster
from triage_dsl.roster.contacts import RosterError, load_contacts, parse_contacts
from triage_dsl.roster.coverage import Need, check
from triage_dsl.roster.resolve import chain, who
from triage_dsl.roster.times import TimeTextError, parse_instant, zone

NY = zone("America/New_York")


def calendar(*events: str, header: str = "") -> str:
    body = "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//roster//EN\n{header}{body}END:VCALENDAR\n"


def shift(uid: str, role: str, person: str, start: str, end: str, extra: str = "") -> str:
    return (
        f"UID:{uid}\nSUMMARY:{role}: {uid}\nX-TRIAGE-PERSON:{person}\n"
        f"DTSTART;TZID=America/New_York:{start}\nDTEND;TZID=America/New_York:{end}\n{extra}"
    )


# Evening 20:00-02:00 and late 02:00-08:00 every night: the change of shift falls inside
# the hour the clocks skip (March) and repeat (November) in New York.
NIGHTS = parse_roster(
    calendar(
        shift(
            "evening", "on_call_physician", "ames", "20260301T200000", "20260302T020000", "RRULE:FREQ=DAILY"
        ),
        shift("late", "on_call_physician", "bose", "20260302T020000", "20260302T080000", "RRULE:FREQ=DAILY"),
        shift("days", "on_call_physician", "cruz", "20260302T080000", "20260302T200000", "RRULE:FREQ=DAILY"),
    ),
    "nights.ics",
)


def at(text: str) -> datetime:
    return parse_instant(text, NY)


@pytest.mark.parametrize(
    ("when", "person"),
    [
        # spring forward, 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z)
        ("2026-03-08T01:59-05:00", "ames"),
        ("2026-03-08T02:30-05:00", "bose"),  # a call at 02:30 by the clock before the jump (07:30Z)
        ("2026-03-08T03:30-04:00", "bose"),  # the same instant, by the clock after it
        ("2026-03-08T07:59-04:00", "bose"),
        ("2026-03-08T08:00-04:00", "cruz"),  # 12:00Z: a shift computed in fixed EST would still be bose's
        ("2026-03-08T12:30Z", "cruz"),
        # fall back, 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00-02:00 happens twice
        ("2026-11-01T01:30-04:00", "ames"),  # first 01:30 (05:30Z)
        ("2026-11-01T01:30-05:00", "ames"),  # second 01:30 (06:30Z): the evening shift runs to 02:00 EST
        ("2026-11-01T02:30", "bose"),  # a wall time that happens once: 07:30Z
        ("2026-11-01T07:59", "bose"),
        ("2026-11-01T08:00", "cruz"),
    ],
)
def test_calls_on_daylight_saving_nights_reach_the_right_person(when: str, person: str) -> None:
    holder = who(NIGHTS, "on_call_physician", at(when))
    assert holder is not None and holder.person == person


def test_shift_lengths_follow_the_wall_clock_across_the_change() -> None:
    spring, _ = NIGHTS.events(at("2026-03-07T12:00"), at("2026-03-08T12:00"))
    autumn, _ = NIGHTS.events(at("2026-10-31T12:00"), at("2026-11-01T12:00"))
    evening = {s.start.date(): s.end - s.start for s in [*spring, *autumn] if s.uid == "evening"}
    # 20:00 to the 02:00 the clocks skip (read as 03:00 EDT, RFC 5545 3.3.5): 6 h; 20:00 EDT to 02:00 EST: 7 h
    assert evening[datetime(2026, 3, 8).date()] == timedelta(hours=6)
    assert evening[datetime(2026, 11, 1).date()] == timedelta(hours=7)
    late = {s.start.date(): s.end - s.start for s in [*spring, *autumn] if s.uid == "late"}
    assert late[datetime(2026, 3, 8).date()] == timedelta(hours=5)
    assert late[datetime(2026, 11, 1).date()] == timedelta(hours=6)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-03-08T02:30", "does not exist in America/New_York"),
        ("2026-11-01T01:30", "happens twice in America/New_York"),
        ("yesterday", "is not a date or time"),
    ],
)
def test_wall_times_that_name_no_single_instant_are_refused(text: str, problem: str) -> None:
    with pytest.raises(TimeTextError, match=problem):
        parse_instant(text, NY)


def test_a_wall_time_without_a_zone_is_refused() -> None:
    with pytest.raises(TimeTextError, match="no offset"):
        parse_instant("2026-11-01T09:00", None)


def test_backups_come_in_priority_order_and_a_cancelled_shift_holds_nothing() -> None:
    roster = parse_roster(
        calendar(
            shift(
                "second",
                "on_call_physician",
                "bose",
                "20260601T080000",
                "20260601T200000",
                "X-TRIAGE-PRIORITY:2",
            ),
            shift("first", "on_call_physician", "ames", "20260601T080000", "20260601T200000"),
            shift("third", "on_call_physician", "cruz", "20260601T080000", "20260601T200000", "PRIORITY:3"),
            shift(
                "off", "on_call_physician", "dale", "20260601T080000", "20260601T200000", "STATUS:CANCELLED"
            ),
        )
    )
    found = chain(roster, "on_call_physician", at("2026-06-01T12:00"))
    assert [(h.person, h.rank, h.priority) for h in found] == [("ames", 0, 1), ("bose", 1, 2), ("cruz", 2, 3)]
    assert who(roster, "on_call_physician", at("2026-06-01T20:00")) is None


WEEK = parse_roster(
    calendar(
        # Monday 08:00 to Sunday 20:00 every week: Sunday night is nobody's
        shift(
            "backup-week",
            "backup_physician",
            "okafor",
            "20261005T080000",
            "20261011T200000",
            "RRULE:FREQ=WEEKLY",
        ),
        "UID:party\nSUMMARY:Practice party\nDTSTART;TZID=America/New_York:20261106T180000\n"
        "DTEND;TZID=America/New_York:20261106T220000",
    )
)
NEED = Need("backup_physician", (("ed_now_page", "phone"), ("emergency_911", "secure_message")), ("p",))


def test_an_uncovered_sunday_night_is_reported_exactly() -> None:
    report = check(WEEK, [NEED], at("2026-11-01"), at("2026-11-15"), None)
    spans = [(g.role, g.start.isoformat(), g.end.isoformat(), g.minutes) for g in report.gaps]
    assert spans == [
        ("backup_physician", "2026-11-02T01:00:00+00:00", "2026-11-02T13:00:00+00:00", 720.0),
        ("backup_physician", "2026-11-09T01:00:00+00:00", "2026-11-09T13:00:00+00:00", 720.0),
    ]
    assert [i.uid for i in report.ignored] == ["party"] and not report.ok


def test_a_covered_window_has_no_gap_and_unreachable_holders_are_named() -> None:
    contacts = parse_contacts({"people": {"okafor": {"phone": "+1 555 0103"}}}, "c.json")
    report = check(WEEK, [NEED], at("2026-11-02T08:00"), at("2026-11-08T20:00"), contacts)
    assert report.gaps == []
    assert [(c.person, c.channel, c.plans) for c in report.contacts] == [
        ("okafor", "secure_message", ("emergency_911",))
    ]
    unknown = check(
        WEEK, [NEED], at("2026-11-02T08:00"), at("2026-11-03"), parse_contacts({"people": {}}, "c")
    )
    assert [(c.person, c.channel) for c in unknown.contacts] == [("okafor", None)]


def test_attendees_are_matched_to_contacts_by_email_and_floating_times_need_a_zone() -> None:
    text = calendar(
        "UID:n\nX-TRIAGE-ROLE:triage_nurse\nATTENDEE;CN=Sam Kim:mailto:Sam.Kim@example.org\n"
        "DTSTART:20260601T080000\nDTEND:20260601T200000"
    )
    contacts = parse_contacts({"people": {"kim": {"email": "sam.kim@example.org"}}}, "c.json")
    with pytest.raises(RosterError, match="time without a zone"):
        who(parse_roster(text, "r.ics"), "triage_nurse", at("2026-06-01T12:00"))
    holder = who(parse_roster(text, "r.ics", NY), "triage_nurse", at("2026-06-01T12:00"), contacts)
    assert holder is not None and holder.person == "kim"
    declared = parse_roster(text.replace("VERSION:2.0\n", "VERSION:2.0\nX-WR-TIMEZONE:America/New_York\n"))
    assert who(declared, "triage_nurse", datetime(2026, 6, 1, 12, tzinfo=UTC)) is not None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('{"people": {"lee": {"secure_mesage": "x"}}}', "did you mean 'secure_message'"),
        ('{"people": {"lee": {"phone": ""}}}', "non-empty text"),
        ('{"people": {"lee": {"phone": "1", "phone": "2"}}}', "given twice"),
        ('{"staff": {}}', "holds one object"),
        ('{"people": {"a b": {}}}', "person id"),
    ],
)
def test_contacts_are_read_strictly(tmp_path: Path, raw: str, problem: str) -> None:
    path = tmp_path / "contacts.json"
    path.write_text(raw)
    with pytest.raises(Exception, match=problem):
        load_contacts(path)


def test_contacts_may_be_toml(tmp_path: Path) -> None:
    path = tmp_path / "contacts.toml"
    path.write_text('[people.lee]\nname = "Dr Ana Lee"\nsecure_page = "4401"\n')
    person = load_contacts(path).find("lee")
    assert person is not None and dict(person.channels) == {"secure_page": "4401"}


def test_not_a_calendar_is_refused() -> None:
    with pytest.raises(RosterError, match="not an iCalendar file"):
        parse_roster("hello", "x.ics")


def test_example_files_parse(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "docs" / "examples"
    contacts = load_contacts(root / "contacts.json")
    assert json.loads((root / "contacts.json").read_text())["people"].keys() == contacts.people.keys()
