"""Generated modules compiled once and kept: by plan (in ``plan.compiled``) and by the
SHA-256 of their source (a code object shared by protocols that generate the same text).

A module is parsed, its AST checked against the allow-list (:mod:`.allow`), compiled,
and run in a namespace holding only the generator's names and the builtins ``float``,
``len`` and ``str``. Set ``TRIAGE_INTERPRETER=1`` to evaluate with the interpreter only
(to compare the two).

Generating and compiling a module costs about as much as a few hundred evaluations by the
interpreter, so by default a plan gets its module once it is evaluated often in one
process (:data:`HOT_AFTER`, :func:`hot_runner`): one ``triage eval`` of a case, a short
interview or a verification runs the interpreter alone (the reference, same bytes) and
does not load the generator; a batch or a service switches after its first evaluations.
"""

from __future__ import annotations

import ast
import hashlib
import os
import threading
from collections.abc import Callable, Mapping
from types import CodeType
from typing import Any, NamedTuple

from triage_dsl.runtime.program import program

Run = Callable[
    [Mapping[str, Any], list[Any]], tuple[dict[str, Any], list[str], dict[str, None], dict[str, Any]] | None
]

ENABLED = os.environ.get("TRIAGE_INTERPRETER", "") in ("", "0")
"""Whether evaluation uses generated code where it applies (``TRIAGE_INTERPRETER=1``: never)."""

HOT_AFTER = 32
"""Evaluations of a plan by the interpreter, in one process, before it gets generated code."""

_BUILTINS = {"float": float, "len": len, "str": str}
_CODE: dict[str, CodeType] = {}
_CODE_LIMIT = 256
_LOCK = threading.Lock()


class Runner(NamedTuple):
    """A protocol's generated functions (see :mod:`triage_dsl.runtime.codegen.generate`)."""

    trace: Run
    plain: Run
    source: str


def compile_module(source: str, names: frozenset[str]) -> CodeType:
    """The checked, compiled code of a generated module (cached by its source's hash)."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    code = _CODE.get(digest)
    if code is None:
        from triage_dsl.runtime.codegen.allow import check_module

        tree = ast.parse(source, mode="exec")
        check_module(tree, names)
        code = compile(tree, f"<triage-dsl generated {digest[:12]}>", "exec")
        if len(_CODE) >= _CODE_LIMIT:
            _CODE.pop(next(iter(_CODE)))
        _CODE[digest] = code
    return code


def build(protocol: Any) -> Runner | None:
    """Generate, check, compile and load the functions of ``protocol`` (None when the
    generator leaves the plan to the interpreter)."""
    from triage_dsl.runtime.codegen.generate import NotCovered, generate

    try:
        generated = generate(protocol, program(protocol))
    except NotCovered:
        return None
    code = compile_module(generated.source, generated.names)
    namespace: dict[str, Any] = {**generated.namespace, "__builtins__": dict(_BUILTINS)}
    exec(code, namespace)  # the checked module: it only defines run_trace and run_plain
    return Runner(namespace["run_trace"], namespace["run_plain"], generated.source)


def runner(protocol: Any) -> Runner | None:
    """The protocol's generated functions, built once and kept in its plan."""
    cache = protocol.plan.compiled
    if "generated" in cache:
        found: Runner | None = cache["generated"]
        return found
    with _LOCK:
        if "generated" not in cache:
            cache["generated"] = build(protocol)
        found = cache["generated"]
    return found


def hot_runner(protocol: Any) -> Runner | None:
    """The protocol's generated functions once its plan is hot: None for its first
    :data:`HOT_AFTER` evaluations in this process (the interpreter runs them), then
    :func:`runner`. The count is a hint: a race between threads only moves the switch."""
    cache = protocol.plan.compiled
    if "generated" in cache:
        found: Runner | None = cache["generated"]
        return found
    seen: int = cache.get("evaluations", 0) + 1
    cache["evaluations"] = seen
    return runner(protocol) if seen > HOT_AFTER else None
