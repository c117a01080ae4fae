"""Scenario files: loading them and checking one scenario's expectations against a result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage_dsl.compiler import read_source
from triage_dsl.errors import CompileError, did_you_mean
from triage_dsl.model.result import TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.source import Source
from triage_dsl.syntax import ast
from triage_dsl.syntax.parser import parse_scenarios

SCENARIO_SUFFIX = ".scenarios"


def scenario_path(protocol_path: Path) -> Path:
    """``news2.triage`` -> ``news2.scenarios``."""
    return protocol_path.with_suffix(SCENARIO_SUFFIX)


def load_scenarios(path: Path) -> tuple[ast.ScenarioFile, Source]:
    source = read_source(path)
    parsed, diagnostics = parse_scenarios(source)
    if parsed is None:
        raise CompileError(diagnostics, {source.path: source})
    return parsed, source


def answer_value(literal: ast.Literal_) -> Any:
    """A scenario literal as the JSON answer it stands for (option ids and ``unknown``
    stay strings)."""
    return literal.value


def answers_of(baseline: tuple[ast.Answer, ...], scenario: ast.Scenario) -> dict[str, Any]:
    answers = {a.question: answer_value(a.value) for a in baseline}
    for name in scenario.without:
        answers.pop(name, None)
    for a in scenario.answers:
        answers[a.question] = answer_value(a.value)
    return answers


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: where it is written, what was wanted, what happened."""

    location: str
    expected: str
    actual: str


def _names(protocol: Protocol) -> dict[str, set[str]]:
    plan = protocol.plan
    return {
        "disposition": set(plan.dispositions)
        | {d for callee in plan.callees.values() for d in callee.plan.dispositions},
        "tier": {t.id for t in plan.tiers},
        "score": set(plan.scores),
        "question": set(plan.questions)
        | {q for callee in plan.callees.values() for q in callee.plan.questions},
        "status": {"complete", "needs_answers", "error"},
    }


def undeclared_answers(
    protocol: Protocol, baseline: tuple[ast.Answer, ...], scenario: ast.Scenario
) -> list[Failure]:
    """Answers (``baseline``, ``given``) and ``without`` lines naming a question the
    protocol does not have, each at its own line with a did-you-mean."""
    questions = _names(protocol)["question"]
    failures: list[Failure] = []

    def unknown(where: str, name: str) -> None:
        hint = did_you_mean(name, questions)
        failures.append(
            Failure(
                where,
                f"question '{name}'",
                "no such question in the protocol" + (f"; {hint}" if hint else ""),
            )
        )

    for answer in (*baseline, *scenario.answers):
        if answer.question not in questions:
            unknown(answer.span.where, answer.question)
    for name in scenario.without:
        if name not in questions:
            unknown(scenario.span.where, name)
    return list(dict.fromkeys(failures))


def check_expectations(protocol: Protocol, scenario: ast.Scenario, result: TriageResult) -> list[Failure]:
    names = _names(protocol)
    failures: list[Failure] = []

    def fail(e: ast.Expectation, expected: str, actual: str) -> None:
        failures.append(Failure(e.span.where, expected, actual))

    def known(e: ast.Expectation, kind: str, name: str) -> bool:
        if name in names[kind]:
            return True
        hint = did_you_mean(name, names[kind])
        fail(e, f"{kind} '{name}'", f"no such {kind} in the protocol" + (f"; {hint}" if hint else ""))
        return False

    disposition = result.disposition.id if result.disposition else None
    for e in scenario.expectations:
        if e.kind == "disposition":
            want = e.names[0]
            if known(e, "disposition", want) and (result.status != "complete" or disposition != want):
                fail(e, f"disposition {want}", _outcome(result))
        elif e.kind == "tier":
            want = e.names[0]
            tier = result.urgency.tier if result.urgency else None
            if known(e, "tier", want) and tier != want:
                fail(e, f"tier {want}", f"tier {tier}" if tier else _outcome(result))
        elif e.kind == "score":
            name = e.names[0]
            got = result.scores.get(name)
            if known(e, "score", name) and (got is None or abs(float(got) - float(e.number or 0)) > 1e-9):
                fail(e, f"score {name} = {e.number:g}", f"score {name} = {got}")
        elif e.kind == "status":
            want = e.names[0]
            if known(e, "status", want) and result.status != want:
                fail(e, f"status {want}", _outcome(result))
        elif e.kind == "next":
            want = e.names[0]
            got_next = result.next_question.id if result.next_question else None
            if known(e, "question", want) and got_next != want:
                fail(
                    e, f"next question {want}", f"next question {got_next}" if got_next else _outcome(result)
                )
        elif e.kind == "asked":
            for name in e.names:
                if known(e, "question", name) and name not in result.asked:
                    fail(e, f"'{name}' asked", f"not asked (asked: {', '.join(result.asked) or 'nothing'})")
        elif e.kind == "not_asked":
            for name in e.names:
                if known(e, "question", name) and name in result.asked:
                    fail(e, f"'{name}' not asked", f"asked (step {result.asked.index(name) + 1})")
    return failures


def _outcome(result: TriageResult) -> str:
    if result.status == "complete" and result.disposition is not None:
        return f"disposition {result.disposition.id}"
    if result.status == "needs_answers":
        return f"needs_answers (missing: {', '.join(result.missing)})"
    return f"error: {result.error}"
