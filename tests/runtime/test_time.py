"""Ages and durations at run time: answer forms, refusals, exact boundaries, the
population check, scenarios and the terminal interview."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_dsl import Session, compile_text, evaluate, load
from triage_dsl.cli import main
from triage_dsl.errors import AnswerError
from triage_dsl.units import FACTORS, to_minutes

DATA = Path(__file__).resolve().parents[1] / "data" / "time"
INFANT = load(DATA / "fever_infant.triage")
ADULT = load(DATA / "adult_demo.triage")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def result(answers: dict[str, Any], protocol: Any = INFANT, now: datetime | None = None) -> Any:
    return evaluate(protocol, answers, now=now)


@pytest.mark.parametrize(
    ("answer", "minutes", "given"),
    [
        ("11 weeks", 77 * 1440, "11 weeks"),
        ("11 week", 77 * 1440, "11 week"),
        ("1 week", 7 * 1440, "1 week"),
        (" 11   weeks ", 77 * 1440, "11 weeks"),
        ("3 months", 3 * 30.4375 * 1440, "3 months"),
        ("1 year", 365.25 * 1440, "1 year"),
        ("2 days", 2 * 1440, "2 days"),
        ("90 minutes", 90, "90 minutes"),
        ("1.5 hours", 90, "1.5 hours"),
        ("0 days", 0, "0 days"),
        ("18 years", 18 * 365.25 * 1440, "18 years"),
        ({"value": 11, "unit": "weeks"}, 77 * 1440, "11 weeks"),
        ({"value": 1.5, "unit": "hour"}, 90, "1.5 hour"),
        ({"born": "2026-09-01"}, 90 * 1440, "born 2026-09-01"),
        ("born 2026-09-01", 90 * 1440, "born 2026-09-01"),
        ({"born": "2026-11-30"}, 0, "born 2026-11-30"),
    ],
)
def test_accepted_age_forms(answer: Any, minutes: float, given: str) -> None:
    r = result({"patient_age": answer, "temp_c": 37, "pain_started": "3 days"}, now=NOW)
    assert r.status == "complete", r.error
    assert r.answers["patient_age"] == given
    (step,) = [e for e in r.trace if e.kind == "answer" and e.node == "question:patient_age"]
    assert step.value == minutes and step.reads == {"patient_age": given}


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        (
            3,
            "wrong_type",
            "question 'patient_age': expected an age with its unit, got 3; answer as \"11 weeks\", "
            '{"value": 11, "unit": "weeks"}, {"born": "YYYY-MM-DD"} '
            "(units: minutes, hours, days, weeks, months or years)",
        ),
        (True, "wrong_type", "question 'patient_age': expected an age with its unit, got true; answer as"),
        (
            "3",
            "wrong_type",
            "question 'patient_age': '3' is not a number followed by a unit of time; answer as",
        ),
        (
            "3 fortnights",
            "wrong_type",
            "question 'patient_age': 'fortnights' is not a unit of time; answer as",
        ),
        (
            {"value": 3, "unit": "moons"},
            "wrong_type",
            "question 'patient_age': 'moons' is not a unit of time",
        ),
        ({"value": "3", "unit": "days"}, "wrong_type", "question 'patient_age': 'value' must be a number"),
        ({"value": float("nan"), "unit": "days"}, "not_finite", "question 'patient_age': expected a finite"),
        ({"value": float("inf"), "unit": "days"}, "not_finite", "question 'patient_age': expected a finite"),
        ("-3 days", "out_of_range", "question 'patient_age': -3 days is negative; an age cannot be"),
        (
            "19 years",
            "out_of_range",
            "question 'patient_age': 19 years is outside the valid range 0 days to 18 years",
        ),
        (
            {"value": 1e308, "unit": "years"},
            "out_of_range",
            "question 'patient_age': 1e+308 years is outside the valid range",
        ),
        ("unknown", "unknown_not_allowed", "question 'patient_age': 'unknown' is not an allowed answer"),
        ({"born": "2026-09-01"}, "no_clock", "question 'patient_age': a date of birth (2026-09-01) needs"),
        ({"born": "2026-02-30"}, "wrong_type", "question 'patient_age': date of birth '2026-02-30' is not"),
    ],
)
def test_refused_age_answers(answer: Any, code: str, message: str) -> None:
    r = result({"patient_age": answer})
    assert r.status == "error" and r.disposition is None
    (problem,) = r.errors
    assert problem.code == code and problem.message.startswith(message)


def test_a_date_of_birth_after_today_is_refused() -> None:
    r = result({"patient_age": {"born": "2026-12-01"}}, now=NOW)
    assert (
        r.errors[0].message == "question 'patient_age': date of birth 2026-12-01 is after today (2026-11-30)"
    )


def test_a_date_of_birth_answers_no_duration() -> None:
    r = result({"pain_started": {"born": "2026-11-01"}}, now=NOW)
    assert r.errors[0].code == "wrong_type"


@pytest.mark.parametrize(
    ("age", "disposition"),
    [
        ("11 weeks", "red"),  # the hazard: 11 weeks is under 3 months
        ("12 weeks", "red"),
        ("13 weeks", "red"),  # 91 days < 91.3125 days
        ("14 weeks", "home"),
        ("3 months", "home"),  # < 3 months is strict
        ("91.3125 days", "home"),  # the same time, other words
        ("91.3 days", "red"),
        ("2 months", "red"),
    ],
)
def test_infant_fever_boundary(age: str, disposition: str) -> None:
    r = result({"patient_age": age, "temp_c": 38.2, "pain_started": "2 days"})
    assert r.disposition is not None and r.disposition.id == disposition


@pytest.mark.parametrize(
    "since", ["90 minutes", "1.5 hours", {"value": 90, "unit": "minutes"}, "0.0625 days"]
)
def test_within_is_inclusive_and_units_agree(since: Any) -> None:
    r = result({"patient_age": "2 years", "temp_c": 37, "pain_started": since})
    assert r.disposition is not None and r.disposition.id == "soon"


def test_one_minute_past_within_is_outside() -> None:
    r = result({"patient_age": "2 years", "temp_c": 37, "pain_started": "91 minutes"})
    assert r.disposition is not None and r.disposition.id == "home"


def test_points_rows_with_units_and_the_trace_shows_the_converted_value() -> None:
    r = result({"patient_age": "11 weeks", "temp_c": 37, "pain_started": "2 days"})
    assert r.scores == {"infant_score": 2}
    (answer,) = [e for e in r.trace if e.node == "question:patient_age"]
    assert answer.detail == "answered 11 weeks (77 days)"
    p = compile_text(
        'protocol p title "p" version "1" end\n'
        'question a: age ask "Age?" range 0 days to 120 years end\n'
        "points a_points from a\n  < 3 months: 2\n  >= 65 years: 1\n  else: 0\nend\n"
        'disposition yes label "Y" tier urgent end\ndisposition no label "N" tier home_care end\n'
        "triage section yes if any of when a_points > 0 end default no end\n"
    )
    r = evaluate(p, {"a": "11 weeks"})
    (points,) = [e for e in r.trace if e.kind == "points"]
    assert points.detail == "11 weeks falls in row '< 3 months': 2 points"
    r = evaluate(p, {"a": "70 years"})
    (points,) = [e for e in r.trace if e.kind == "points"]
    assert points.detail == "70 years falls in row '>= 65 years': 1 points"


def test_units_are_exact() -> None:
    assert to_minutes("1.5", "hours") == to_minutes("90", "minutes") == 90.0
    assert to_minutes("3", "months") == to_minutes("91.3125", "days")
    assert to_minutes("0.1", "hours") == 6.0  # not 6.000000000000001


UNIT_NAMES = sorted(FACTORS)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(min_value=0, max_value=5000, places=3, allow_nan=False),
    unit=st.sampled_from(UNIT_NAMES),
    bound_amount=st.decimals(min_value=0, max_value=50, places=2, allow_nan=False),
    bound_unit=st.sampled_from(UNIT_NAMES),
    op=st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
)
def test_comparison_equals_exact_fraction_comparison(
    amount: Any, unit: str, bound_amount: Any, bound_unit: str, op: str
) -> None:
    """For any answer and constant with units, the interpreter agrees with Fractions."""
    p = _compare_protocol(op, f"{bound_amount} {bound_unit}")
    answer = Fraction(str(amount)) * FACTORS[unit]
    bound = Fraction(str(bound_amount)) * FACTORS[bound_unit]
    r = evaluate(p, {"since": f"{amount} {unit}"})
    if answer > 1000 * FACTORS["years"]:
        assert r.status == "error"
        return
    expected = {
        "<": answer < bound,
        "<=": answer <= bound,
        ">": answer > bound,
        ">=": answer >= bound,
        "=": answer == bound,
        "!=": answer != bound,
    }[op]
    assert r.disposition is not None and (r.disposition.id == "yes") == expected


_PROTOCOLS: dict[tuple[str, str], Any] = {}


def _compare_protocol(op: str, constant: str) -> Any:
    key = (op, constant)
    if key not in _PROTOCOLS:
        _PROTOCOLS[key] = compile_text(
            'protocol p title "p" version "1" end\n'
            'question since: duration ask "Since?" range 0 minutes to 1000 years end\n'
            'disposition yes label "Y" tier urgent end\ndisposition no label "N" tier home_care end\n'
            f"triage section yes if any of when since {op} {constant} end default no end\n"
        )
    return _PROTOCOLS[key]


# ----------------------------------------------------------------- population


@pytest.mark.parametrize(
    ("age", "status"),
    [
        ("17 years", "error"),
        ("17.99 years", "error"),
        ("18 years", "complete"),  # both limits inclusive
        ("120 years", "complete"),
        ("6574.5 days", "complete"),  # 18 years in days
        ("6574 days", "error"),
    ],
)
def test_population_limits_are_inclusive(age: str, status: str) -> None:
    r = result({"patient_age": age, "chest_pain": False}, ADULT)
    assert r.status == status


def test_age_outside_the_population_ends_the_evaluation() -> None:
    r = result({"patient_age": "15 years", "chest_pain": True}, ADULT)
    message = (
        "patient_age = 15 years is outside this protocol's population: adult aged 18 to 120 years; "
        "use a protocol for this age group"
    )
    assert (r.status, r.disposition, r.error) == ("error", None, message)
    assert [(p.code, p.question) for p in r.errors] == [("outside_population", "patient_age")]
    assert [e.kind for e in r.trace] == ["answer", "population"]
    assert r.trace[-1].detail == message and r.answers == {"patient_age": "15 years"}


def test_an_unanswered_age_is_asked_first() -> None:
    r = result({}, ADULT)
    assert r.missing == ["patient_age", "chest_pain"] and r.next_question is not None
    assert r.next_question.id == "patient_age" and r.next_question.range_text == "0 days to 120 years"


def test_an_answered_age_inside_the_population_is_recorded() -> None:
    r = result({"patient_age": "40 years", "chest_pain": True}, ADULT)
    assert r.answers == {"chest_pain": True, "patient_age": "40 years"}
    (step,) = [e for e in r.trace if e.kind == "population"]
    assert (
        step.detail
        == "patient_age = 40 years is within this protocol's population: adult aged 18 to 120 years"
    )


def test_a_date_of_birth_is_checked_as_the_age_it_gives() -> None:
    # The trace and the message show the date as given and the age it stands for.
    inside = result({"patient_age": {"born": "1986-11-30"}, "chest_pain": True}, ADULT, now=NOW)
    (step,) = [e for e in inside.trace if e.kind == "population"]
    assert step.detail == (
        "patient_age = born 1986-11-30 (40 years) is within this protocol's population: "
        "adult aged 18 to 120 years"
    )
    outside = result({"patient_age": {"born": "2016-11-30"}, "chest_pain": True}, ADULT, now=NOW)
    assert outside.error is not None
    assert outside.error.startswith("patient_age = born 2016-11-30 (10 years) is outside")


def test_population_of_an_infant_protocol_uses_both_units() -> None:
    r = result({"patient_age": "0 days", "temp_c": 38.5}, INFANT)
    assert r.disposition is not None and r.disposition.id == "red"


# ----------------------------------------------------------------- session, scenarios, CLI


def test_session_reads_a_date_of_birth_with_its_clock() -> None:
    s = Session(INFANT, now=NOW)
    s.answer("patient_age", {"born": "2026-09-07"})
    assert s.status == "needs_answers"  # 84 days
    assert s.answer("temp_c", 38.4) is None
    assert s.result().disposition.id == "red"  # type: ignore[union-attr]
    with pytest.raises(AnswerError, match="needs the time of the evaluation"):
        Session(INFANT).answer("patient_age", {"born": "2026-09-07"})


def test_scenarios_answer_with_units(tmp_path: Path) -> None:
    protocol = tmp_path / "fever_infant.triage"
    protocol.write_text((DATA / "fever_infant.triage").read_text(encoding="utf-8"), encoding="utf-8")
    scenarios = [
        "baseline temp_c = 37, pain_started = 2 days",
        'scenario "11 weeks with fever is red"',
        "  given patient_age = 11 weeks, temp_c = 38.2",
        "  expect red",
        "end",
        'scenario "3 months is not under 3 months"',
        "  given patient_age = 3 months, temp_c = 38.2",
        "  expect home",
        "end",
        'scenario "one week, singular"',
        "  given patient_age = 1 week",
        "  expect score infant_score = 2",
        "end",
        'scenario "90 minutes is within 1.5 hours"',
        "  given patient_age = 2 years, pain_started = 90 minutes",
        "  expect soon",
        "end",
        'scenario "a bare number is refused"',
        "  given patient_age = 3",
        "  expect status error",
        "end",
    ]
    (tmp_path / "fever_infant.scenarios").write_text("\n".join(scenarios) + "\n", encoding="utf-8")
    out = io.StringIO()
    code = main(["test", str(protocol)], stdout=out, stderr=io.StringIO())
    assert code == 0, out.getvalue()
    assert "5/5 scenarios" in out.getvalue()


CALL = DATA / "caller.json"


def _run(stdin: str, *extra: str, protocol: Path = DATA / "fever_infant.triage") -> tuple[int, str]:
    """The interview with the caller block given (--call), then: nothing else said, and
    the caller agrees with the advice."""
    out = io.StringIO()
    argv = ["run", str(protocol), "--call", str(CALL), *extra]
    code = main(argv, stdin=io.StringIO(stdin + "\nyes\n"), stdout=out, stderr=io.StringIO())
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("typed", "then", "outcome"),
    [
        ("11 weeks", "38.2", "Urgent assessment"),
        ("11 week", "38.2", "Urgent assessment"),
        ("2 days", "38.2", "Urgent assessment"),
        ("90 minutes", "38.2", "Urgent assessment"),
        ("3 months", "3 days", "Care at home"),  # no temperature needed at 3 months
    ],
)
def test_run_accepts_ages_with_units(typed: str, then: str, outcome: str) -> None:
    code, out = _run(f"{typed}\n{then}\n")
    assert code == 0 and "Invalid answer" not in out and outcome in out


def test_run_reads_a_date_of_birth_with_at() -> None:
    code, out = _run("2026-09-07\n38.4\n", "--at", "2026-11-30T10:00:00Z")
    assert code == 0 and "Urgent assessment" in out


def test_run_tells_the_accepted_forms_on_invalid_input() -> None:
    code, out = _run("3\nthree weeks\n11 weeks\n38.2\n")
    assert code == 0
    assert out.count("Invalid answer") == 2
    assert (
        "Invalid answer: '3' is not a number followed by a unit of time; answer with a number and a unit, "
        "as in 11 weeks, 3 months, 2 days or 90 minutes, or with the date of birth, as in 2026-09-01."
    ) in out
    assert "[0 days to 18 years: e.g. 11 weeks, 3 months or date of birth YYYY-MM-DD] > " in out


def test_run_refuses_an_age_outside_the_population() -> None:
    code, out = _run("15 years\n", protocol=DATA / "adult_demo.triage")
    assert code == 1
    assert "outside this protocol's population: adult aged 18 to 120 years" in out


def test_eval_at_reads_a_date_of_birth_and_the_record_replays(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"patient_age": {"born": "2026-09-07"}, "temp_c": 38.4}))
    out = io.StringIO()
    args = [
        "eval",
        str(DATA / "fever_infant.triage"),
        "--answers",
        str(answers),
        "--at",
        "2026-11-30T10:00:00Z",
    ]
    assert main(args, stdout=out, stderr=io.StringIO()) == 0
    record = json.loads(out.getvalue())
    assert record["answers"]["patient_age"] == "born 2026-09-07" and record["disposition"]["id"] == "red"
    saved = tmp_path / "record.json"
    saved.write_text(out.getvalue())
    verified = io.StringIO()
    code = main(
        ["verify", str(saved), "--protocol", str(DATA / "fever_infant.triage")],
        stdout=verified,
        stderr=io.StringIO(),
    )
    assert code == 0 and "the replay agrees" in verified.getvalue()


def test_unknown_means_a_time() -> None:
    p = compile_text(
        'protocol p title "p" version "1" end\n'
        'question since: duration ask "Since?" range 0 minutes to 30 days unknown means 2 hours end\n'
        'disposition yes label "Y" tier urgent end\ndisposition no label "N" tier home_care end\n'
        "triage section yes if any of when since within 3 hours end default no end\n"
    )
    r = evaluate(p, {"since": "unknown"})
    assert r.disposition is not None and r.disposition.id == "yes"
    assert [a.assumed for a in r.assumptions] == [120.0]
    assert "the protocol says unknown means 2 hours for 'since'" in r.assumptions[0].reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("9" * 5000 + " days", "more than 30 digits"),  # Python reads no integer this long
        ("1." + "5" * 5000 + " days", "more than 30 digits"),
        ("\u0661\u0662 days", "is not a number followed by a unit of time"),  # ASCII digits only
    ],
)
def test_a_time_in_words_that_cannot_be_read_is_an_answer_error_not_an_exception(
    text: str, problem: str
) -> None:
    question = next(q for q in INFANT.plan.questions.values() if q.type == "age")
    result = evaluate(INFANT, {question.id: text}, now=NOW)
    assert result.status == "error" and [e.code for e in result.errors] == ["wrong_type"]
    assert problem in result.errors[0].message
    with pytest.raises(AnswerError, match=problem):
        Session(INFANT, now=NOW).answer(question.id, text)
