"""``triage test``: pass/fail per protocol, failures with expected vs actual and the trace,
coverage with the places never covered, JSON and JUnit output."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.cli.test_cli import run

PROTOCOL = """protocol fever title "Fever" version "1" end
question temp: number ask "Temperature?" range 30 to 45 unknown allowed end
question rash: yes/no ask "Rash?" end
points temp_points from temp
  >= 39: 2
  >= 38: 1
  else: 0
end
disposition ed label "ED" tier urgent end
disposition today label "Today" tier same_day end
disposition home label "Home" tier home_care end
triage
  section ed if any of
    when rash
    when temp_points >= 2
  end
  section today if any of
    when temp_points >= 1
  end
  default home
end
"""

FULL = """baseline rash = no
scenario "rash" given rash = yes, temp = 37 expect ed expect not asked temp end
scenario "high fever" given temp = 39.5 expect ed expect tier urgent end
scenario "fever" given temp = 38 expect today end
scenario "no fever" given temp = 37 expect home end
scenario "unknown temperature is taken as urgent" given temp = unknown expect ed end
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "fever.triage").write_text(PROTOCOL)
    return tmp_path


def test_full_coverage_passes(folder: Path) -> None:
    (folder / "fever.scenarios").write_text(FULL)
    code, out, _ = run("test", str(folder), "--min-coverage", "100")
    assert code == 0
    assert "PASS fever" in out and "5/5 scenarios, coverage 100.0%" in out


def test_a_failure_shows_expected_actual_and_the_trace(folder: Path) -> None:
    (folder / "fever.scenarios").write_text(
        FULL.replace("given temp = 38 expect today", "given temp = 38 expect home")
    )
    code, out, _ = run("test", str(folder))
    assert code == 1 and "FAIL fever" in out
    assert "fever.scenarios:4:" in out and "expected disposition home, got disposition today" in out
    assert "trace of the actual result:" in out and "fever.triage:17" in out


def test_uncovered_goals_are_named_with_their_lines(folder: Path) -> None:
    (folder / "fever.scenarios").write_text(
        'scenario "only home" given rash = no, temp = 37 expect home end\n'
    )
    code, out, _ = run("test", str(folder), "--min-coverage", "90")
    assert code == 1 and "1 below 90% coverage" in out
    assert "fever.triage:14: criterion fires: rash" in out
    assert "fever.triage:5: points row: temp_points: row 1" in out
    assert "fever.triage:9: disposition: ED" in out


def test_a_criterion_counts_only_when_it_fired_and_was_seen_false(folder: Path) -> None:
    (folder / "fever.scenarios").write_text('scenario "rash" given rash = yes expect ed end\n')
    _, out, _ = run("test", str(folder), "--format", "json")
    data = json.loads(out)
    missed = {(g["location"], g["kind"]) for g in data["protocols"][0]["not_covered"]}
    assert ("fever.triage:14", "criterion false") in {(loc.split("/")[-1], k) for loc, k in missed}
    assert ("fever.triage:14", "criterion fires") not in {(loc.split("/")[-1], k) for loc, k in missed}


def test_protocol_without_scenarios_fails(folder: Path) -> None:
    code, out, _ = run("test", str(folder))
    assert code == 1 and "no scenarios: write" in out


def test_json_and_junit(folder: Path) -> None:
    (folder / "fever.scenarios").write_text(FULL.replace("expect today", "expect ed"))
    junit = folder / "report.xml"
    code, out, _ = run("test", str(folder), "--format", "json", "--junit", str(junit))
    data = json.loads(out)
    assert code == 1 and data["failed"] == 1 and data["scenarios"] == 5
    failing = [s for s in data["protocols"][0]["scenarios"] if not s["ok"]]
    assert failing[0]["name"] == "fever" and failing[0]["failures"][0]["expected"] == "disposition ed"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "5" and suite.get("failures") == "1"


def test_misspelled_expectation_is_a_failure_with_a_suggestion(folder: Path) -> None:
    (folder / "fever.scenarios").write_text('scenario "typo" given rash = yes expect edd end\n')
    code, out, _ = run("test", str(folder))
    assert code == 1 and "no such disposition in the protocol; did you mean 'ed'?" in out


def test_invalid_answers_fail_unless_expected(folder: Path) -> None:
    (folder / "fever.scenarios").write_text(
        'scenario "bad" given temp = 99 expect ed end\n'
        'scenario "refused" given temp = 99 expect status error end\n'
    )
    code, out, _ = run("test", str(folder), "-v")
    assert code == 1 and "1/2 scenarios" in out
    assert "expected valid answers, got error: question 'temp': 99 is outside the valid range 30 to 45" in out


def test_scenario_syntax_errors_are_reported_with_positions(folder: Path) -> None:
    (folder / "fever.scenarios").write_text('scenario "x" gven rash = yes expect ed end\n')
    code, out, _ = run("test", str(folder))
    assert code == 1 and "fever.scenarios:1:14: error[S022]: unknown word 'gven'" in out


FLOORS = Path(__file__).resolve().parents[1] / "data" / "floors"


def test_scenarios_using_floors_and_a_screen_cover_every_floor() -> None:
    code, out, _ = run("test", str(FLOORS), "--min-coverage", "100")
    assert code == 0, out
    assert "14/14 scenarios, coverage 100.0%" in out


def test_a_floor_never_raising_or_never_seen_false_is_named(tmp_path: Path) -> None:
    for path in FLOORS.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    scenarios = (tmp_path / "cough.scenarios").read_text(encoding="utf-8")
    kept = [chunk for chunk in scenarios.split("\nscenario ") if not chunk.startswith('"a worried caller')]
    (tmp_path / "cough.scenarios").write_text("\nscenario ".join(kept), encoding="utf-8")
    _, out, _ = run("test", str(tmp_path), "--format", "json")
    cough = next(p for p in json.loads(out)["protocols"] if p["protocol"] == "cough")
    missed = {(g["location"].split("/")[-1], g["kind"]) for g in cough["not_covered"]}
    assert missed == {
        ("shared.triage:38", "floor raises"),
        ("shared.triage:39", "criterion fires"),
        ("shared.triage:27", "disposition"),
    }


@pytest.mark.parametrize(
    ("scenario", "met"),
    [
        ('scenario "u" given temp = unknown expect ed end', True),
        ('scenario "u" given temp = unknown expect tier urgent end', True),
        ('scenario "u" given temp = unknown expect not asked rash end', False),  # no outcome asserted
        ('scenario "u" given rash = yes, temp = unknown expect ed end', False),  # temp never read
        ('scenario "u" given temp = 37 expect home end', False),
    ],
)
def test_an_unknown_answer_is_a_goal_met_by_a_scenario_asserting_an_outcome(
    folder: Path, scenario: str, met: bool
) -> None:
    (folder / "fever.scenarios").write_text("baseline rash = no\n" + scenario + "\n")
    _, out, _ = run("test", str(folder), "--format", "json")
    missed = [g for g in json.loads(out)["protocols"][0]["not_covered"] if g["kind"] == "unknown answer"]
    assert (missed == []) is met
    if not met:
        assert missed == [
            {"location": missed[0]["location"], "kind": "unknown answer", "text": "temp = unknown"}
        ]
        assert missed[0]["location"].endswith("fever.triage:2")


def test_full_coverage_needs_the_unknown_answer_and_junit_lists_what_is_missing(folder: Path) -> None:
    (folder / "fever.scenarios").write_text(
        FULL.replace(
            'scenario "unknown temperature is taken as urgent" given temp = unknown expect ed end', ""
        )
    )
    junit = folder / "report.xml"
    code, out, _ = run("test", str(folder), "--min-coverage", "100", "--junit", str(junit))
    assert code == 1 and "fever.triage:2: unknown answer: temp = unknown" in out
    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert properties["not covered"].endswith("fever.triage:2: unknown answer: temp = unknown")
