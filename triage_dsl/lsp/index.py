"""Where each name of a file is declared and used, read from its parse tree.

Every identifier the language resolves is an :class:`Occurrence`: its kind (a question
or value ``name``, an ``option`` of a choice question, a ``disposition``, a ``tier``, an
``escalation`` plan, a ``screen``, a ``protocol``), whether it declares the name, and its
place. Options carry the question they belong to when the syntax says so (``x is opt``,
``x in {a, b}``, a points table's rows, ``worse when``). Resolving a use to the
declaration goes through the compiler's own scope (``check/scope.py``), so the editor
and ``triage check`` agree on what every name means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lark import Token, Tree
from lark.exceptions import LarkError

from triage_dsl.fmt.layout import parse_tokens, start_rule

Kind = Literal["name", "option", "disposition", "tier", "escalation", "screen", "protocol"]


@dataclass(frozen=True)
class Occurrence:
    """One identifier: ``line``/``column`` 1-based, ``end_column`` exclusive."""

    kind: Kind
    name: str
    line: int
    column: int
    end_column: int
    declares: bool = False
    owner: str | None = None  # an option's question, when known

    def contains(self, line: int, column: int) -> bool:
        return self.line == line and self.column <= column <= self.end_column


def _ids(node: Tree[Token] | Token) -> list[Token]:
    if isinstance(node, Token):
        return [node] if node.type == "ID" else []
    found: list[Token] = []
    for child in node.children:
        found.extend(_ids(child))
    return found


def _direct_ids(node: Tree[Token]) -> list[Token]:
    return [c for c in node.children if isinstance(c, Token) and c.type == "ID"]


def _subject(node: Tree[Token] | Token) -> str | None:
    """The question an ``is``/``in`` test reads, when it is a plain name."""
    if isinstance(node, Tree) and node.data == "name":
        ids = _direct_ids(node)
        return str(ids[0]) if ids else None
    return None


class _Collector:
    def __init__(self) -> None:
        self.found: list[Occurrence] = []

    def add(self, token: Token, kind: Kind, declares: bool = False, owner: str | None = None) -> None:
        line, column = token.line or 1, token.column or 1
        self.found.append(Occurrence(kind, str(token), line, column, column + len(token), declares, owner))

    def walk(self, node: Tree[Token], question: str | None, subject: str | None) -> None:
        # An explicit stack: expressions nest deep (the parser bounds them, not Python).
        stack: list[tuple[Tree[Token], str | None, str | None]] = [(node, question, subject)]
        while stack:
            node, question, subject = stack.pop()
            question, subject = self.visit(node, question, subject)
            stack.extend(
                (child, question, subject) for child in reversed(node.children) if isinstance(child, Tree)
            )

    def visit(
        self, node: Tree[Token], question: str | None, subject: str | None
    ) -> tuple[str | None, str | None]:
        kind = str(node.data)
        ids = _direct_ids(node)
        if kind == "question" and ids:
            self.add(ids[0], "name", True)
            return str(ids[0]), None
        if kind in ("value_decl", "score_decl") and ids:
            self.add(ids[0], "name", True)
        elif kind == "points" and len(ids) >= 2:
            self.add(ids[0], "name", True)
            self.add(ids[1], "name")
            return question, str(ids[1])
        elif kind == "q_option" and ids:
            self.add(ids[0], "option", True, question)
        elif kind == "q_worse_when" and ids:
            self.add(ids[0], "option", False, question)
        elif kind in ("name", "d_tier", "target_disposition", "d_escalation", "screen_use"):
            target: dict[str, Kind] = {
                "name": "name",
                "d_tier": "tier",
                "target_disposition": "disposition",
                "d_escalation": "escalation",
                "screen_use": "screen",
            }
            for token in ids:
                self.add(token, target[kind])
        elif kind in ("tier", "disposition", "escalation", "screen") and ids:
            self.add(ids[0], kind, True)  # type: ignore[arg-type]
        elif kind == "floor" and ids:
            self.add(ids[0], "disposition")
        elif kind == "target_protocol" and ids:
            self.add(ids[0], "protocol")
        elif kind in ("is_option", "is_not_option") and ids:
            self.add(ids[-1], "option", False, _subject(node.children[0]))
        elif kind in ("member", "not_member"):
            owner = _subject(node.children[0])
            for token in _ids(node.children[-1]):
                self.add(token, "option", False, owner)
        elif kind == "band_options":
            for token in _ids(node):
                if token.type == "ID":
                    self.add(token, "option", False, subject)
        elif kind == "answer" and ids:
            self.add(ids[0], "name")
            if len(ids) > 1:
                self.add(ids[1], "option", False, str(ids[0]))
        elif kind in ("without", "expect_not_asked", "expect_asked", "expect_next", "expect_score"):
            for token in ids:
                self.add(token, "name")
        elif kind == "expect_disposition" and ids:
            self.add(ids[0], "disposition")
        elif kind == "expect_tier" and ids:
            self.add(ids[0], "tier")
        return question, subject


def occurrences(path: str, text: str) -> list[Occurrence]:
    """Every resolvable identifier of a file, in file order ([] when it does not parse)."""
    try:
        tree, _ = parse_tokens(text, start_rule(path))
    except (LarkError, RecursionError):
        return []
    collector = _Collector()
    collector.walk(tree, None, None)
    return sorted(collector.found, key=lambda o: (o.line, o.column))


def at(found: list[Occurrence], line: int, column: int) -> Occurrence | None:
    """The occurrence under a 1-based position (or just after it, as editors ask)."""
    for occurrence in found:
        if occurrence.contains(line, column):
            return occurrence
    return None
