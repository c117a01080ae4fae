"""``triage run``: a terminal interview driven by a :class:`Session`.

Reads the agent's typed answers, re-asks on invalid input, and ends with the
disposition, urgency, escalation plan and triage note. Input ending early stops the
interview without a disposition (exit 1), never with a guess.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from triage_dsl.errors import AnswerError
from triage_dsl.explain.note import render_note
from triage_dsl.model.result import QuestionInfo
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.session import Session
from triage_dsl.units import TimeTextError, parse_date, parse_text

YES = {"y", "yes", "true"}
NO = {"n", "no", "false"}
DONT_KNOW = {"?", "unknown", "don't know", "dont know", "not sure"}


def parse_typed(question: QuestionInfo, text: str) -> Any:
    """The answer value for what the agent typed; raises ValueError with a hint."""
    word = text.strip().lower()
    if word in DONT_KNOW:
        if not question.unknown_allowed:
            raise ValueError("this question needs an answer; 'unknown' is not allowed here")
        return "unknown"
    if question.type == "yes/no":
        if word in YES:
            return True
        if word in NO:
            return False
        raise ValueError("answer yes or no")
    if question.type in ("age", "duration"):
        return _typed_time(question, text)
    if question.type in ("number", "whole number"):
        try:
            number = float(word)
        except ValueError:
            raise ValueError("answer with a number") from None
        return int(number) if number.is_integer() else number
    ids = [o.id for o in question.options]
    if word.isdigit() and 1 <= int(word) <= len(ids):
        return ids[int(word) - 1]
    if word in ids:
        return word
    raise ValueError(f"answer with an option number 1-{len(ids)} or its id")


def _typed_time(question: QuestionInfo, text: str) -> Any:
    """``11 weeks``, ``3 months``, ``90 minutes``; for an age also a date of birth."""
    words = " ".join(text.split())
    if question.type == "age" and parse_date(words) is not None:
        return {"born": words}
    try:
        parse_text(words)
    except TimeTextError as exc:
        raise ValueError(f"{exc}; answer {_time_forms(question)}") from None
    return words


def _time_forms(question: QuestionInfo) -> str:
    forms = "with a number and a unit, as in 11 weeks, 3 months, 2 days or 90 minutes"
    if question.type == "age":
        forms += ", or with the date of birth, as in 2026-09-01"
    return forms


def _allowed(question: QuestionInfo) -> str:
    extra = ", ? = does not know" if question.unknown_allowed else ""
    if question.type == "yes/no":
        return f"[yes/no{extra}]"
    if question.type == "choice":
        options = "  ".join(f"{n}) {o.label}" for n, o in enumerate(question.options, start=1))
        return f"{options}{'  ' + extra.strip(', ') if extra else ''}"
    if question.range_text is not None:
        example = "11 weeks, 3 months" if question.type == "age" else "12 hours, 2 days"
        born = " or date of birth YYYY-MM-DD" if question.type == "age" else ""
        return f"[{question.range_text}: e.g. {example}{born}{extra}]"
    assert question.range is not None
    unit = f" {question.unit}" if question.unit else ""
    return f"[{question.range[0]:g} to {question.range[1]:g}{unit}{extra}]"


def interview(
    protocol: Protocol, inp: TextIO, out: TextIO, save: str | None, now: datetime | None = None
) -> int:
    """The interview; ``now`` is its clock (a date of birth is read with it)."""
    session = Session(protocol, now=now)
    out.write(f"{protocol.title} (protocol {protocol.id} {protocol.version})\n")
    for disclaimer in protocol.header.disclaimers:
        out.write(f"Note: {disclaimer}\n")
    out.write("\n")
    while not session.done:
        question = session.next_question()
        if question is None:  # pragma: no cover - a needs_answers result always names one
            break
        out.write(f"{question.prompt}\n")
        if question.help:
            out.write(f"  ({question.help})\n")
        while True:
            out.write(f"  {_allowed(question)} > ")
            out.flush()
            line = inp.readline()
            if not line:
                out.write("\nInterview stopped before a disposition was reached.\n")
                return 1
            try:
                session.answer(question.id, parse_typed(question, line))
                break
            except (ValueError, AnswerError) as exc:
                out.write(f"  Invalid answer: {exc}. Please ask again.\n")
    result = session.result()
    out.write("\n" + render_note(result))
    if save:
        Path(save).write_text(
            result.model_copy(update={"note": render_note(result)}).model_dump_json(indent=2) + "\n",
            encoding="utf-8",
        )
        out.write(f"\nResult saved to {save}\n")
    return 0 if result.status == "complete" else 1
