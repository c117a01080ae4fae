"""The result models as plain objects, for a command that must start fast.

``triage eval`` of one answer set builds its result and record from these classes
instead of the pydantic models of :mod:`triage_dsl.model.result`, so the command never
imports pydantic (about half of its start-up). Each class has the name, the fields (in
the same order) and the defaults of the pydantic model it stands for, reads the same
(``result.disposition.id``), and is written as the same JSON (:func:`json_of`): the
fields in declaration order, a ``float`` field holding an int written as a float, a
time as pydantic writes it. Nothing here validates: every value is made by the
interpreter itself. The pydantic models stay the published schema, the Python API's
return type and the reader of records; ``tests/model/test_plain.py`` checks that every
class here matches its model, field by field, and that results and records written from
these classes are byte-identical to the pydantic ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar

_Field = tuple[str, Any, Callable[[], Any] | None]  # name, default, default factory


class Plain:
    """A frozen record of named fields, in declaration order (``FIELDS``)."""

    FIELDS: ClassVar[tuple[_Field, ...]] = ()
    FLOATS: ClassVar[frozenset[str]] = frozenset()
    """Fields of type float (or a pair of floats): an int there is written as a float."""
    PLAIN: ClassVar[bool] = True

    def __init__(self, **values: Any) -> None:
        data: dict[str, Any] = {}
        for name, default, factory in self.FIELDS:
            if name in values:
                data[name] = values.pop(name)
            else:
                data[name] = factory() if factory is not None else default
        if values:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(values))}")
        object.__setattr__(self, "__dict__", data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Any:
        """A shallow copy with ``update`` applied (as pydantic's ``model_copy``)."""
        copy = object.__new__(type(self))
        object.__setattr__(copy, "__dict__", {**self.__dict__, **(update or {})})
        return copy

    @classmethod
    def build(cls, data: dict[str, Any]) -> Any:
        """An instance holding ``data`` (every field, in declaration order) as it is."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "__dict__", data)
        return obj


def _list() -> list[Any]:
    return []


def _dict() -> dict[str, Any]:
    return {}


def time_json(at: datetime) -> str:
    """A time as pydantic writes it: ISO 8601, UTC as ``Z``."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def json_of(value: Any) -> Any:
    """``value`` as JSON data (what ``model_dump(mode="json")`` gives for the model)."""
    if isinstance(value, Plain):
        floats = value.FLOATS
        out: dict[str, Any] = {}
        for name, field in value.__dict__.items():
            if name in floats and field is not None:
                if isinstance(field, tuple | list):
                    field = [float(x) for x in field]
                elif type(field) is int:
                    field = float(field)
            out[name] = json_of(field)
        return out
    if isinstance(value, list | tuple):
        return [json_of(x) for x in value]
    if isinstance(value, dict):
        return {k: json_of(x) for k, x in value.items()}
    if isinstance(value, datetime):
        return time_json(value)
    return value


class ProtocolRef(Plain):
    FIELDS = (
        ("id", None, None),
        ("title", None, None),
        ("version", None, None),
        ("path", None, None),
        ("sha256", None, None),
        ("content_sha256", None, None),
        ("status", None, None),
    )


class OptionInfo(Plain):
    FIELDS = (("id", None, None), ("label", None, None))


class QuestionInfo(Plain):
    FIELDS = (
        ("id", None, None),
        ("prompt", None, None),
        ("help", None, None),
        ("type", None, None),
        ("unit", None, None),
        ("range", None, None),
        ("range_text", None, None),
        ("options", None, _list),
        ("unknown_allowed", False, None),
        ("location", None, None),
    )
    FLOATS = frozenset({"range"})


class EscalationStep(Plain):
    FIELDS = (
        ("kind", None, None),
        ("role", None, None),
        ("channel", None, None),
        ("wait_minutes", None, None),
        ("retries", 0, None),
        ("retry_every_minutes", None, None),
        ("text", None, None),
        ("worst_case_minutes", None, None),
    )
    FLOATS = frozenset({"wait_minutes", "retry_every_minutes", "worst_case_minutes"})


class EscalationPlan(Plain):
    FIELDS = (
        ("id", None, None),
        ("steps", None, None),
        ("fallback", None, None),
        ("worst_case_minutes", None, None),
        ("location", None, None),
    )
    FLOATS = frozenset({"worst_case_minutes"})


class Disposition(Plain):
    FIELDS = (
        ("id", None, None),
        ("label", None, None),
        ("care_advice", None, _list),
        ("location", None, None),
    )


class Urgency(Plain):
    FIELDS = (
        ("tier", None, None),
        ("label", None, None),
        ("rank", None, None),
        ("time_frame", None, None),
        ("time_frame_minutes", None, None),
    )
    FLOATS = frozenset({"time_frame_minutes"})


class DecidedBy(Plain):
    FIELDS = (
        ("kind", None, None),
        ("section", None, None),
        ("criterion", None, None),
        ("location", None, None),
        ("text", None, None),
        ("explanation", None, None),
    )


class RaisedBy(Plain):
    FIELDS = (
        ("kind", None, None),
        ("floor", None, None),
        ("floor_location", None, None),
        ("screen", None, None),
        ("criterion", None, None),
        ("location", None, None),
        ("text", None, None),
        ("from_disposition", None, None),
        ("from_tier", None, None),
        ("to_disposition", None, None),
        ("to_tier", None, None),
        ("explanation", None, None),
    )


class Assumption(Plain):
    FIELDS = (
        ("question", None, None),
        ("node", None, None),
        ("location", None, None),
        ("assumed", None, None),
        ("reason", None, None),
    )


class AnswerProblem(Plain):
    FIELDS = (("question", None, None), ("code", None, None), ("message", None, None))


class TraceEntry(Plain):
    FIELDS = (
        ("step", None, None),
        ("kind", None, None),
        ("node", None, None),
        ("protocol", None, None),
        ("location", None, None),
        ("text", None, None),
        ("reads", None, _dict),
        ("value", None, None),
        ("detail", "", None),
        ("row", None, None),
        ("hash", None, None),
    )


class AnswerEvent(Plain):
    FIELDS = (
        ("seq", None, None),
        ("kind", None, None),
        ("question", None, None),
        ("value", None, None),
        ("previous", None, None),
        ("at", None, None),
        ("reason", None, None),
        ("text", None, None),
        ("prompt", None, None),
        ("red_flag", False, None),
        ("after_outcome", False, None),
        ("problem", None, None),
    )


class KeyedSeal(Plain):
    FIELDS = (
        ("algorithm", "hmac-sha256", None),
        ("key_id", None, None),
        ("head", None, None),
        ("mac", None, None),
    )


class Seal(Plain):
    FIELDS = (
        ("algorithm", "sha256", None),
        ("encoding", "json-c14n-1", None),
        ("chain_version", None, None),
        ("header", None, None),
        ("outcome", None, None),
        ("head", None, None),
        ("keyed", None, None),
    )


class TriageResult(Plain):
    FIELDS = (
        ("schema_version", "1.3", None),
        ("protocol", None, None),
        ("status", None, None),
        ("disposition", None, None),
        ("urgency", None, None),
        ("escalation", None, None),
        ("scores", None, _dict),
        ("answers", None, _dict),
        ("asked", None, _list),
        ("missing", None, _list),
        ("next_question", None, None),
        ("decided_by", None, None),
        ("raised_by", None, None),
        ("assumptions", None, _list),
        ("error", None, None),
        ("errors", None, _list),
        ("trace", None, _list),
        ("note", None, None),
        ("interpreter_version", None, None),
        ("session_id", None, None),
        ("started_at", None, None),
        ("sealed_at", None, None),
        ("protocol_files", None, None),
        ("overrides", None, _list),
        ("escalation_run", None, _list),
        ("answer_log", None, _list),
        ("call", None, None),
        ("seal", None, None),
        ("redacted", False, None),
    )


def final_answers(log: Iterable[Any]) -> dict[str, Any]:
    """The answers a log ends with: corrections replace, retractions remove; invalid
    answers (``problem``) and notes are not answers.

    ``log``: the events of a record (``AnswerEvent``, pydantic or plain).

    >>> final_answers([AnswerEvent(seq=1, kind="answer", question="a", value=True),
    ...                AnswerEvent(seq=2, kind="correction", question="a", value=False, previous=True)])
    {'a': False}
    """
    answers: dict[str, Any] = {}
    for event in log:
        if event.question is None or event.problem is not None:
            continue
        if event.kind in ("answer", "correction"):
            answers[event.question] = event.value
        elif event.kind == "retraction":
            answers.pop(event.question, None)
    return answers
