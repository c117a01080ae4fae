"""The small runtime that generated code calls (like jinja2's ``runtime.py``).

Every name here is bound into a generated module's namespace under a name the generator
chose; generated code calls nothing else but ``float`` and ``len``.
"""

from __future__ import annotations

from typing import Any

from triage_dsl.model import result as m
from triage_dsl.runtime.answers import TimeAnswer, answer_json, time_words
from triage_dsl.runtime.build import _TRACE_FIELDS_SET, _fmt
from triage_dsl.runtime.values import negate, tidy

MISSING: Any = object()
"""A variable not read or computed yet."""

__all__ = [
    "MISSING",
    "Template",
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


class Template:
    """The fixed part of one trace step (kind, node, protocol, location, text, row),
    held as the entry's field dict in declaration order with the varying fields empty, so
    a step is one dict copy and four stores."""

    __slots__ = ("base",)

    def __init__(
        self, kind: str, node: str, protocol: str, location: str, text: str, row: int | None
    ) -> None:
        self.base: dict[str, Any] = {
            "step": 0,
            "kind": kind,
            "node": node,
            "protocol": protocol,
            "location": location,
            "text": text,
            "reads": None,
            "value": None,
            "detail": "",
            "row": row,
            "hash": None,
        }


_ENTRY = m.TraceEntry
_new = object.__new__
_set = object.__setattr__
_FIELDS_SET = _TRACE_FIELDS_SET  # every field but the hash, which sealing sets
if tuple(m.TraceEntry.model_fields) != tuple(Template("", "", "", "", "", None).base):  # pragma: no cover
    raise ImportError("TraceEntry's fields changed: update codegen.support.Template")


def entry(
    trace: list[m.TraceEntry], template: Template, reads: dict[str, Any], value: Any, detail: str
) -> None:
    """Append a trace step made from a template and the values of this evaluation (the
    same object :func:`triage_dsl.runtime.build.models` ``().entry`` makes)."""
    data = template.base.copy()
    data["step"] = len(trace) + 1
    data["reads"] = reads
    data["value"] = value
    data["detail"] = detail
    obj = _new(_ENTRY)
    _set(obj, "__dict__", data)
    _set(obj, "__pydantic_fields_set__", set(_FIELDS_SET))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    trace.append(obj)


def answer_entry(
    trace: list[m.TraceEntry],
    template: Template,
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
