"""Results as JSON with orjson: the bytes pydantic's serializer writes, faster.

A model is handed to orjson as its ``__dict__`` (fields in declaration order, which is
how every model here is built); the fields whose JSON pydantic writes differently from
their Python value are converted first: a ``float`` field holding an int (pydantic writes
``5.0``), and any type this module does not know (dates, for one), which pydantic
serializes itself. The plan of each model class is worked out once from its fields.
Should orjson refuse a value (a string that is not valid Unicode), pydantic writes it,
so the output is never worse than before. ``tests/model/test_serialize.py`` checks the
bytes against pydantic's over the shipped protocols' scenarios.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal, Union

import orjson
from pydantic import BaseModel, JsonValue, TypeAdapter

_PLAIN_TYPES: tuple[Any, ...] = (str, int, bool, type(None))

_Plan = tuple[tuple[str, Callable[[Any], Any], bool], ...] | None  # None: the __dict__ as it is
"""Each step: a field, its conversion, and whether an empty value is left as it is."""
_PLANS: dict[type, _Plan] = {}


def _is_float(annotation: Any) -> bool:
    return annotation is float or (
        typing.get_origin(annotation) in (Union, types.UnionType)
        and float in typing.get_args(annotation)
        and all(a in (float, type(None)) for a in typing.get_args(annotation))
    )


def _plain(annotation: Any) -> bool:
    """Values of this type are written by orjson as pydantic writes them."""
    if annotation in _PLAIN_TYPES or annotation is JsonValue:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True  # converted when orjson meets it (``_default``)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return all(type(a) in (str, int, bool) or a is None for a in args)
    if origin in (Union, types.UnionType):
        # a union with an int member keeps ints as ints (pydantic's smart union)
        members = [a for a in args if a is not type(None)]
        if float in members and int not in members:
            return False
        return all(a is float or _plain(a) for a in members)
    if origin is list:
        return _plain(args[0])
    if origin is dict:
        return args[0] is str and _plain(args[1])
    return False


def _is_floats(annotation: Any) -> bool:
    """``tuple[float, float]``, or that or None."""
    origin = typing.get_origin(annotation)
    members = typing.get_args(annotation) if origin in (Union, types.UnionType) else (annotation,)
    return all(
        a is type(None) or (typing.get_origin(a) is tuple and set(typing.get_args(a)) == {float})
        for a in members
    ) and any(a is not type(None) for a in members)


def _to_float(value: Any) -> Any:
    return float(value) if type(value) is int else value


def _floats(value: Any) -> Any:
    if value is None:
        return None
    return [float(x) if type(x) is int else x for x in value]


def _pydantic(annotation: Any) -> Callable[[Any], Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def written(value: Any) -> Any:
        return orjson.Fragment(adapter.dump_json(value))

    return written


def _items(cls: type[BaseModel]) -> Callable[[Any], Any]:
    """A list of models of ``cls`` whose fields orjson writes as they are: handed over as
    their field dicts at once, instead of one ``default`` call an item (a result's trace)."""

    def written(value: Any) -> Any:
        return [item.__dict__ if type(item) is cls else _fields(item) for item in value]

    return written


def _model_list(annotation: Any) -> type[BaseModel] | None:
    """The model class of ``list[Model]`` whose instances need no conversion."""
    if typing.get_origin(annotation) is not list:
        return None
    (item,) = typing.get_args(annotation)
    if isinstance(item, type) and issubclass(item, BaseModel) and _plan_of(item) is None:
        return item
    return None


def _plan_of(cls: type[BaseModel]) -> _Plan:
    try:
        return _PLANS[cls]
    except KeyError:
        plan = _PLANS[cls] = _plan(cls)
        return plan


def _plan(cls: type[BaseModel]) -> _Plan:
    steps: list[tuple[str, Callable[[Any], Any], bool]] = []
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        item = _model_list(annotation)
        if item is not None:
            steps.append((name, _items(item), True))
            continue
        if _plain(annotation):
            continue
        if _is_float(annotation):
            steps.append((name, _to_float, False))
        elif typing.get_origin(annotation) in (Union, types.UnionType, tuple) and all(
            a is float
            or a is type(None)
            or (typing.get_origin(a) is tuple and set(typing.get_args(a)) == {float})
            for a in (
                typing.get_args(annotation) if typing.get_origin(annotation) is not tuple else [annotation]
            )
        ):
            steps.append((name, _floats, False))
        else:
            steps.append((name, _pydantic(annotation), False))
    return tuple(steps) if steps else None


def _fields(obj: BaseModel, exclude: Iterable[str] = ()) -> dict[str, Any]:
    plan = _plan_of(type(obj))
    data = obj.__dict__
    if plan is None and not exclude:
        return data
    data = dict(data)
    for name in exclude:
        data.pop(name, None)
    for name, convert, keep_empty in plan or ():
        if name in data:
            value = data[name]
            if value or not keep_empty:
                data[name] = convert(value)
    return data


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return _fields(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(model: BaseModel, *, exclude: Iterable[str] = (), indent: bool = False) -> bytes:
    """``model.model_dump_json(exclude=exclude, indent=2 if indent else None)`` as bytes."""
    try:
        return orjson.dumps(
            _fields(model, exclude), default=_default, option=orjson.OPT_INDENT_2 if indent else 0
        )
    except (TypeError, orjson.JSONEncodeError):
        text = model.model_dump_json(exclude=set(exclude) or None, indent=2 if indent else None)
        return text.encode("utf-8")
