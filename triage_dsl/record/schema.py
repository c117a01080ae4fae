"""The published JSON Schemas (draft 2020-12) of records, call records and batch lines.

A **record** is a sealed result: unlike a plain result it must carry the interpreter
version, session id, times, the files it was compiled from and the seal, and every hash
in it is a lowercase SHA-256 hex digest. A **batch line** is one line of
``triage eval --cases``: a result with the case's ``id`` and ``line``, or an error line
for a line that could not be read as a case.
"""

from __future__ import annotations

import copy
from typing import Any

from triage_dsl.model.call import CallRecord
from triage_dsl.model.caller import CallInfo
from triage_dsl.model.result import SCHEMA_VERSION, TriageResult

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SHA256 = "^[0-9a-f]{64}$"
BASE = "https://triage-dsl.invalid/schema"

RECORD_REQUIRED = (
    "schema_version",
    "protocol",
    "status",
    "answers",
    "trace",
    "interpreter_version",
    "session_id",
    "started_at",
    "sealed_at",
    "protocol_files",
    "seal",
)
"""What a sealed record always has (``seal`` fills each of them)."""


def _published(schema: dict[str, Any], what: str, title: str) -> dict[str, Any]:
    schema["$schema"] = DIALECT
    schema["$id"] = f"{BASE}/{what}/{SCHEMA_VERSION}"
    schema["title"] = f"{title} (schema {SCHEMA_VERSION})"
    return schema


def _hex(prop: dict[str, Any]) -> None:
    """Give a hash property (a string, or a string or null) the SHA-256 pattern."""
    if prop.get("type") == "string":
        prop["pattern"] = SHA256
    for option in prop.get("anyOf", ()):
        if option.get("type") == "string":
            option["pattern"] = SHA256


def _strict_record(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema["$defs"]
    for name in ("TraceEntry", "Override", "EscalationStepRun"):
        _hex(defs[name]["properties"]["hash"])
    _hex(defs["ProtocolRef"]["properties"]["sha256"])
    for name in ("header", "outcome", "head"):
        _hex(defs["Seal"]["properties"][name])
    defs["Seal"]["required"] = sorted(set(defs["Seal"].get("required", [])) | {"algorithm", "encoding"})
    props = schema["properties"]
    # a record's protocol_files, seal and session are required, so not null
    props["protocol_files"] = {
        "type": "object",
        "description": props["protocol_files"].get("description", ""),
        "additionalProperties": {"type": "string", "pattern": SHA256},
        "minProperties": 1,
    }
    props["seal"] = {"$ref": "#/$defs/Seal"}
    for name in ("session_id", "interpreter_version", "started_at", "sealed_at"):
        options = props[name].get("anyOf")
        if options:
            props[name] = {k: v for k, v in props[name].items() if k not in ("anyOf", "default")}
            props[name].update(next(o for o in options if o.get("type") != "null"))
    schema["required"] = list(RECORD_REQUIRED)
    return schema


def record_schema() -> dict[str, Any]:
    """The JSON Schema of a sealed record: required fields and SHA-256 patterns."""
    return _published(_strict_record(TriageResult.model_json_schema()), "record", "Triage record")


def call_schema() -> dict[str, Any]:
    """The JSON Schema of a call record (several protocols' records for one call)."""
    schema = CallRecord.model_json_schema()
    _hex(schema["properties"]["hash"])
    return _published(schema, "call", "Call record")


def result_schema() -> dict[str, Any]:
    """The JSON Schema of a result (what ``triage eval --answers`` prints without sealing)."""
    return _published(TriageResult.model_json_schema(), "result", "TriageResult")


BATCH_ERROR_CODES = ("invalid_json", "not_a_case", "line_too_long")


def batch_line_schema() -> dict[str, Any]:
    """The JSON Schema of one output line of ``triage eval --cases``."""
    result = TriageResult.model_json_schema()
    defs = result.pop("$defs")
    where = {
        "id": {"description": "the case's id as given (null when none could be read)"},
        "line": {"type": "integer", "minimum": 1, "description": "the case's line in the input"},
    }
    line = copy.deepcopy(result)
    line["properties"] = {**where, **line["properties"]}
    line["required"] = ["id", "line", *line.get("required", [])]
    line["title"] = "Result line"
    error = {
        "title": "Error line",
        "description": "a line that could not be read as a case: the batch goes on",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **where,
            "protocol": {"$ref": "#/$defs/ProtocolRef"},
            "status": {"const": "error"},
            "disposition": {"type": "null"},
            "error": {"type": "string", "description": "path:line:col: the problem"},
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "question": {"type": "string"},
                        "code": {"enum": list(BATCH_ERROR_CODES)},
                        "message": {"type": "string"},
                    },
                    "required": ["question", "code", "message"],
                },
            },
        },
        "required": ["id", "line", "protocol", "status", "disposition", "error", "errors"],
    }
    schema: dict[str, Any] = {
        "$defs": {**defs, "ResultLine": line, "ErrorLine": error},
        "anyOf": [{"$ref": "#/$defs/ResultLine"}, {"$ref": "#/$defs/ErrorLine"}],
        "description": "one output line of 'triage eval --cases'",
    }
    return _published(schema, "batch-line", "Batch line")


def call_info_schema() -> dict[str, Any]:
    """The JSON Schema of the caller block (``triage eval --call FILE.json``)."""
    return _published(CallInfo.model_json_schema(), "call-info", "Caller block")
