"""``triage eval`` of one case, written without pydantic (``triage_dsl/eval_plain.py``),
gives the bytes of the models' path: ``evaluate``, ``seal``, ``redact``, then the JSON
(``dumps``) or the note, as ``commands._sealed`` does them. Every shipped protocol with
its scenarios and the shipped examples, and generated answer sets (complete, partial,
unknown, invalid); with and without the trace, keyed, redacted, each output format. The
record written validates against the published schema and ``triage verify`` passes it.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.model.test_serialize import scenario_answers, validator
from tests.runtime.test_properties import PROTOCOL_LIST, SETTINGS, full_answers, partial_answers
from triage_dsl import Protocol, evaluate
from triage_dsl.cli import main
from triage_dsl.eval_plain import evaluate_and_seal
from triage_dsl.explain.note import render_note
from triage_dsl.model import plain, result
from triage_dsl.model.serialize import _is_float, _is_floats, dumps
from triage_dsl.record import redact, seal
from triage_dsl.record.clock import FixedClock
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.schema import record_schema
from triage_dsl.runtime.answers import all_questions

IDS = [p.id for p in PROTOCOL_LIST]
EXAMPLES = [json.loads(p.read_text()) for p in sorted((ROOT / "protocols" / "examples").glob("*.json"))]
KEY = RecordKey(b"k" * 32)
NOW = datetime(2026, 3, 1, 2, 14, 0, 123456, tzinfo=UTC)  # microseconds: written as pydantic does
RECORD = validator(record_schema())


def models_path(
    protocol: Protocol,
    answers: Any,
    *,
    trace: bool,
    key: RecordKey | None,
    redacted: bool,
    form: str,
    session_id: str | None = "call-1",
) -> tuple[str, str]:
    """What the command writes through the pydantic models (commands.eval_command)."""
    record = seal(
        evaluate(protocol, answers, trace=trace, now=NOW),
        protocol=protocol,
        session_id=session_id,
        clock=FixedClock(NOW),
        key=key,
    )
    if redacted:
        record = redact(record, key)
    if form == "json":
        return dumps(record, indent=True).decode() + "\n", record.status
    return render_note(record, markdown=form == "markdown"), record.status


def plain_path(
    protocol: Protocol, answers: Any, *, trace: bool, key: RecordKey | None, redacted: bool, form: str
) -> tuple[str, str]:
    written = evaluate_and_seal(
        protocol, answers, trace=trace, now=NOW, session_id="call-1", key=key, redacted=redacted, form=form
    )
    assert written is not None
    return written


def same(protocol: Protocol, answers: Any, **how: Any) -> None:
    expected = models_path(protocol, answers, **how)
    assert plain_path(protocol, answers, **how) == expected
    if how["form"] == "json":
        RECORD.validate(json.loads(expected[0]))


VARIANTS = [
    {"trace": True, "key": None, "redacted": False, "form": "json"},
    {"trace": False, "key": None, "redacted": False, "form": "json"},
    {"trace": True, "key": KEY, "redacted": False, "form": "json"},
    {"trace": True, "key": KEY, "redacted": True, "form": "json"},
    {"trace": False, "key": None, "redacted": True, "form": "json"},
    {"trace": True, "key": None, "redacted": False, "form": "note"},
    {"trace": False, "key": KEY, "redacted": False, "form": "markdown"},
]


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
def test_every_shipped_protocol_scenario_and_example_gives_the_same_bytes(protocol: Protocol) -> None:
    for answers in [*scenario_answers(protocol), *EXAMPLES]:
        for how in VARIANTS:
            same(protocol, answers, **how)


def test_answers_that_are_no_object_give_the_same_error() -> None:
    for answers in ([1, 2], "yes", None):
        for how in VARIANTS[:4]:
            same(PROTOCOL_LIST[0], answers, **how)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["unknown", "11 weeks", "3 days", {"value": 2, "unit": "hours"}, {"born": "2020-01-01"}]),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def answer_sets(draw: st.DrawFn, protocol: Protocol) -> dict[str, Any]:
    kind = draw(st.sampled_from(["complete", "partial", "unknown", "invalid"]))
    if kind == "complete":
        answers: dict[str, Any] = draw(full_answers(protocol))
    else:
        answers = draw(partial_answers(protocol))
    questions = sorted(all_questions(protocol.plan))
    if kind == "unknown" and questions:
        for qid in draw(st.lists(st.sampled_from(questions), max_size=4)):
            answers[qid] = "unknown"
    if kind == "invalid":
        keys = (
            st.one_of(st.sampled_from(questions), st.text(max_size=6)) if questions else st.text(max_size=6)
        )
        answers.update(draw(st.dictionaries(keys, junk, max_size=3)))
    return answers


@SETTINGS
@given(st.data())
def test_generated_answer_sets_give_the_same_bytes(data: st.DataObject) -> None:
    protocol = data.draw(st.sampled_from(PROTOCOL_LIST))
    answers = data.draw(answer_sets(protocol))
    how = data.draw(st.sampled_from(VARIANTS))
    same(protocol, answers, **how)


def float_fields(model: Any) -> frozenset[str]:
    """The model's fields of type float, float or None, or a pair of floats."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if _is_float(info.annotation) or _is_floats(info.annotation)
    )


def test_the_plain_classes_match_the_models_field_by_field() -> None:
    """One source of truth: names, order and defaults of every field; the float fields
    (an int there is written as a float) are the models' float-typed fields."""
    classes = [c for c in vars(plain).values() if isinstance(c, type) and issubclass(c, plain.Plain)]
    assert len(classes) > 10
    for cls in classes:
        if cls is plain.Plain:
            continue
        model = getattr(result, cls.__name__)
        fields = model.model_fields
        assert [name for name, _, _ in cls.FIELDS] == list(fields), cls.__name__
        for name, default, factory in cls.FIELDS:
            info = fields[name]
            if factory is not None:
                assert info.default_factory is not None and factory() == info.default_factory(), (cls, name)
            elif info.is_required():
                assert default is None, (cls, name)
            else:
                assert info.default_factory is None and default == info.default, (cls, name)
        assert float_fields(model) == cls.FLOATS, cls.__name__


def test_the_command_writes_a_record_that_verifies(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    key = tmp_path / "record.key"
    key.write_text("a2FrYWtha2FrYWtha2FrYWtha2FrYWtha2FrYWtha2FrYWs=\n")
    argv = ["protocols/rules/news2.triage", "--answers", "protocols/examples/news2_high.json"]
    out, err = io.StringIO(), io.StringIO()
    assert main(["eval", *argv, "-o", str(record), "--key-file", str(key)], stdout=out, stderr=err) == 0
    verified = main(
        ["verify", "--protocol", argv[0], "--key-file", str(key), str(record)], stdout=out, stderr=err
    )
    assert verified == 0, out.getvalue() + err.getvalue()
    RECORD.validate(json.loads(record.read_text()))
