"""The allow-list a generated module's AST is checked against before ``compile()``.

Only the node types below may appear; every name must be one the generator declared (or
``float``/``len``/``str``); calls go to declared names or to the ``append``/``get`` methods;
constants are numbers, strings, booleans and None. Anything else -- an import, an
attribute such as ``__class__``, a lambda, a comprehension, a call of an undeclared name
-- refuses the module.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Set

ALLOWED_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Module,
        ast.FunctionDef,
        ast.arguments,
        ast.arg,
        ast.Return,
        ast.Assign,
        ast.If,
        ast.While,
        ast.Break,
        ast.Pass,
        ast.Expr,
        ast.Name,
        ast.Load,
        ast.Store,
        ast.Constant,
        ast.Tuple,
        ast.List,
        ast.Dict,
        ast.Set,
        ast.Subscript,
        ast.Attribute,
        ast.Call,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.USub,
        ast.BinOp,
        ast.Add,
        ast.Sub,
        ast.Mult,
        ast.IfExp,
        ast.Compare,
        ast.Eq,
        ast.NotEq,
        ast.Lt,
        ast.LtE,
        ast.Gt,
        ast.GtE,
        ast.Is,
        ast.IsNot,
        ast.In,
        ast.NotIn,
    }
)
BUILTINS = frozenset({"float", "len", "str"})
METHODS = frozenset({"append", "get"})


class ForbiddenCode(Exception):
    """The generated module holds something outside the allow-list (a generator bug)."""


def check_module(tree: ast.Module, names: Set[str]) -> None:
    """Raise :class:`ForbiddenCode` unless every node of ``tree`` is allowed and every
    name is one of ``names`` (the generator's) or a listed builtin."""
    known = BUILTINS | set(names)
    for node in ast.walk(tree):
        if type(node) not in ALLOWED_NODES:
            raise ForbiddenCode(f"node {type(node).__name__} is not allowed in generated code")
        if isinstance(node, ast.Name) and node.id not in known:
            raise ForbiddenCode(f"name {node.id!r} was not made by the generator")
        if isinstance(node, ast.FunctionDef):
            if node.decorator_list or node.returns is not None or node.name not in names:
                raise ForbiddenCode(f"function {node.name!r} is not a plain generated function")
            for a in node.args.args:
                if a.arg not in names or a.annotation is not None:
                    raise ForbiddenCode(f"argument {a.arg!r} was not made by the generator")
        if isinstance(node, ast.Attribute) and node.attr not in METHODS:
            raise ForbiddenCode(f"attribute {node.attr!r} is not allowed in generated code")
        if isinstance(node, ast.Call):
            if node.keywords:
                raise ForbiddenCode("keyword arguments are not allowed in generated code")
            func = node.func
            if not (
                (isinstance(func, ast.Name) and func.id in known)
                or (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name))
            ):
                raise ForbiddenCode("a call must name a generated function or a listed method")
        if isinstance(node, ast.Constant):
            value = node.value
            if not (value is None or type(value) in (bool, int, float, str)):
                raise ForbiddenCode(f"constant {type(value).__name__} is not allowed in generated code")
            if type(value) is float and not math.isfinite(value):
                raise ForbiddenCode("a non-finite constant is not allowed in generated code")
