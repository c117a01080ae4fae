"""FHIR R4 export (with the ``fhir.resources`` R4B models): protocols and records as the
resources an EHR takes in.

- :func:`questionnaire` (protocol) -> ``Questionnaire``: every question of a compiled
  protocol, typed, with units, ranges, options, help and whether "unknown" is allowed;
- :func:`bundle` (sealed record or call record) -> transaction ``Bundle``: a
  QuestionnaireResponse with every answer of the answer log, a RiskAssessment with the
  disposition, tier, time frame and reasoning, a CommunicationRequest per escalation
  step, and a Provenance carrying the seal's head;
- :func:`to_json` -> the resource's JSON text: the same input gives the same bytes.

The field-by-field mapping and what an EHR integration still has to add are in
docs/integration.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage_dsl.fhir.from_protocol import questionnaire
    from triage_dsl.fhir.from_record import bundle
    from triage_dsl.fhir.values import to_json

# The models load on first use, so ``triage`` commands that export nothing start as fast
# as before (``triage_dsl.fhir.cli`` is imported by every command line).
_LAZY = {"bundle": "from_record", "questionnaire": "from_protocol", "to_json": "values"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"triage_dsl.fhir.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'triage_dsl.fhir' has no attribute {name!r}")


__all__ = ["bundle", "questionnaire", "to_json"]
