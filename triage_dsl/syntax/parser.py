"""Parsing: source text -> lark parse tree -> typed AST (``ast.py``).

Syntax errors become :class:`~triage_dsl.errors.Diagnostic` values in words a clinical
author understands (see ``messages.py``). After an error the parser resynchronises on
the next top-level declaration that starts a line, so one run reports the syntax errors
of every declaration.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, cast

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError

from triage_dsl.errors import Diagnostic
from triage_dsl.source import Source, Span, split_lines
from triage_dsl.syntax import ast
from triage_dsl.syntax.grammar import TOP_LEVEL_WORDS, lark_parser
from triage_dsl.syntax.guard import guard as _guard
from triage_dsl.syntax.messages import syntax_diagnostic
from triage_dsl.units import plural, to_minutes

TOP_LEVEL = re.compile(rf"^({'|'.join(TOP_LEVEL_WORDS)})\b")
# Parse-tree depth: long `a and b and ...` or `not not ...` chains nest without parentheses;
# the later stages walk trees recursively, so refuse them here with a position.
MAX_TREE_DEPTH = 200


def _unescape(token: Token) -> str:
    body = str(token)[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _number(text: str) -> ast.Number:
    return float(text) if "." in text else int(text)


def _time(amount: str, unit: str) -> ast.Number:
    """``amount unit`` in minutes; an unknown unit keeps the bare number (the checker
    reports the unit)."""
    if plural(unit) is None:
        return _number(amount.lstrip("-")) * (-1 if amount.startswith("-") else 1)
    return to_minutes(amount, unit)


class _Builder(Transformer[Token, Any]):
    """lark tree -> AST nodes; every node gets a span from lark's ``meta``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        # lark makes a new wrapper (functools.update_wrapper) each time a ``v_args``
        # method is looked up, i.e. once per tree node; bind each one once instead.
        for name, attribute in vars(_Builder).items():
            if hasattr(attribute, "visit_wrapper"):
                setattr(self, name, getattr(self, name))

    # -- spans
    def span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span.point(self.path, 1, 1)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def tspan(self, token: Token) -> Span:
        return Span(
            self.path,
            token.line or 1,
            token.column or 1,
            token.end_line or token.line or 1,
            token.end_column or (token.column or 1) + 1,
        )

    def __default_token__(self, token: Token) -> Token:
        return token

    # -- files
    @v_args(meta=True)
    def protocol_file(self, meta: Any, children: list[Any]) -> ast.ProtocolFile:
        header, *items = children
        return ast.ProtocolFile(self.span(meta), header, tuple(items))

    @v_args(meta=True)
    def item_chunk(self, meta: Any, children: list[Any]) -> Any:
        return children[0]

    def _header(self, kind: str, meta: Any, children: list[Any]) -> ast.Header:
        name = children[0]
        fields: dict[str, Any] = {"authors": [], "reviewers": [], "sources": [], "disclaimers": []}
        dups: list[tuple[str, Span]] = []
        repeatable = {
            "author": "authors",
            "reviewer": "reviewers",
            "source": "sources",
            "disclaimer": "disclaimers",
        }
        for key, value, span in children[1:]:
            if key in repeatable:
                fields[repeatable[key]].append(value)
                continue
            if key in fields:
                dups.append((key, span))
                continue
            if key == "population":
                fields["population"], fields["ages"] = value
                fields["population_span"] = span
                continue
            fields[key] = value
            if key == "status":
                fields["status_span"] = span
        ages = fields.pop("ages", None)
        return ast.Header(
            span=self.span(meta),
            kind=cast(Any, kind),
            id=str(name),
            id_span=self.tspan(name),
            ages=ages,
            authors=tuple(fields.pop("authors")),
            reviewers=tuple(fields.pop("reviewers")),
            sources=tuple(fields.pop("sources")),
            disclaimers=tuple(fields.pop("disclaimers")),
            duplicates=tuple(dups),
            **fields,
        )

    @v_args(meta=True)
    def protocol_header(self, meta: Any, children: list[Any]) -> ast.Header:
        return self._header("protocol", meta, children)

    @v_args(meta=True)
    def library_header(self, meta: Any, children: list[Any]) -> ast.Header:
        return self._header("library", meta, children)

    @v_args(meta=True)
    def h_title(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("title", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def h_version(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("version", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def h_status(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("status", str(c[0]), self.tspan(c[0]))

    @v_args(meta=True)
    def h_population(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("population", (str(c[0]), c[1] if len(c) > 1 else None), self.tspan(c[0]))

    @v_args(meta=True)
    def h_author(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("author", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def h_reviewer(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("reviewer", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def h_approved(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("approved", str(c[0]), self.span(meta))

    @v_args(meta=True)
    def h_source(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("source", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def h_disclaimer(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("disclaimer", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def age_limits(self, meta: Any, c: list[Any]) -> ast.AgeLimits:
        if len(c) == 4:
            return ast.AgeLimits(self.span(meta), c[0], c[2], str(c[3]), str(c[1]))
        return ast.AgeLimits(self.span(meta), c[0], c[1], str(c[2]))

    @v_args(meta=True)
    def import_decl(self, meta: Any, c: list[Any]) -> ast.Import:
        return ast.Import(self.span(meta), _unescape(c[0]))

    # -- questions
    @v_args(meta=True)
    def question(self, meta: Any, c: list[Any]) -> ast.Question:
        name, (qtype, type_span), *attrs = c
        fields: dict[str, Any] = {}
        options: list[ast.Option] = []
        allows: list[ast.Allow] = []
        dups: list[tuple[str, Span]] = []
        for attr in attrs:
            if isinstance(attr, ast.Allow):
                allows.append(attr)
                continue
            key, value, span = attr
            if key == "option":
                options.append(value)
                continue
            if key in fields:
                dups.append((key, span))
                continue
            fields[key] = value
            if key in ("range", "worse_when", "patient_age"):
                fields[f"{key}_span"] = span
            if key == "range":
                (low, low_unit, _), (high, high_unit, _) = value
                fields["range"] = (low, high)
                fields["range_units"] = (low_unit, high_unit)
        if fields.get("unknown_means") is not None:
            fields["unknown_allowed"] = True
        return ast.Question(
            span=self.span(meta),
            id=str(name),
            id_span=self.tspan(name),
            type=qtype,
            type_span=type_span,
            options=tuple(options),
            allows=tuple(allows),
            duplicates=tuple(dups),
            **fields,
        )

    @v_args(meta=True)
    def type_yes_no(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return ("yes/no", self.span(meta))

    @v_args(meta=True)
    def type_number(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return ("number", self.span(meta))

    @v_args(meta=True)
    def type_whole_number(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return ("whole number", self.span(meta))

    @v_args(meta=True)
    def type_choice(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return ("choice", self.span(meta))

    @v_args(meta=True)
    def type_age(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return ("age", self.span(meta))

    @v_args(meta=True)
    def type_duration(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return ("duration", self.span(meta))

    @v_args(meta=True)
    def q_ask(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("prompt", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def q_help(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("help", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def q_unit(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("unit", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def q_range(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("range", (c[0], c[1]), self.span(meta))

    @v_args(meta=True)
    def q_option(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        label = _unescape(c[1]) if len(c) > 1 else str(c[0]).replace("_", " ")
        return ("option", ast.Option(self.span(meta), str(c[0]), label), self.span(meta))

    @v_args(meta=True)
    def q_unknown_allowed(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("unknown_allowed", True, self.span(meta))

    @v_args(meta=True)
    def q_unknown_means(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("unknown_means", c[0], self.span(meta))

    @v_args(meta=True)
    def q_red_flag(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("red_flag", True, self.span(meta))

    @v_args(meta=True)
    def q_worse_when(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("worse_when", str(c[0]), self.tspan(c[0]))

    def question_attr(self, c: list[Any]) -> Any:  # the one unaliased attribute: allow
        return c[0]

    def disposition_attr(self, c: list[Any]) -> Any:
        return c[0]

    @v_args(meta=True)
    def allow(self, meta: Any, c: list[Any]) -> ast.Allow:
        reason = _unescape(c[1]).strip() if len(c) > 1 else None
        return ast.Allow(self.span(meta), str(c[0]), self.tspan(c[0]), reason or None)

    @v_args(meta=True)
    def q_patient_age(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("patient_age", True, self.span(meta))

    def bound(self, c: list[Any]) -> tuple[ast.Number, str | None, str]:
        sign = "-" if c[0].type == "MINUS" else ""
        tokens = c[1:] if sign else c
        amount = sign + str(tokens[0])
        if len(tokens) == 1:
            return (_number(amount.lstrip("-")) * (-1 if sign else 1), None, amount)
        unit = str(tokens[1])
        return (_time(amount, unit), unit, amount)

    @v_args(meta=True)
    def literal(self, meta: Any, c: list[Any]) -> ast.Literal_:
        value = c[0]
        if isinstance(value, Token):
            if value.type == "YES":
                return ast.Literal_(self.span(meta), True)
            if value.type == "NO":
                return ast.Literal_(self.span(meta), False)
            return ast.Literal_(self.span(meta), str(value))
        return ast.Literal_(self.span(meta), value)

    @v_args(meta=True)
    def answer_time(self, meta: Any, c: list[Any]) -> str:
        # A time answer is written as its text (``11 weeks``), read like a JSON answer.
        amount = c[0]
        text = repr(amount) if isinstance(amount, float) else str(amount)
        return f"{text} {c[1]}"

    def signed_number(self, c: list[Any]) -> ast.Number:
        if len(c) == 2:
            return -_number(str(c[1]))
        return _number(str(c[0]))

    # -- derived values
    @v_args(meta=True)
    def value_decl(self, meta: Any, c: list[Any]) -> ast.Value:
        return ast.Value(self.span(meta), str(c[0]), self.tspan(c[0]), "value", c[1])

    @v_args(meta=True)
    def score_decl(self, meta: Any, c: list[Any]) -> ast.Value:
        return ast.Value(self.span(meta), str(c[0]), self.tspan(c[0]), "score", c[1])

    @v_args(meta=True)
    def points(self, meta: Any, c: list[Any]) -> ast.Points:
        name, subject, *bands = c
        return ast.Points(
            self.span(meta),
            str(name),
            self.tspan(name),
            ast.Name(self.tspan(subject), str(subject)),
            tuple(bands),
        )

    @v_args(meta=True)
    def band(self, meta: Any, c: list[Any]) -> ast.Band:
        test, points = c
        kind, fields = test
        return ast.Band(self.span(meta), kind, points, **fields)

    def band_compare(self, c: list[Any]) -> tuple[str, dict[str, Any]]:
        value, unit, amount = c[1]
        if unit is None:
            return ("compare", {"op": str(c[0]), "bound": value})
        return ("compare", {"op": str(c[0]), "bound": value, "unit": unit, "amount": amount})

    def band_when(self, c: list[Any]) -> tuple[str, dict[str, Any]]:
        return ("when", {"condition": c[0]})

    def band_options(self, c: list[Any]) -> tuple[str, dict[str, Any]]:
        return ("options", {"options": c[0]})

    def band_else(self, c: list[Any]) -> tuple[str, dict[str, Any]]:
        return ("else", {})

    def option_list(self, c: list[Any]) -> tuple[ast.OptionRef, ...]:
        return tuple(ast.OptionRef(self.tspan(t), str(t)) for t in c)

    # -- urgency and escalation
    @v_args(meta=True)
    def tiers(self, meta: Any, c: list[Any]) -> ast.Tiers:
        return ast.Tiers(self.span(meta), tuple(c))

    @v_args(meta=True)
    def tier(self, meta: Any, c: list[Any]) -> ast.Tier:
        return ast.Tier(self.span(meta), str(c[0]), _unescape(c[1]), c[2] if len(c) > 2 else None)

    def within(self, c: list[Any]) -> ast.Duration:
        return cast(ast.Duration, c[0])

    @v_args(meta=True)
    def duration(self, meta: Any, c: list[Any]) -> ast.Duration:
        return ast.Duration(self.span(meta), _number(str(c[0])), str(c[1]))

    @v_args(meta=True)
    def role(self, meta: Any, c: list[Any]) -> ast.Role:
        return ast.Role(self.span(meta), str(c[0]), self.tspan(c[0]), _unescape(c[1]))

    @v_args(meta=True)
    def escalation(self, meta: Any, c: list[Any]) -> ast.Escalation:
        name, *steps, (fallback, fallback_span) = c
        return ast.Escalation(
            self.span(meta), str(name), self.tspan(name), tuple(steps), fallback, fallback_span
        )

    @v_args(meta=True)
    def notify_step(self, meta: Any, c: list[Any]) -> ast.NotifyStep:
        role, channel, *options = c
        wait: ast.Duration | None = None
        retries, every, retries_span = 0, None, None
        for key, value, span in options:
            if key == "wait":
                wait = value
            else:
                retries, every = value
                retries_span = span
        return ast.NotifyStep(
            self.span(meta),
            str(role),
            str(channel),
            self.tspan(channel),
            wait,
            retries,
            retries_span,
            every,
            self.tspan(role),
        )

    @v_args(meta=True)
    def tell_step(self, meta: Any, c: list[Any]) -> ast.TellStep:
        return ast.TellStep(self.span(meta), _unescape(c[0]))

    @v_args(meta=True)
    def wait_option(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("wait", c[0], self.span(meta))

    @v_args(meta=True)
    def retry_option(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        count = _number(str(c[0]))
        return ("retry", (count, c[2]), self.span(meta))

    @v_args(meta=True)
    def final_step(self, meta: Any, c: list[Any]) -> tuple[str, Span]:
        return (_unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def disposition(self, meta: Any, c: list[Any]) -> ast.Disposition:
        name, *attrs = c
        fields: dict[str, Any] = {}
        advice: list[str] = []
        allows: list[ast.Allow] = []
        dups: list[tuple[str, Span]] = []
        for attr in attrs:
            if isinstance(attr, ast.Allow):
                allows.append(attr)
                continue
            key, value, span = attr
            if key == "advice":
                advice.append(value)
                continue
            if key in fields:
                dups.append((key, span))
                continue
            fields[key] = value
            if key in ("tier", "escalation"):
                fields[f"{key}_span"] = span
        return ast.Disposition(
            self.span(meta),
            str(name),
            self.tspan(name),
            advice=tuple(advice),
            allows=tuple(allows),
            duplicates=tuple(dups),
            **fields,
        )

    @v_args(meta=True)
    def d_label(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("label", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def d_tier(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("tier", str(c[0]), self.tspan(c[0]))

    @v_args(meta=True)
    def d_within(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("within", c[0], self.span(meta))

    @v_args(meta=True)
    def d_advice(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("advice", _unescape(c[0]), self.span(meta))

    @v_args(meta=True)
    def d_escalation(self, meta: Any, c: list[Any]) -> tuple[str, Any, Span]:
        return ("escalation", str(c[0]), self.tspan(c[0]))

    # -- triage logic
    @v_args(meta=True)
    def triage(self, meta: Any, c: list[Any]) -> ast.Triage:
        at = next(i for i, child in enumerate(c) if isinstance(child, ast.Target))
        return ast.Triage(self.span(meta), tuple(c[:at]), c[at], tuple(c[at + 1 :]))

    @v_args(meta=True)
    def screen(self, meta: Any, c: list[Any]) -> ast.Screen:
        name, *parts = c
        return ast.Screen(
            self.span(meta),
            str(name),
            self.tspan(name),
            tuple(p for p in parts if isinstance(p, ast.Section)),
            tuple(p for p in parts if isinstance(p, ast.Floor)),
        )

    @v_args(meta=True)
    def screen_use(self, meta: Any, c: list[Any]) -> ast.ScreenUse:
        return ast.ScreenUse(self.span(meta), str(c[0]), self.tspan(c[0]))

    @v_args(meta=True)
    def floor(self, meta: Any, c: list[Any]) -> ast.Floor:
        name, mode, *rest = c
        target = ast.Target(self.tspan(name), "disposition", str(name))
        allows = tuple(r for r in rest if isinstance(r, ast.Allow))
        criteria = tuple(r for r in rest if not isinstance(r, ast.Allow))
        return ast.Floor(self.span(meta), target, mode, criteria, allows)

    @v_args(meta=True)
    def section(self, meta: Any, c: list[Any]) -> ast.Section:
        target, mode, *rest = c
        allows = tuple(r for r in rest if isinstance(r, ast.Allow))
        criteria = tuple(r for r in rest if not isinstance(r, ast.Allow))
        return ast.Section(self.span(meta), target, mode, criteria, allows)

    @v_args(meta=True)
    def target_disposition(self, meta: Any, c: list[Any]) -> ast.Target:
        return ast.Target(self.tspan(c[0]), "disposition", str(c[0]))

    @v_args(meta=True)
    def target_protocol(self, meta: Any, c: list[Any]) -> ast.Target:
        return ast.Target(self.tspan(c[0]), "protocol", str(c[0]))

    def mode_any(self, c: list[Any]) -> str:
        return "any"

    def mode_all(self, c: list[Any]) -> str:
        return "all"

    @v_args(meta=True)
    def criterion(self, meta: Any, c: list[Any]) -> ast.Criterion:
        expr, *advice = c
        # The criterion's span is its expression (what the trace quotes), not `when`.
        return ast.Criterion(_expr_span(expr), expr, tuple(advice))

    def criterion_advice(self, c: list[Any]) -> str:
        return _unescape(c[0])

    def default_section(self, c: list[Any]) -> ast.Target:
        return cast(ast.Target, c[0])

    # -- expressions
    @v_args(meta=True)
    def or_op(self, meta: Any, c: list[Any]) -> ast.Or:
        return ast.Or(self.span(meta), c[0], c[1])

    @v_args(meta=True)
    def and_op(self, meta: Any, c: list[Any]) -> ast.And:
        return ast.And(self.span(meta), c[0], c[1])

    @v_args(meta=True)
    def not_op(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(self.span(meta), c[0])

    @v_args(meta=True)
    def compare(self, meta: Any, c: list[Any]) -> ast.Compare:
        return ast.Compare(self.span(meta), cast(Any, str(c[1])), c[0], c[2])

    @v_args(meta=True)
    def member(self, meta: Any, c: list[Any]) -> ast.Member:
        return ast.Member(self.span(meta), c[0], c[1], False)

    @v_args(meta=True)
    def not_member(self, meta: Any, c: list[Any]) -> ast.Member:
        return ast.Member(self.span(meta), c[0], c[1], True)

    @v_args(meta=True)
    def is_unknown(self, meta: Any, c: list[Any]) -> ast.IsUnknown:
        return ast.IsUnknown(self.span(meta), c[0], False)

    @v_args(meta=True)
    def is_known(self, meta: Any, c: list[Any]) -> ast.IsUnknown:
        return ast.IsUnknown(self.span(meta), c[0], True)

    @v_args(meta=True)
    def is_option(self, meta: Any, c: list[Any]) -> ast.Member:
        return ast.Member(self.span(meta), c[0], (ast.OptionRef(self.tspan(c[1]), str(c[1])),), False)

    @v_args(meta=True)
    def is_not_option(self, meta: Any, c: list[Any]) -> ast.Member:
        return ast.Member(self.span(meta), c[0], (ast.OptionRef(self.tspan(c[1]), str(c[1])),), True)

    def option_set(self, c: list[Any]) -> tuple[ast.OptionRef, ...]:
        return cast(tuple[ast.OptionRef, ...], c[0])

    @v_args(meta=True)
    def within_op(self, meta: Any, c: list[Any]) -> ast.Compare:
        # `pain_started within 12 hours` is `pain_started <= 12 hours`.
        return ast.Compare(self.span(meta), "<=", c[0], c[1])

    @v_args(meta=True)
    def quantity(self, meta: Any, c: list[Any]) -> ast.NumberLit:
        amount, unit = str(c[0]), str(c[1])
        return ast.NumberLit(self.span(meta), _time(amount, unit), unit, amount)

    @v_args(meta=True)
    def arith(self, meta: Any, c: list[Any]) -> ast.Arith:
        return ast.Arith(self.span(meta), cast(Any, str(c[1])), c[0], c[2])

    @v_args(meta=True)
    def negate(self, meta: Any, c: list[Any]) -> ast.Negate:
        return ast.Negate(self.span(meta), c[0])

    @v_args(meta=True)
    def number(self, meta: Any, c: list[Any]) -> ast.NumberLit:
        return ast.NumberLit(self.tspan(c[0]), _number(str(c[0])))

    @v_args(meta=True)
    def yes(self, meta: Any, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(self.tspan(c[0]), True)

    @v_args(meta=True)
    def no(self, meta: Any, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(self.tspan(c[0]), False)

    @v_args(meta=True)
    def name(self, meta: Any, c: list[Any]) -> ast.Name:
        return ast.Name(self.tspan(c[0]), str(c[0]))

    @v_args(meta=True)
    def count(self, meta: Any, c: list[Any]) -> ast.Count:
        return ast.Count(self.span(meta), tuple(c))

    @v_args(meta=True)
    def conditional(self, meta: Any, c: list[Any]) -> ast.Conditional:
        return ast.Conditional(self.span(meta), c[0], c[1], c[2])

    # -- scenarios
    @v_args(meta=True)
    def scenario_file(self, meta: Any, c: list[Any]) -> ast.ScenarioFile:
        baseline: tuple[ast.Answer, ...] = ()
        scenarios = []
        for child in c:
            if isinstance(child, ast.Scenario):
                scenarios.append(child)
            else:
                baseline = child
        return ast.ScenarioFile(self.span(meta), baseline, tuple(scenarios))

    def baseline(self, c: list[Any]) -> tuple[ast.Answer, ...]:
        return cast(tuple[ast.Answer, ...], c[0])

    @v_args(meta=True)
    def scenario(self, meta: Any, c: list[Any]) -> ast.Scenario:
        name, *steps = c
        answers: list[ast.Answer] = []
        without: list[str] = []
        expectations: list[ast.Expectation] = []
        for kind, value in steps:
            if kind == "given":
                answers.extend(value)
            elif kind == "without":
                without.extend(value)
            else:
                expectations.append(value)
        return ast.Scenario(
            self.span(meta), _unescape(name), tuple(answers), tuple(without), tuple(expectations)
        )

    def given(self, c: list[Any]) -> tuple[str, Any]:
        return ("given", c[0])

    def without(self, c: list[Any]) -> tuple[str, Any]:
        return ("without", [str(t) for t in c])

    def expect(self, c: list[Any]) -> tuple[str, Any]:
        return ("expect", c[0])

    def answer_list(self, c: list[Any]) -> tuple[ast.Answer, ...]:
        return tuple(c)

    @v_args(meta=True)
    def answer(self, meta: Any, c: list[Any]) -> ast.Answer:
        name, value = c
        if isinstance(value, Token):
            if value.type == "YES":
                literal = ast.Literal_(self.tspan(value), True)
            elif value.type == "NO":
                literal = ast.Literal_(self.tspan(value), False)
            else:
                literal = ast.Literal_(self.tspan(value), str(value))
        else:
            literal = ast.Literal_(self.span(meta), value)
        return ast.Answer(self.span(meta), str(name), literal)

    def _expectation(self, meta: Any, kind: str, c: list[Any], number: Any = None) -> ast.Expectation:
        names = tuple(str(t) for t in c if isinstance(t, Token))
        return ast.Expectation(self.span(meta), cast(Any, kind), names, number)

    @v_args(meta=True)
    def expect_disposition(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "disposition", c)

    @v_args(meta=True)
    def expect_tier(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "tier", c)

    @v_args(meta=True)
    def expect_score(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "score", c[:1], c[1])

    @v_args(meta=True)
    def expect_not_asked(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "not_asked", c)

    @v_args(meta=True)
    def expect_asked(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "asked", c)

    @v_args(meta=True)
    def expect_status(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "status", c)

    @v_args(meta=True)
    def expect_next(self, meta: Any, c: list[Any]) -> ast.Expectation:
        return self._expectation(meta, "next", c)


def _expr_span(expr: ast.Expr) -> Span:
    return expr.span


def _starts_declaration(line: str) -> bool:
    """A line that begins a top-level declaration, or a misspelling of one (``qeustion``)."""
    if TOP_LEVEL.match(line):
        return True
    word = line.split(" ", 1)[0]
    return bool(word.isidentifier() and get_close_matches(word, TOP_LEVEL_WORDS, n=1, cutoff=0.75))


def _chunks(text: str) -> list[tuple[int, str]]:
    """Split a file into top-level declarations: (first line number, text)."""
    lines = split_lines(text)
    starts = [i for i, line in enumerate(lines) if _starts_declaration(line)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    bounds = [*starts, len(lines)]
    return [(bounds[i] + 1, "\n".join(lines[bounds[i] : bounds[i + 1]])) for i in range(len(starts))]


def _parse(source: Source, start: str, text: str | None = None) -> Tree[Token]:
    return lark_parser().parse(source.text if text is None else text, start=start)


def _build(source: Source, tree: Tree[Token]) -> Any:
    try:
        return _Builder(source.path).transform(tree)
    except VisitError as exc:  # pragma: no cover - a builder bug, reported with position
        raise exc.orig_exc from exc


def parse_protocol(source: Source) -> tuple[ast.ProtocolFile | None, list[Diagnostic]]:
    """Parse a ``.triage`` file. Returns the AST, or None and every syntax error found."""
    file, diagnostics, _ = parse_protocol_recovering(source)
    if any(d.severity == "error" for d in diagnostics):
        return None, diagnostics
    return file, diagnostics


@dataclass(frozen=True)
class Damage:
    """Lines of a file the checks cannot see because of a syntax error: a whole top-level
    block that did not parse (``lines`` is then the block), or lines dropped from a block
    so that the rest of it parsed. ``name`` is the id the block declares, when it can be
    read (``question temp_c: ...`` -> ``temp_c``); ``kind`` its first word."""

    first_line: int
    last_line: int
    kind: str
    name: str | None
    whole_block: bool
    block: tuple[int, int]  # the lines of the whole block


def parse_protocol_recovering(
    source: Source,
) -> tuple[ast.ProtocolFile | None, list[Diagnostic], list[Damage]]:
    """Parse a ``.triage`` file, recovering from syntax errors: every top-level block is
    parsed on its own; in a block of one-line attributes (question, disposition,
    escalation, tiers, header) a line with an error is dropped and the rest kept. Returns
    the AST of what parsed (None only when nothing can be read), every syntax error, and
    the damaged lines, so that later stages can say which checks did not run."""
    guard = _guard(source)
    if guard:
        return None, guard, []
    key = (source.path, source.sha256)
    with _PARSED_LOCK:
        kept = _PARSED.get(key)
    if kept is None:
        with _collector_paused():
            file, diagnostics, damage = _parse_recovering(source)
        kept = (file, tuple(diagnostics), tuple(damage))
        if len(source.text) <= _PARSED_MAX_CHARS:
            with _PARSED_LOCK:
                if len(_PARSED) >= _PARSED_MAX:
                    _PARSED.clear()
                _PARSED[key] = kept
    return kept[0], list(kept[1]), list(kept[2])


# Parses kept by (path, SHA-256 of the text): `triage check protocols/` reads the shared
# library once per file that imports it (shared.triage 12 times), and a parse is a pure
# function of the path and the text (the AST is frozen; callers get their own lists).
# Small files only, and few of them, so an editor's server does not hold old versions.
_Parsed = tuple[ast.ProtocolFile | None, tuple[Diagnostic, ...], tuple[Damage, ...]]
_PARSED: dict[tuple[str, str], _Parsed] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_MAX = 64
_PARSED_MAX_CHARS = 200_000


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a file is parsed and built: the parse makes
    millions of small objects and no cycles, and the collector's passes over them cost
    10-20% of a large file's parse. Resumed after, unless something else had paused it."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _parse_recovering(source: Source) -> tuple[ast.ProtocolFile | None, list[Diagnostic], list[Damage]]:
    try:
        tree = _parse(source, "protocol_file")
    except UnexpectedInput as first:
        return _recover(source, first)
    except RecursionError:
        return None, [_too_deep(source)], []
    deep = _depth_diagnostic(source, tree)
    if deep is not None:
        return None, [deep], []
    try:
        return cast(ast.ProtocolFile, _build(source, tree)), [], []
    except RecursionError:  # pragma: no cover - the depth limit comes first
        return None, [_too_deep(source)], []


def _too_deep(source: Source) -> Diagnostic:
    return Diagnostic(
        Span.point(source.path, 1, 1), "S003", "error", "file is nested too deeply to read", None
    )


def _depth_diagnostic(source: Source, tree: Tree[Token]) -> Diagnostic | None:
    """A parse tree deeper than MAX_TREE_DEPTH (measured without recursion), or None.

    The depth is measured a level at a time (fast); only a tree that is too deep is walked
    again, depth first, to name the same node as ever."""
    level = [tree]
    for _ in range(MAX_TREE_DEPTH):
        level = [child for node in level for child in node.children if isinstance(child, Tree)]
        if not level:
            return None
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            meta = node.meta
            line = getattr(meta, "line", 1) if not getattr(meta, "empty", True) else 1
            column = getattr(meta, "column", 1) if not getattr(meta, "empty", True) else 1
            return Diagnostic(
                Span.point(source.path, line, column),
                "S003",
                "error",
                f"expression is nested more than {MAX_TREE_DEPTH} levels deep",
                "split it into named values, or into several criteria",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


# Blocks made of one-line attributes: a line with a syntax error can be dropped and the
# rest of the block still read.
LINE_BLOCKS = ("protocol", "library", "question", "disposition", "escalation", "tiers")
MAX_DROPPED_LINES = 5
DECLARES = re.compile(r"^\s*([A-Za-z_]\w*)\s+([A-Za-z_]\w*)")


def _code_lines(chunk: str, first: int) -> list[int]:
    """The line numbers of ``chunk`` (starting at ``first``) holding more than a comment."""
    return [first + i for i, line in enumerate(chunk.split("\n")) if line.split("#", 1)[0].strip()]


def _error_line(error: UnexpectedInput) -> int:
    token = getattr(error, "token", None)
    if isinstance(token, Token) and token.type == "$END":
        return 0
    return max(0, getattr(error, "line", 0) or 0)


def _recover(
    source: Source, first: UnexpectedInput
) -> tuple[ast.ProtocolFile | None, list[Diagnostic], list[Damage]]:
    """Parse each top-level block alone (see :func:`parse_protocol_recovering`)."""
    diagnostics: list[Diagnostic] = []
    damage: list[Damage] = []
    header: ast.Header | None = None
    items: list[Any] = []
    chunks = [(line, chunk) for line, chunk in _chunks(source.text) if _code_lines(chunk, line)]
    for index, (line, chunk) in enumerate(chunks):
        code = _code_lines(chunk, line)
        block = (code[0], code[-1])
        word = chunk.split("\n")[code[0] - line].split()[0]
        is_header = index == 0 and word in ("protocol", "library")
        start = "file_header" if is_header else "item_chunk"
        following = chunks[index + 1][1].split()[0] if index + 1 < len(chunks) else None
        tree, errors, dropped, broken = _parse_block(source, start, line, chunk, code, word, following)
        diagnostics += errors
        match = DECLARES.match(chunk.split("\n")[code[0] - line])
        name = match.group(2) if match and word not in ("tiers", "triage", "import") else None
        if broken:
            damage.append(Damage(block[0], block[1], word, name, True, block))
            continue
        for number in dropped:
            damage.append(Damage(number, number, word, name, False, block))
        if tree is None:
            continue
        try:
            built = _build(source, tree)
        except RecursionError:  # pragma: no cover - the depth limit comes first
            diagnostics.append(_too_deep(source))
            return None, diagnostics, damage
        if is_header:
            header = cast(ast.Header, built)
        else:
            items.append(built)
    if not any(d.severity == "error" for d in diagnostics):
        # The blocks parse alone but not together: report what the whole-file parse saw.
        return None, [syntax_diagnostic(source, first)], []
    if header is None:
        header = _placeholder_header(source, chunks[0][0] if chunks else 1)
    lines = source.text.count("\n") + 1
    span = Span(source.path, 1, 1, lines, len(source.line(lines)) + 1)
    return ast.ProtocolFile(span, header, tuple(items)), diagnostics, damage


def _parse_block(
    source: Source, start: str, line: int, chunk: str, code: list[int], word: str, following: str | None
) -> tuple[Tree[Token] | None, list[Diagnostic], list[int], bool]:
    """Parse one top-level block alone, positions kept: (tree or None, its syntax errors,
    the lines dropped to read the rest, whether the block is lost as a whole)."""
    lines = chunk.split("\n")
    errors: list[Diagnostic] = []
    dropped: list[int] = []
    closed = False  # an 'end' added for a block the author left open
    pad = "\n" * (line - 1)
    for _ in range(MAX_DROPPED_LINES + 2):
        text = pad + "\n".join(lines)
        try:
            tree = _parse(source, start, text + ("\nend" if closed else ""))
        except UnexpectedInput as exc:
            at = _error_line(exc)
            outside = at == 0 or at > code[-1]
            if outside and not closed:
                if not dropped:  # the author's own mistake, not an echo of a dropped line
                    errors.append(_unclosed(source, start, text, following, exc))
                closed = True  # read the block as if it were closed
                continue
            if not outside or not errors:
                errors.append(syntax_diagnostic(source, exc))
            if word not in LINE_BLOCKS or outside or at <= code[0] or len(dropped) >= MAX_DROPPED_LINES:
                return None, errors, dropped, True
            dropped.append(at)
            lines[at - line] = ""
            continue
        except RecursionError:
            return None, [*errors, _too_deep(source)], dropped, True
        deep = _depth_diagnostic(source, tree)
        if deep is not None:
            return None, [*errors, deep], dropped, True
        return tree, errors, dropped, False
    return None, errors, dropped, True  # pragma: no cover - the loop returns


def _unclosed(
    source: Source, start: str, text: str, following: str | None, error: UnexpectedInput
) -> Diagnostic:
    """The diagnostic for a block that runs into the next one (or the end of the file):
    parsed with the next block's first word after it, lark reports that word, which
    ``messages.py`` explains as a block left open."""
    if following is not None:
        try:
            _parse(source, start, f"{text}\n{following}")
        except UnexpectedInput as exc:
            if _error_line(exc) > text.count("\n") + 1:  # at the next block's word
                return syntax_diagnostic(source, exc)
    return syntax_diagnostic(source, error)


def _placeholder_header(source: Source, line: int) -> ast.Header:
    """A header for a file whose own header did not parse, so the rest can be checked."""
    match = DECLARES.match(source.line(line))
    name = match.group(2) if match else "unnamed"
    span = Span.point(source.path, line, 1)
    if match and match.group(1) == "library":
        return ast.Header(span=span, kind="library", id=name, id_span=span)
    return ast.Header(span=span, kind="protocol", id=name, id_span=span)


def parse_scenarios(source: Source) -> tuple[ast.ScenarioFile | None, list[Diagnostic]]:
    """Parse a ``.scenarios`` file."""
    guard = _guard(source)
    if guard:
        return None, guard
    try:
        tree = _parse(source, "scenario_file")
    except UnexpectedInput as exc:
        return None, [syntax_diagnostic(source, exc)]
    except RecursionError:
        return None, [
            Diagnostic(
                Span.point(source.path, 1, 1), "S003", "error", "file is nested too deeply to read", None
            )
        ]
    return cast(ast.ScenarioFile, _build(source, tree)), []
