"""Static verification findings, each a Diagnostic with a witness where it is about behaviour.

The passes, in order (``ANALYSES``): unreachable criteria and sections, points-table
bands (rows that never match, gaps before ``else``), dead questions, monotonic urgency
of red flags and ``worse when`` numbers, and escalation budgets.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from triage_dsl.analysis.domains import Domains, domains, holds
from triage_dsl.analysis.joint import Side, pairs
from triage_dsl.analysis.search import both, decides, json_answers, satisfy
from triage_dsl.analysis.walk import Walk, walk
from triage_dsl.errors import Diagnostic, Severity
from triage_dsl.graph.plan import Plan, all_dispositions, plans
from triage_dsl.runtime.answers import Clean
from triage_dsl.runtime.interpreter import escalation_plan
from triage_dsl.source import Span
from triage_dsl.syntax import ast


@dataclass
class Context:
    protocol: Any
    doms: Domains
    findings: list[Diagnostic] = field(default_factory=list)
    advice: dict[str | None, tuple[str, ...]] = field(default_factory=dict)
    _walk: Walk | None = None

    @property
    def walk(self) -> Walk:
        """The witnesses one walk down the sections finds (computed once)."""
        if self._walk is None:
            self._walk = walk(self.protocol, self.doms, self.advice)
        return self._walk

    def __post_init__(self) -> None:
        for plan in plans(self.protocol.plan):
            for s in plan.sections:
                for c in s.criteria:
                    self.advice[c.node] = c.advice

    @property
    def plan(self) -> Plan:
        return self.protocol.plan  # type: ignore[no-any-return]

    def report(
        self,
        span: Span,
        code: str,
        message: str,
        hint: str | None = None,
        witness: dict[str, Clean] | None = None,
        severity: Severity = "warning",
    ) -> None:
        self.findings.append(
            Diagnostic(
                span, code, severity, message, hint, json_answers(witness) if witness is not None else None
            )
        )


def unreachable(ctx: Context) -> None:
    """Criteria and sections that can never decide the outcome."""
    plan = ctx.plan
    for s in plan.sections:
        if s.mode == "all":
            if satisfy(ctx.protocol, ctx.doms, decides(s.index, None)) is None:
                ctx.report(
                    s.span,
                    "A001",
                    f"section '{s.target.id}' can never decide the outcome: "
                    "whenever all its criteria hold, an earlier section holds first",
                    "remove it, or move it above the sections that cover it",
                )
            continue
        reachable = []
        for n, c in enumerate(s.criteria):
            if (s.index, n) in ctx.walk.witnesses or (
                satisfy(ctx.protocol, ctx.doms, decides(s.index, n)) is not None
            ):
                reachable.append(c)
                continue
            covers = _covering(ctx, s.index, n)
            where = ", ".join(f"'{e.text}' ({e.span.location})" for e in covers[:3])
            ctx.report(
                c.span,
                "A002",
                f"criterion '{c.text}' can never decide the outcome: "
                + (
                    f"whenever it holds, {where} already decided"
                    if covers
                    else "whenever it holds, an earlier section already decided"
                ),
                "remove it, or move it to an earlier section",
            )
        if not reachable:
            ctx.report(
                s.span,
                "A001",
                f"section '{s.target.id}' can never decide the outcome",
                "every criterion is covered by earlier ones",
            )


def _covering(ctx: Context, section: int, criterion: int) -> list[Any]:
    target = ctx.plan.sections[section].criteria[criterion]
    earlier = [c for s in ctx.plan.sections[:section] for c in s.criteria]
    earlier += list(ctx.plan.sections[section].criteria[:criterion])
    return [e for e in earlier if satisfy(ctx.protocol, ctx.doms, both(target, True, e, False)) is None]


def bands(ctx: Context) -> None:
    """Points-table rows that never match, and gaps that fall through to ``else``."""
    for value in ctx.plan.values.values():
        decl = value.decl
        if not isinstance(decl, ast.Points):
            continue
        q = ctx.doms.questions.get(decl.subject.id)
        if q is None or q.type not in ("number", "whole number") or q.low is None or q.high is None:
            continue
        _number_bands(ctx, decl, Fraction(str(q.low)), Fraction(str(q.high)), q.type == "whole number")


def _number_bands(ctx: Context, table: ast.Points, low: Fraction, high: Fraction, whole: bool) -> None:
    classes = ctx.doms.classes[table.subject.id]
    atoms = [(a, c.representative) for c in classes if c.kind == "number" for a in c.atoms]
    samples: list[tuple[Any, Fraction]] = []
    for atom, _ in atoms:
        if atom.is_point:
            samples.append((atom, Fraction(str(atom.low))))
        else:
            mid = (Fraction(str(atom.low)) + Fraction(str(atom.high))) / 2
            if whole:
                inner = [x for x in range(int(atom.low) + 1, int(atom.high) + 1) if atom.low < x < atom.high]
                if not inner:
                    continue
                mid = Fraction(inner[0])
            samples.append((atom, mid))
    remaining = list(samples)
    explicit: list[Fraction] = []
    for band in table.bands:
        if band.kind == "compare":
            assert band.op is not None and band.bound is not None
            bound = Fraction(str(band.bound))
            hit = [s for s in remaining if holds(band.op, s[1], bound)]
            if not hit:
                ctx.report(
                    band.span,
                    "A010",
                    f"row '{band.op} {band.bound:g}' of '{table.id}' never "
                    "matches: earlier rows take every value it covers",
                    "bands are tried top to bottom: check the order and the bounds",
                    severity="error",
                )
            explicit.extend(s[1] for s in hit)
            remaining = [s for s in remaining if s not in hit]
        elif band.kind == "else" and remaining and explicit:
            inside = [s for s in remaining if min(explicit) < s[1] < max(explicit)]
            if inside:
                gap = _gap_text(inside)
                value = inside[0][1]
                rep: int | float = int(value) if value.denominator == 1 else float(value)
                ctx.report(
                    band.span,
                    "A011",
                    f"'{table.id}' has a gap: {table.subject.id} {gap} matches "
                    f"no row and falls through to 'else: {band.points:g}'",
                    "cover the gap with its own row, or make the bands meet",
                    witness={table.subject.id: rep},
                )
        elif band.kind == "when":
            continue


def _gap_text(samples: list[tuple[Any, Fraction]]) -> str:
    atoms = [a for a, _ in samples]
    low = min(atoms, key=lambda a: (a.low, not a.is_point))
    high = max(atoms, key=lambda a: (a.high, a.is_point))
    left = "[" if low.is_point else "("
    right = "]" if high.is_point else ")"
    return f"in {left}{low.low:g}, {high.high:g}{right}"


def dead_questions(ctx: Context) -> None:
    """Questions read by the triage whose answer can never change the outcome."""
    local = [q for q in ctx.plan.questions.values() if q.span.path == ctx.protocol.path]
    for q in sorted(local, key=lambda q: q.span):
        if not _read_by_triage(ctx, q.id):
            ctx.report(
                q.span,
                "A020",
                f"question '{q.id}' is never asked: no criterion, value or score reads it",
                "remove it, or use it in a criterion",
            )
        elif q.id not in ctx.walk.flips and not _depends(ctx, q.id):
            ctx.report(
                q.span,
                "A021",
                f"question '{q.id}' is asked, but no answer to it can change the outcome",
                "remove it, or check the criteria that read it",
            )


def _read_by_triage(ctx: Context, qid: str) -> bool:
    graph = ctx.protocol.graph
    node = f"question:{qid}"
    return bool(graph.has_node(node) and graph.out_degree(node) > 0)


def _depends(ctx: Context, qid: str) -> bool:
    classes = ctx.doms.classes[qid]
    first = Side(ctx.protocol, {qid: classes[0].representative})
    for other in classes[1:]:
        second = Side(ctx.protocol, {qid: other.representative})
        for _, da, db in pairs(first, second, ctx.doms):
            if _outcome(ctx, da) != _outcome(ctx, db):
                return True
    return False


def _outcome(ctx: Context, decision: Any) -> tuple[Any, ...]:
    """What the caller is told: the disposition and the deciding criterion's advice."""
    return (decision.disposition, ctx.advice.get(decision.criterion, ()))


def monotonic(ctx: Context) -> None:
    """Red flags (yes is worse) and 'worse when higher/lower' numbers never lower urgency."""
    for q in ctx.plan.questions.values():
        if q.span.path != ctx.protocol.path:
            continue
        order: list[Clean]
        if q.red_flag and q.type == "yes/no":
            order = [False, True]
        elif q.worse_when in ("higher", "lower") and q.type in ("number", "whole number"):
            reps = [float(c.representative) for c in ctx.doms.classes[q.id] if c.kind == "number"]  # type: ignore[arg-type]
            order = list(sorted(reps, reverse=q.worse_when == "lower"))
        else:
            continue
        found = _monotonic_break(ctx, q.id, order)
        if found is not None:
            better, worse, a, b, answers = found
            ctx.report(
                q.span,
                "A030",
                f"answering '{q.id}' {_word(worse)} instead of {_word(better)} "
                f"gives a less urgent outcome ('{b}' instead of '{a}')",
                "check the sections that read it, or remove the red-flag mark",
                witness=answers,
            )


def _word(value: Clean) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return f"{value}"


def _monotonic_break(
    ctx: Context, qid: str, order: list[Clean]
) -> tuple[Clean, Clean, str, str, dict[str, Clean]] | None:
    tiers = {d.id: d.tier.rank for d in all_dispositions(ctx.plan).values()}
    for better, worse in itertools.pairwise(order):
        for path, da, db in pairs(
            Side(ctx.protocol, {qid: better}), Side(ctx.protocol, {qid: worse}), ctx.doms
        ):
            if da.disposition is None or db.disposition is None:
                continue
            if tiers[db.disposition] > tiers[da.disposition]:
                answers = {c.question: c.representative for c in path if c.question != qid}
                return better, worse, da.disposition, db.disposition, {**answers, qid: worse}
    return None


def budgets(ctx: Context) -> None:
    """Escalation plans fit their disposition's time frame; urgent plans have a backup."""
    for d in ctx.plan.dispositions.values():
        if d.escalation is None or (
            d.span.path != ctx.protocol.path and d.escalation.span.path != ctx.protocol.path
        ):
            continue
        plan = escalation_plan(d.escalation)
        if d.within_minutes is not None and plan.worst_case_minutes > d.within_minutes:
            ctx.report(
                d.escalation.span,
                "A040",
                f"escalation '{plan.id}' can take {plan.worst_case_minutes:g} minutes before the "
                f"caller is told '{plan.fallback}', but '{d.id}' must happen "
                f"{d.within_text or 'within its time frame'}",
                "shorten the waits or retries, or move the fallback earlier",
            )
        if d.tier.rank <= 1:
            roles = {s.role for s in plan.steps if s.kind == "notify"}
            if len(roles) < 2:
                ctx.report(
                    d.escalation.span,
                    "A041",
                    f"escalation '{plan.id}' of the {d.tier.id} disposition '{d.id}' has no backup "
                    "to notify when the first contact does not answer",
                    "add: notify backup_physician by phone, ...",
                )


ANALYSES: tuple[Callable[[Context], None], ...] = (unreachable, bands, dead_questions, monotonic, budgets)


def analyse(protocol: Any) -> list[Diagnostic]:
    """Every finding of every analysis, in file order."""
    ctx = Context(protocol, domains(protocol.plan))
    for analysis in ANALYSES:
        analysis(ctx)
    unique = list(dict.fromkeys(ctx.findings))  # hashed: linear in the number of findings
    return sorted(unique, key=lambda d: (d.span.path, d.span.line, d.span.column, d.code))
