"""Fuzzing the parser and checker: every input ends in a protocol or in diagnostics with
positions, never in another exception.

Inputs: protocols generated from the grammar's constructs, the same mutated (a token
deleted, duplicated or swapped, the text truncated, random bytes inserted, expressions
nested deep), and raw random text.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ
from triage_dsl import Protocol, compile_text, evaluate
from triage_dsl.errors import CompileError
from triage_dsl.source import Source
from triage_dsl.syntax.parser import parse_protocol

NAMES = ("fever", "age", "colour", "pain", "cough")
OPS = ("<", "<=", ">", ">=", "=", "!=")


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    """Expressions over the questions of ``protocols()`` (well typed most of the time)."""
    leaf = st.one_of(
        st.sampled_from(["fever", "cough", "yes", "no", "fever is unknown", "colour is pale"]),
        st.builds(lambda op, n: f"age {op} {n}", st.sampled_from(OPS), st.integers(0, 130)),
        st.builds(lambda n: f"pain + age * 2 >= {n}", st.integers(-5, 270)),
        st.just("colour in {pale, blue}"),
        st.just("count(fever, cough, age > 40) >= 2"),
        st.just("(if fever then age else pain) > 10"),
    )
    if depth > 3:
        return draw(leaf)
    return draw(
        st.one_of(
            leaf,
            st.builds(
                lambda a, op, b: f"({a}) {op} ({b})",
                expressions(depth + 1),
                st.sampled_from(["and", "or"]),
                expressions(depth + 1),
            ),
            st.builds(lambda a: f"not ({a})", expressions(depth + 1)),
        )
    )


@st.composite
def protocols(draw: st.DrawFn) -> str:
    criteria = draw(st.lists(expressions(), min_size=1, max_size=4))
    second = draw(st.lists(expressions(), min_size=1, max_size=3))
    mode = draw(st.sampled_from(["any", "all"]))
    return "\n".join(
        [
            "protocol fuzz",
            '  title "Fuzz"',
            '  version "1"',
            "end",
            "question fever: yes/no",
            '  ask "Fever?"',
            "  unknown allowed",
            "end",
            "question cough: yes/no",
            '  ask "Cough?"',
            "end",
            'question age: number ask "Age?" range 0 to 130 end',
            'question pain: whole number ask "Pain?" range 0 to 10 end',
            'question colour: choice ask "Colour?"',
            'option normal "Normal" option pale "Pale" option blue "Blue" end',
            "points pain_points from pain",
            f"  <= {draw(st.integers(0, 10))}: 0",
            "  else: 2",
            "end",
            "score total = pain_points + 1",
            'disposition er label "ER" tier emergency advice "Call 911." end',
            'disposition today label "Today" tier same_day end',
            'disposition home label "Home" tier home_care end',
            "triage",
            "  section er if any of",
            *(f"    when {c}" for c in criteria),
            "  end",
            f"  section today if {mode} of",
            *(f"    when {c}" for c in second),
            "  end",
            "  default home",
            "end",
        ]
    )


def tokens(text: str) -> list[str]:
    return text.replace("\n", " \n ").split(" ")


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(protocols())
    parts = tokens(text)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "bytes", "nest", "not"]))
        if not parts:
            break
        i = draw(st.integers(0, len(parts) - 1))
        j = draw(st.integers(0, len(parts) - 1))
        if kind == "delete":
            del parts[i]
        elif kind == "duplicate":
            parts.insert(i, parts[i])
        elif kind == "swap":
            parts[i], parts[j] = parts[j], parts[i]
        elif kind == "truncate":
            parts = parts[:i]
        elif kind == "bytes":
            junk = draw(st.binary(min_size=1, max_size=8)).decode("latin-1")
            parts.insert(i, junk)
        elif kind == "nest":
            n = draw(st.integers(1, 400))
            parts.insert(i, "(" * n + "fever" + ")" * draw(st.integers(0, n)))
        else:
            parts.insert(i, "not " * draw(st.integers(1, 600)) + "fever")
    return " ".join(parts)


def assert_handled(text: str) -> None:
    """Compiles, or fails with diagnostics that all carry positions; nothing else."""
    file, diagnostics = parse_protocol(Source("fuzz.triage", text))
    assert (file is None) == bool(diagnostics) or file is not None
    for d in diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1 and d.code and d.message
    try:
        protocol = compile_text(text, "fuzz.triage")
    except CompileError as exc:
        assert exc.diagnostics, "a compile error lists its diagnostics"
        for d in exc.diagnostics:
            assert d.span.line >= 1 and d.span.column >= 1 and d.code and d.message
            assert d.render()
        return
    assert isinstance(protocol, Protocol)
    assert evaluate(protocol, {}).status in ("complete", "needs_answers")


@FUZZ
@given(protocols())
def test_generated_protocols_compile(text: str) -> None:
    protocol = compile_text(text, "fuzz.triage")
    result = evaluate(protocol, {"fever": True, "cough": False, "age": 1, "pain": 3, "colour": "pale"})
    assert result.status == "complete"


@FUZZ
@given(mutated())
def test_mutated_protocols_end_in_a_protocol_or_diagnostics(text: str) -> None:
    assert_handled(text)


@FUZZ
@given(st.text(max_size=400))
def test_random_text_ends_in_diagnostics(text: str) -> None:
    assert_handled(text)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_end_in_diagnostics(data: bytes) -> None:
    assert_handled(data.decode("utf-8", errors="replace"))
