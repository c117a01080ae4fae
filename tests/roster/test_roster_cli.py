"""``triage roster check`` and ``triage roster who`` on the example roster."""

from __future__ import annotations

import io
import json
from pathlib import Path

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
