"""The names the FHIR export uses: code systems, identifier systems, extension URLs, ids.

Everything the project defines lives under one base, :data:`BASE` (a URN: the project
publishes no FHIR profiles yet, and an integration may map it to its own canonical
base). Extensions defined by HL7 are used where one fits (units, ranges, item control,
data-absent reason). Resource ids are derived from the record's hashes, never random:
the same record gives the same ids (:func:`uuid_for`).
"""

from __future__ import annotations

import hashlib
import uuid

BASE = "urn:triage-dsl:fhir"

# Identifier systems and code systems of the project
PROTOCOL = f"{BASE}:protocol"
"""A protocol's canonical URL is ``PROTOCOL:<id>``; its options ``...:<id>:option``."""
CONTENT_SHA256 = f"{BASE}:content-sha256"
"""SHA-256 over a protocol and every file it imports (``protocol.content_sha256``)."""
SOURCE_SHA256 = f"{BASE}:source-sha256"
"""SHA-256 of the protocol file's text (``protocol.sha256``)."""
RECORD_HEAD = f"{BASE}:record-head"
"""A sealed record's chain head (``seal.head``)."""
CALL_HASH = f"{BASE}:call-hash"
"""A call record's hash (``hash``)."""
SESSION = f"{BASE}:session"
AGENT = f"{BASE}:agent"
STAFF = f"{BASE}:staff"
ROLE = f"{BASE}:role"
CHANNEL = f"{BASE}:channel"
TIER = f"{BASE}:tier"
ANSWER_EVENT_KIND = f"{BASE}:answer-event-kind"
ANSWER_PROBLEM = f"{BASE}:answer-problem"
ESCALATION_EVENT = f"{BASE}:escalation-event"

# Extensions of the project
EXT_UNKNOWN_ALLOWED = f"{BASE}:extension:unknown-allowed"
EXT_RED_FLAG = f"{BASE}:extension:red-flag"
EXT_ANSWER_EVENT = f"{BASE}:extension:answer-event"
EXT_CALLER = f"{BASE}:extension:caller"
CALLER_RELATIONSHIP = f"{BASE}:caller-relationship"
EXT_ESCALATION_EVENT = f"{BASE}:extension:escalation-event"
EXT_STEP = f"{BASE}:extension:escalation-step"

# Extensions and code systems defined by HL7
HL7_EXT = "http://hl7.org/fhir/StructureDefinition"
EXT_UNIT = f"{HL7_EXT}/questionnaire-unit"
EXT_UNIT_OPTION = f"{HL7_EXT}/questionnaire-unitOption"
EXT_MIN_VALUE = f"{HL7_EXT}/minValue"
EXT_MAX_VALUE = f"{HL7_EXT}/maxValue"
EXT_ITEM_CONTROL = f"{HL7_EXT}/questionnaire-itemControl"
EXT_DATA_ABSENT = f"{HL7_EXT}/data-absent-reason"
SDC_EXT = "http://hl7.org/fhir/uv/sdc/StructureDefinition"
EXT_MIN_QUANTITY = f"{SDC_EXT}/sdc-questionnaire-minQuantity"
EXT_MAX_QUANTITY = f"{SDC_EXT}/sdc-questionnaire-maxQuantity"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
UCUM = "http://unitsofmeasure.org"
SECURITY_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"

# Ages and durations: the DSL's units of time as UCUM codes.
UCUM_TIME = {
    "minutes": "min",
    "hours": "h",
    "days": "d",
    "weeks": "wk",
    "months": "mo",
    "years": "a",
}


def uuid_for(*parts: str) -> str:
    """A UUID (version 5 layout) derived from ``parts``: the same parts, the same id.

    >>> uuid_for("a" * 64, "QuestionnaireResponse") == uuid_for("a" * 64, "QuestionnaireResponse")
    True
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def full_url(*parts: str) -> str:
    """The ``urn:uuid:`` a transaction Bundle entry is referenced by."""
    return f"urn:uuid:{uuid_for(*parts)}"


def resource_id(text: str) -> str:
    """``text`` as a FHIR id (letters, digits, ``-`` and ``.``, at most 64 characters).

    >>> resource_id("chest_pain_adult")
    'chest-pain-adult'
    """
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-.") else "-" for c in text)
    return cleaned[:64] or "x"


def protocol_url(protocol_id: str) -> str:
    """The canonical URL of a protocol's Questionnaire."""
    return f"{PROTOCOL}:{protocol_id}"


def option_system(protocol_id: str) -> str:
    """The code system of a protocol's answer options (codes are option ids)."""
    return f"{PROTOCOL}:{protocol_id}:option"


def disposition_system(protocol_id: str) -> str:
    """The code system of a protocol's dispositions (codes are disposition ids)."""
    return f"{PROTOCOL}:{protocol_id}:disposition"
