"""Scenario coverage over the decision graph's plan.

Goals, each met by at least one scenario:

- a section *fires* (its criteria decide it holds), and the default is reached;
- a criterion *fires* (it is the criterion that decided its section; in an ``all of``
  section, every criterion of a section that held) **and** is *seen false*;
- a points-table row *matches*;
- a disposition that the triage can reach is the result;
- a floor (``at least``) *raises* the outcome and is *seen not to hold* (evaluated and
  found no; a floor not needed because the outcome is already as urgent meets neither),
  and each of its criteria fires and is seen false;
- a question the triage reads that allows "I don't know" is answered ``unknown`` in a
  scenario that expects a disposition or a tier (and the evaluation read the answer).

Coverage is the share of goals met; unmet goals are named with ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from triage_dsl.graph.plan import FloorPlan, Plan, SectionPlan, questions_read
from triage_dsl.model.result import TriageResult
from triage_dsl.syntax import ast


@dataclass(frozen=True)
class Goal:
    key: str
    kind: str  # section | criterion fires | criterion false | points row | disposition | floor ...
    location: str
    text: str


def goals(plan: Plan) -> list[Goal]:
    out: list[Goal] = []
    for s in plan.sections:
        out.append(Goal(f"fires:{s.node}", "section", s.span.location, s.text))
        for c in s.criteria:
            out.append(Goal(f"fires:{c.node}", "criterion fires", c.span.location, c.text))
            out.append(Goal(f"false:{c.node}", "criterion false", c.span.location, c.text))
    out.append(Goal("fires:default", "default", plan.default_span.location, f"default {plan.default.id}"))
    for f in plan.floors:
        out.append(Goal(f"fires:{f.node}", "floor raises", f.span.location, f.text))
        out.append(Goal(f"false:{f.node}", "floor does not hold", f.span.location, f.text))
        for c in f.criteria:
            out.append(Goal(f"fires:{c.node}", "criterion fires", c.span.location, c.text))
            out.append(Goal(f"false:{c.node}", "criterion false", c.span.location, c.text))
    for value in plan.values.values():
        if isinstance(value.decl, ast.Points):
            for index, band in enumerate(value.decl.bands):
                out.append(
                    Goal(
                        f"row:{value.node}:{index}",
                        "points row",
                        band.span.location,
                        f"{value.id}: row {index + 1}",
                    )
                )
    targets = [s.target for s in plan.sections] + [plan.default] + [f.target for f in plan.floors]
    seen: set[str] = set()
    for target in targets:
        if target.kind == "disposition" and target.id not in seen:
            seen.add(target.id)
            d = plan.dispositions[target.id]
            out.append(Goal(f"disposition:{d.id}", "disposition", d.span.location, d.label))
    read = questions_read(plan)
    for q in plan.questions.values():
        if q.unknown_allowed and q.id in read:
            out.append(Goal(f"unknown:{q.id}", "unknown answer", q.span.location, f"{q.id} = unknown"))
    return out


@dataclass
class Coverage:
    plan: Plan
    met: set[str] = field(default_factory=set)

    def observe(self, result: TriageResult, asserts_outcome: bool = True) -> None:
        """Mark the goals one evaluation met, read off its trace. An unknown answer counts
        only in a scenario that ``asserts_outcome`` (expects a disposition or a tier)."""
        protocol_id = self.plan.protocol_id
        sections: dict[str, SectionPlan | FloorPlan] = {s.node: s for s in self.plan.sections}
        sections.update((f.node, f) for f in self.plan.floors)
        true_criteria: list[str] = []
        assumed = False
        outcome = asserts_outcome and result.status == "complete"
        for entry in result.trace:
            if entry.protocol != protocol_id:
                continue
            if entry.kind == "answer":
                if outcome and entry.value == "unknown" and entry.node.startswith("question:"):
                    self.met.add(f"unknown:{entry.node.split(':', 1)[1]}")
            elif entry.kind == "criterion":
                if entry.value is False:
                    self.met.add(f"false:{entry.node}")
                elif entry.value is True:
                    true_criteria.append(entry.node)
            elif entry.kind == "points" and entry.row is not None:
                self.met.add(f"row:{entry.node}:{entry.row}")
            elif entry.kind == "assumption":
                assumed = True
            elif entry.kind == "floor" and entry.value is False:
                self.met.add(f"false:{entry.node}")
            elif entry.kind in ("section", "floor") and entry.value is True and entry.node in sections:
                section = sections[entry.node]
                if not assumed:
                    self.met.add(f"fires:{section.node}")
                    own = [c.node for c in section.criteria]
                    if section.mode == "all":
                        self.met.update(f"fires:{c}" for c in own)
                    else:
                        fired = [c for c in true_criteria if c in own]
                        if fired:
                            self.met.add(f"fires:{fired[-1]}")
                assumed = False  # an assumption counts against the block it decided only
            elif entry.kind == "default":
                self.met.add("fires:default")
            elif entry.kind == "disposition" and isinstance(entry.value, str):
                self.met.add(f"disposition:{entry.value}")

    def report(self) -> tuple[float, list[Goal]]:
        all_goals = goals(self.plan)
        missed = [g for g in all_goals if g.key not in self.met]
        percent = 100.0 if not all_goals else 100.0 * (len(all_goals) - len(missed)) / len(all_goals)
        return percent, missed
