"""Validating a caller's answers against a plan's questions, before any evaluation.

An invalid answer is never evaluated: it becomes an :class:`AnswerProblem` naming the
question and the rule it broke, and the result carries no disposition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from triage_dsl.errors import did_you_mean
from triage_dsl.graph.plan import Plan, QuestionPlan, plans
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

Clean = bool | int | float | str | _Unknown


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


def check_answer(q: QuestionPlan, value: Any) -> tuple[Clean | None, AnswerProblem | None]:
    """One answer: its clean form, or the problem with it."""

    def problem(code: str, message: str) -> tuple[None, AnswerProblem]:
        return None, AnswerProblem(question=q.id, code=code, message=f"question '{q.id}': {message}")

    if isinstance(value, str) and value == UNKNOWN_WORD:
        if q.unknown_allowed:
            return UNKNOWN, None
        return problem(
            "unknown_not_allowed",
            "'unknown' is not an allowed answer; this question "
            "needs a real answer (the protocol does not say 'unknown allowed')",
        )
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


def validate(plan: Plan, answers: Mapping[str, Any]) -> tuple[dict[str, Clean], list[AnswerProblem]]:
    """Clean answers (``null`` means not answered) and every problem found, in key order."""
    questions = all_questions(plan)
    clean: dict[str, Clean] = {}
    problems: list[AnswerProblem] = []
    for key, value in answers.items():
        if not isinstance(key, str) or key not in questions:
            name = printable(key if isinstance(key, str) else describe(key))
            hint = did_you_mean(name, questions)
            problems.append(
                AnswerProblem(
                    question=name,
                    code="unknown_question",
                    message=f"'{name}' is not a question of protocol '{plan.protocol_id}'"
                    + (f"; {hint}" if hint else ""),
                )
            )
            continue
        if value is None:
            continue
        cleaned, problem = check_answer(questions[key], value)
        if problem is not None:
            problems.append(problem)
        else:
            assert cleaned is not None
            clean[key] = cleaned
    return clean, problems
