"""``triage table``: the complete decision table of a protocol.

The leaves of the decision tree (``explore.py``) partition the answer space; rows that
differ only in one question's class and agree on the outcome are merged, and a question
whose every class is merged drops out of the row. Every complete answer set falls in
exactly one row, and the row's outcome is the interpreter's (property-tested). Floors
(``at least``) are part of the outcome: a row says which floor raised it, if one did.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains, domains, interval_text
from triage_dsl.analysis.explore import leaves
from triage_dsl.graph.plan import all_dispositions
from triage_dsl.runtime.answers import Clean, answer_json
from triage_dsl.runtime.interpreter import program


@dataclass(frozen=True)
class Row:
    """One region: a set of classes per constrained question, and its outcome."""

    conditions: tuple[tuple[str, frozenset[int]], ...]  # question -> class indexes
    disposition: str
    tier: str
    rank: int
    raised_by: str | None = None  # the floor that raised the outcome: "at least X (file:line)"

    def condition(self, question: str) -> frozenset[int] | None:
        return dict(self.conditions).get(question)


@dataclass(frozen=True)
class Table:
    protocol_id: str
    domains: Domains
    rows: tuple[Row, ...]
    floors: bool = False  # the protocol has floors: rows say which floor raised them

    @property
    def questions(self) -> list[str]:
        used = {q for row in self.rows for q, _ in row.conditions}
        return [q for q in self.domains.classes if q in used]

    def row_for(self, answers: dict[str, Clean]) -> list[Row]:
        """The rows an answer set falls in (exactly one for a valid complete answer set)."""
        out = []
        for row in self.rows:
            for q, indexes in row.conditions:
                classes = self.domains.classes[q]
                if q not in answers or not any(classes[i].contains(answers[q]) for i in indexes):
                    break
            else:
                out.append(row)
        return out

    def describe(self, question: str, indexes: frozenset[int]) -> str:
        classes = self.domains.classes[question]
        return describe_classes([classes[i] for i in sorted(indexes)])

    def representatives(self, row: Row) -> dict[str, Clean]:
        """One answer per constrained question of the row (``UNKNOWN`` for "does not know")."""
        return {q: self.domains.classes[q][min(indexes)].representative for q, indexes in row.conditions}

    def witness(self, row: Row) -> dict[str, Any]:
        """The row's answers as JSON values (``"unknown"`` for "does not know")."""
        return {q: answer_json(rep) for q, rep in self.representatives(row).items()}


def describe_classes(classes: list[AnswerClass]) -> str:
    if not classes:
        return "-"
    kind = classes[0].kind
    parts: list[str] = []
    numbers = [c for c in classes if c.kind == "number"]
    if numbers:
        atoms = tuple(a for c in numbers for a in c.atoms)
        text = numbers[0].number_text
        for low, high, low_closed, high_closed in interval_text(atoms):
            if low == high:
                parts.append(f"= {text(low)}")
            else:
                left = ">=" if low_closed else ">"
                right = "<=" if high_closed else "<"
                parts.append(f"{left} {text(low)} and {right} {text(high)}")
    for c in classes:
        if c.kind == "choice":
            parts.append(", ".join(c.options))
        elif c.kind == "yes/no":
            parts.append("yes" if c.value else "no")
        elif c.kind == "unknown":
            parts.append("unknown")
    del kind
    return (
        " or ".join(parts)
        if len(parts) > 1 and numbers
        else ", ".join(parts)
        if not numbers
        else parts[0]
        if len(parts) == 1
        else " or ".join(parts)
    )


def _protocols(protocol: Any) -> list[Any]:
    """The protocol and every protocol it continues with, each once."""
    found: dict[int, Any] = {}
    stack = [protocol]
    while stack:
        p = stack.pop()
        if id(p) not in found:
            found[id(p)] = p
            stack.extend(p.plan.callees.values())
    return list(found.values())


def build_table(protocol: Any, doms: Domains | None = None) -> Table:
    doms = doms or domains(protocol.plan)
    tiers = {d.id: (d.tier.id, d.tier.rank) for d in all_dispositions(protocol.plan).values()}
    index = {q: {id(c): n for n, c in enumerate(cs)} for q, cs in doms.classes.items()}
    floors = {  # keyed and written as results name a floor: relative to its protocol's folder
        where: f"at least {f.target.id} ({where})"
        for each in _protocols(protocol)
        for f in each.plan.floors
        for where in (program(each).where(f.span),)
    }
    # The decision tree as a trie: each inner node splits one question into its classes.
    root: dict[str, Any] = {}
    for leaf in leaves(protocol, doms):
        node = root
        for cls in leaf.path:
            node.setdefault("question", cls.question)
            node = node.setdefault("children", {}).setdefault(index[cls.question][id(cls)], {})
        node["outcome"] = (leaf.decision.disposition, floors.get(leaf.decision.raised_by or ""))
    raw = [Row(conditions, d, *tiers[d], raised_by=f) for conditions, (d, f) in _rows(root, doms)]
    return Table(protocol.id, doms, tuple(_merge(raw, doms)), floors=bool(floors))


def _rows(
    node: dict[str, Any], doms: Domains
) -> list[tuple[tuple[tuple[str, frozenset[int]], ...], tuple[str, str | None]]]:
    """Rows of a subtree, children with equal rows merged (bottom-up)."""
    if "outcome" in node:
        return [((), node["outcome"])]
    question: str = node["question"]
    merged: dict[tuple[Any, ...], set[int]] = {}
    order: list[tuple[Any, ...]] = []
    for index, child in node["children"].items():
        for conditions, outcome in _rows(child, doms):
            key = (conditions, outcome)
            if key not in merged:
                merged[key] = set()
                order.append(key)
            merged[key].add(index)
    out = []
    for conditions, outcome in order:
        indexes = frozenset(merged[(conditions, outcome)])
        if len(indexes) == len(doms.classes[question]):
            out.append((conditions, outcome))
        else:
            out.append((((question, indexes), *conditions), outcome))
    return out


class _Merging:
    """A row while merging, with its key per question made once: a row that a pass leaves
    as it is keeps its keys for the next pass."""

    __slots__ = ("keys", "row", "where")

    def __init__(self, row: Row) -> None:
        self.row = row
        self.where = {q: n for n, (q, _) in enumerate(row.conditions)}  # question -> position
        self.keys: dict[str, tuple[Any, ...]] = {}

    def key(self, question: str) -> tuple[Any, ...]:
        """The row with ``question`` left out, its outcome, and whether it was there."""
        key = self.keys.get(question)
        if key is None:
            row = self.row
            n = self.where.get(question)
            if n is None:
                key = (row.conditions, row.disposition, row.raised_by, True)
            else:
                rest = row.conditions[:n] + row.conditions[n + 1 :]
                key = (rest, row.disposition, row.raised_by, False)
            self.keys[question] = key
        return key


def _merge(rows: list[Row], doms: Domains) -> list[Row]:
    """Merge rows equal but for one question's classes, until nothing merges."""
    work = [_Merging(row) for row in rows]
    questions = list(reversed(list(doms.classes)))
    changed = True
    while changed:
        changed = False
        for question in questions:
            groups: dict[tuple[Any, ...], list[_Merging]] = {}
            for item in work:
                key = item.key(question)
                group = groups.get(key)
                if group is None:
                    groups[key] = [item]  # dicts keep the order keys first appear in
                else:
                    group.append(item)
            if len(groups) == len(work):
                continue  # no two rows share a key: nothing merges on this question
            merged: list[_Merging] = []
            for key, group in groups.items():
                if len(group) == 1 or key[3]:
                    merged.extend(group)
                    continue
                first = group[0].row
                position = group[0].where[question]
                union = frozenset().union(*(item.row.conditions[item.where[question]][1] for item in group))
                conditions = list(key[0])
                if len(union) < len(doms.classes[question]):
                    conditions.insert(position, (question, union))
                row = Row(tuple(conditions), first.disposition, first.tier, first.rank, first.raised_by)
                merged.append(_Merging(row))
                changed = True
            work = merged
    return [item.row for item in work]


# ------------------------------------------------------------------ output


def to_json(table: Table) -> dict[str, Any]:
    return {
        "protocol": table.protocol_id,
        "questions": table.questions,
        "rows": [
            {
                "conditions": {q: table.describe(q, c) for q, c in row.conditions},
                "disposition": row.disposition,
                "tier": row.tier,
                "rank": row.rank,
                **({"raised_by": row.raised_by} if table.floors else {}),
                "witness": table.witness(row),
            }
            for row in table.rows
        ],
    }


def to_markdown(table: Table) -> str:
    questions = table.questions
    head = ["#", *questions, "disposition", "tier", *(["raised by"] if table.floors else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, row in enumerate(table.rows, start=1):
        cells = [str(n)]
        for q in questions:
            c = row.condition(q)
            cells.append("any" if c is None else table.describe(q, c).replace("|", "\\|"))
        cells += [row.disposition, row.tier, *([row.raised_by or "-"] if table.floors else [])]
        lines.append("| " + " | ".join(cells) + " |")
    return f"Decision table of {table.protocol_id}: {len(table.rows)} rows\n\n" + "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    questions = table.questions
    writer.writerow(["row", *questions, "disposition", "tier", *(["raised by"] if table.floors else [])])
    for n, row in enumerate(table.rows, start=1):
        cells = [table.describe(q, c) if (c := row.condition(q)) is not None else "any" for q in questions]
        writer.writerow(
            [n, *cells, row.disposition, row.tier, *([row.raised_by or "-"] if table.floors else [])]
        )
    return out.getvalue()


def dumps_json(table: Table) -> str:
    return json.dumps(to_json(table), indent=2) + "\n"
