"""``triage eval`` of one answer set without pydantic: evaluated, sealed and written
from the plain result classes (:mod:`triage_dsl.model.plain`).

Importing pydantic and building the result models is about half of the command's
start-up; this path gives the same bytes as the models' path (``evaluate``, ``seal``,
``redact``, then the JSON or the note), the record's hashes included:
``tests/cli/test_eval_plain.py`` compares the two for every shipped protocol and example
and for generated answer sets. The caller block (``--call``, which must be validated)
and the note of a redacted copy take the models' path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from triage_dsl.protocol import Protocol
from triage_dsl.record.clock import FixedClock
from triage_dsl.record.keys import RecordKey


def evaluate_and_seal(
    protocol: Protocol,
    answers: Any,
    *,
    trace: bool,
    now: datetime,
    session_id: str | None,
    key: RecordKey | None,
    redacted: bool,
    form: str,
) -> tuple[str, str] | None:
    """The text ``triage eval --answers`` writes (JSON, note or markdown) and the result's
    status; None when a value cannot be written by orjson as pydantic writes it (then the
    models' path writes it). The note of a redacted copy is not made here."""
    from triage_dsl.model import plain
    from triage_dsl.record.redact import redact_json
    from triage_dsl.record.seal import seal_plain
    from triage_dsl.runtime.answer_log import answer_log
    from triage_dsl.runtime.interpreter import evaluate_protocol

    result = evaluate_protocol(protocol, answers, trace=trace, now=now, plain=True)
    valid = result.status != "error"  # every answer was checked and none refused: not again
    log = (
        answer_log(protocol, answers, now, plain.AnswerEvent, valid=valid)
        if isinstance(answers, Mapping)
        else []
    )
    result = result.model_copy(update={"answer_log": log})
    record, raw = seal_plain(result, protocol=protocol, session_id=session_id, clock=FixedClock(now), key=key)
    if form != "json":
        if redacted:
            raise ValueError("the note of a redacted copy takes the models' path")
        from triage_dsl.explain.note import render_note

        return render_note(record, markdown=form == "markdown"), raw["status"]
    if redacted:
        defaults = (
            (name, factory() if factory else default) for name, default, factory in plain.TriageResult.FIELDS
        )
        raw = redact_json(raw, key, defaults)
    try:
        text = orjson.dumps(raw, option=orjson.OPT_INDENT_2).decode() + "\n"
    except orjson.JSONEncodeError:
        return None
    return text, raw["status"]
