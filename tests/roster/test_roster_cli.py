"""``triage roster check`` and ``triage roster who`` on the example roster."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from triage_dsl.cli import main

ROOT = Path(__file__).resolve().parents[2]
ICS = str(ROOT / "docs/examples/roster.ics")
CONTACTS = str(ROOT / "docs/examples/contacts.json")
PROTOCOLS = str(ROOT / "protocols/telephone")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_check_reports_the_sunday_night_gap_and_the_missing_channel() -> None:
    code, out, _ = run(
        "roster", "check", ICS, "--contacts", CONTACTS, "--protocols", PROTOCOLS,
        "--from", "2026-11-01", "--to", "2026-11-08", "--format", "json",
    )  # fmt: skip
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert report["gaps"] == [
        {
            "role": "backup_physician",
            "from": "2026-11-02T01:00:00Z",
            "to": "2026-11-02T13:00:00Z",
            "minutes": 720.0,
        }
    ]
    assert [(c["person"], c["channel"]) for c in report["contacts"]] == [("okafor", "secure_message")]
    assert {r["role"] for r in report["roles"]} == {
        "on_call_physician", "backup_physician", "triage_nurse", "office_staff",
    }  # fmt: skip


def test_check_text_names_the_gap_in_local_time() -> None:
    code, out, _ = run(
        "roster", "check", ICS, "--contacts", CONTACTS, "--protocols", PROTOCOLS,
        "--from", "2026-11-02T09:00", "--to", "2026-11-03T09:00",
    )  # fmt: skip
    assert code == 1
    assert "contact: okafor, holding backup_physician" in out and "gap:" not in out


def test_who_at_half_past_two_on_the_spring_forward_night() -> None:
    code, out, _ = run(
        "roster", "who", "on_call_physician", "--roster", ICS, "--contacts", CONTACTS,
        "--at", "2026-03-08T02:30-05:00", "--format", "json",
    )  # fmt: skip
    body = json.loads(out)
    assert code == 0 and body["at"] == "2026-03-08T07:30:00Z"
    assert [(h["person"], h["rank"]) for h in body["chain"]] == [("patel", 0), ("lee", 1)]


def test_who_refuses_a_skipped_wall_time_and_says_so() -> None:
    code, _, err = run("roster", "who", "on_call_physician", "--roster", ICS, "--at", "2026-03-08T02:30")
    assert code == 2 and "does not exist in America/New_York" in err


def test_who_exits_1_when_nobody_holds_the_role() -> None:
    code, out, _ = run("roster", "who", "backup_physician", "--roster", ICS, "--at", "2026-11-01T23:00")
    assert code == 1 and "nobody holds backup_physician" in out


def test_the_book_lists_the_roles_a_protocol_notifies(tmp_path: Path) -> None:
    from triage_dsl.compiler import compile_file
    from triage_dsl.render.book import _roles_table

    table = _roles_table(compile_file(ROOT / "protocols/telephone/chest_pain_adult.triage"))
    assert table is not None
    assert "<code>backup_physician</code><td>Backup physician" in table.replace("</td>", "")
    assert "ed_now_page (by secure_page)" in table and "not declared" not in table


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("RRULE:FREQ=SECONDLY", "RRULE FREQ=SECONDLY: a shift repeats at most hourly"),
        ("RRULE:FREQ=MINUTELY;COUNT=100000", "RRULE FREQ=MINUTELY"),
        ("RRULE:FREQ=DAILY;INTERVAL=0", "RRULE INTERVAL=0: must be a whole number of 1 or more"),
        ("RRULE:FREQ=WEEKLY;BYDAY=XX", "cannot be"),
    ],
)
def test_a_rule_no_rota_needs_is_refused_at_once_not_expanded_for_minutes(
    tmp_path: Path, rule: str, message: str
) -> None:
    """Before, a SECONDLY rule took 45 s to check over a week and INTERVAL=0 over 4 minutes."""
    text = Path(ICS).read_text(encoding="utf-8").replace("RRULE:FREQ=DAILY", rule, 1)
    roster = tmp_path / "roster.ics"
    roster.write_text(text, encoding="utf-8")
    code, out, err = run(
        "roster", "check", str(roster), "--contacts", CONTACTS, "--protocols", PROTOCOLS,
        "--from", "2026-11-01", "--to", "2026-11-08",
    )  # fmt: skip
    assert code == 2 and out == "" and message in err and "oncall-days@example.org" in err
