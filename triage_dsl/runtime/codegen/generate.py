"""A checked, compiled plan -> the Python source of two functions specialised for
complete answers: ``run_trace`` (the full trace) and ``run_plain`` (no trace).

Each function takes the clean answers and a trace list and returns ``(outcome, asked,
used, scores)`` (``used``: the answers read besides those asked) -- the pieces
:func:`~triage_dsl.runtime.interpreter.evaluate_protocol` assembles a result from -- or
None the moment it reads an answer that is missing or unknown: the interpreter then
evaluates the same answers from the start (it is the reference; the generated code only
takes its fast path when every answer it reads is concrete). The code does what the
interpreter does step for step: answers read lazily in the same order, values computed
once on first use, the same trace steps from templates (only the values vary).

How the source stays data: every identifier is one this module makes (``_a3``, ``_v0``,
``_k12``); every constant written into the source is ``repr()`` of an already-parsed
number or string; objects (dispositions, trace templates, explanations) are bound in the
module's namespace under generated names, never written as source. The module's AST is
checked against :mod:`~triage_dsl.runtime.codegen.allow` before ``compile()``.

Floors (``at least``, a protocol's own or a screen's) run after the sections as
:meth:`~triage_dsl.runtime.evaluation.Evaluation.apply_floors` runs them: most urgent
first, a floor no more urgent than the outcome traced as not needed, the first that holds
raising the outcome. The outcome before the floors is known only at run time, so each
conclusion sets ``_rank`` (its tier's rank) and ``_did`` (its disposition id), and what
depends on it (the "not needed" detail, the raise's explanation and ``raised_by``) is
looked up by ``_did`` in tables built here.

A protocol continued with (``continue with``) is written inline where it is continued
with (see :class:`Generator`); the floors of the protocol that continues apply to its
outcome after its own, as in the interpreter.

Plans this generator does not cover (more than :data:`MAX_NESTING` criteria in an ``all
of`` block, code nested too deeply, protocols continued with more than
:data:`MAX_CONTINUED` deep) give :class:`NotCovered`: they run on the interpreter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from triage_dsl.check.walk import names as names_in
from triage_dsl.graph.plan import (
    CriterionPlan,
    FloorPlan,
    Plan,
    QuestionPlan,
    SectionPlan,
    ValuePlan,
    all_dispositions,
)
from triage_dsl.model import result as m
from triage_dsl.runtime.answers import UNKNOWN
from triage_dsl.runtime.build import _all_advice, _no_detail, _target_text, _within
from triage_dsl.runtime.codegen import support
from triage_dsl.runtime.program import Program
from triage_dsl.runtime.program import program as program_of
from triage_dsl.syntax import ast

MAX_NESTING = 60
"""Criteria of an ``all of`` section, nested one ``if`` each (Python allows 100 levels)."""

MAX_CONTINUED = 8
"""Protocols continued with inside one another (each is written inline)."""

MAX_DEPTH = 90
"""Indentation levels of generated code (Python's parser allows 100)."""

MAX_LINES = 200_000
"""A larger generated module is not worth compiling: the interpreter runs the plan."""


class NotCovered(Exception):
    """The plan uses something the generator does not cover; the interpreter runs it."""


def _literal(value: Any) -> str:
    """``repr()`` of a parsed number, string, boolean or None (the only source constants)."""
    if value is None or type(value) in (bool, int, str):
        return repr(value)
    if type(value) is float:
        if not math.isfinite(value):
            raise NotCovered("a non-finite number")
        return repr(value)
    raise NotCovered(f"a constant of type {type(value).__name__}")


@dataclass
class Generated:
    """The generated source and the namespace it runs in."""

    source: str
    namespace: dict[str, Any]
    names: frozenset[str]


@dataclass
class _Lines:
    lines: list[str] = field(default_factory=list)
    depth: int = 1

    def add(self, text: str) -> None:
        if self.depth > MAX_DEPTH:
            raise NotCovered("blocks nested too deeply")
        self.lines.append("    " * self.depth + text)


class Generator:
    """Writes one module for one plan (see the module docstring).

    A protocol continued with (``continue with``) is written inline where the section or
    default continues, by a generator for its plan (``parent`` set) that shares this
    one's namespace and names: its variables are prefixed (``_c1a0``), so it reads its
    answers afresh, as the interpreter's inner evaluation does.
    """

    def __init__(self, protocol: Any, program: Program, parent: Generator | None = None) -> None:
        plan: Plan = protocol.plan
        self.protocol = protocol
        self.plan = plan
        self.program = program
        self.root: Generator = self if parent is None else parent.root
        self.level: int = 0 if parent is None else parent.level + 1
        if self.level > MAX_CONTINUED:
            raise NotCovered("protocols continued with too deeply")
        # The floors of this protocol and of those that continue with it read the outcome's
        # rank and disposition id, so every conclusion sets them.
        self.needs_rank: bool = bool(program.floors) or (parent is not None and parent.needs_rank)
        if parent is None:
            self.namespace: dict[str, Any] = {}
            self.names: set[str] = set()
            self.objects: dict[int, str] = {}
            self.temp = 0
            self.continued = 0
            # Variables some statement emitted so far in this function assigns: the code
            # runs in the order it is written (no loop runs twice), so any other variable
            # still holds _M where it is read, and needs no test.
            self.assigned: set[str] = set()
            # The variables known at each conclusion of the sections or the default: their
            # intersection is known after the decision, wherever it ended.
            self.exits: list[set[str]] = []
            # Variables some statement compares with _M: only those start as _M.
            self.tested: set[str] = set()
            self.used_any = False  # a statement records an answer read besides those asked
            prefix = ""
        else:
            self.namespace, self.names, self.objects = parent.namespace, parent.names, parent.objects
            self.root.continued += 1
            prefix = f"c{self.root.continued}"
        self.bounds: dict[str, int | None] = {}
        self.questions = {qid: f"_{prefix}a{i}" for i, qid in enumerate(plan.questions)}
        self.values = {vid: f"_{prefix}v{i}" for i, vid in enumerate(plan.values)}
        self.names.update(self.questions.values(), self.values.values())
        if parent is not None:
            return
        for name, obj in (
            ("_M", support.MISSING),
            ("_U", UNKNOWN),
            ("_fmt", support.fmt),
            ("_entry", support.entry),
            ("_answer_entry", support.answer_entry),
            ("_json", support.answer_json),
            ("_time_words", support.time_words),
            ("_tidy", support.tidy),
            ("_negate", support.negate),
            ("_score", support.score),
            ("_merge", support.merge_advice),
        ):
            self.namespace[name] = obj
            self.names.add(name)
        self.names.update(
            {
                "_answers",
                "_trace",
                "_asked",
                "_used",
                "_scores",
                "_out",
                "_rank",
                "_did",
                "run_trace",
                "run_plain",
            }
        )

    # ----------------------------------------------------------------- names and objects
    def obj(self, value: Any) -> str:
        """A generated name bound to ``value`` in the namespace (objects are never source)."""
        key = id(value)
        name = self.objects.get(key)
        if name is None:
            name = f"_k{len(self.objects)}"
            self.objects[key] = name
            self.namespace[name] = value
            self.names.add(name)
        return name

    def fresh(self) -> str:
        root = self.root
        name = f"_t{root.temp}"
        root.temp += 1
        self.names.add(name)
        return name

    def template(self, kind: str, node: str, location: str, text: str, row: int | None = None) -> str:
        return self.obj(support.Template(kind, node, self.plan.protocol_id, location, text, row))

    # ----------------------------------------------------------------- the module
    def module(self) -> Generated:
        lines: list[str] = []
        for tracing in (True, False):
            name = "run_trace" if tracing else "run_plain"
            lines.append(f"def {name}(_answers, _trace):")
            body = _Lines()
            self.function(body, tracing)
            lines.extend(body.lines)
            lines.append("")
        if len(lines) > MAX_LINES:
            raise NotCovered("the generated module would be too large")
        return Generated("\n".join(lines) + "\n", self.namespace, frozenset(self.names))

    def function(self, out: _Lines, tracing: bool) -> None:
        self.assigned.clear()
        self.exits.clear()
        self.tested.clear()
        self.used_any = False
        body = _Lines(depth=out.depth)
        self.decision(body, tracing)
        if self.plan.population is not None:
            self.population(body, tracing)
        known = set.intersection(*self.exits) if self.exits else set()
        scores: list[str] = []
        for score_id in self.plan.scores:
            var = self.values[score_id]
            plan = self.plan.values[score_id]
            if var not in known:
                guarded = self.guard(body, var)
                self.compute_value(body, score_id, set(known), tracing=False, quiet=True)
                if tracing:
                    template = self.template("score", plan.node, self.program.where(plan.span), plan.text)
                    body.add(
                        f"_entry(_trace, {template}, {{}}, {var}, "
                        f"'= ' + _fmt({var}) + ' (for the record; the decision did not need it)')"
                    )
                body.depth -= guarded
                known.update(self.always_read(score_id))
                known.add(var)
            shown = var if self.bound(score_id) is not None else f"_score({var})"
            scores.append(f"{_literal(score_id)}: {shown}")
        self.start(out, self)
        out.add("_asked = []")
        if self.used_any:
            out.add("_used = {}")
        out.lines.extend(body.lines)
        used = "_used" if self.used_any else "()"  # nothing read besides: iterated, never kept
        out.add(f"return (_out, _asked, {used}, {{{', '.join(scores)}}})")

    def start(self, out: _Lines, generator: Generator) -> None:
        """``generator``'s variables that some statement compares with _M set to _M (the
        others are assigned before they are read)."""
        tested = self.root.tested
        variables = [v for v in [*generator.questions.values(), *generator.values.values()] if v in tested]
        for begin in range(0, len(variables), 200):
            out.add(" = ".join([*variables[begin : begin + 200], "_M"]))

    def decision(self, out: _Lines, tracing: bool) -> None:
        """The sections (the first that holds sets ``_out``), the default, the floors."""
        out.add("while True:")
        out.depth += 1
        known: set[str] = set()
        for s in self.plan.sections:
            self.section(out, s, known, tracing)
        self.default(out, known, tracing)
        out.depth -= 1
        if self.program.floors:
            self.floors(out, tracing)

    # ----------------------------------------------------------------- sections
    def section(self, out: _Lines, s: SectionPlan, known: set[str], tracing: bool) -> None:
        self.block(out, s, known, tracing, "section", lambda c, k: self.fires(out, s, c, tracing, k))

    def block(
        self,
        out: _Lines,
        s: SectionPlan | FloorPlan,
        known: set[str],
        tracing: bool,
        kind: str,
        fires: Callable[[CriterionPlan, set[str]], None],
    ) -> None:
        """A section or a floor (``kind``): its criteria in order, ``fires`` writing what
        follows when it holds (it ends with ``break``), a ``kind`` step when it does not."""
        where = self.program.where
        if s.mode == "any":
            for c in s.criteria:
                var = self.criterion(out, c, known, tracing)
                out.add(f"if {var}:")
                out.depth += 1
                fires(c, known)
                out.depth -= 1
            if tracing:
                template = self.template(kind, s.node, where(s.span), s.text)
                detail = _no_detail(s, None, where)
                out.add(f"_entry(_trace, {template}, {{}}, False, {_literal(detail)})")
            return
        if len(s.criteria) > MAX_NESTING:
            raise NotCovered(f"an 'all of' {kind} with too many criteria")
        opened = 0
        inner = set(known)
        first: set[str] = set()
        for position, c in enumerate(s.criteria):
            var = self.criterion(out, c, inner, tracing)
            if position == 0:
                first = set(inner)
            if tracing:
                out.add(f"if not {var}:")
                out.depth += 1
                template = self.template(kind, s.node, where(s.span), s.text)
                out.add(f"_entry(_trace, {template}, {{}}, False, {_literal(_no_detail(s, c, where))})")
                out.depth -= 1
                out.add("else:")
            else:
                out.add(f"if {var}:")
            out.depth += 1
            opened += 1
            if position == len(s.criteria) - 1:
                fires(c, inner)
        out.depth -= opened
        known.update(first)  # only the first criterion is read on every path through it

    def criterion(self, out: _Lines, c: CriterionPlan, known: set[str], tracing: bool) -> str:
        value = self.expr(out, c.expr, known, tracing)
        if value.isidentifier():  # a variable (or True, False) already: no copy
            var = value
        else:
            var = self.fresh()
            out.add(f"{var} = {value}")
        if tracing:
            template = self.template("criterion", c.node, self.program.where(c.span), c.text)
            reads = self.reads(out, _unique(n.id for n in names_in(c.expr)), known)
            out.add(f"_entry(_trace, {template}, {reads}, {var}, 'holds' if {var} else 'does not hold')")
        return var

    def fires(self, out: _Lines, s: SectionPlan, c: CriterionPlan, tracing: bool, known: set[str]) -> None:
        explanation, decided_by = self.program.decided_by(s, c)
        if tracing:
            template = self.template("section", s.node, self.program.where(s.span), s.text)
            out.add(f"_entry(_trace, {template}, {{}}, True, {_literal(explanation)})")
        advice = c.advice if s.mode == "any" else _all_advice(s)
        self.conclude(out, s.target, decided_by, advice, tracing, known)

    def default(self, out: _Lines, known: set[str], tracing: bool) -> None:
        plan = self.plan
        explanation = "no section's criteria held, so the protocol's default applies"
        text = f"default {_target_text(plan.default)}"
        location = self.program.where(plan.default_span)
        if tracing:
            template = self.template("default", "default", location, text)
            out.add(f"_entry(_trace, {template}, {{}}, True, {_literal(explanation)})")
        from triage_dsl.model.result import DecidedBy

        decided_by = DecidedBy(
            kind="default", section="default", location=location, text=text, explanation=explanation
        )
        self.conclude(out, plan.default, decided_by, (), tracing, known)

    def conclude(
        self,
        out: _Lines,
        target: ast.Target,
        decided_by: Any,
        advice: tuple[str, ...],
        tracing: bool,
        known: set[str],
    ) -> None:
        if self.level == 0:
            self.exits.append(set(known))
        if target.kind == "protocol":
            self.continue_with(out, target, decided_by, tracing)
            return
        d = self.plan.dispositions[target.id]
        self.disposition_step(out, d, tracing)
        if self.needs_rank:  # what the floors compare and look up
            out.add(f"_rank = {_literal(d.tier.rank)}")
            out.add(f"_did = {_literal(d.id)}")
        outcome = {
            "status": "complete",
            "disposition": d,
            "decided_by": decided_by,
            "criterion_advice": advice,
            "protocol": self.protocol,
        }
        out.add(f"_out = {self.obj(outcome)}")  # one dict for every result (read, never changed)
        out.add("break")

    def continue_with(self, out: _Lines, target: ast.Target, decided_by: Any, tracing: bool) -> None:
        """The ``continue`` step, then the protocol continued with, inline: its sections,
        default and floors, over its own variables (it reads its answers afresh)."""
        if tracing:
            template = self.template(
                "continue",
                f"protocol:{target.id}",
                self.program.where(target.span),
                f"continue with {target.id}",
            )
            detail = f"{decided_by.explanation}; continuing with protocol '{target.id}'"
            out.add(f"_entry(_trace, {template}, {{}}, {_literal(target.id)}, {_literal(detail)})")
        callee = self.plan.callees[target.id]
        inner = Generator(callee, program_of(callee), parent=self)
        body = _Lines(depth=out.depth)
        inner.decision(body, tracing)
        self.start(out, inner)
        out.lines.extend(body.lines)
        out.add("break")

    def disposition_step(self, out: _Lines, d: Any, tracing: bool) -> None:
        if tracing:
            template = self.template("disposition", d.node, self.program.where(d.span), d.label)
            detail = f"{d.label} (tier {d.tier.id}{_within(d)})"
            out.add(f"_entry(_trace, {template}, {{}}, {_literal(d.id)}, {_literal(detail)})")

    # ----------------------------------------------------------------- floors
    def floors(self, out: _Lines, tracing: bool) -> None:
        """The floors after the outcome (``_out``, ``_rank``, ``_did``) is known: most
        urgent first; the first that holds raises the outcome and ends the loop."""
        where = self.program.where
        not_needed = self.obj(
            {
                d.id: f"not needed: the outcome is already at least as urgent ('{d.id}', tier {d.tier.id})"
                for d in all_dispositions(self.plan).values()
            }
        )
        out.add("while True:")
        out.depth += 1
        for position, f in enumerate(self.program.floors):
            target = self.plan.dispositions[f.target.id]
            out.add(f"if _rank <= {_literal(target.tier.rank)}:")  # no more urgent than the outcome
            out.depth += 1
            if tracing:
                template = self.template("floor", f.node, where(f.span), f.text)
                out.add(f"_entry(_trace, {template}, {{}}, None, {not_needed}[_did])")
            else:
                out.add("pass")
            out.depth -= 1
            out.add("else:")
            out.depth += 1
            self.block(
                out,
                f,
                set(),
                tracing,
                "floor",
                lambda c, _known, f=f, position=position: self.raise_to(out, f, c, position, tracing),  # type: ignore[misc]
            )
            out.depth -= 1
        out.add("break")
        out.depth -= 1

    def raise_to(self, out: _Lines, f: FloorPlan, c: CriterionPlan, position: int, tracing: bool) -> None:
        """Floor ``f`` holds by criterion ``c``: the steps and the outcome of
        ``Evaluation.raise_to`` for a criterion that held."""
        where = self.program.where
        after = self.plan.dispositions[f.target.id]
        floor_at = where(f.span)
        because = f"'{c.text}' ({where(c.span)})"
        explanations: dict[str, str] = {}
        raised: dict[str, m.RaisedBy] = {}
        for before in all_dispositions(self.plan).values():
            if before.tier.rank <= after.tier.rank:
                continue  # the floor is not evaluated for this outcome
            explanation = (
                f"raised from '{before.id}' (tier {before.tier.id}) to '{after.id}' "
                f"(tier {after.tier.id}) because {because}; floor at {floor_at}"
            )
            explanations[before.id] = explanation
            raised[before.id] = m.RaisedBy(
                kind="criterion",
                floor=f.node,
                floor_location=floor_at,
                screen=f.screen,
                criterion=c.node,
                location=where(c.span),
                text=c.text,
                from_disposition=before.id,
                from_tier=before.tier.id,
                to_disposition=after.id,
                to_tier=after.tier.id,
                explanation=explanation,
            )
        if tracing:
            how = "criterion" if f.mode == "any" else "last criterion"
            template = self.template("floor", f.node, floor_at, f.text)
            detail = f"holds: {how} '{c.text}' is yes"
            out.add(f"_entry(_trace, {template}, {{}}, True, {_literal(detail)})")
            template = self.template("raise", f.node, floor_at, f.text)
            out.add(f"_entry(_trace, {template}, {{}}, {_literal(after.id)}, {self.obj(explanations)}[_did])")
            for later in self.program.floors[position + 1 :]:
                template = self.template("floor", later.node, where(later.span), later.text)
                detail = (
                    "not needed: the outcome is already at least as urgent "
                    f"('{after.id}', tier {after.tier.id})"
                )
                out.add(f"_entry(_trace, {template}, {{}}, None, {_literal(detail)})")
        self.disposition_step(out, after, tracing)
        advice = c.advice if f.mode == "any" else _all_advice(f)
        out.add(
            f"_out = {{'status': 'complete', 'disposition': {self.obj(after)}, "
            "'decided_by': _out['decided_by'], "
            f"'criterion_advice': _merge({self.obj(advice)}, _out['criterion_advice']), "
            f"'protocol': {self.obj(self.protocol)}, 'raised_by': {self.obj(raised)}[_did]}}"
        )
        # The raised outcome is the one the floors of a protocol continuing with this one see.
        out.add(f"_rank = {_literal(after.tier.rank)}")
        out.add(f"_did = {_literal(after.id)}")
        out.add("break")

    # ----------------------------------------------------------------- population
    def population(self, out: _Lines, tracing: bool) -> None:
        population = self.plan.population
        assert population is not None
        qid = population.question
        var = self.fresh()
        location = self.program.where.location(population.location)
        template = self.template("population", "population", location, f"population {population.text}")
        out.add(f"{var} = _answers.get({_literal(qid)})")
        out.add(f"if {var} is None:")
        out.depth += 1
        detail = (
            f"not checked: '{qid}' was not answered and the outcome did not need it "
            f"(this protocol's population is {population.text})"
        )
        out.add(f"_entry(_trace, {template}, {{}}, None, {_literal(detail)})" if tracing else "pass")
        out.depth -= 1
        out.add("else:")
        out.depth += 1
        out.add(f"_used[{_literal(qid)}] = None")
        self.used_any = True
        if tracing:
            shown = f"_json({var})"
            out.add(f"if {var} is _U:")
            out.depth += 1
            detail = f"not checked: the caller does not know '{qid}' (population {population.text})"
            out.add(f"_entry(_trace, {template}, {{{_literal(qid)}: 'unknown'}}, None, {_literal(detail)})")
            out.depth -= 1
            out.add("else:")
            out.depth += 1
            out.add(
                f"_entry(_trace, {template}, {{{_literal(qid)}: {shown}}}, True, "
                f"{_literal(qid + ' = ')} + _time_words({var}) + "
                f"{_literal(' is within this protocol' + chr(39) + 's population: ' + population.text)})"
            )
            out.depth -= 1
        out.depth -= 1

    # ----------------------------------------------------------------- reads
    def reads(self, out: _Lines, names: tuple[str, ...], known: set[str]) -> str:
        """The ``reads`` of a trace step: each name already read or computed, in order."""
        parts: list[tuple[str, str, bool]] = []
        for name in names:
            if name in self.questions:
                var = self.questions[name]
                q = self.plan.questions[name]
                shown = f"_json({var})" if q.is_time else var
            else:
                var = self.values[name]
                shown = var
            parts.append((name, shown, var in known))
        if all(sure for _, _, sure in parts):
            return "{" + ", ".join(f"{_literal(n)}: {shown}" for n, shown, _ in parts) + "}"
        reads = self.fresh()
        out.add(f"{reads} = {{}}")
        for name, shown, sure in parts:
            var = self.questions.get(name) or self.values[name]
            if sure:
                out.add(f"{reads}[{_literal(name)}] = {shown}")
            else:
                self.root.tested.add(var)
                out.add(f"if {var} is not _M:")
                out.add(f"    {reads}[{_literal(name)}] = {shown}")
        return reads

    def read(self, out: _Lines, name: str, known: set[str], tracing: bool, quiet: bool) -> str:
        """Statements that make ``name`` (a question or a value) available; its variable."""
        if name in self.questions:
            var = self.questions[name]
            if var not in known:
                guarded = self.guard(out, var)
                self.read_question(out, self.plan.questions[name], tracing, quiet)
                out.depth -= guarded
                known.add(var)
            return var
        var = self.values[name]
        if var not in known:
            guarded = self.guard(out, var)
            self.compute_value(out, name, set(known), tracing, quiet)
            out.depth -= guarded
            known.update(self.always_read(name))
            known.add(var)
        return var

    def guard(self, out: _Lines, var: str) -> int:
        """``if var is _M:`` before the statements that set ``var``, unless no statement
        written before them sets it (then it is _M there); the indentation added."""
        if var not in self.root.assigned:
            self.root.assigned.add(var)
            return 0
        self.root.tested.add(var)
        out.add(f"if {var} is _M:")
        out.depth += 1
        return 1

    def always_read(self, value_id: str) -> set[str]:
        """Variables read on every path through a value's computation (its subject, or
        the names an expression reads outside any short-circuit)."""
        decl = self.plan.values[value_id].decl
        if isinstance(decl, ast.Points):
            return {self.variable(decl.subject.id)}
        return {self.variable(n) for n in _eager_names(decl.expr)}

    def bound(self, value_id: str) -> int | None:
        """The largest magnitude of a value that is always an int (points tables whose
        rows all give ints, counts, and sums, differences and products of those), else
        None. Such a value needs no ``tidy`` (an int under 2**53 is its own tidy form)
        and compares with a float exactly as its float() does."""
        if value_id not in self.bounds:
            self.bounds[value_id] = None  # a value cannot read itself; this ends any doubt
            decl = self.plan.values[value_id].decl
            if isinstance(decl, ast.Points):
                points = [b.points for b in decl.bands]
                exact = all(type(p) is int for p in points)
                self.bounds[value_id] = int(max(abs(p) for p in points)) if exact and points else None
            else:
                self.bounds[value_id] = self.int_bound(decl.expr)
        return self.bounds[value_id]

    def int_bound(self, e: ast.Expr) -> int | None:
        """:meth:`bound` of an expression."""
        found: int | None = None
        if isinstance(e, ast.NumberLit):
            number = e.value
            found = abs(number) if isinstance(number, int) and e.unit is None else None
        elif isinstance(e, ast.Name):
            found = self.bound(e.id) if e.id in self.values else None
        elif isinstance(e, ast.Count):
            found = len(e.items)
        elif isinstance(e, ast.Negate):
            found = self.int_bound(e.operand)
        elif isinstance(e, ast.Arith | ast.Conditional):
            parts = [e.left, e.right] if isinstance(e, ast.Arith) else [e.then, e.otherwise]
            left, right = (self.int_bound(x) for x in parts)
            if left is not None and right is not None:
                found = (
                    left * right
                    if isinstance(e, ast.Arith) and e.op == "*"
                    else (max(left, right) if isinstance(e, ast.Conditional) else left + right)
                )
        return found if found is not None and found < 2**53 else None

    def exact_number(self, e: ast.Expr) -> bool:
        """``e`` reads a number question whose answers compare with a float exactly as
        their float() does (an int or float within a range under 2**53)."""
        if self.int_bound(e) is not None:
            return True
        if not isinstance(e, ast.Name):
            return False
        q = self.plan.questions.get(e.id)
        return (
            q is not None
            and q.type in ("number", "whole number")
            and not q.is_time
            and q.low is not None
            and q.high is not None
            and -(2**53) < q.low <= q.high < 2**53
        )

    def variable(self, name: str) -> str:
        return self.questions.get(name) or self.values[name]

    def read_question(self, out: _Lines, q: QuestionPlan, tracing: bool, quiet: bool) -> None:
        var = self.questions[q.id]
        qid = _literal(q.id)
        out.add(f"{var} = _answers.get({qid})")
        out.add(f"if {var} is None or {var} is _U:")
        out.add("    return None")
        # the caller puts the answers asked first, then those read besides (``_used``)
        out.add(f"_used[{qid}] = None" if quiet else f"_asked.append({qid})")
        self.root.used_any |= quiet
        if tracing and not quiet:
            template = self.template("answer", q.node, self.program.locations[q.id], q.prompt)
            if q.is_time:
                out.add(f"_answer_entry(_trace, {template}, {qid}, {var}, {_literal(q.type)})")
            else:
                out.add(f"_entry(_trace, {template}, {{{qid}: {var}}}, {var}, 'answered ' + _fmt({var}))")

    def compute_value(self, out: _Lines, value_id: str, known: set[str], tracing: bool, quiet: bool) -> None:
        plan: ValuePlan = self.plan.values[value_id]
        var = self.values[value_id]
        decl = plan.decl
        record = tracing and not quiet
        location = self.program.where(plan.span)
        if isinstance(decl, ast.Value):
            result = self.expr(out, decl.expr, known, tracing, quiet)
            out.add(f"{var} = {result}")
            if record:
                template = self.template(plan.kind, plan.node, location, plan.text)
                reads = self.reads(out, _unique(n.id for n in names_in(decl.expr)), known)
                out.add(f"_entry(_trace, {template}, {reads}, {var}, '= ' + _fmt({var}))")
            return
        subject = self.read(out, decl.subject.id, known, tracing, quiet)
        subject_type = (
            self.plan.questions[decl.subject.id].type if decl.subject.id in self.plan.questions else None
        )
        names = _unique(
            n.id
            for x in [decl.subject, *(b.condition for b in decl.bands if b.condition is not None)]
            for n in names_in(x)
        )
        opened = 0
        for index, band in enumerate(decl.bands):
            if band.kind == "when":
                assert band.condition is not None
                test = self.expr(out, band.condition, set(known), tracing, quiet)
            else:
                test = _row_test(band, subject, subject_type, self.exact_number(decl.subject))
            out.add(f"if {test}:")
            out.depth += 1
            out.add(f"{var} = {_literal(band.points)}")
            if record:
                template = self.template(plan.kind, plan.node, location, plan.text, index)
                reads = self.reads(out, names, known)
                row_text = self.program.values[value_id].bands[index].text
                suffix = f" falls in row '{row_text}': {band.points:g} points"
                out.add(f"_entry(_trace, {template}, {reads}, {var}, _fmt({subject}) + {_literal(suffix)})")
            out.depth -= 1
            out.add("else:")
            out.depth += 1
            opened += 1
            if opened > MAX_NESTING:
                raise NotCovered("a points table with too many rows")
        out.add("return None")  # no row matched: the interpreter says so
        out.depth -= opened

    # ----------------------------------------------------------------- expressions
    def expr(self, out: _Lines, e: ast.Expr, known: set[str], tracing: bool, quiet: bool = False) -> str:
        """Statements for ``e``'s reads (in the interpreter's order) and the expression
        computing its concrete value."""
        if isinstance(e, ast.Name):
            return self.read(out, e.id, known, tracing, quiet)
        if isinstance(e, ast.NumberLit | ast.BoolLit):
            return _literal(e.value)
        if isinstance(e, ast.And | ast.Or):
            left = self.expr(out, e.left, known, tracing, quiet)
            branch = _Lines(depth=out.depth + 1)
            right = self.expr(branch, e.right, set(known), tracing, quiet)
            if not branch.lines:
                op = "and" if isinstance(e, ast.And) else "or"
                return f"({left} {op} {right})"
            if left.startswith("_t") and left.isidentifier():  # this expression's own temporary
                var = left
            else:
                var = self.fresh()
                out.add(f"{var} = {left}")
            out.add(f"if {var}:" if isinstance(e, ast.And) else f"if not {var}:")
            out.lines.extend(branch.lines)
            out.add(f"    {var} = {right}")
            return var
        if isinstance(e, ast.Not):
            return f"(not {self.expr(out, e.operand, known, tracing, quiet)})"
        if isinstance(e, ast.Compare):
            left = self.expr(out, e.left, known, tracing, quiet)
            right = self.expr(out, e.right, known, tracing, quiet)
            if isinstance(e.right, ast.NumberLit):
                if e.op in ("<", "<=", ">", ">="):
                    bound = _literal(float(e.right.value))
                    if self.exact_number(e.left):  # float() would change nothing
                        return f"({left} {e.op} {bound})"
                    return f"(float({left}) {e.op} {bound})"
                return f"({left} {'==' if e.op == '=' else '!='} {right})"
            if e.op in ("<", "<=", ">", ">="):
                left = left if self.exact_number(e.left) else f"float({left})"
                right = right if self.exact_number(e.right) else f"float({right})"
                return f"({left} {e.op} {right})"
            return f"({left} {'==' if e.op == '=' else '!='} {right})"
        if isinstance(e, ast.Member):
            operand = self.expr(out, e.operand, known, tracing, quiet)
            options = ", ".join(_literal(o.id) for o in e.options)
            return f"({operand} {'not in' if e.negated else 'in'} {{{options}}})"
        if isinstance(e, ast.IsUnknown):
            assert isinstance(e.operand, ast.Name)
            self.read(out, e.operand.id, known, tracing, quiet)
            return _literal(bool(e.negated))  # the answer read is concrete
        if isinstance(e, ast.Arith):
            left = self.expr(out, e.left, known, tracing, quiet)
            right = self.expr(out, e.right, known, tracing, quiet)
            if self.int_bound(e) is not None:  # ints: the sum is its own tidy form
                return f"({left} {e.op} {right})"
            return f"_tidy({left} {e.op} {right})"
        if isinstance(e, ast.Negate):
            operand = self.expr(out, e.operand, known, tracing, quiet)
            return f"(-{operand})" if self.int_bound(e) is not None else f"_negate({operand})"
        if isinstance(e, ast.Count):
            items = [self.expr(out, item, known, tracing, quiet) for item in e.items]
            if not items:
                return "0"
            # tidy(float(n)) of a count is the int n
            return "(0 + " + " + ".join(f"({item} is True)" for item in items) + ")"
        if isinstance(e, ast.Conditional):
            condition = self.expr(out, e.condition, known, tracing, quiet)
            var = self.fresh()
            out.add(f"if {condition}:")
            then = _Lines(depth=out.depth + 1)
            value = self.expr(then, e.then, set(known), tracing, quiet)
            out.lines.extend(then.lines)
            out.add(f"    {var} = {value}")
            out.add("else:")
            otherwise = _Lines(depth=out.depth + 1)
            value = self.expr(otherwise, e.otherwise, set(known), tracing, quiet)
            out.lines.extend(otherwise.lines)
            out.add(f"    {var} = {value}")
            return var
        raise NotCovered(f"expression {type(e).__name__}")


def _row_test(band: ast.Band, subject: str, subject_type: str | None, exact: bool) -> str:
    """A points row's test of a concrete subject, as ``Program``'s row tests do it
    (``exact``: the subject compares with a float as its float() does)."""
    if band.kind == "else":
        return "True"
    if band.kind == "compare":
        assert band.op is not None and band.bound is not None
        if band.op in ("<", "<=", ">", ">="):
            number = subject if exact else f"float({subject})"
            return f"{number} {band.op} {_literal(float(band.bound))}"
        return f"{subject} {'==' if band.op == '=' else '!='} {_literal(band.bound)}"
    ids = [o.id for o in band.options]
    options = "{" + ", ".join(_literal(i) for i in ids) + "}"
    if subject_type == "choice":
        return f"{subject} in {options}"
    if subject_type == "yes/no" and set(ids) <= {"yes", "no"}:  # a bool answer, else no row
        return " or ".join(f"{subject} is {word == 'yes'}" for word in ids)
    word = f"('yes' if {subject} else 'no')"
    return f"({word} if ({subject} is True or {subject} is False) else {subject}) in {options}"


def _eager_names(e: ast.Expr) -> list[str]:
    """Names read on every evaluation of ``e`` (not behind a short-circuit or a branch)."""
    if isinstance(e, ast.Name):
        return [e.id]
    if isinstance(e, ast.And | ast.Or):
        return _eager_names(e.left)
    if isinstance(e, ast.Conditional):
        return _eager_names(e.condition)
    if isinstance(e, ast.Not | ast.Negate | ast.Member | ast.IsUnknown):
        return _eager_names(e.operand)
    if isinstance(e, ast.Compare | ast.Arith):
        return [*_eager_names(e.left), *_eager_names(e.right)]
    if isinstance(e, ast.Count):
        return [n for item in e.items for n in _eager_names(item)]
    return []


def _unique(items: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def generate(protocol: Any, program: Program) -> Generated:
    """The module for ``protocol``'s plan; raises :class:`NotCovered` when the plan uses
    something the generator leaves to the interpreter."""
    return Generator(protocol, program).module()
