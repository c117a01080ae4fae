"""Decision graph -> evaluation plan: the graph frozen into plain tuples and dicts.

The interpreter never walks the graph at run time (too slow for batch work); it
walks this plan, which is read off the graph once: sections in ``no``-edge order from
``start``, criteria in index order, floors in ``then``-edge order from ``default``, and
the question, value and disposition nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from triage_dsl.check.declarations import age_limit_minutes, ages_text
from triage_dsl.check.scope import Scope, minutes
from triage_dsl.check.walk import decl_expressions, names
from triage_dsl.graph.decision import DecisionGraph
from triage_dsl.source import Span
from triage_dsl.syntax import ast
from triage_dsl.units import in_unit, parse_text, to_minutes

if TYPE_CHECKING:
    from triage_dsl.protocol import Protocol


@dataclass(frozen=True, eq=False, repr=False)
class QuestionPlan(ast.Node):
    id: str
    node: str
    type: ast.QuestionType
    prompt: str
    help: str | None
    unit: str | None
    low: float | None
    high: float | None
    options: tuple[tuple[str, str], ...]
    unknown_allowed: bool
    unknown_means: bool | int | float | str | None
    red_flag: bool
    worse_when: str | None
    span: Span
    # For ages and durations (low and high are then minutes): the range's units as written.
    range_units: tuple[str | None, str | None] = (None, None)
    patient_age: bool = False

    @property
    def is_time(self) -> bool:
        """An age or a duration: answers carry a unit, values are minutes."""
        return self.type in ("age", "duration")

    def time_range_text(self) -> str:
        """An age's or duration's range in the units it was written in: ``0 days to 120 years``."""
        assert self.low is not None and self.high is not None
        low_unit, high_unit = self.range_units
        return f"{in_unit(self.low, low_unit or 'minutes')} to {in_unit(self.high, high_unit or 'minutes')}"

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o for o, _ in self.options)


@dataclass(frozen=True, eq=False, repr=False)
class ValuePlan(ast.Node):
    id: str
    node: str
    kind: Literal["value", "score", "points"]
    decl: ast.Value | ast.Points
    span: Span
    text: str


@dataclass(frozen=True, eq=False, repr=False)
class CriterionPlan(ast.Node):
    node: str
    section: int
    index: int
    expr: ast.Expr
    advice: tuple[str, ...]
    span: Span
    text: str


@dataclass(frozen=True, eq=False, repr=False)
class SectionPlan(ast.Node):
    node: str
    index: int
    mode: Literal["any", "all"]
    target: ast.Target
    criteria: tuple[CriterionPlan, ...]
    span: Span
    text: str
    screen: str | None = None  # the screen that brought this section, if any


@dataclass(frozen=True, eq=False, repr=False)
class FloorPlan(ast.Node):
    """``at least DISPOSITION if any of|all of ... end``: evaluated only when ``target``
    is more urgent than the outcome so far; its criteria are ``CriterionPlan`` whose
    ``section`` is the floor's index."""

    node: str
    index: int
    mode: Literal["any", "all"]
    target: ast.Target
    criteria: tuple[CriterionPlan, ...]
    span: Span
    text: str
    screen: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class TierPlan(ast.Node):
    id: str
    label: str
    rank: int
    within_minutes: float | None
    within_text: str | None


@dataclass(frozen=True, eq=False, repr=False)
class DispositionPlan(ast.Node):
    id: str
    node: str
    label: str
    tier: TierPlan
    within_minutes: float | None
    within_text: str | None
    advice: tuple[str, ...]
    escalation: ast.Escalation | None
    span: Span


@dataclass(frozen=True, eq=False, repr=False)
class RolePlan(ast.Node):
    """``role on_call_physician "On-call physician"``: a role the plans may notify."""

    id: str
    label: str
    location: str


@dataclass(frozen=True, eq=False, repr=False)
class PopulationPlan(ast.Node):
    """``population adult aged 18 to 120 years``, enforced against ``question``'s answer."""

    text: str  # "adult aged 18 to 120 years"
    low: float  # minutes, inclusive
    high: float  # minutes, inclusive
    question: str  # the question marked `patient age`
    location: str


@dataclass(frozen=True, eq=False, repr=False)
class Plan(ast.Node):
    protocol_id: str
    path: str
    questions: MappingProxyType[str, QuestionPlan]
    values: MappingProxyType[str, ValuePlan]
    sections: tuple[SectionPlan, ...]
    default: ast.Target
    default_span: Span
    dispositions: MappingProxyType[str, DispositionPlan]
    tiers: tuple[TierPlan, ...]
    callees: MappingProxyType[str, Protocol]
    scores: tuple[str, ...]
    population: PopulationPlan | None = None
    floors: tuple[FloorPlan, ...] = ()
    roles: MappingProxyType[str, RolePlan] = field(default_factory=lambda: MappingProxyType({}))
    # The runtime's compiled form of this plan (closures, cached result pieces), built on
    # first evaluation by ``runtime/interpreter.py``. A cache: not part of the plan's value.
    compiled: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def question_order(self) -> dict[str, int]:
        return {qid: n for n, qid in enumerate(self.questions)}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (``triage_dsl.stored``) without the runtime's cache; read-only
        mappings as dicts (a mappingproxy cannot be pickled)."""
        state = {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in self.__dict__.items()}
        state["compiled"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in _MAPPINGS:
            state[name] = MappingProxyType(state[name])
        self.__dict__.update(state)


_MAPPINGS = ("questions", "values", "dispositions", "callees", "roles")


def _unknown_means(q: ast.Question) -> bool | int | float | str | None:
    if q.unknown_means is None:
        return None
    value = q.unknown_means.value
    if q.type in ast.TIME_TYPES and isinstance(value, str):
        amount, unit = parse_text(value)  # the checker has read it already
        return to_minutes(amount, unit)
    return value


def _duration_text(duration: ast.Duration | None) -> str | None:
    if duration is None:
        return None
    amount = duration.amount
    if amount == 0:
        return "now"
    return f"within {amount:g} {duration.unit}"


def build_plan(graph: DecisionGraph, scope: Scope) -> Plan:
    text = scope.source.snippet
    sources = scope.sources

    def snippet(span: Span) -> str:
        src = sources.get(span.path)
        return src.snippet(span) if src is not None else text(span)

    nodes = graph.nodes
    questions: dict[str, QuestionPlan] = {}
    values: dict[str, ValuePlan] = {}
    for node, data in nodes.items():
        if data["kind"] == "question":
            q: ast.Question = data["decl"]
            questions[q.id] = QuestionPlan(
                id=q.id,
                node=node,
                type=q.type,
                prompt=q.prompt or q.id,
                help=q.help,
                unit=q.unit,
                low=q.range[0] if q.range else None,
                high=q.range[1] if q.range else None,
                options=tuple((o.id, o.label) for o in q.options),
                unknown_allowed=q.unknown_allowed,
                unknown_means=_unknown_means(q),
                red_flag=q.red_flag,
                worse_when=q.worse_when,
                span=q.span,
                range_units=q.range_units,
                patient_age=q.patient_age,
            )
        elif data["kind"] in ("value", "score", "points"):
            decl = data["decl"]
            shown = snippet(decl.span)
            if isinstance(decl, ast.Points):
                shown = f"points {decl.id} from {decl.subject.id}"
            values[decl.id] = ValuePlan(decl.id, node, data["kind"], decl, decl.span, shown)
    # Questions are listed in declaration order (protocol order), not graph order.
    questions = dict(
        sorted(questions.items(), key=lambda kv: (kv[1].span.path != scope.source.path, kv[1].span))
    )

    def block(node: str, criterion_kind: str) -> dict[str, Any]:
        """What a section and a floor share: their mode, target and criteria in order."""
        data = nodes[node]
        criteria = sorted(
            (nodes[c] | {"node": c} for c in graph.predecessors(node) if nodes[c]["kind"] == criterion_kind),
            key=lambda d: d["index"],
        )
        return {
            "node": node,
            "index": data["index"],
            "mode": data["mode"],
            "target": data["target"],
            "criteria": tuple(
                CriterionPlan(
                    c["node"],
                    data["index"],
                    c["index"],
                    c["expr"],
                    c["advice"],
                    c["span"],
                    snippet(c["span"]),
                )
                for c in criteria
            ),
            "span": data["span"],
            "text": snippet(data["span"]).split(" when ")[0],
            "screen": data.get("screen"),
        }

    sections: list[SectionPlan] = []
    node = next(iter(graph.successors("start")))
    while node != "default":
        sections.append(SectionPlan(**block(node, "criterion")))
        node = next(s for s in graph.successors(node) if graph.edge(node, s)["label"] == "no")
    floor_plans: list[FloorPlan] = []
    node = "default"
    while True:
        node = next((s for s in graph.successors(node) if graph.edge(node, s)["label"] == "then"), "")
        if not node:
            break
        floor_plans.append(FloorPlan(**block(node, "floor_criterion")))

    tiers = tuple(
        TierPlan(t.id, t.label, rank, minutes(t.within) if t.within else None, _duration_text(t.within))
        for rank, t in enumerate(scope.tier_order)
    )
    by_id = {t.id: t for t in tiers}
    dispositions: dict[str, DispositionPlan] = {}
    callees: dict[str, Protocol] = {}
    for node, data in nodes.items():
        if data["kind"] == "disposition":
            d: ast.Disposition = data["decl"]
            tier = by_id[d.tier or ""]
            dispositions[d.id] = DispositionPlan(
                id=d.id,
                node=node,
                label=d.label or d.id,
                tier=tier,
                within_minutes=minutes(d.within) if d.within else tier.within_minutes,
                within_text=_duration_text(d.within) if d.within else tier.within_text,
                advice=d.advice,
                escalation=scope.escalations.get(d.escalation) if d.escalation else None,
                span=d.span,
            )
        elif data["kind"] == "protocol":
            protocol: Any = data["protocol"]
            callees[protocol.id] = protocol
    scores = tuple(v.id for v in values.values() if v.kind == "score")
    default: ast.Target = nodes["default"]["target"]
    return Plan(
        protocol_id=scope.file.header.id,
        path=scope.source.path,
        questions=MappingProxyType(questions),
        values=MappingProxyType(values),
        sections=tuple(sections),
        default=default,
        default_span=nodes["default"]["span"],
        dispositions=MappingProxyType(dispositions),
        tiers=tiers,
        callees=MappingProxyType(callees),
        scores=tuple(sorted(scores, key=lambda s: values[s].span)),
        population=_population(scope),
        floors=tuple(floor_plans),
        roles=MappingProxyType(
            {r.id: RolePlan(r.id, r.label, r.id_span.location) for r in scope.roles.values()}
        ),
    )


def _population(scope: Scope) -> PopulationPlan | None:
    header = scope.file.header
    marked = [q for q in scope.questions.values() if q.patient_age and q.type == "age"]
    if header.ages is None or len(marked) != 1 or header.population_span is None:
        return None
    low, high = age_limit_minutes(header.ages)
    return PopulationPlan(
        text=f"{header.population} {ages_text(header.ages)}",
        low=low,
        high=high,
        question=marked[0].id,
        location=header.population_span.location,
    )


def plans(plan: Plan) -> Iterator[Plan]:
    """``plan`` and every plan it continues with (``continue with``), depth first."""
    yield plan
    for callee in plan.callees.values():
        yield from plans(callee.plan)


def all_dispositions(plan: Plan) -> dict[str, DispositionPlan]:
    """Every disposition a result of ``plan`` may name, its own first."""
    out: dict[str, DispositionPlan] = {}
    for p in plans(plan):
        for did, d in p.dispositions.items():
            out.setdefault(did, d)
    return out


def escalation_roles(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    """Each role the escalation plans of ``plan`` (and those it continues with) notify,
    with the (plan, channel) pairs that notify it, in the order written."""
    out: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for d in all_dispositions(plan).values():
        e = d.escalation
        if e is None or e.id in seen:
            continue
        seen.add(e.id)
        for step in e.steps:
            if isinstance(step, ast.NotifyStep):
                pair = (e.id, step.channel)
                if pair not in out.setdefault(step.role, []):
                    out[step.role].append(pair)
    return out


def blocks(plan: Plan) -> tuple[SectionPlan | FloorPlan, ...]:
    """The plan's sections, then its floors: everything that holds criteria."""
    found: tuple[SectionPlan | FloorPlan, ...] = (*plan.sections, *plan.floors)
    return found


def questions_read(plan: Plan) -> set[str]:
    """Questions the triage block of ``plan`` reads, through its values and points tables
    (not those of the protocols it continues with)."""
    out: set[str] = set()
    seen: set[str] = set()
    stack = [c.expr for s in blocks(plan) for c in s.criteria]
    while stack:
        for name in names(stack.pop()):
            if name.id in plan.questions:
                out.add(name.id)
            elif name.id in plan.values and name.id not in seen:
                seen.add(name.id)
                stack.extend(decl_expressions(plan.values[name.id].decl))
    return out
