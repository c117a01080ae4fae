"""triage-dsl: telephone-triage protocols as a small language, compiled and explained.

The steps, as in any compiler: **load** a protocol (parse, check, build the decision
graph, freeze it into a plan; cached by source hash), **evaluate** it against a caller's
answers (batch), or run a :class:`Session` (step by step). Every result carries its
disposition, urgency tier, escalation plan, scores and a full reasoning trace.

>>> import triage_dsl
>>> protocol = triage_dsl.load("protocols/rules/qsofa.triage")
>>> result = triage_dsl.evaluate(protocol, {"resp_rate": 24, "altered_mentation": True})
>>> result.status, result.disposition.id
('complete', 'high_risk')
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from triage_dsl.version import __version__

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from triage_dsl.errors import (
        AnswerError,
        CompileError,
        Diagnostic,
        ProtocolFileError,
        RecordError,
        SessionError,
        TriageError,
    )
    from triage_dsl.explain.note import render_note
    from triage_dsl.model.caller import CallInfo
    from triage_dsl.model.result import SCHEMA_VERSION, AnswerEvent, QuestionInfo, TraceEntry, TriageResult
    from triage_dsl.protocol import Protocol
    from triage_dsl.runtime.session import Session

# Names of the facade loaded on first use (module ``__getattr__``), so that importing the
# package, or ``triage --version``, does not load the parser, pydantic or networkx.
_LAZY = {
    "AnswerError": "triage_dsl.errors",
    "CompileError": "triage_dsl.errors",
    "Diagnostic": "triage_dsl.errors",
    "ProtocolFileError": "triage_dsl.errors",
    "RecordError": "triage_dsl.errors",
    "SessionError": "triage_dsl.errors",
    "TriageError": "triage_dsl.errors",
    "render_note": "triage_dsl.explain.note",
    "CallInfo": "triage_dsl.model.caller",
    "SCHEMA_VERSION": "triage_dsl.model.result",
    "AnswerEvent": "triage_dsl.model.result",
    "QuestionInfo": "triage_dsl.model.result",
    "TraceEntry": "triage_dsl.model.result",
    "TriageResult": "triage_dsl.model.result",
    "Protocol": "triage_dsl.protocol",
    "Session": "triage_dsl.runtime.session",
}


class _Facade(ModuleType):
    """The package module. Importing the subpackage ``triage_dsl.check`` binds it as the
    package's attribute ``check``, which would hide the facade's :func:`check` once the
    subpackage is first imported after this file ran (it is now loaded lazily); that one
    binding is refused, so ``triage_dsl.check`` stays the function, as before."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "check" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'triage_dsl' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def load(path: str | Path) -> Protocol:
    """Compile a ``.triage`` file (cached by the SHA-256 of it and its imports).

    Raises :class:`CompileError` listing every diagnostic, or :class:`ProtocolFileError`
    when the file cannot be read.

    >>> load("protocols/rules/news2.triage").id
    'news2'
    """
    from triage_dsl.compiler import compile_file

    return compile_file(path)


def compile_text(text: str, path: str = "<text>") -> Protocol:
    """Compile protocol text given as a string (imports resolve relative to ``path``).

    >>> p = compile_text('''protocol demo title "Demo" version "1" end
    ... question fever: yes/no ask "Fever?" end
    ... disposition see label "See a doctor" tier same_day end
    ... disposition home label "Home care" tier home_care end
    ... triage section see if any of when fever end default home end''')
    >>> evaluate(p, {"fever": False}).disposition.id
    'home'
    """
    from triage_dsl.compiler import compile_source
    from triage_dsl.source import Source

    return compile_source(Source(path, text))


def evaluate(
    protocol: Protocol,
    answers: Mapping[str, Any],
    *,
    trace: bool = True,
    note: bool = False,
    now: datetime | None = None,
    call: CallInfo | None = None,
) -> TriageResult:
    """Evaluate answers (question id -> JSON-like value; ``"unknown"`` when the caller does
    not know; an age or duration as ``"11 weeks"`` or ``{"value": 11, "unit": "weeks"}``,
    an age also as ``{"born": "2026-09-01"}``, read with the clock ``now``). Never raises
    for bad answers: the result's status is ``error`` instead.

    The result's ``answer_log`` keeps every answer given (also those no criterion read,
    and invalid ones), and ``call`` the caller block, for the record.

    >>> p = load("protocols/rules/qsofa.triage")
    >>> evaluate(p, {"resp_rate": 400}).error
    "question 'resp_rate': 400 is outside the valid range 0 to 80 breaths/min"
    """
    from triage_dsl.runtime.answer_log import answer_log
    from triage_dsl.runtime.interpreter import evaluate_protocol

    result = evaluate_protocol(protocol, answers, trace=trace, now=now)
    valid = result.status != "error"  # every answer was checked and none refused: not again
    log = answer_log(protocol, answers, now, valid=valid) if isinstance(answers, Mapping) else []
    result = result.model_copy(update={"answer_log": log, "call": call})
    if note:
        from triage_dsl.explain.note import render_note

        result = result.model_copy(update={"note": render_note(result)})
    return result


def check(path: str | Path) -> list[Diagnostic]:
    """Every error and warning for a protocol or library file, in file order."""
    from triage_dsl.compiler import check_file

    return check_file(path)[0]


__all__ = [
    "SCHEMA_VERSION",
    "AnswerError",
    "AnswerEvent",
    "CallInfo",
    "CompileError",
    "Diagnostic",
    "Protocol",
    "ProtocolFileError",
    "QuestionInfo",
    "RecordError",
    "Session",
    "SessionError",
    "TraceEntry",
    "TriageError",
    "TriageResult",
    "__version__",
    "check",
    "compile_text",
    "evaluate",
    "load",
    "render_note",
]
