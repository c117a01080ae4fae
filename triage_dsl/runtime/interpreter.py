"""The interpreter: a plan and a caller's answers -> a result with its full trace.

The reference evaluator, in three modules along its steps:

- ``program.py``: the plan compiled once into closures (:class:`Program`), kept in
  ``plan.compiled``;
- ``evaluation.py``: one evaluation's state (:class:`Evaluation`): sections tried in
  order over partial values, floors, the trace recorded;
- ``build.py``: trace entries and result pieces, built from data valid by construction.

This module validates the answers, checks the population, runs an evaluation and
assembles the result (:func:`evaluate_protocol`), or only the decision the analyses need
(:func:`decide`). Nothing from a protocol is passed to eval or exec. See
``docs/performance.md`` for what makes it fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from triage_dsl.graph.plan import (
    DispositionPlan,
    PopulationPlan,
)
from triage_dsl.runtime import codegen
from triage_dsl.runtime.answers import (
    UNKNOWN,
    Clean,
    TimeAnswer,
    answer_json,
    time_words,
    validate,
)
from triage_dsl.runtime.build import (
    _JSON,
    Locator,
    escalation_plan,
    protocol_ref,
    question_info,
    urgency,
)
from triage_dsl.runtime.evaluation import Evaluation
from triage_dsl.runtime.program import Program, program

if TYPE_CHECKING:
    from triage_dsl.model import result as m

__all__ = [
    "Decision",
    "Evaluation",
    "Locator",
    "Program",
    "decide",
    "escalation_plan",
    "evaluate_protocol",
    "program",
    "protocol_ref",
    "question_info",
    "urgency",
]

_answer_json = answer_json


class Decision(NamedTuple):
    """What the analyses need of one evaluation, without building a result or a trace."""

    status: str  # "complete" | "needs_answers"
    disposition: str | None
    tier_rank: int | None
    section: str | None  # the deciding section node ("default" for the default)
    criterion: str | None  # the deciding criterion node, if any
    missing: tuple[str, ...]
    read: tuple[str, ...]  # answered questions the evaluation read
    # (protocol id, section index, indexes of its criteria still undecided)
    waiting: tuple[str, int, tuple[int, ...]] | None = None
    raised_by: str | None = None  # file:line of the floor that raised the outcome, if any


def decide(protocol: Any, answers: Mapping[str, Clean]) -> Decision:
    """Evaluate already-validated answers quietly (the engine behind the analyses).

    ``answers`` map question ids to clean values (``UNKNOWN`` for "does not know").
    """
    evaluation = Evaluation(protocol, answers, [], [], tracing=False)
    evaluation.quiet = True
    outcome = evaluation.run()
    read = tuple(evaluation.used)
    if outcome["status"] != "complete":
        return Decision(
            "needs_answers", None, None, None, None, tuple(outcome["missing"]), read, outcome.get("waiting")
        )
    d: DispositionPlan = outcome["disposition"]
    decided: m.DecidedBy = outcome["decided_by"]
    raised: m.RaisedBy | None = outcome.get("raised_by")
    return Decision(
        "complete",
        d.id,
        d.tier.rank,
        decided.section,
        decided.criterion,
        (),
        read,
        raised_by=raised.floor_location if raised is not None else None,
    )


def _outside_population(
    compiled: Program, population: PopulationPlan, clean: Mapping[str, Clean], trace: bool
) -> m.TriageResult | None:
    """The error result for a patient's age outside the protocol's population, or None."""
    qid = population.question
    answer = clean.get(qid)
    if not isinstance(answer, TimeAnswer) or population.low <= answer <= population.high:
        return None
    given = answer_json(answer)
    message = (
        f"{qid} = {time_words(answer)} is outside this protocol's population: {population.text}; "
        "use a protocol for this age group"
    )
    entries = []
    if trace:
        q = compiled.questions_all[qid]
        entries = [
            compiled.kinds.entry(
                1,
                "answer",
                q.node,
                compiled.protocol_id,
                compiled.where(q.span),
                q.prompt,
                {qid: given},
                float(answer),
                f"answered {given}",
                None,
            ),
            compiled.kinds.entry(
                2,
                "population",
                "population",
                compiled.protocol_id,
                compiled.where.location(population.location),
                f"population {population.text}",
                {qid: given},
                False,
                message,
                None,
            ),
        ]
    refused: m.TriageResult = compiled.m.TriageResult(
        protocol=compiled.ref,
        status="error",
        error=message,
        errors=[compiled.m.AnswerProblem(question=qid, code="outside_population", message=message)],
        answers={qid: given},
        trace=entries,
    )
    return refused


def _age_first(population: PopulationPlan, answers: Mapping[str, Any], outcome: dict[str, Any]) -> None:
    """An unanswered patient age is asked first while the outcome waits: the population
    decides whether this protocol applies at all."""
    qid = population.question
    if answers.get(qid) is None and outcome["status"] == "needs_answers":
        outcome["missing"] = [qid, *(q for q in outcome["missing"] if q != qid)]


def _population_step(evaluation: Evaluation, population: PopulationPlan, outcome: dict[str, Any]) -> None:
    """The population check in the trace; an unanswered age is asked first."""
    qid = population.question
    answer = evaluation.answers.get(qid)
    reads: dict[str, _JSON] = {}
    value: _JSON = None
    if answer is None and outcome["status"] == "needs_answers":
        _age_first(population, evaluation.answers, outcome)
        detail = f"'{qid}' is asked first: this protocol's population is {population.text}"
    elif answer is None:
        detail = (
            f"not checked: '{qid}' was not answered and the outcome did not need it "
            f"(this protocol's population is {population.text})"
        )
    else:
        evaluation.used[qid] = None  # the answer was read: it belongs in the record
        reads = {qid: answer_json(answer)}
        if answer is UNKNOWN:
            detail = f"not checked: the caller does not know '{qid}' (population {population.text})"
        else:
            value = True
            words = time_words(answer) if type(answer) is TimeAnswer else answer_json(answer)
            detail = f"{qid} = {words} is within this protocol's population: {population.text}"
    evaluation.record(
        "population",
        "population",
        evaluation.program.where.location(population.location),
        f"population {population.text}",
        reads=reads,
        value=value,
        detail=detail,
    )


_COLD: Any = object()  # the plan has no generated code yet


def evaluate_protocol(
    protocol: Any,
    answers: Mapping[str, Any],
    *,
    trace: bool = True,
    now: datetime | None = None,
    generated: bool | None = None,
    plain: bool = False,
) -> m.TriageResult:
    """Evaluate ``protocol`` against ``answers`` (JSON-like values). Never raises on bad answers.

    ``now`` (an aware datetime) is the evaluation's clock: it turns a date of birth into
    an age; without it a date of birth is refused. ``generated`` chooses the protocol's
    generated code where it applies (``True``), the interpreter alone (``False``), or by
    default generated code once the plan has been evaluated often in this process
    (``codegen.HOT_AFTER``; never with ``TRIAGE_INTERPRETER=1``): all give the same bytes.

    ``plain`` builds the result from the plain classes of :mod:`triage_dsl.model.plain`
    (same fields, same JSON) with the interpreter alone: ``triage eval`` of one case,
    which never imports pydantic."""
    cache = protocol.plan.compiled  # ``program`` and ``codegen.hot_runner``, found at once
    compiled = cache.get("program") if not plain else None
    if compiled is None:
        compiled = program(protocol, plain)
    ref = compiled.ref
    result: m.TriageResult
    if type(answers) is not dict and not isinstance(answers, Mapping):
        result = compiled.m.TriageResult(
            protocol=ref,
            status="error",
            error="answers must be a JSON object of question id -> answer",
            errors=[
                compiled.m.AnswerProblem(
                    question="", code="wrong_type", message="answers must be a JSON object"
                )
            ],
        )
        return result
    checked = compiled.clean_plain(answers)
    if checked is not None:
        clean, as_given = checked
    else:
        clean, problems = validate(protocol.plan, answers, now, compiled.m.AnswerProblem)
        if problems:
            result = compiled.m.TriageResult(
                protocol=ref, status="error", error="; ".join(p.message for p in problems), errors=problems
            )
            return result
        as_given = False
    population = protocol.plan.population
    if population is not None:
        refused = _outside_population(compiled, population, clean, trace)
        if refused is not None:
            return refused
    entries: list[m.TraceEntry] = []
    fast = None
    if plain:  # the reference alone: generated code builds pydantic trace entries
        functions = None
    elif generated is None:  # the default: generated code once the plan is hot
        functions = cache.get("generated", _COLD)
        if functions is _COLD:
            functions = codegen.hot_runner(protocol) if codegen.ENABLED else None
        elif not codegen.ENABLED:
            functions = None
    else:
        functions = codegen.runner(protocol) if generated else None
    if functions is not None:
        fast = (functions.trace if trace else functions.plain)(clean, entries)
    assumptions: list[m.Assumption] = []
    if fast is not None:  # every answer the generated code read was concrete
        outcome, asked, read, scores = fast
    else:  # the reference: partial and unknown answers, floors, continued protocols
        entries.clear()
        asked = []
        evaluation = Evaluation(protocol, clean, entries, asked, tracing=trace, plain=plain)
        outcome = evaluation.run()
        if population is not None:
            _population_step(evaluation, population, outcome)
        scores = evaluation.scores()
        read = evaluation.used
        assumptions = evaluation.assumptions
    # the answers asked, then those read besides, as JSON (an age or duration in words,
    # "unknown" for the caller's "does not know")
    if fast is not None and as_given:  # generated code read only concrete answers: all in clean
        used = {q: clean[q] for q in asked}
        for q in read:
            if q not in used:
                used[q] = clean[q]
    else:
        order = dict.fromkeys(asked)
        order.update(read)
        if as_given:
            used = {q: clean[q] for q in order if q in clean}
        else:
            used = {q: _answer_json(clean[q]) for q in order if q in clean}
    if outcome["status"] == "needs_answers":
        missing: list[str] = outcome["missing"]
        common: dict[str, Any] = {
            "protocol": ref,
            "scores": scores,
            "answers": used,
            "asked": asked,
            "assumptions": assumptions,
            "trace": entries,
            "status": "needs_answers",
            "missing": missing,
            "next_question": compiled.question_info(missing[0]) if missing else None,
        }
        needs: m.TriageResult = compiled.kinds.result(common)
        return needs
    return compiled.complete(outcome, scores, used, asked, assumptions, entries)
