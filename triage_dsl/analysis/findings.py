"""Static verification findings, each a Diagnostic with a witness where it is about behaviour.

The passes, in order (``ANALYSES``): unreachable criteria and sections, points-table
bands (rows that never match, gaps before ``else``), dead questions, monotonic urgency
of red flags and ``worse when`` numbers, red flags that count only with other answers,
"I don't know" answers that alone decide a section, floors that can never raise, and
escalation budgets. Every analysis evaluates the final outcome, floors (``at least``)
included.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx

from triage_dsl.analysis.domains import Domains, domains, holds
from triage_dsl.analysis.explore import Leaf, explore
from triage_dsl.analysis.joint import Side, pairs
from triage_dsl.analysis.search import both, decides, evaluation, json_answers, satisfiable
from triage_dsl.analysis.tree import any_pair, tree
from triage_dsl.analysis.walk import Walk, walk
from triage_dsl.errors import Diagnostic, Severity
from triage_dsl.graph.plan import Plan, all_dispositions, blocks, plans
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import UNKNOWN, Clean, TimeAnswer
from triage_dsl.runtime.interpreter import escalation_plan, program
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
            for s in blocks(plan):
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
            if not satisfiable(ctx.protocol, ctx.doms, decides(s.index, None)):
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
                satisfiable(ctx.protocol, ctx.doms, decides(s.index, n))
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
    return [e for e in earlier if not satisfiable(ctx.protocol, ctx.doms, both(target, True, e, False))]


def bands(ctx: Context) -> None:
    """Points-table rows that never match, and gaps that fall through to ``else``."""
    for value in ctx.plan.values.values():
        decl = value.decl
        if not isinstance(decl, ast.Points):
            continue
        q = ctx.doms.questions.get(decl.subject.id)
        if q is None or q.type not in ast.NUMERIC_TYPES or q.low is None or q.high is None:
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
                shown = f"{band.amount} {band.unit}" if band.unit else f"{band.bound:g}"
                ctx.report(
                    band.span,
                    "A010",
                    f"row '{band.op} {shown}' of '{table.id}' never "
                    "matches: earlier rows take every value it covers",
                    "bands are tried top to bottom: check the order and the bounds",
                    severity="error",
                )
            explicit.extend(s[1] for s in hit)
            remaining = [s for s in remaining if s not in hit]
        elif band.kind == "else" and remaining and explicit:
            inside = [s for s in remaining if min(explicit) < s[1] < max(explicit)]
            if inside:
                text = classes[0].number_text if classes else _number_text
                gap = _gap_text(inside, text)
                value = inside[0][1]
                rep: Any = int(value) if value.denominator == 1 else float(value)
                if classes and classes[0].labels is not None:
                    rep = text(float(value))  # an age or duration: the answer in words
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


def _number_text(x: float) -> str:
    return f"{x:g}"


def _gap_text(samples: list[tuple[Any, Fraction]], text: Any = _number_text) -> str:
    atoms = [a for a, _ in samples]
    low = min(atoms, key=lambda a: (a.low, not a.is_point))
    high = max(atoms, key=lambda a: (a.high, a.is_point))
    left = "[" if low.is_point else "("
    right = "]" if high.is_point else ")"
    return f"in {left}{text(low.low)}, {text(high.high)}{right}"


def dead_questions(ctx: Context) -> None:
    """Questions read by the triage whose answer can never change the outcome."""
    local = [q for q in ctx.plan.questions.values() if q.span.path == ctx.protocol.path]
    for q in sorted(local, key=lambda q: q.span):
        if q.patient_age and ctx.plan.population is not None:
            continue  # read by the population check, whatever the criteria do
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
    # The decision tree answers at once when the disposition itself changes (most
    # questions); whether only the advice of the deciding criterion or the floor that
    # raised the outcome changes is left to the search below, which evaluates both sides
    # with the same answers (a leaf's deciding criterion may depend on answers its own
    # path leaves free).
    decisions = tree(ctx.protocol, ctx.doms)
    if decisions is not None:
        first_answer = classes[0].representative
        for other in classes[1:]:
            if any_pair(decisions, qid, first_answer, other.representative, _other_disposition):
                return True
    first = Side(ctx.protocol, {qid: classes[0].representative})
    for other in classes[1:]:
        second = Side(ctx.protocol, {qid: other.representative})
        for _, da, db in pairs(first, second, ctx.doms):
            if _outcome(ctx, da) != _outcome(ctx, db):
                return True
    return False


def _other_disposition(a: Any, b: Any) -> bool:
    return a.disposition != b.disposition  # type: ignore[no-any-return]


def _outcome(ctx: Context, decision: Any) -> tuple[Any, ...]:
    """What the caller is told: the disposition and the deciding criterion's advice."""
    return (decision.disposition, ctx.advice.get(decision.criterion, ()), decision.raised_by)


def monotonic(ctx: Context) -> None:
    """Red flags (yes is worse) and 'worse when higher/lower' numbers never lower urgency."""
    for q in ctx.plan.questions.values():
        if q.span.path != ctx.protocol.path:
            continue
        order: list[Clean]
        if q.red_flag and q.type == "yes/no":
            order = [False, True]
        elif q.worse_when in ("higher", "lower") and q.type in ast.NUMERIC_TYPES:
            reps = [c.representative for c in ctx.doms.classes[q.id] if c.kind == "number"]
            order = list(sorted(reps, key=float, reverse=q.worse_when == "lower"))  # type: ignore[arg-type]
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
    if isinstance(value, TimeAnswer):
        return value.text  # an age or duration in the caller's words: "1 month", not minutes
    return f"{value}"


def _monotonic_break(
    ctx: Context, qid: str, order: list[Clean]
) -> tuple[Clean, Clean, str, str, dict[str, Clean]] | None:
    tiers = {d.id: d.tier.rank for d in all_dispositions(ctx.plan).values()}

    def less_urgent(a: Any, b: Any) -> bool:
        return (
            a.disposition is not None
            and b.disposition is not None
            and tiers[b.disposition] > tiers[a.disposition]
        )

    decisions = tree(ctx.protocol, ctx.doms)
    for better, worse in itertools.pairwise(order):
        if decisions is not None and any_pair(decisions, qid, better, worse, less_urgent) is False:
            continue  # no answers break the order here: the search below would find none
        for path, da, db in pairs(
            Side(ctx.protocol, {qid: better}), Side(ctx.protocol, {qid: worse}), ctx.doms
        ):
            if da.disposition is None or db.disposition is None:
                continue
            if tiers[db.disposition] > tiers[da.disposition]:
                answers = {c.question: c.representative for c in path if c.question != qid}
                return better, worse, da.disposition, db.disposition, {**answers, qid: worse}
    return None


def unknown_errs_urgent(ctx: Context) -> None:
    """An "I don't know" never gives a less urgent outcome than an answer the caller could
    have given (the other answers the same), unless the question says what unknown means:
    an undecided criterion holds, so only a test of ``q is unknown`` or ``q is not
    unknown`` can make it do so."""
    for q in ctx.plan.questions.values():
        if q.span.path != ctx.protocol.path or not q.unknown_allowed or q.unknown_means is not None:
            continue
        for known in ctx.doms.classes.get(q.id, ()):
            if known.kind == "unknown":
                continue
            found = _monotonic_break(ctx, q.id, [known.representative, UNKNOWN])
            if found is None:
                continue
            answer, _, a, b, answers = found
            ctx.report(
                q.span,
                "A051",
                f"answering '{q.id}' \"I don't know\" instead of {_word(answer)} gives a less urgent "
                f"outcome ('{b}' instead of '{a}')",
                "a caller who does not know should get the more urgent outcome: check the criteria "
                f"that test '{q.id} is not unknown' or '{q.id} is unknown'; if it is intended, say "
                'why with allow A051 "..." on the question',
                witness=answers,
            )
            break


def floors(ctx: Context) -> None:
    """Floors (``at least``) that can never raise the outcome."""
    plan = ctx.plan
    if not plan.floors:
        return
    where = program(ctx.protocol).where  # results name a floor by its path relative to the protocol
    wanted = {where(f.span) for f in plan.floors}
    raised: set[str | None] = set()
    found: list[Leaf] = []
    for leaf in explore(ctx.protocol, ctx.doms):  # depth first, in protocol order
        found.append(leaf)
        if leaf.decision.raised_by in wanted:
            raised.add(leaf.decision.raised_by)
            if raised == wanted:  # every floor raises some outcome: nothing to report, and
                return  # the rest of the tree (tens of thousands of leaves) is not needed
    for f in plan.floors:
        if where(f.span) in raised:
            continue
        rank = plan.dispositions[f.target.id].tier.rank
        below = [
            leaf for leaf in found if leaf.decision.tier_rank is not None and leaf.decision.tier_rank > rank
        ]
        if not below:
            why = "every outcome is already at least as urgent"
            hint = "remove it, or raise it to a more urgent disposition"
        else:
            why = (
                "its criteria never hold when the outcome is less urgent (or a more urgent floor holds first)"
            )
            hint = "check its criteria against the sections above, or remove it"
        ctx.report(f.span, "A060", f"floor 'at least {f.target.id}' can never raise the outcome: {why}", hint)


def gated_red_flags(ctx: Context) -> None:
    """Red flags that count only together with an answer that is not a red flag.

    For a red flag Q, the most urgent tier among the sections whose criteria read Q is
    what Q can lead to. The walk fixes Q = yes and looks for answers whose outcome is
    less urgent than that, where a most-urgent criterion reading Q is false only because
    of answers that are not red flags: with Q = yes, the other red flags as answered (or
    yes where unanswered) and nothing else, that criterion is still undecided. The
    headache case: "new confusion" counts only with "extreme" pain, so confusion with
    severe pain -> home care.
    """
    plan = ctx.plan
    graph = ctx.protocol.graph
    red = {q.id for q in plan.questions.values() if q.red_flag and q.type == "yes/no"}
    criteria = {c.node: (s, c) for s in plan.sections for c in s.criteria}
    for q in plan.questions.values():
        if q.id not in red or not graph.has_node(q.node):
            continue
        readers = [criteria[n] for n in nx.descendants(graph, q.node) if n in criteria]
        ranks = [
            plan.dispositions[s.target.id].tier.rank
            for s, _ in readers
            if s.target.kind == "disposition" and s.target.id in plan.dispositions
        ]
        if not ranks:
            continue
        best = min(ranks)
        top = [
            c
            for s, c in sorted(readers, key=lambda sc: (sc[0].index, sc[1].index))
            if s.target.kind == "disposition"
            and s.target.id in plan.dispositions
            and plan.dispositions[s.target.id].tier.rank == best
            and _reads_other_than(graph, c.node, red)
        ]
        if not top:
            continue
        found = _gated(ctx, q.id, red, best, top)
        if found is None:
            continue
        answers, outcome, criterion = found
        best_tier = next(t.id for t in plan.tiers if t.rank == best)
        span = q.span if q.span.path == ctx.protocol.path else criterion.span
        ctx.report(
            span,
            "A031",
            f"red flag '{q.id}' counts for '{best_tier}' only together with answers that are "
            f"not red flags ('{criterion.text}', {criterion.span.location}): with '{q.id}' yes "
            f"these answers give '{outcome}'",
            f"let '{q.id}' decide on its own (when {q.id}), or remove the red-flag mark",
            witness=answers,
        )


def _reads_other_than(graph: Any, node: str, red: set[str]) -> bool:
    """Does the criterion read a question that is not a red flag (through values too)?"""
    return any(
        graph.nodes[a]["kind"] == "question" and a.split(":", 1)[1] not in red
        for a in nx.ancestors(graph, node)
    )


def _gated(
    ctx: Context, qid: str, red: set[str], best: int, top: list[Any]
) -> tuple[dict[str, Clean], str, Any] | None:
    """Answers with ``qid`` yes, an outcome less urgent than ``best``, and a criterion of
    ``top`` left undecided by the red flags alone; with that outcome and criterion."""
    side = Side(ctx.protocol, {qid: True})
    for path, decision, _ in pairs(side, side, ctx.doms):
        if decision.disposition is None or decision.tier_rank is None or decision.tier_rank <= best:
            continue
        answers = {c.question: c.representative for c in path}
        flags: dict[str, Clean] = {r: True for r in red}
        flags.update({k: a for k, a in answers.items() if k in red})
        flags[qid] = True
        ev = evaluation(ctx.protocol, flags)
        for criterion in top:
            value = ev.expr(criterion.expr)
            if isinstance(value, v.Partial) and value.waiting:
                return {**answers, qid: True}, decision.disposition, criterion
    return None


def unknown_decides(ctx: Context) -> None:
    """An "I don't know" that alone makes a section hold, whatever else the caller says.

    Often intended (no thermometer in an infant -> the emergency department), but it
    sends every caller who does not know there: a note, so the author confirms it.
    """
    plan = ctx.plan
    for q in plan.questions.values():
        if not q.unknown_allowed or q.unknown_means is not None:
            continue
        ev = evaluation(ctx.protocol, {q.id: UNKNOWN})
        for s in plan.sections:
            outcome, criterion, _ = ev.section(s)
            if outcome == "fires":
                break
            if outcome != "unknown" or criterion is None:
                continue
            target = s.target.id if s.target.kind == "disposition" else f"continue with {s.target.id}"
            ctx.report(
                criterion.span,
                "A050",
                f"every caller who does not know '{q.id}' is sent to '{target}' (or to a more "
                f"urgent section) whatever else they answer: '{criterion.text}' cannot be ruled out",
                f'if that is intended, confirm it with allow A050 "..." on the section; '
                f"otherwise write 'unknown means ...' on '{q.id}' or test '{q.id} is unknown' "
                "together with other answers",
                witness={q.id: UNKNOWN},
                severity="info",
            )
            break


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


ANALYSES: tuple[Callable[[Context], None], ...] = (
    unreachable,
    bands,
    dead_questions,
    monotonic,
    gated_red_flags,
    unknown_decides,
    unknown_errs_urgent,
    floors,
    budgets,
)


def analyse(protocol: Any) -> list[Diagnostic]:
    """Every finding of every analysis, in file order."""
    ctx = Context(protocol, domains(protocol.plan))
    for analysis in ANALYSES:
        analysis(ctx)
    unique = list(dict.fromkeys(ctx.findings))  # hashed: linear in the number of findings
    return sorted(unique, key=lambda d: (d.span.path, d.span.line, d.span.column, d.code))
