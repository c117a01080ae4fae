"""The package's import structure: data flows one way through the pipeline.

Every ``import`` of a ``triage_dsl`` module is read from the source with :mod:`ast`
(at module level, inside functions and under ``TYPE_CHECKING`` alike: a lazy import
that goes the wrong way is still a dependency the wrong way). Each module belongs to one
stage of :data:`STAGES`; a module may import modules of its own or of an earlier stage,
never of a later one, and the packages of one stage must not import each other in a
circle. A fresh interpreter then imports every module, so a module that cannot be
imported (a name moved, a circle at import time) fails here too.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "triage_dsl"

# The pipeline, first stage first: syntax -> check -> graph -> runtime -> outputs, then
# records, then the package facade, the service and the command line on top. The
# foundation holds what every stage reads: positions, diagnostics, files, units, the
# clock and the result models (pydantic data the runtime fills and every later stage
# reads; it imports nothing of the package).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        ("version", "source", "errors", "io", "units", "clock", "model"),
    ),
    ("syntax", ("syntax",)),
    ("check", ("check",)),
    ("graph", ("graph", "protocol", "compiler", "stored", "stored_checks")),
    ("runtime", ("runtime",)),  # runtime/codegen: the checked plan compiled to Python
    ("outputs", ("explain", "render", "analysis", "testing", "interview", "batch", "fmt")),
    ("records", ("record", "roster", "notify", "fhir", "store")),
    ("facade", ("",)),  # triage_dsl/__init__.py: load, evaluate, Session... for the service and users
    ("service", ("service", "lsp")),
    ("interface", ("cli", "commands", "eval_plain", "__main__")),
)

# Scripts that live in the package but are run by a tool, not imported on their own.
SCRIPTS = {"triage_dsl.store.migrations.env"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


# Top-level modules that belong to a package of their stage. ``protocol.py`` holds what the
# graph stage produces: a Protocol carries its plan and a plan the protocols it continues
# with (a recursive type written in two files), so the two count as one package.
MEMBERS = {"protocol": "graph"}


def unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: ``graph``, ``cli``..."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    return MEMBERS.get(name, name)


def stage(module: str) -> int:
    for rank, (_, units) in enumerate(STAGES):
        if unit(module) in units:
            return rank
    raise AssertionError(f"{module} belongs to no stage: add its package to STAGES in {__file__}")


def imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """The ``triage_dsl`` modules ``module`` imports, with the line of each import."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "triage_dsl":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, target] if target else base)
            if target.split(".")[0] != "triage_dsl":
                continue
            for alias in node.names:  # `from triage_dsl.x import y`: y may be a module
                candidate = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").is_file() or (
                    PACKAGE.parent / Path(*candidate.split("."))
                ).is_dir()
                yield (candidate if is_module else target), node.lineno


EDGES = [
    (module, target, f"{path.relative_to(PACKAGE.parent)}:{line}")
    for module, path in modules()
    for target, line in imports(module, path)
]


def test_every_module_has_a_stage() -> None:
    for module, _ in modules():
        stage(module)


def test_no_stage_imports_a_later_one() -> None:
    wrong = [
        f"{where}: {module} ({STAGES[stage(module)][0]}) imports {target} ({STAGES[stage(target)][0]})"
        for module, target, where in EDGES
        if stage(target) > stage(module)
    ]
    assert not wrong, "imports against the pipeline:\n" + "\n".join(wrong)


def test_no_circle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    for module, target, place in EDGES:
        a, b = unit(module), unit(target)
        if a != b:
            graph.setdefault(a, set()).add(b)
            where.setdefault((a, b), place)
    circle = _find_circle(graph)
    assert circle is None, "packages import each other in a circle: " + ", ".join(
        f"{a} -> {b} ({where[a, b]})" for a, b in itertools.pairwise(circle)
    )


def _find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of ``graph`` (its nodes, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


@pytest.mark.parametrize(
    ("graph", "circle"),
    [
        ({"a": {"b"}, "b": {"c"}}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"x": {"y"}, "y": {"y", "z"}}, ["y", "y"]),
    ],
)
def test_find_circle(graph: dict[str, set[str]], circle: list[str] | None) -> None:
    assert _find_circle(graph) == circle


def test_imports_are_read_from_every_form() -> None:
    """Absolute, relative, function-level and ``from package import module`` forms."""
    path = PACKAGE / "graph" / "plan.py"
    found = {target for target, _ in imports("triage_dsl.graph.plan", path)}
    assert "triage_dsl.check.scope" in found
    sample = PACKAGE / "commands.py"
    assert "triage_dsl.compiler" in {target for target, _ in imports("triage_dsl.commands", sample)}


def test_a_fresh_interpreter_imports_every_module() -> None:
    names = [module for module, _ in modules() if not module.endswith("__main__") and module not in SCRIPTS]
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
