"""The liability record: a result sealed as evidence, extended, verified and redacted.

``seal`` turns a result into a record (session id, times, versions, a hash chain over
the header, every trace entry and the outcome); ``override`` and ``escalate`` append
chained links; ``verify`` checks the chain and replays the answers; ``combine`` makes a
call record of several protocols; ``redact`` makes a copy fit for logs. See
docs/record.md.

The names resolve on first use, so a light path (``triage eval`` of one case) may use a
module of this package (the canonical JSON, the keys, :func:`seal.seal_plain`) without
importing pydantic and the record's other modules.
"""

from __future__ import annotations

import importlib
import logging as _logging
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "CallRecord": "triage_dsl.model.call",
    "combine": "triage_dsl.record.call",
    "canonical_json": "triage_dsl.record.canonical",
    "Clock": "triage_dsl.record.clock",
    "FixedClock": "triage_dsl.record.clock",
    "SystemClock": "triage_dsl.record.clock",
    "EscalationError": "triage_dsl.record.escalation",
    "escalate": "triage_dsl.record.escalation",
    "escalation_next": "triage_dsl.record.escalation",
    "OverridePolicy": "triage_dsl.record.overrides",
    "OverrideRefused": "triage_dsl.record.overrides",
    "in_effect": "triage_dsl.record.overrides",
    "override": "triage_dsl.record.overrides",
    "redact": "triage_dsl.record.redact",
    "redact_call": "triage_dsl.record.redact",
    "call_schema": "triage_dsl.record.schema",
    "record_schema": "triage_dsl.record.schema",
    "seal": "triage_dsl.record.seal",
    "Finding": "triage_dsl.record.verify",
    "Verification": "triage_dsl.record.verify",
    "verify": "triage_dsl.record.verify",
    "verify_call": "triage_dsl.record.verify",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Importing a submodule binds its name on the package: for ``seal``, ``redact`` and
    ``verify`` the package's name is the function (as it always was), not the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

# A library logs, the host decides where it goes (and nothing is printed by default).
_logging.getLogger("triage_dsl.record").addHandler(_logging.NullHandler())
