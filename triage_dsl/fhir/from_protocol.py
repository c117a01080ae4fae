"""A protocol as a FHIR R4B Questionnaire: every question it (and every protocol it
continues with) may ask.

Each question is one item: ``linkId`` is the question id, ``text`` its prompt, the type
mapped (yes/no -> boolean; number -> decimal and whole number -> integer, each with its
unit and its range as ``minValue``/``maxValue``; choice -> choice with one answer option
per option; age and duration -> quantity in UCUM units of time, the range in minutes),
the help text as a ``display`` child item with item control ``help``, and whether
"unknown" is an allowed answer as the extension :data:`~triage_dsl.fhir.codes.EXT_UNKNOWN_ALLOWED`
(always present, true or false). The protocol's version is ``version``, its content hash
(the protocol and its imports) and its file's hash are identifiers, its disclaimers the
description.

The Questionnaire lists the questions; it does not encode the order they are asked in:
the protocol's decision graph decides the next question from the answers so far, so a
form filler should ask through the engine (or the service), not walk the items.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire

from triage_dsl.fhir.codes import (
    CONTENT_SHA256,
    EXT_ITEM_CONTROL,
    EXT_MAX_QUANTITY,
    EXT_MAX_VALUE,
    EXT_MIN_QUANTITY,
    EXT_MIN_VALUE,
    EXT_RED_FLAG,
    EXT_UNIT,
    EXT_UNIT_OPTION,
    EXT_UNKNOWN_ALLOWED,
    ITEM_CONTROL,
    SOURCE_SHA256,
    UCUM,
    UCUM_TIME,
    option_system,
    protocol_url,
    resource_id,
)
from triage_dsl.graph.plan import QuestionPlan
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.answers import all_questions

STATUS = {"draft": "draft", "approved": "active", "retired": "retired"}
ITEM_TYPE = {
    "yes/no": "boolean",
    "number": "decimal",
    "whole number": "integer",
    "choice": "choice",
    "age": "quantity",
    "duration": "quantity",
}


def questionnaire(protocol: Protocol) -> Questionnaire:
    """The Questionnaire of a compiled protocol (deterministic: the same protocol, the
    same resource). Its ``url`` is :func:`~triage_dsl.fhir.codes.protocol_url` and its
    ``id`` the protocol id with the first 16 digits of the content hash."""
    data: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": resource_id(f"{protocol.id}-{protocol.content_sha256[:16]}"),
        "url": protocol_url(protocol.id),
        "identifier": [
            {"system": CONTENT_SHA256, "value": protocol.content_sha256},
            {"system": SOURCE_SHA256, "value": protocol.sha256},
        ],
        "version": protocol.version or None,
        "title": protocol.title,
        "status": STATUS.get(protocol.status or "", "unknown"),
        "description": "\n\n".join(protocol.header.disclaimers) or None,
        "item": [question_item(q, protocol.id) for q in all_questions(protocol.plan).values()],
    }
    return Questionnaire.model_validate({k: v for k, v in data.items() if v is not None})


def _number(q: QuestionPlan, value: float) -> dict[str, Any]:
    if q.type == "whole number":
        return {"valueInteger": int(value)}
    return {"valueDecimal": value}


def question_item(q: QuestionPlan, protocol_id: str) -> dict[str, Any]:
    """One question as a Questionnaire item (a dict the R4B model validates)."""
    extensions: list[dict[str, Any]] = [{"url": EXT_UNKNOWN_ALLOWED, "valueBoolean": q.unknown_allowed}]
    if q.red_flag:
        extensions.append({"url": EXT_RED_FLAG, "valueBoolean": True})
    item: dict[str, Any] = {"linkId": q.id, "text": q.prompt, "type": ITEM_TYPE[q.type]}
    if q.type in ("number", "whole number"):
        if q.unit:
            extensions.append({"url": EXT_UNIT, "valueCoding": {"display": q.unit}})
        if q.low is not None:
            extensions.append({"url": EXT_MIN_VALUE, **_number(q, q.low)})
        if q.high is not None:
            extensions.append({"url": EXT_MAX_VALUE, **_number(q, q.high)})
    elif q.is_time:
        for unit, code in UCUM_TIME.items():
            extensions.append(
                {"url": EXT_UNIT_OPTION, "valueCoding": {"system": UCUM, "code": code, "display": unit}}
            )
        for url, bound in ((EXT_MIN_QUANTITY, q.low), (EXT_MAX_QUANTITY, q.high)):
            if bound is not None:
                quantity = {"value": bound, "unit": "minutes", "system": UCUM, "code": "min"}
                extensions.append({"url": url, "valueQuantity": quantity})
    elif q.type == "choice":
        item["answerOption"] = [
            {"valueCoding": {"system": option_system(protocol_id), "code": option, "display": label}}
            for option, label in q.options
        ]
    if q.help:
        item["item"] = [
            {
                "linkId": f"{q.id}.help",
                "text": q.help,
                "type": "display",
                "extension": [
                    {
                        "url": EXT_ITEM_CONTROL,
                        "valueCodeableConcept": {
                            "coding": [{"system": ITEM_CONTROL, "code": "help", "display": "Help-Button"}]
                        },
                    }
                ],
            }
        ]
    return {"extension": extensions, **item}
