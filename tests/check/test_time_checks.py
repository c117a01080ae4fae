"""Checker cases of ages and durations: the chunked golden file, then the messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.test_checks import _cases, marked
from triage_dsl import check


@pytest.mark.parametrize(("name", "text"), _cases("time.triage"), ids=lambda x: x if "\n" not in x else "")
def test_time_checks_report_exactly_the_marked_diagnostics(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    found = sorted((d.span.line, d.code) for d in check(path))
    assert found == marked(text)


HEAD = 'protocol t title "t" version "1" end\n'
AGE = 'question patient_age: age ask "Age?" range 0 days to 120 years end\n'
NUM = 'question temp_c: number ask "T?" range 30 to 45 end\n'
TAIL = 'disposition red label "R" tier urgent end\ndisposition home label "H" tier home_care end\n'


def _triage(criterion: str) -> str:
    return HEAD + AGE + NUM + TAIL + f"triage section red if any of when {criterion} end default home end\n"


@pytest.mark.parametrize(
    ("criterion", "message", "hint"),
    [
        (
            "patient_age < 3",
            "'<' compares a time with the bare number 3",
            "give the number its unit, as in '3 months' or '3 days'",
        ),
        (
            "temp_c > 3 days",
            "'>' compares the number 'temp_c' with a time",
            "compare a number with a number: write '3', or make 'temp_c' an age or duration",
        ),
        ("patient_age < 3 fortnights", "'fortnights' is not a unit of time here", None),
        (
            "patient_age > 200 years",
            "200 years is outside the range of 'patient_age' (0 days to 120 years), "
            "so no answer can reach it",
            "fix the number, or widen the question's range",
        ),
        (
            "patient_age * 2 > 3 years",
            "'*' multiplies numbers, not times",
            "compare times directly, as in 'pain_started <= 12 hours'",
        ),
    ],
)
def test_time_messages(criterion: str, message: str, hint: str | None, tmp_path: Path) -> None:
    path = tmp_path / "t.triage"
    path.write_text(_triage(criterion), encoding="utf-8")
    errors = [d for d in check(path) if d.severity == "error"]
    assert [d.message for d in errors] == [message]
    if hint is not None:
        assert errors[0].hint == hint


def test_population_without_patient_age_question_is_a_warning(tmp_path: Path) -> None:
    text = (
        'protocol t title "t" version "1" population adult aged 18 to 120 years end\n'
        + NUM
        + TAIL
        + "triage section red if any of when temp_c > 38 end default home end\n"
    )
    path = tmp_path / "t.triage"
    path.write_text(text, encoding="utf-8")
    (warning,) = [d for d in check(path) if d.code == "W090"]
    assert warning.severity == "warning"
    assert warning.message == (
        "the population's age limits (aged 18 to 120 years) cannot be enforced: "
        "no question in scope is marked 'patient age'"
    )


def test_an_age_range_narrower_than_patients_is_judged_in_years(tmp_path: Path) -> None:
    path = tmp_path / "t.triage"
    path.write_text(
        HEAD.replace("end\n", "population pediatric aged 0 days to 16 years end\n")
        + 'question a: age ask "Age?" range 28 days to 16 years patient age end\n'
        + TAIL
        + "triage section red if any of when a > 2 years end default home end\n",
        encoding="utf-8",
    )
    (warning,) = [d for d in check(path) if d.code == "W011"]
    assert warning.message == (
        "range 28 days to 16 years of 'a' refuses 0 days-28 days, which occurs in children; "
        "those callers get an error instead of a disposition"
    )
