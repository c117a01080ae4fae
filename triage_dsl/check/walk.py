"""Walking expressions: the sub-expressions of a node and every ``Name`` it reads."""

from __future__ import annotations

from collections.abc import Iterator

from triage_dsl.syntax import ast


def children(expr: ast.Expr) -> tuple[ast.Expr, ...]:
    """The direct sub-expressions of ``expr``, left to right."""
    if isinstance(expr, ast.Not | ast.Negate | ast.Member | ast.IsUnknown):
        return (expr.operand,)
    if isinstance(expr, ast.And | ast.Or | ast.Compare | ast.Arith):
        return (expr.left, expr.right)
    if isinstance(expr, ast.Count):
        return expr.items
    if isinstance(expr, ast.Conditional):
        return (expr.condition, expr.then, expr.otherwise)
    return ()


def names(expr: ast.Expr) -> Iterator[ast.Name]:
    """Every name ``expr`` reads, in source order."""
    if isinstance(expr, ast.Name):
        yield expr
    for child in children(expr):
        yield from names(child)


def decl_expressions(decl: ast.Value | ast.Points) -> Iterator[ast.Expr]:
    """The expressions a value or points table evaluates (its subject first)."""
    if isinstance(decl, ast.Value):
        yield decl.expr
        return
    yield decl.subject
    for band in decl.bands:
        if band.condition is not None:
            yield band.condition


def depth(expr: ast.Expr) -> int:
    """Nesting depth of an expression (checked against a limit)."""
    stack = [(expr, 1)]
    deepest = 0
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(node))
    return deepest


def blocks(item: ast.Declaration) -> tuple[ast.Section | ast.Floor, ...]:
    """The sections and floors a triage block or screen declares itself, in written order
    (a triage's screens are checked where they are declared)."""
    if isinstance(item, ast.Triage | ast.Screen):
        found: tuple[ast.Section | ast.Floor, ...] = (*item.sections, *item.floors)
        return found
    return ()
