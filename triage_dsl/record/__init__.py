"""The liability record: a result sealed as evidence, extended, verified and redacted.

``seal`` turns a result into a record (session id, times, versions, a hash chain over
the header, every trace entry and the outcome); ``override`` and ``escalate`` append
chained links; ``verify`` checks the chain and replays the answers; ``combine`` makes a
call record of several protocols; ``redact`` makes a copy fit for logs. See
docs/record.md.
"""

from triage_dsl.model.call import CallRecord
from triage_dsl.record.call import combine
from triage_dsl.record.canonical import canonical_json
from triage_dsl.record.clock import Clock, FixedClock, SystemClock
from triage_dsl.record.escalation import EscalationError, escalate, escalation_next
from triage_dsl.record.overrides import OverridePolicy, OverrideRefused, in_effect, override
from triage_dsl.record.redact import redact, redact_call
from triage_dsl.record.schema import call_schema, record_schema
from triage_dsl.record.seal import seal
from triage_dsl.record.verify import Finding, Verification, verify, verify_call

__all__ = [
    "CallRecord",
    "Clock",
    "EscalationError",
    "Finding",
    "FixedClock",
    "OverridePolicy",
    "OverrideRefused",
    "SystemClock",
    "Verification",
    "call_schema",
    "canonical_json",
    "combine",
    "escalate",
    "escalation_next",
    "in_effect",
    "override",
    "record_schema",
    "redact",
    "redact_call",
    "seal",
    "verify",
    "verify_call",
]

import logging as _logging

# A library logs, the host decides where it goes (and nothing is printed by default).
_logging.getLogger("triage_dsl.record").addHandler(_logging.NullHandler())
