"""The published JSON Schemas of records and call records, with their version."""

from __future__ import annotations

from typing import Any

from triage_dsl.model.call import CallRecord
from triage_dsl.model.caller import CallInfo
from triage_dsl.model.result import SCHEMA_VERSION, TriageResult


def record_schema() -> dict[str, Any]:
    """The JSON Schema of a record (a result with the record fields of schema 1.1)."""
    schema = TriageResult.model_json_schema()
    schema["$id"] = f"https://triage-dsl.invalid/schema/record/{SCHEMA_VERSION}"
    schema["title"] = f"Triage record (schema {SCHEMA_VERSION})"
    return schema


def call_schema() -> dict[str, Any]:
    """The JSON Schema of a call record (several protocols' records for one call)."""
    schema = CallRecord.model_json_schema()
    schema["$id"] = f"https://triage-dsl.invalid/schema/call/{SCHEMA_VERSION}"
    schema["title"] = f"Call record (schema {SCHEMA_VERSION})"
    return schema


def call_info_schema() -> dict[str, Any]:
    """The JSON Schema of the caller block (``triage eval --call FILE.json``)."""
    schema = CallInfo.model_json_schema()
    schema["$id"] = f"https://triage-dsl.invalid/schema/call-info/{SCHEMA_VERSION}"
    schema["title"] = f"Caller block (schema {SCHEMA_VERSION})"
    return schema
