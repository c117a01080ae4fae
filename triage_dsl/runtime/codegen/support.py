"""The small runtime that generated code calls (like jinja2's ``runtime.py``).

Every name here is bound into a generated module's namespace under a name the generator
chose; generated code calls nothing else but ``float`` and ``len``.
"""

from __future__ import annotations

from typing import Any

from triage_dsl.model import result as m
from triage_dsl.runtime.answers import TimeAnswer, answer_json, time_words
from triage_dsl.runtime.build import _entry, _fmt
from triage_dsl.runtime.values import negate, tidy

MISSING: Any = object()
"""A variable not read or computed yet."""

__all__ = [
    "MISSING",
    "answer_entry",
    "answer_json",
    "entry",
    "fmt",
    "merge_advice",
    "negate",
    "score",
    "tidy",
    "time_words",
]

fmt = _fmt


def entry(
    trace: list[m.TraceEntry],
    template: tuple[str, str, str, str, str, int | None],
    reads: dict[str, Any],
    value: Any,
    detail: str,
) -> None:
    """Append a trace step made from a template (kind, node, protocol, location, text,
    row) and the values of this evaluation."""
    kind, node, protocol, location, text, row = template
    trace.append(_entry(len(trace) + 1, kind, node, protocol, location, text, reads, value, detail, row))


def answer_entry(
    trace: list[m.TraceEntry],
    template: tuple[str, str, str, str, str, int | None],
    qid: str,
    answer: Any,
    question_type: str,
) -> None:
    """The trace step of reading an answer, as the interpreter records it (an age or a
    duration shows the words given and the minutes compared)."""
    if type(answer) is TimeAnswer:
        detail = f"answered {time_words(answer, question_type)}"
        entry(trace, template, {qid: answer.text}, float(answer), detail)
        return
    entry(trace, template, {qid: answer}, answer, f"answered {_fmt(answer)}")


def score(value: Any) -> Any:
    """A score as results report it (a choice is no score)."""
    return None if isinstance(value, str) else value


def merge_advice(first: tuple[str, ...], then: tuple[str, ...]) -> tuple[str, ...]:
    """A raising floor's advice, then the outcome's advice it does not repeat."""
    return (*first, *(a for a in then if a not in first))
