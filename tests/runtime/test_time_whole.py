"""Ages and durations read with integers: the same answers as the exact fractions.

A time answer whose minutes are a whole number (every unit is a whole number of
minutes, so ``11 weeks`` and ``1.5 days`` are) is read without ``Fraction``. These
properties hold that path to the fraction path, answer by answer: the same clean answer
(its float and its words) or the same refusal, over every age and duration question of
the shipped protocols and any text or ``{"value", "unit"}`` answer.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from triage_dsl import load
from triage_dsl.graph.plan import QuestionPlan
from triage_dsl.runtime import answers
from triage_dsl.runtime.answers import all_questions, check_answer
from triage_dsl.runtime.program import MISS, _fast_check
from triage_dsl.units import UNIT_WORDS, exact_minutes, whole_minutes

TIME_QUESTIONS: list[QuestionPlan] = sorted(
    (
        q
        for path in [
            *ROOT.joinpath("protocols", "telephone").glob("*.triage"),
            ROOT / "tests" / "data" / "time" / "fever_infant.triage",
        ]
        if path.stem != "shared"
        for q in all_questions(load(path).plan).values()
        if q.is_time
    ),
    key=lambda q: (q.id, q.low or 0, q.high or 0),
)
UNITS = st.sampled_from([*UNIT_WORDS, "Weeks", "YEAR", "fortnights", "m"])
DIGITS = st.text("0123456789", min_size=1, max_size=45)
AMOUNTS = st.one_of(
    st.integers(0, 10**15).map(str),
    DIGITS,
    st.tuples(st.integers(0, 10**6), DIGITS).map(lambda p: f"{p[0]}.{p[1]}"),
    st.tuples(st.integers(0, 200), st.sampled_from(["5", "25", "125", "0625", "75", "3", "0", "00"])).map(
        lambda p: f"{p[0]}.{p[1]}"
    ),
)
TEXTS = st.builds(
    lambda pad, sign, amount, gap, unit, end: f"{pad}{sign}{amount}{gap}{unit}{end}",
    st.sampled_from(["", " ", "  "]),
    st.sampled_from(["", "+", "-"]),
    AMOUNTS,
    st.sampled_from([" ", "", "   "]),
    UNITS,
    st.sampled_from(["", " "]),
)
OBJECTS = st.fixed_dictionaries(
    {
        "value": st.one_of(
            st.integers(-(10**22), 10**22),
            st.integers(-10, 10**7),
            st.floats(allow_nan=False, allow_infinity=False),
            st.integers(0, 10**5).map(lambda n: n / 8),
        ),
        "unit": UNITS,
    }
)


def shown(checked: tuple[Any, Any]) -> tuple[str, str | None]:
    clean, problem = checked
    return repr(clean), problem.model_dump_json() if problem is not None else None


def fraction_path(q: QuestionPlan, value: Any) -> tuple[str, str | None]:
    """``check_answer`` with the integer path turned off: the fractions decide."""
    with (
        mock.patch.object(answers, "text_minutes", lambda text: None),
        mock.patch.object(answers, "whole_minutes", lambda amount, unit: None),
    ):
        return shown(check_answer(q, value))


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(TIME_QUESTIONS), st.one_of(TEXTS, OBJECTS))
@example(TIME_QUESTIONS[0], "0" * 31 + " minutes")  # past the digit limit: both paths refuse it
@example(TIME_QUESTIONS[0], "0" * 30 + " minutes")
def test_time_answers_read_with_integers_are_those_read_with_fractions(q: QuestionPlan, value: Any) -> None:
    assert shown(check_answer(q, value)) == fraction_path(q, value)


ODD_OBJECTS = st.one_of(
    st.fixed_dictionaries({"value": st.integers(-3, 130), "unit": UNITS}),  # mostly in range
    st.fixed_dictionaries({"value": st.one_of(st.booleans(), st.none(), st.text(max_size=3)), "unit": UNITS}),
    st.fixed_dictionaries({"value": st.integers(-10, 10**7), "unit": st.one_of(st.integers(), st.none())}),
    st.fixed_dictionaries({"value": st.integers(0, 10**7), "unit": UNITS, "extra": st.integers()}),
    st.fixed_dictionaries({"value": st.integers(0, 10**7)}),
    st.fixed_dictionaries({"born": st.sampled_from(["2026-01-01", "x"]), "unit": UNITS}),
    st.sampled_from([10**20, -(10**20), 10**20 - 1, 1 - 10**20]).map(
        lambda n: {"value": n, "unit": "minutes"}
    ),
)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(TIME_QUESTIONS), st.one_of(OBJECTS, ODD_OBJECTS))
def test_the_quick_check_of_objects_reads_what_check_answer_reads(q: QuestionPlan, value: Any) -> None:
    # A session and a batch take {"value", "unit"} answers through the program's quick
    # check first: it must give check_answer's clean answer, or leave the answer to it.
    quick = _fast_check(q)(value)
    if quick is not MISS:
        clean, problem = check_answer(q, value)
        assert problem is None
        assert repr(quick) == repr(clean)
        assert type(quick) is type(clean)
    elif type(value.get("value")) is int and type(value.get("unit")) is str and len(value) == 2:
        # only what check_answer refuses, or a huge integer, goes the long way
        assert check_answer(q, value)[1] is not None or abs(value["value"]) >= 10**20


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.builds(lambda s, a: s + a, st.sampled_from(["", "+", "-"]), AMOUNTS),
        st.integers(-(10**20), 10**20),
    ),
    UNITS,
)
def test_whole_minutes_are_the_exact_minutes_when_whole(amount: str | int, unit: str) -> None:
    whole = whole_minutes(amount, unit)
    if whole is not None:
        assert whole == exact_minutes(amount, unit)
    elif unit.lower() in UNIT_WORDS and (isinstance(amount, int) or len(amount.lstrip("+-")) <= 40):
        assert exact_minutes(amount, unit).denominator != 1  # None only when not whole


def test_the_common_answers_take_the_integer_path() -> None:
    assert whole_minutes("11", "weeks") == 77 * 1440
    assert whole_minutes("1.5", "days") == 2160
    assert whole_minutes("0.1", "minutes") is None
    assert whole_minutes("1e3", "days") is None  # not plain decimal text: the fractions decide
