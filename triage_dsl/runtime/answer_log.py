"""The log of answers given together (``triage eval``, a batch), and how an answer is
kept in a log: JSON values as given, anything else as a bounded description.

Free of pydantic: the log is built from whichever event class the result uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

from triage_dsl.runtime.answers import MAX_SHOWN, all_questions, check_answer, describe, printable
from triage_dsl.runtime.build import Shape, builder_of

if TYPE_CHECKING:
    from pydantic import JsonValue

    from triage_dsl.graph.plan import QuestionPlan
    from triage_dsl.model.result import AnswerEvent
    from triage_dsl.protocol import Protocol


class _Problem(NamedTuple):
    """The rule an answer broke (the log keeps only its code)."""

    question: str
    code: str
    message: str


_GIVEN = ("seq", "kind", "question", "value", "prompt", "red_flag", "problem")


def _templates(
    protocol: Protocol, event_class: Any
) -> tuple[dict[str, tuple[dict[str, Any], QuestionPlan]], Shape]:
    """The answer events' shape (every field the log gives) and, per question id, its
    template (kind, question, prompt and red flag filled in, no problem) with the
    question; kept with the plan."""
    cache = protocol.plan.compiled
    name = f"answer-log:{event_class.__module__}.{event_class.__qualname__}"
    found = cache.get(name)
    if found is None:
        shape = Shape(builder_of(event_class), _GIVEN, {"kind": "answer"})
        shape.template.update(prompt=None, red_flag=False, problem=None)
        templates = {
            qid: ({**shape.template, "question": qid, "prompt": q.prompt, "red_flag": q.red_flag}, q)
            for qid, q in all_questions(protocol.plan).items()
        }
        found = cache[name] = (templates, shape)
    return found


def as_json(value: Any) -> JsonValue:
    """An answer as the log keeps it: JSON values as given; anything else (NaN, a
    Python object) as its text, so an invalid answer is kept, never lost."""
    if value is True or value is False or value is None:
        return value  # yes/no: the commonest answer
    if _plain(value):
        return value  # the common answers, as _bounded keeps them
    if type(value) is float:
        return value if math.isfinite(value) else repr(value)  # as _bounded keeps it
    if type(value) is dict and len(value) <= 100:
        for k, item in value.items():
            t = type(item)
            if not (
                type(k) is str
                and len(k) <= MAX_SHOWN
                and k.isascii()
                and (  # _plain(item)
                    t is bool
                    or item is None
                    or (t is str and item.isascii())
                    or (t is int and -(10**20) < item < 10**20)
                )
            ):
                break
        else:
            return dict(value)  # {"value": 11, "unit": "weeks"}: a copy, as _bounded makes
    return _bounded(value, 0)


def _plain(value: Any) -> TypeGuard[bool | str | int | None]:
    """A value :func:`_bounded` keeps as it is: yes/no, null, ASCII text, a small integer."""
    t = type(value)
    return (
        t is bool
        or value is None
        or (t is str and value.isascii())
        or (t is int and -(10**20) < value < 10**20)
    )


def _bounded(value: Any, depth: int) -> JsonValue:
    """JSON values as given, within bounds: a huge integer, a string that is not valid
    Unicode, nesting deeper than 4 or a non-JSON object is kept as a short description
    (the log must serialise whatever the caller sent)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**20 else describe(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        return value
    if depth < 4 and isinstance(value, list | tuple):
        return [_bounded(item, depth + 1) for item in value[:100]]
    if depth < 4 and isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {printable(k): _bounded(v, depth + 1) for k, v in list(value.items())[:100]}
    return describe(value)


def answer_log(
    protocol: Protocol,
    answers: Mapping[Any, Any],
    now: datetime | None = None,
    event_class: Any = None,
    *,
    valid: bool = False,
) -> list[AnswerEvent]:
    """The log of answers given together (a batch, ``triage eval``): one ``answer`` event
    each, in the order given, invalid ones with the rule they broke (``now`` reads a date
    of birth, as the evaluation does). Times are left for the record to fill with the
    call's start. ``event_class``: the class of the events (default the pydantic
    ``AnswerEvent``; the plain one for a result of :mod:`triage_dsl.model.plain`).
    ``valid``: the evaluation of the same answers (same ``now``) found none invalid (its
    status is not ``error``), so none is checked again; a key that is no question is
    still logged as one."""
    if event_class is None:
        from triage_dsl.model.result import AnswerEvent as event_class
    # every value below is valid by construction (as_json keeps only JSON, bounded), so the
    # events are built without validating each again (most of evaluate()'s time otherwise),
    # each from its question's template: only the number, the value and the problem vary
    templates, shape = _templates(protocol, event_class)
    make = shape.make
    log: list[AnswerEvent] = []
    for key, value in answers.items():
        found = templates.get(key) if isinstance(key, str) else None
        if found is None:
            data = shape.template.copy()  # a key that is no question: kept, and said so
            data["question"] = str(key)
            data["problem"] = "unknown_question"
        elif value is None:
            continue  # null means not answered
        else:
            data = found[0].copy()
            if not valid:
                problem = check_answer(found[1], value, now, _Problem)[1]
                data["problem"] = problem.code if problem is not None else None
        data["seq"] = len(log) + 1
        data["value"] = as_json(value)
        log.append(make(data))
    return log
