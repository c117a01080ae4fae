"""Answers as FHIR values: one JSON answer -> the ``value[x]`` element that carries it.

An answer of a record is JSON as the caller gave it: true/false, a number, an option id,
an age or duration (``"11 weeks"``, ``{"value": 11, "unit": "weeks"}``, a date of birth
``{"born": "YYYY-MM-DD"}``), the word ``unknown``, or, in a redacted copy,
``[redacted]``. Nothing is dropped: other text is kept as ``valueString``, and a value
that is not text (an object, a list, ``null``) as its JSON in a ``valueAttachment`` of
type ``application/json``. ``unknown`` is a data-absent reason (``asked-unknown``), a
redacted value ``masked``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fhir.resources.R4B.resource import Resource

from triage_dsl.fhir.codes import EXT_DATA_ABSENT, UCUM, UCUM_TIME, option_system
from triage_dsl.units import TimeTextError, parse_date, parse_text

UNKNOWN_WORD = "unknown"
REDACTED = "[redacted]"
INT32 = 2**31


def absent(reason: str) -> dict[str, Any]:
    """A data-absent-reason extension (``asked-unknown``, ``masked``...)."""
    return {"url": EXT_DATA_ABSENT, "valueCode": reason}


def time_quantity(amount: float | int, unit: str) -> dict[str, Any]:
    """An age or duration as a UCUM Quantity (``11 weeks`` -> 11 wk)."""
    return {"value": amount, "unit": unit, "system": UCUM, "code": UCUM_TIME[unit]}


def _time(value: Any) -> dict[str, Any] | None:
    """An age or duration answer as a Quantity or a date of birth; None when it is not one."""
    if isinstance(value, str):
        try:
            amount, unit = parse_text(value)
        except TimeTextError:
            born = parse_date(value)
            return {"valueDate": born.isoformat()} if born else None
        shown = int(amount) if amount.denominator == 1 else float(amount)
        return {"valueQuantity": time_quantity(shown, unit)}
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        return _time(f"{value['value']} {value['unit']}")
    if isinstance(value, dict) and set(value) == {"born"} and isinstance(value["born"], str):
        born = parse_date(value["born"])
        return {"valueDate": born.isoformat()} if born else None
    return None


def answer_value(
    value: Any,
    *,
    protocol_id: str,
    question_type: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """The FHIR form of one answer: ``{"valueBoolean": true}``, ``{"valueCoding": ...}``,
    or ``{"extension": [data-absent-reason]}`` for ``unknown`` and redacted values.

    ``question_type`` (the protocol's type, when known) picks decimal or integer for a
    number; without it a JSON integer is ``valueInteger``.

    >>> answer_value(True, protocol_id="p")
    {'valueBoolean': True}
    >>> answer_value("unknown", protocol_id="p")["extension"][0]["valueCode"]
    'asked-unknown'
    >>> answer_value("11 weeks", protocol_id="p")["valueQuantity"]["code"]
    'wk'
    """
    if value == UNKNOWN_WORD:
        return {"extension": [absent("asked-unknown")]}
    if value == REDACTED:
        return {"extension": [absent("masked")]}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int | float) and question_type not in ("age", "duration"):
        if question_type == "number" or isinstance(value, float) or not -INT32 <= value < INT32:
            return {"valueDecimal": value}
        return {"valueInteger": value}
    if question_type in ("age", "duration") or (question_type is None and not _is_option(value)):
        timed = _time(value)
        if timed is not None:
            return timed
    if isinstance(value, str) and (
        question_type == "choice" or (question_type is None and _is_option(value))
    ):
        coding: dict[str, Any] = {"system": option_system(protocol_id), "code": value}
        if label:
            coding["display"] = label
        return {"valueCoding": coding}
    if isinstance(value, str):
        return {"valueString": value}
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return {
        "valueAttachment": {
            "contentType": "application/json",
            "data": base64.b64encode(text.encode()).decode(),
        }
    }


def _is_option(value: Any) -> bool:
    """An option id: a name of the DSL (letters, digits, ``_``), not starting with a digit."""
    return isinstance(value, str) and value[:1].isalpha() and value.replace("_", "").isalnum()


def to_json(resource: Resource) -> str:
    """The resource as indented JSON text ending in a newline: the same resource, the
    same bytes."""
    return resource.model_dump_json(indent=2) + "\n"
