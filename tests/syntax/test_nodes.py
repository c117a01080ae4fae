"""The nodes' shared equality, hashing and repr (``ast.Node``) are those
``@dataclass(frozen=True)`` would make: checked against a real frozen dataclass of the
same fields, on every AST and plan node of the shipped protocols."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from tests.runtime.test_properties import PROTOCOL_LIST
from triage_dsl.graph import plan as plans
from triage_dsl.syntax import ast

_TWINS: dict[type, type] = {}


def twin(cls: type) -> type:
    """``cls`` made again by ``@dataclass(frozen=True)``, with its eq, hash and repr."""
    found = _TWINS.get(cls)
    if found is None:
        namespace: dict[str, Any] = {"__annotations__": {}, "__qualname__": cls.__qualname__}
        for f in dataclasses.fields(cls):
            namespace["__annotations__"][f.name] = "Any"
            namespace[f.name] = dataclasses.field(
                default=f.default,
                default_factory=f.default_factory,
                compare=f.compare,
                hash=f.hash,
                repr=f.repr,
            )
        found = _TWINS[cls] = dataclasses.dataclass(frozen=True)(type(cls.__name__, (), namespace))
    return found


def nodes(value: Any, seen: set[int]) -> Iterator[Any]:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, ast.Node):
        yield value
        for f in dataclasses.fields(value):
            if f.name != "compiled":
                yield from nodes(getattr(value, f.name), seen)
    elif isinstance(value, list | tuple | frozenset | set):
        for item in value:
            yield from nodes(item, seen)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from nodes(item, seen)


def test_every_node_class_shares_the_methods() -> None:
    for module in (ast, plans):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
            ):
                assert issubclass(value, ast.Node), value
                assert "__eq__" not in vars(value) and "__hash__" not in vars(value), value


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=[p.id for p in PROTOCOL_LIST])
def test_nodes_compare_hash_and_print_as_frozen_dataclasses(protocol: Any) -> None:
    count = 0
    for node in nodes(protocol.plan, set()):
        cls = type(node)
        values = {f.name: getattr(node, f.name) for f in dataclasses.fields(node)}
        reference = twin(cls)(**values)
        assert repr(node) == repr(reference)
        same = dataclasses.replace(node)
        assert node == same
        assert (node != same) is False
        hashed = [f for f in dataclasses.fields(node) if (f.compare if f.hash is None else f.hash)]
        if all(
            isinstance(values[f.name], ast.Node | str | int | float | bool | tuple | None) for f in hashed
        ):
            try:
                expected = hash(reference)
            except TypeError:  # a field holds an unhashable value: so must the node
                with pytest.raises(TypeError):
                    hash(node)
            else:
                assert hash(node) == expected == hash(same)
        compared = [f for f in dataclasses.fields(node) if f.compare]
        if compared:
            first = compared[0].name
            other = dataclasses.replace(node, **{first: object()})
            assert node != other and (node == other) is False
        assert node.__eq__(object()) is NotImplemented
        count += 1
    assert count > 10
