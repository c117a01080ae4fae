"""Result pieces and trace entries: how the interpreter (and generated code) builds them.

Trace entries and result models are made from data valid by construction, without running
pydantic's validators again (same fields, same ``model_fields_set``); the pieces that
depend only on the protocol (its reference, urgencies, escalation plans, question infos)
and the texts of explanations are made here, once for every evaluator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

from triage_dsl.check.scope import minutes
from triage_dsl.graph.plan import (
    CriterionPlan,
    DispositionPlan,
    FloorPlan,
    QuestionPlan,
    SectionPlan,
)
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import (
    UNKNOWN,
    Clean,
    TimeAnswer,
    answer_json,
)
from triage_dsl.source import Span
from triage_dsl.syntax import ast

if TYPE_CHECKING:
    from triage_dsl.model import result as m

_JSON = bool | int | float | str | None


def _fmt(value: v.Value | Clean | None) -> str:
    if type(value) is TimeAnswer:
        return value.text
    if value is UNKNOWN:
        return "unknown (caller does not know)"
    if isinstance(value, v.Partial):
        return "undecided"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "not answered"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_answer_json = answer_json


# --------------------------------------------------------------------- building models fast


class _Builder:
    """Builds instances of a result model from data already valid by construction.

    For a pydantic model, equivalent to ``cls.model_construct(**values)`` (same fields,
    same ``model_fields_set``, defaults filled in declaration order) at a fraction of its
    cost; for a plain model (:mod:`triage_dsl.model.plain`) the same fields and defaults.
    Used only where the interpreter made every value itself. Fields added to the model
    later get their defaults.
    """

    __slots__ = ("cls", "defaults", "factories", "fresh", "plain", "template")

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.plain = bool(getattr(cls, "PLAIN", False))
        self.defaults: list[tuple[str, Any, Callable[[], Any] | None]] = []
        if self.plain:
            self.defaults = list(cls.FIELDS)
        else:
            for name, info in cls.model_fields.items():
                factory: Any = info.default_factory
                self.defaults.append((name, None if factory else info.default, factory))
        # every field in declaration order with its default; fields made by a factory after
        self.template = {name: default for name, default, _ in self.defaults}
        self.factories = tuple((name, factory) for name, _, factory in self.defaults if factory is not None)
        # the fields given -> the factories of those not given (a builder sees a few sets)
        self.fresh: dict[tuple[str, ...], tuple[tuple[str, Callable[[], Any]], ...]] = {}

    def __call__(self, values: dict[str, Any]) -> Any:
        data = self.template.copy()
        data.update(values)  # keeps the declaration order of the fields
        given = tuple(values)
        fresh = self.fresh.get(given)
        if fresh is None:
            fresh = tuple((name, factory) for name, factory in self.factories if name not in values)
            if len(self.fresh) < 64:
                self.fresh[given] = fresh
        for name, factory in fresh:
            data[name] = factory()
        if len(data) != len(self.template):  # a name that is no field: leave it out
            data = {name: data[name] for name in self.template}
        obj = object.__new__(self.cls)
        _set(obj, "__dict__", data)
        if not self.plain:
            _set(obj, "__pydantic_fields_set__", set(values))
            _set(obj, "__pydantic_extra__", None)
            _set(obj, "__pydantic_private__", None)
        return obj


_set = object.__setattr__
_BUILDERS: dict[type[Any], _Builder] = {}


def builder_of(cls: type[Any]) -> _Builder:
    """The :class:`_Builder` of ``cls`` (one per class): instances from values already
    valid by construction, without pydantic's validation."""
    found = _BUILDERS.get(cls)
    if found is None:
        found = _BUILDERS[cls] = _Builder(cls)
    return found


class Shape:
    """Instances of one model with a fixed set of fields given, built from a template:
    what :class:`_Builder` makes of the same values (same fields in declaration order,
    same ``model_fields_set``), without working out each time which fields are given.

    ``fixed``: values of given fields that are the same in every instance (shared, so
    frozen models or texts). A caller copies :attr:`template`, sets every other given
    field, and passes the dict to :attr:`make`, which adds fresh defaults made by a
    factory (a list of its own) for the fields not given."""

    __slots__ = ("given", "make", "template")

    def __init__(
        self, builder: _Builder, given: Iterable[str], fixed: Mapping[str, Any] | None = None
    ) -> None:
        self.given = frozenset(given)
        fixed = fixed or {}
        if not self.given <= set(builder.template) or not set(fixed) <= self.given:
            raise ValueError(f"{builder.cls.__name__}: not fields, or fixed but not given")
        self.template = {**builder.template, **fixed}  # keys already in declaration order
        fresh = tuple((name, factory) for name, factory in builder.factories if name not in self.given)
        self.make: Callable[[dict[str, Any]], Any] = _maker(builder.cls, builder.plain, self.given, fresh)


def _maker(
    cls: type[Any], plain: bool, given: frozenset[str], fresh: tuple[tuple[str, Callable[[], Any]], ...]
) -> Callable[[dict[str, Any]], Any]:
    """``Shape.make``: every name a local of the closure, a default made by ``list`` an
    empty list without the call (a few microseconds a result, on a slow machine)."""
    lists = tuple(name for name, factory in fresh if factory is list)
    others = tuple((name, factory) for name, factory in fresh if factory is not list)
    new = object.__new__
    put = _set

    def make(data: dict[str, Any]) -> Any:
        for name in lists:
            data[name] = []
        for name, factory in others:
            data[name] = factory()
        obj = new(cls)
        put(obj, "__dict__", data)
        if not plain:
            put(obj, "__pydantic_fields_set__", set(given))
            put(obj, "__pydantic_extra__", None)
            put(obj, "__pydantic_private__", None)
        return obj

    return make


_TRACE_FIELDS = ("step", "kind", "node", "protocol", "location", "text", "reads", "value", "detail", "row")
_TRACE_FIELDS_SET = frozenset(_TRACE_FIELDS)

Entry = Callable[[int, str, str, str, str, str, "dict[str, _JSON]", _JSON, str, "int | None"], Any]


class Models:
    """The result classes one evaluator builds: the pydantic models (the API's results)
    or their plain stand-ins (``triage eval`` of one case, which never imports pydantic),
    with the fast builders of the pieces every evaluation makes."""

    def __init__(self, module: ModuleType) -> None:
        self.m: Any = module
        self.plain = bool(getattr(module.TriageResult, "PLAIN", False))
        self.result = _Builder(module.TriageResult)
        self.disposition = _Builder(module.Disposition)
        self.escalation = _Builder(module.EscalationPlan)
        self.entry: Entry = _entry_maker(module.TraceEntry, self.plain)


def _entry_maker(cls: type[Any], plain: bool) -> Entry:
    fields = tuple(cls.FIELDS if plain else cls.model_fields)
    if fields[: len(_TRACE_FIELDS)] != _TRACE_FIELDS or (
        fields[len(_TRACE_FIELDS) :] != ("hash",)
    ):  # pragma: no cover - the model gained a field: take the general path
        general = _Builder(cls)

        def built(*values: Any) -> Any:
            return general(dict(zip(_TRACE_FIELDS, values, strict=True)))

        return built

    def entry(
        step: int,
        kind: str,
        node: str,
        protocol: str,
        location: str,
        text: str,
        reads: dict[str, _JSON],
        value: _JSON,
        detail: str,
        row: int | None,
    ) -> Any:
        data = {
            "step": step,
            "kind": kind,
            "node": node,
            "protocol": protocol,
            "location": location,
            "text": text,
            "reads": reads,
            "value": value,
            "detail": detail,
            "row": row,
            "hash": None,
        }
        obj = object.__new__(cls)
        _set(obj, "__dict__", data)
        if not plain:
            _set(obj, "__pydantic_fields_set__", set(_TRACE_FIELDS_SET))
            _set(obj, "__pydantic_extra__", None)
            _set(obj, "__pydantic_private__", None)
        return obj

    return entry


_MODELS: dict[bool, Models] = {}


def models(plain: bool = False) -> Models:
    """The pydantic result models (default) or the plain ones, with their builders."""
    found = _MODELS.get(plain)
    if found is None:
        import importlib

        module = importlib.import_module("triage_dsl.model.plain" if plain else "triage_dsl.model.result")
        found = _MODELS[plain] = Models(module)
    return found


def _entry(
    step: int,
    kind: str,
    node: str,
    protocol: str,
    location: str,
    text: str,
    reads: dict[str, _JSON],
    value: _JSON,
    detail: str,
    row: int | None,
) -> m.TraceEntry:
    """A pydantic trace entry (generated code's traces)."""
    entry: m.TraceEntry = models().entry(
        step, kind, node, protocol, location, text, reads, value, detail, row
    )
    return entry


# --------------------------------------------------------------------- the compiled program


# --------------------------------------------------------------------- explanation texts


def _all_advice(s: SectionPlan | FloorPlan) -> tuple[str, ...]:
    return tuple(a for c in s.criteria for a in c.advice)


def _within(d: DispositionPlan) -> str:
    return f", {d.within_text}" if d.within_text else ""


def _no_detail(s: SectionPlan | FloorPlan, criterion: CriterionPlan | None, where: Locator) -> str:
    if s.mode == "any":
        false = "; ".join(f"'{c.text}' ({where(c.span)})" for c in s.criteria)
        return f"none of its criteria holds: {false} are all no"
    if criterion is None:
        return ""
    return f"criterion '{criterion.text}' ({where(criterion.span)}) does not hold"


def _target_text(target: ast.Target) -> str:
    return target.id if target.kind == "disposition" else f"continue with {target.id}"


def _quote_list(ids: tuple[str, ...]) -> str:
    return ", ".join(f"'{i}'" for i in ids)


def _undecided_detail(value: v.Partial) -> str:
    if value.missing:
        return f"undecided: waiting for {_quote_list(value.missing)}"
    return f"undecided: the caller does not know {_quote_list(value.unknown)}"


def _band_text(band: ast.Band) -> str:
    if band.kind == "compare":
        if band.unit is not None:
            return f"{band.op} {band.amount} {band.unit}"
        return f"{band.op} {band.bound:g}"
    if band.kind == "options":
        return ", ".join(o.id for o in band.options)
    if band.kind == "when":
        return "when ..."
    return "else"


# --------------------------------------------------------------------- result assembly

# --------------------------------------------------------------------- result pieces


class Locator:
    """``path:line`` of a span, the path relative to the protocol's root folder (what
    results show: the same bytes whatever the working directory)."""

    def __init__(self, protocol: Any) -> None:
        self._relative: Callable[[str], str] = getattr(protocol, "relative", lambda path: path)
        self._paths: dict[str, str] = {}

    def path(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = self._relative(path)
        return found

    def __call__(self, span: Span) -> str:
        return f"{self.path(span.path)}:{span.line}"

    def location(self, location: str) -> str:
        """A ``path:line`` text made the same way."""
        path, _, line = location.rpartition(":")
        return f"{self.path(path)}:{line}" if path else location


def protocol_ref(protocol: Any, kinds: Models | None = None) -> m.ProtocolRef:
    relative = getattr(protocol, "relative", None)
    ref: m.ProtocolRef = (kinds or models()).m.ProtocolRef(
        id=protocol.id,
        title=protocol.title,
        version=protocol.version,
        path=relative(protocol.path) if relative else protocol.path,
        sha256=protocol.sha256,
        content_sha256=getattr(protocol, "content_sha256", None),
        status=getattr(protocol, "status", None),
    )
    return ref


class ReadOnlyList(list[Any]):
    """A list no one can change: the options of a question handed out (one shared
    instance per question). Reading, comparing, copying and serialising work as for a
    list (a copy is a plain list, free to change); changing it in place raises
    TypeError, so a caller cannot change what the session or the protocol hands out."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a question's options are read-only: copy them (list(options)) to change them")

    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return copy.deepcopy(list(self), memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def question_info(
    q: QuestionPlan, where: Callable[[Span], str] | None = None, kinds: Models | None = None
) -> m.QuestionInfo:
    """What an agent's screen shows of ``q``: frozen, its options read-only, so one
    instance per question can be handed to every caller (``Program.question_info``)."""
    mm = (kinds or models()).m
    info = mm.QuestionInfo(
        id=q.id,
        prompt=q.prompt,
        help=q.help,
        type=q.type,
        unit=q.unit,
        range=(q.low, q.high) if q.low is not None and q.high is not None else None,
        range_text=q.time_range_text() if q.is_time else None,
        options=[mm.OptionInfo(id=o, label=label) for o, label in q.options],
        unknown_allowed=q.unknown_allowed,
        location=where(q.span) if where else q.span.location,
    )
    # as handed out before (a copy with its own list): the same fields set, dumps alike
    shared: m.QuestionInfo = info.model_copy(update={"options": ReadOnlyList(info.options)})
    return shared


def escalation_plan(
    plan: ast.Escalation, where: Callable[[Span], str] | None = None, kinds: Models | None = None
) -> m.EscalationPlan:
    mm = (kinds or models()).m
    steps: list[m.EscalationStep] = []
    total = 0.0
    for step in plan.steps:
        if isinstance(step, ast.TellStep):
            steps.append(mm.EscalationStep(kind="tell_caller", text=step.text, worst_case_minutes=0))
            continue
        wait = minutes(step.wait) if step.wait else 0.0
        every = minutes(step.retry_every) if step.retry_every else wait
        worst = wait + step.retries * every
        total += worst
        steps.append(
            mm.EscalationStep(
                kind="notify",
                role=step.role,
                channel=step.channel,
                wait_minutes=wait if step.wait else None,
                retries=int(step.retries),
                retry_every_minutes=every if step.retries else None,
                worst_case_minutes=worst,
            )
        )
    built: m.EscalationPlan = mm.EscalationPlan(
        id=plan.id,
        steps=steps,
        fallback=plan.fallback,
        worst_case_minutes=total,
        location=where(plan.span) if where else plan.span.location,
    )
    return built


def urgency(d: DispositionPlan, kinds: Models | None = None) -> m.Urgency:
    tier: m.Urgency = (kinds or models()).m.Urgency(
        tier=d.tier.id,
        label=d.tier.label,
        rank=d.tier.rank,
        time_frame=d.within_text,
        time_frame_minutes=d.within_minutes,
    )
    return tier
