"""Pass: every name resolves, and no value depends on itself.

Unknown names get a did-you-mean hint over the names in scope; a name that is really an
option of a choice question gets the ``is`` form to write instead.
"""

from __future__ import annotations

from triage_dsl.check.scope import Scope
from triage_dsl.check.walk import blocks, decl_expressions
from triage_dsl.check.walk import names as names_in
from triage_dsl.errors import did_you_mean
from triage_dsl.syntax import ast


def names(scope: Scope) -> None:
    known = scope.names
    options = {o.id: q.id for q in scope.questions.values() for o in q.options}
    for expr in _local_expressions(scope):
        for name in names_in(expr):
            if name.id in known:
                continue
            if name.id in options:
                question = options[name.id]
                scope.report(
                    name.span,
                    "T021",
                    f"'{name.id}' is an option of '{question}', not a name",
                    f"write '{question} is {name.id}' or '{question} in {{{name.id}, ...}}'",
                )
            else:
                scope.report(
                    name.span,
                    "T020",
                    f"unknown name '{name.id}'",
                    did_you_mean(name.id, known) or "declare it as a question or value",
                )
    _cycles(scope)


def _local_expressions(scope: Scope) -> list[ast.Expr]:
    exprs: list[ast.Expr] = []
    for item in scope.file.items:
        if isinstance(item, ast.Value | ast.Points):
            exprs.extend(decl_expressions(item))
        else:
            for block in blocks(item):
                exprs.extend(c.expr for c in block.criteria)
    return exprs


def _cycles(scope: Scope) -> None:
    """A value that reads itself, directly or through others, would never finish."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[str] = set()

    def visit(value_id: str, path: list[str]) -> None:
        if state.get(value_id) == 2:
            return
        if state.get(value_id) == 1:
            cycle = [*path[path.index(value_id) :], value_id]
            if not reported.intersection(cycle):
                decl = scope.values[value_id]
                scope.report(
                    decl.id_span,
                    "T022",
                    f"value '{value_id}' depends on itself: {' -> '.join(cycle)}",
                    "a protocol has no loops: compute it from questions",
                )
                reported.update(cycle)
            return
        state[value_id] = 1
        for expr in decl_expressions(scope.values[value_id]):
            for name in names_in(expr):
                if name.id in scope.values:
                    visit(name.id, [*path, value_id])
        state[value_id] = 2

    for value_id in scope.values:
        visit(value_id, [])
