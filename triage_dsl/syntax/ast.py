"""The typed AST: one frozen dataclass per grammar rule, each with its source span.

The parser (``parser.py``) builds these nodes from lark's parse tree; the checker reads
them; the graph builder turns them into the decision graph. Each class's docstring shows
the DSL it models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal, TypeAlias

from triage_dsl.source import Span

Number: TypeAlias = int | float


class Node:
    """What every node shares: equality, hashing and ``repr`` as ``@dataclass(frozen=True)``
    makes them (the fields compared, hashed and shown, in order), written once here
    instead of compiled for each of the 44 classes at import (``dataclass`` compiles each
    method it makes with ``exec``: half of this module's import time, which every
    command that reads a protocol pays)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        get = _getters(self.__class__)[0]
        return bool(get(self) == get(other))

    def __hash__(self) -> int:
        return hash(_getters(self.__class__)[1](self))

    def __repr__(self) -> str:
        names = _getters(self.__class__)[2]
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"


_GETTERS: dict[
    type, tuple[Callable[[Any], tuple[Any, ...]], Callable[[Any], tuple[Any, ...]], tuple[str, ...]]
] = {}


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) == 1:
        (name,) = names
        return lambda obj: (getattr(obj, name),)
    if not names:
        return lambda obj: ()
    get: Callable[[Any], tuple[Any, ...]] = attrgetter(*names)
    return get


def _getters(
    cls: type,
) -> tuple[Callable[[Any], tuple[Any, ...]], Callable[[Any], tuple[Any, ...]], tuple[str, ...]]:
    """The fields a class's instances compare, hash and show (as dataclass chooses them)."""
    found = _GETTERS.get(cls)
    if found is None:
        every = fields(cls)
        compared = tuple(f.name for f in every if f.compare)
        hashed = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
        shown = tuple(f.name for f in every if f.repr)
        found = _GETTERS[cls] = (_values(compared), _values(hashed), shown)
    return found


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True, eq=False, repr=False)
class NumberLit(Node):
    """A number literal: ``38.0``; or a time constant, ``3 months`` (``unit`` is then set,
    ``amount`` is the number as written and ``value`` the time in minutes, see
    ``triage_dsl/units.py``)."""

    span: Span
    value: Number
    unit: str | None = None
    amount: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class BoolLit(Node):
    """``yes`` or ``no``."""

    span: Span
    value: bool


@dataclass(frozen=True, eq=False, repr=False)
class Name(Node):
    """A reference to a question, value or score: ``resp_rate``."""

    span: Span
    id: str


@dataclass(frozen=True, eq=False, repr=False)
class Not(Node):
    """``not fainted``."""

    span: Span
    operand: Expr


@dataclass(frozen=True, eq=False, repr=False)
class And(Node):
    """``chest_pain and sweating``: short-circuits left to right."""

    span: Span
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False, repr=False)
class Or(Node):
    """``lips_blue or unable_to_speak``: short-circuits left to right."""

    span: Span
    left: Expr
    right: Expr


CompareOp = Literal["<", "<=", ">", ">=", "=", "!="]


@dataclass(frozen=True, eq=False, repr=False)
class Compare(Node):
    """``temp_c >= 38.0``: numbers against numbers."""

    span: Span
    op: CompareOp
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False, repr=False)
class OptionRef(Node):
    """An option id of a choice question inside ``{...}`` or after ``is``: ``alert``."""

    span: Span
    id: str


@dataclass(frozen=True, eq=False, repr=False)
class Member(Node):
    """``consciousness in {voice, pain}``, ``consciousness is alert``, ``x not in {a}``."""

    span: Span
    operand: Expr
    options: tuple[OptionRef, ...]
    negated: bool


@dataclass(frozen=True, eq=False, repr=False)
class IsUnknown(Node):
    """``temp_c is unknown`` (caller said they do not know), or ``is not unknown``."""

    span: Span
    operand: Expr
    negated: bool


ArithOp = Literal["+", "-", "*"]


@dataclass(frozen=True, eq=False, repr=False)
class Arith(Node):
    """``a + b``, ``a - b``, ``a * b`` over numbers."""

    span: Span
    op: ArithOp
    left: Expr
    right: Expr


@dataclass(frozen=True, eq=False, repr=False)
class Negate(Node):
    """``-x``."""

    span: Span
    operand: Expr


@dataclass(frozen=True, eq=False, repr=False)
class Count(Node):
    """``count(confusion, urea_mmol_l > 7, age >= 65)``: how many conditions hold."""

    span: Span
    items: tuple[Expr, ...]


@dataclass(frozen=True, eq=False, repr=False)
class Conditional(Node):
    """``if spo2_scale2 then scale2_points else scale1_points``."""

    span: Span
    condition: Expr
    then: Expr
    otherwise: Expr


Expr: TypeAlias = (
    NumberLit
    | BoolLit
    | Name
    | Not
    | And
    | Or
    | Compare
    | Member
    | IsUnknown
    | Arith
    | Negate
    | Count
    | Conditional
)


# ------------------------------------------------------------------ header and imports


@dataclass(frozen=True, eq=False, repr=False)
class AgeLimits(Node):
    """``aged 18 to 120 years`` or ``aged 0 days to 18 years``: ``low_unit`` is the low
    end's own unit when written, else the high end's ``unit`` applies to both."""

    span: Span
    low: Number
    high: Number
    unit: str
    low_unit: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Header(Node):
    """``protocol news2 title "..." version "1.0" ... end`` (or ``library common ... end``)."""

    span: Span
    kind: Literal["protocol", "library"]
    id: str
    id_span: Span
    title: str | None = None
    version: str | None = None
    status: str | None = None
    status_span: Span | None = None
    population: str | None = None
    population_span: Span | None = None
    ages: AgeLimits | None = None
    authors: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    approved: str | None = None
    sources: tuple[str, ...] = ()
    disclaimers: tuple[str, ...] = ()
    duplicates: tuple[tuple[str, Span], ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Import(Node):
    """``import "../shared/telephone.triage"``: a library's definitions, or a protocol to
    continue with."""

    span: Span
    path: str


# ------------------------------------------------------------------ questions

QuestionType = Literal["yes/no", "number", "whole number", "choice", "age", "duration"]
NUMERIC_TYPES: tuple[QuestionType, ...] = ("number", "whole number", "age", "duration")
TIME_TYPES: tuple[QuestionType, ...] = ("age", "duration")


@dataclass(frozen=True, eq=False, repr=False)
class Option(Node):
    """``option new_confusion "New confusion"``."""

    span: Span
    id: str
    label: str


@dataclass(frozen=True, eq=False, repr=False)
class Literal_(Node):
    """A constant in ``unknown means ...`` or a scenario answer: ``no``, ``37``, ``alert``."""

    span: Span
    value: bool | Number | str


@dataclass(frozen=True, eq=False, repr=False)
class Allow(Node):
    """``allow W010 "the two findings are one clinical sign"``: a warning accepted on the
    declaration it is written in, with the reason (shown by ``check --show-suppressed``)."""

    span: Span
    code: str
    code_span: Span
    reason: str | None


@dataclass(frozen=True, eq=False, repr=False)
class Question(Node):
    """``question temp_c: number ask "..." unit "C" range 30 to 45 unknown allowed end``.

    For ``age`` and ``duration`` questions (``range 0 days to 120 years``) ``range`` is in
    minutes and ``range_units`` holds the units as written; ``patient_age`` marks the
    question a header's ``population ... aged`` limits are checked against."""

    span: Span
    id: str
    id_span: Span
    type: QuestionType
    type_span: Span
    prompt: str | None = None
    help: str | None = None
    unit: str | None = None
    range: tuple[Number, Number] | None = None
    range_span: Span | None = None
    range_units: tuple[str | None, str | None] = (None, None)
    options: tuple[Option, ...] = ()
    unknown_allowed: bool = False
    unknown_means: Literal_ | None = None
    red_flag: bool = False
    worse_when: str | None = None
    worse_when_span: Span | None = None
    allows: tuple[Allow, ...] = ()
    patient_age: bool = False
    patient_age_span: Span | None = None
    duplicates: tuple[tuple[str, Span], ...] = ()


# ------------------------------------------------------------------ derived values


@dataclass(frozen=True, eq=False, repr=False)
class Value(Node):
    """``value low_bp = sbp < 90 or dbp <= 60`` (``kind='value'``) or
    ``score curb65 = count(...)`` (``kind='score'``, reported in results)."""

    span: Span
    id: str
    id_span: Span
    kind: Literal["value", "score"]
    expr: Expr


@dataclass(frozen=True, eq=False, repr=False)
class Band(Node):
    """One row of a points table: ``<= 8: 3``, ``alert: 0``, ``when x: 1``, ``else: 3``,
    ``>= 65 years: 1`` (``unit`` set: ``bound`` is then minutes, ``amount`` as written)."""

    span: Span
    kind: Literal["compare", "options", "when", "else"]
    points: Number
    op: CompareOp | None = None
    bound: Number | None = None
    unit: str | None = None
    amount: str | None = None
    options: tuple[OptionRef, ...] = ()
    condition: Expr | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Points(Node):
    """A point-band table, first matching row wins::

    points resp_points from resp_rate
      <= 8: 3
      <= 11: 1
      else: 0
    end
    """

    span: Span
    id: str
    id_span: Span
    subject: Name
    bands: tuple[Band, ...]


# ------------------------------------------------------------------ urgency and escalation


@dataclass(frozen=True, eq=False, repr=False)
class Duration(Node):
    """``15 minutes``, ``24 hours``, ``2 weeks``."""

    span: Span
    amount: Number
    unit: str


@dataclass(frozen=True, eq=False, repr=False)
class Tier(Node):
    """``tier urgent "Go to the emergency department now" within 1 hour``."""

    span: Span
    id: str
    label: str
    within: Duration | None


@dataclass(frozen=True, eq=False, repr=False)
class Tiers(Node):
    """``tiers tier ... tier ... end``: the urgency scale, most urgent first."""

    span: Span
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, eq=False, repr=False)
class Role(Node):
    """``role on_call_physician "On-call physician"``: someone an escalation plan may
    notify; a roster says which person holds it when."""

    span: Span
    id: str
    id_span: Span
    label: str


@dataclass(frozen=True, eq=False, repr=False)
class NotifyStep(Node):
    """``notify on_call_physician by secure_page, wait 15 minutes for callback,
    retry 2 times every 10 minutes``."""

    span: Span
    role: str
    channel: str
    channel_span: Span
    wait: Duration | None
    retries: int
    retries_span: Span | None
    retry_every: Duration | None
    role_span: Span | None = None


@dataclass(frozen=True, eq=False, repr=False)
class TellStep(Node):
    """``tell caller "Call 911 now."``: an instruction given at once."""

    span: Span
    text: str


@dataclass(frozen=True, eq=False, repr=False)
class Escalation(Node):
    """``escalation name  notify ... notify ... finally tell caller "..." end``."""

    span: Span
    id: str
    id_span: Span
    steps: tuple[NotifyStep | TellStep, ...]
    fallback: str
    fallback_span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Disposition(Node):
    """``disposition ed_now label "..." tier urgent advice "..." escalation page end``."""

    span: Span
    id: str
    id_span: Span
    label: str | None = None
    tier: str | None = None
    tier_span: Span | None = None
    within: Duration | None = None
    advice: tuple[str, ...] = ()
    escalation: str | None = None
    escalation_span: Span | None = None
    allows: tuple[Allow, ...] = ()
    duplicates: tuple[tuple[str, Span], ...] = ()


# ------------------------------------------------------------------ triage logic


@dataclass(frozen=True, eq=False, repr=False)
class Target(Node):
    """A section's outcome: a disposition id, or ``continue with <protocol>``."""

    span: Span
    kind: Literal["disposition", "protocol"]
    id: str


@dataclass(frozen=True, eq=False, repr=False)
class Criterion(Node):
    """``when chest_pain and sweating advice "Do not drive yourself."``."""

    span: Span
    expr: Expr
    advice: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Section(Node):
    """``section ed_now if any of  when ...  when ... end``."""

    span: Span
    target: Target
    mode: Literal["any", "all"]
    criteria: tuple[Criterion, ...]
    allows: tuple[Allow, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Floor(Node):
    """A minimum-urgency floor: the final outcome is raised to at least ``target`` when
    its criteria hold, and never lowered::

    at least ed_now if any of
      when pregnant and abdominal_pain
    end
    """

    span: Span
    target: Target
    mode: Literal["any", "all"]
    criteria: tuple[Criterion, ...]
    allows: tuple[Allow, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class ScreenUse(Node):
    """``screen first_screen`` inside ``triage``: the screen's sections are spliced here."""

    span: Span
    id: str
    id_span: Span


@dataclass(frozen=True, eq=False, repr=False)
class Screen(Node):
    """A shared first screen: sections spliced in where a triage names it, and floors
    that apply to every protocol running it::

    screen first_screen
      section call_911 if any of  when collapsed  end
      at least see_today if any of  when immunosuppressed  end
    end
    """

    span: Span
    id: str
    id_span: Span
    sections: tuple[Section, ...]
    floors: tuple[Floor, ...]


@dataclass(frozen=True, eq=False, repr=False)
class Triage(Node):
    """``triage  screen first_screen  section ...  default home_care  at least ... end``:
    first match wins, then the floors may raise the outcome."""

    span: Span
    parts: tuple[Section | ScreenUse, ...]
    default: Target
    floors: tuple[Floor, ...] = ()

    @property
    def sections(self) -> tuple[Section, ...]:
        """The protocol's own sections (without those of the screens it names)."""
        return tuple(p for p in self.parts if isinstance(p, Section))

    @property
    def screens(self) -> tuple[ScreenUse, ...]:
        return tuple(p for p in self.parts if isinstance(p, ScreenUse))


Declaration: TypeAlias = (
    Import | Question | Value | Points | Tiers | Role | Escalation | Disposition | Screen | Triage
)


@dataclass(frozen=True, eq=False, repr=False)
class ProtocolFile(Node):
    """A whole ``.triage`` file: a header then declarations in written order."""

    span: Span
    header: Header
    items: tuple[Declaration, ...] = field(default=())


# ------------------------------------------------------------------ scenarios


@dataclass(frozen=True, eq=False, repr=False)
class Answer(Node):
    """``resp_rate = 16`` in a ``given`` or ``baseline`` line."""

    span: Span
    question: str
    value: Literal_


@dataclass(frozen=True, eq=False, repr=False)
class Expectation(Node):
    """``expect zero``, ``expect tier urgent``, ``expect score news2 = 7``,
    ``expect not asked on_oxygen``, ``expect status needs_answers``, ``expect next spo2``."""

    span: Span
    kind: Literal["disposition", "tier", "score", "not_asked", "asked", "status", "next"]
    names: tuple[str, ...]
    number: Number | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Scenario(Node):
    """``scenario "name"  given ...  expect ... end``."""

    span: Span
    name: str
    answers: tuple[Answer, ...]
    without: tuple[str, ...]
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True, eq=False, repr=False)
class ScenarioFile(Node):
    """A ``.scenarios`` file: an optional ``baseline`` of answers, then scenarios."""

    span: Span
    baseline: tuple[Answer, ...]
    scenarios: tuple[Scenario, ...]
