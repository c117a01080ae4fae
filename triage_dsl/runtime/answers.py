"""Validating a caller's answers against a plan's questions, before any evaluation.

An invalid answer is never evaluated: it becomes an :class:`AnswerProblem` naming the
question and the rule it broke, and the result carries no disposition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from triage_dsl.errors import did_you_mean
from triage_dsl.graph.plan import Plan, QuestionPlan, plans
from triage_dsl.units import (
    MAX_MINUTES,
    MAX_WHOLE_MINUTES,
    UNITS_TEXT,
    TimeTextError,
    age_at,
    exact_minutes,
    parse_date,
    parse_text,
    plural,
    readable,
    text_minutes,
    whole_minutes,
)

if TYPE_CHECKING:
    from triage_dsl.model.result import AnswerProblem


class _Unknown:
    """The caller's "I don't know" (written ``"unknown"`` in JSON answers)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
UNKNOWN_WORD = "unknown"


class TimeAnswer(float):
    """An age or duration answer: the time in minutes (a float, so it compares like one)
    with the answer as the caller gave it, in words (``11 weeks``, ``born 2026-09-01``)."""

    text: str

    def __new__(cls, minutes: float, text: str) -> TimeAnswer:
        answer = super().__new__(cls, minutes)
        answer.text = text
        return answer

    def __reduce__(self) -> tuple[Any, tuple[float, str]]:
        return (TimeAnswer, (float(self), self.text))

    def __repr__(self) -> str:
        return f"TimeAnswer({float(self)!r}, {self.text!r})"


Clean = bool | int | float | str | _Unknown


def time_words(answer: TimeAnswer, kind: str = "age") -> str:
    """An age or duration as the caller gave it, with the time it stands for when that
    reads differently (``born 2026-10-01 (60 days)``, ``0.5 days (12 hours)``)."""
    shown = readable(answer, kind)
    return answer.text if shown == answer.text else f"{answer.text} ({shown})"


def answer_json(value: Clean) -> bool | int | float | str:
    """A clean answer as the JSON an evaluation takes and a result records: ``"unknown"``
    for "does not know", an age or duration in words as given (``"11 weeks"``)."""
    if type(value) is TimeAnswer:
        return value.text
    if value is UNKNOWN:
        return UNKNOWN_WORD
    assert not isinstance(value, _Unknown)
    return value


def all_questions(plan: Plan) -> dict[str, QuestionPlan]:
    """The plan's questions and those of every protocol it continues with."""
    questions: dict[str, QuestionPlan] = {}
    for p in plans(plan):
        for qid, q in p.questions.items():
            questions.setdefault(qid, q)
    return questions


MAX_SHOWN = 40


def printable(text: str) -> str:
    """``text`` safe to put in a message and in JSON: lone surrogates and other characters
    UTF-8 cannot carry are written as ``\\udXXX`` escapes, and it is cut at 40 characters."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def describe(value: Any) -> str:
    """A short, safe description of any answer value: never raises, never deep or long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        digits = len(str(abs(value))) if value.bit_length() < 10_000 else None
        if digits is None or digits > 20:
            return "an integer of more than 20 digits"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return printable(repr(value))
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a value of type {type(value).__name__}"


def _show_number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else describe(value)


_Checked = tuple["Clean | None", "AnswerProblem | None"]
_Problem = Callable[[str, str], tuple[None, "AnswerProblem"]]


def accepted_forms(q: QuestionPlan) -> str:
    """The answer forms an age or duration question takes, for messages."""
    forms = '"11 weeks", {"value": 11, "unit": "weeks"}'
    if q.type == "age":
        forms += ', {"born": "YYYY-MM-DD"}'
    return f"{forms} (units: {UNITS_TEXT})"


def _problem_class(given: Any) -> Any:
    if given is not None:
        return given
    from triage_dsl.model.result import AnswerProblem

    return AnswerProblem


def check_answer(
    q: QuestionPlan, value: Any, now: datetime | None = None, problem_class: Any = None
) -> tuple[Clean | None, AnswerProblem | None]:
    """One answer: its clean form, or the problem with it. ``now`` (aware, UTC) is the
    evaluation's clock, needed only to turn a date of birth into an age.
    ``problem_class``: the class of the problem (default the pydantic ``AnswerProblem``;
    the plain one for a result of :mod:`triage_dsl.model.plain`)."""

    def problem(code: str, message: str) -> tuple[None, AnswerProblem]:
        made: AnswerProblem = _problem_class(problem_class)(
            question=q.id, code=code, message=f"question '{q.id}': {message}"
        )
        return None, made

    if isinstance(value, str) and value == UNKNOWN_WORD:
        if q.unknown_allowed:
            return UNKNOWN, None
        return problem(
            "unknown_not_allowed",
            "'unknown' is not an allowed answer; this question "
            "needs a real answer (the protocol does not say 'unknown allowed')",
        )
    if q.is_time:
        return _time_answer(q, value, now, problem)
    if q.type == "yes/no":
        if isinstance(value, bool):
            return value, None
        return problem("wrong_type", f"expected yes/no (true or false), got {describe(value)}")
    if q.type in ("number", "whole number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return problem("wrong_type", f"expected a number, got {describe(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            return problem("not_finite", f"expected a finite number, got {describe(value)}")
        if q.type == "whole number" and isinstance(value, float) and not value.is_integer():
            return problem("not_whole", f"expected a whole number, got {describe(value)}")
        assert q.low is not None and q.high is not None
        if not q.low <= value <= q.high:  # exact for integers of any size
            unit = f" {q.unit}" if q.unit else ""
            return problem(
                "out_of_range",
                f"{_show_number(value)} is outside the valid range {q.low:g} to {q.high:g}{unit}",
            )
        if q.type == "whole number":
            return int(value), None
        return value, None
    if not isinstance(value, str):
        return problem(
            "wrong_type", f"expected one of the options ({', '.join(q.option_ids)}), got {describe(value)}"
        )
    if value not in q.option_ids:
        hint = did_you_mean(value, q.option_ids)
        return problem(
            "not_an_option",
            f"{describe(value)} is not an option ({', '.join(q.option_ids)}){'; ' + hint if hint else ''}",
        )
    return value, None


def _time_answer(q: QuestionPlan, value: Any, now: datetime | None, problem: _Problem) -> _Checked:
    """An age or duration: ``"11 weeks"``, ``{"value": 11, "unit": "weeks"}``, or for an
    age ``{"born": "2026-09-01"}`` (also ``"born 2026-09-01"``), read with ``now``."""
    if type(value) is TimeAnswer:  # already read (the analyses' representatives)
        return _in_range(q, Fraction(float(value)), value.text, problem)
    born: str | None = None
    if isinstance(value, dict) and set(value) == {"born"} and isinstance(value["born"], str):
        born = value["born"]
    elif isinstance(value, str) and value.strip().startswith("born "):
        born = value.strip()[5:]
    if born is not None:
        if q.type != "age":
            return problem(
                "wrong_type", f"a date of birth answers an age, not a duration; use {accepted_forms(q)}"
            )
        day = parse_date(born)
        if day is None:
            return problem("wrong_type", f"date of birth {describe(born)} is not a date YYYY-MM-DD")
        if now is None:
            return problem(
                "no_clock",
                f"a date of birth ({day.isoformat()}) needs the time of the evaluation to give an age, "
                'and none was given; answer with the age instead, as in "11 weeks"',
            )
        minutes = age_at(day, now)
        if minutes < 0:
            return problem(
                "out_of_range", f"date of birth {day.isoformat()} is after today ({now.date().isoformat()})"
            )
        return _in_range(q, minutes, f"born {day.isoformat()}", problem)
    if isinstance(value, str):
        whole = text_minutes(value)  # the common answer ("11 weeks"), without fractions
        if whole is not None:
            return _in_range(q, whole, printable(" ".join(value.split())), problem)
        try:
            amount, unit = parse_text(value)
        except TimeTextError as exc:
            return problem("wrong_type", f"{exc}; answer as {accepted_forms(q)}")
        return _in_range(q, exact_minutes(amount, unit), printable(" ".join(value.split())), problem)
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        amount_value, unit_value = value["value"], value["unit"]
        if isinstance(amount_value, bool) or not isinstance(amount_value, int | float):
            return problem("wrong_type", f"'value' must be a number, got {describe(amount_value)}")
        if isinstance(amount_value, float) and not math.isfinite(amount_value):
            return problem("not_finite", f"expected a finite number, got {describe(amount_value)}")
        if not isinstance(unit_value, str) or plural(unit_value) is None:
            return problem("wrong_type", f"{describe(unit_value)} is not a unit of time; use {UNITS_TEXT}")
        shown = repr(amount_value) if isinstance(amount_value, float) else describe(amount_value)
        text = f"{shown} {printable(unit_value)}"
        if isinstance(amount_value, int) and abs(amount_value) > 10**20:  # before any arithmetic
            return problem("out_of_range", f"{text} is outside the valid range {q.time_range_text()}")
        whole = whole_minutes(
            amount_value if isinstance(amount_value, int) else repr(amount_value), unit_value
        )
        if whole is not None:
            return _in_range(q, whole, text, problem)
        return _in_range(q, exact_minutes(amount_value, unit_value), text, problem)
    return problem(
        "wrong_type",
        f"expected {'an age' if q.type == 'age' else 'a duration'} with its unit, got {describe(value)}; "
        f"answer as {accepted_forms(q)}",
    )


def _in_range(q: QuestionPlan, minutes: Fraction | int, text: str, problem: _Problem) -> _Checked:
    """``minutes`` (exact: a whole number, or a fraction) within the question's range;
    comparing an integer with a float is exact in Python, as comparing fractions is."""
    if minutes < 0:
        return problem(
            "out_of_range", f"{text} is negative; {'an age' if q.type == 'age' else 'a duration'} cannot be"
        )
    assert q.low is not None and q.high is not None
    if type(minutes) is int:
        outside = minutes > MAX_WHOLE_MINUTES or not q.low <= minutes <= q.high
    else:
        outside = minutes > MAX_MINUTES or not Fraction(q.low) <= minutes <= Fraction(q.high)
    if outside:
        return problem("out_of_range", f"{text} is outside the valid range {q.time_range_text()}")
    return TimeAnswer(float(minutes), text), None


def validate(
    plan: Plan, answers: Mapping[str, Any], now: datetime | None = None, problem_class: Any = None
) -> tuple[dict[str, Clean], list[AnswerProblem]]:
    """Clean answers (``null`` means not answered) and every problem found, in key order
    (``problem_class`` as for :func:`check_answer`)."""
    problem_class = _problem_class(problem_class)
    questions = all_questions(plan)
    clean: dict[str, Clean] = {}
    problems: list[AnswerProblem] = []
    for key, value in answers.items():
        if not isinstance(key, str) or key not in questions:
            name = printable(key if isinstance(key, str) else describe(key))
            hint = did_you_mean(name, questions)
            problems.append(
                problem_class(
                    question=name,
                    code="unknown_question",
                    message=f"'{name}' is not a question of protocol '{plan.protocol_id}'"
                    + (f"; {hint}" if hint else ""),
                )
            )
            continue
        if value is None:
            continue
        cleaned, problem = check_answer(questions[key], value, now, problem_class)
        if problem is not None:
            problems.append(problem)
        else:
            assert cleaned is not None
            clean[key] = cleaned
    return clean, problems
