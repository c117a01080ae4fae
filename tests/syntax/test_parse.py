"""Parsing: each construct of the language becomes the AST node that models it."""

from __future__ import annotations

import pytest

from triage_dsl.source import Source
from triage_dsl.syntax import ast
from triage_dsl.syntax.parser import parse_protocol, parse_scenarios

HEADER = 'protocol demo title "Demo" version "1.0" end\n'


def items(body: str) -> tuple[ast.Declaration, ...]:
    file, diagnostics = parse_protocol(Source("t.triage", HEADER + body))
    assert not diagnostics, [d.message for d in diagnostics]
    assert file is not None
    return file.items


def expr(text: str) -> ast.Expr:
    (value,) = items(f"value v = {text}")
    assert isinstance(value, ast.Value)
    return value.expr


def test_header_fields() -> None:
    text = """protocol chest_pain title "Chest pain" version "1.2.0" status approved
      population adult aged 18 to 120 years author "A" author "B" reviewer "R"
      approved 2026-11-01 source "S1" source "S2" disclaimer "Review first." end"""
    file, diagnostics = parse_protocol(Source("t.triage", text))
    assert not diagnostics and file is not None
    h = file.header
    assert (h.kind, h.id, h.title, h.version, h.status) == (
        "protocol",
        "chest_pain",
        "Chest pain",
        "1.2.0",
        "approved",
    )
    assert h.population == "adult" and h.ages is not None
    assert (h.ages.low, h.ages.high, h.ages.unit) == (18, 120, "years")
    assert h.authors == ("A", "B") and h.reviewers == ("R",) and h.sources == ("S1", "S2")
    assert h.approved == "2026-11-01" and h.disclaimers == ("Review first.",)
    assert h.span.line == 1 and h.id_span.column == 10


def test_library_header_and_import() -> None:
    file, _ = parse_protocol(Source("t.triage", 'library common title "x" end\nimport "a/b.triage"'))
    assert file is not None and file.header.kind == "library"
    (imp,) = file.items
    assert imp == ast.Import(imp.span, "a/b.triage") and imp.span.line == 2


@pytest.mark.parametrize(
    ("body", "checks"),
    [
        (
            'question q: yes/no ask "Fever?" red flag end',
            {"type": "yes/no", "prompt": "Fever?", "red_flag": True},
        ),
        (
            'question t: number ask "T?" unit "C" range 30 to 45.5 unknown allowed worse when higher end',
            {
                "type": "number",
                "unit": "C",
                "range": (30, 45.5),
                "unknown_allowed": True,
                "worse_when": "higher",
            },
        ),
        ("question n: whole number range -3 to 10 end", {"type": "whole number", "range": (-3, 10)}),
        ('question c: choice option a "Alpha" option b end', {"type": "choice"}),
        ('question u: yes/no unknown means no help "H" end', {"unknown_allowed": True, "help": "H"}),
    ],
)
def test_questions(body: str, checks: dict[str, object]) -> None:
    (q,) = items(body)
    assert isinstance(q, ast.Question)
    for key, value in checks.items():
        assert getattr(q, key) == value, key


def test_choice_options_keep_labels_and_default_to_id() -> None:
    (q,) = items('question c: choice option new_confusion "New confusion" option voice end')
    assert isinstance(q, ast.Question)
    assert [(o.id, o.label) for o in q.options] == [("new_confusion", "New confusion"), ("voice", "voice")]


def test_unknown_means_literal() -> None:
    (q,) = items("question t: number range 0 to 50 unknown means 37.5 end")
    assert isinstance(q, ast.Question) and q.unknown_means is not None
    assert q.unknown_means.value == 37.5


def test_points_table_rows() -> None:
    (p,) = items("points rp from rr\n <= 8: 3\n < 11.5: -1\n when x: 2\n a, b: 1\n yes: 4\n else: 0\nend")
    assert isinstance(p, ast.Points) and p.subject.id == "rr"
    kinds = [(b.kind, b.points) for b in p.bands]
    assert kinds == [
        ("compare", 3),
        ("compare", -1),
        ("when", 2),
        ("options", 1),
        ("options", 4),
        ("else", 0),
    ]
    assert (p.bands[1].op, p.bands[1].bound) == ("<", 11.5)
    assert [o.id for o in p.bands[3].options] == ["a", "b"]
    assert p.bands[0].span.line == 3


def test_values_and_scores() -> None:
    value, score = items("value low = sbp < 90 or dbp <= 60\nscore s = count(a, b > 1)")
    assert isinstance(value, ast.Value) and value.kind == "value" and isinstance(value.expr, ast.Or)
    assert isinstance(score, ast.Value) and score.kind == "score" and isinstance(score.expr, ast.Count)


def test_tiers_escalation_disposition() -> None:
    tiers, plan, disp = items(
        'tiers tier e "E" within 0 minutes tier h "Home" end\n'
        "escalation page notify doc by secure_page, wait 15 minutes for callback,\n"
        "  retry 2 times every 5 minutes\n"
        '  tell caller "Hold on." finally tell caller "Go to the ED." end\n'
        'disposition ed label "ED now" tier e within 30 minutes advice "a" advice "b" escalation page end'
    )
    assert isinstance(tiers, ast.Tiers)
    assert [(t.id, t.label, t.within.amount if t.within else None) for t in tiers.tiers] == [
        ("e", "E", 0),
        ("h", "Home", None),
    ]
    assert isinstance(plan, ast.Escalation) and plan.fallback == "Go to the ED."
    notify, tell = plan.steps
    assert isinstance(notify, ast.NotifyStep) and isinstance(tell, ast.TellStep)
    assert (notify.role, notify.channel, notify.retries) == ("doc", "secure_page", 2)
    assert notify.wait is not None and (notify.wait.amount, notify.wait.unit) == (15, "minutes")
    assert isinstance(disp, ast.Disposition)
    assert (disp.label, disp.tier, disp.advice, disp.escalation) == ("ED now", "e", ("a", "b"), "page")
    assert disp.within is not None and disp.within.amount == 30


def test_triage_block() -> None:
    (t,) = items(
        'triage\n section a if any of\n  when x advice "hint"\n  when y and z\n end\n'
        " section continue with other if all of when x when y end\n default b\nend"
    )
    assert isinstance(t, ast.Triage)
    first, second = t.sections
    assert (first.target.kind, first.target.id, first.mode) == ("disposition", "a", "any")
    assert first.criteria[0].advice == ("hint",) and first.criteria[1].span.line == 5
    assert (second.target.kind, second.target.id, second.mode) == ("protocol", "other", "all")
    assert t.default.id == "b"


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("a or b and not c", "Or(a, And(b, Not(c)))"),
        ("a + b * c - d", "Arith(-, Arith(+, a, Arith(*, b, c)), d)"),
        ("-a < 3", "Compare(<, Negate(a), 3)"),
        ("x in {p, q}", "Member(x, p|q)"),
        ("x not in {p}", "NotMember(x, p)"),
        ("x is p", "Member(x, p)"),
        ("x is not p", "NotMember(x, p)"),
        ("x is unknown", "IsUnknown(x)"),
        ("x is not unknown", "IsKnown(x)"),
        ("count(a, b)", "Count(a, b)"),
        ("if a then 1 else 2", "If(a, 1, 2)"),
        ("(a or b) and yes", "And(Or(a, b), yes)"),
        ("a = no", "Compare(=, a, no)"),
    ],
)
def test_expression_shapes(text: str, shape: str) -> None:
    assert _shape(expr(text)) == shape


def _shape(e: ast.Expr) -> str:
    match e:
        case ast.Name(id=name):
            return name
        case ast.NumberLit(value=value):
            return f"{value:g}"
        case ast.BoolLit(value=value):
            return "yes" if value else "no"
        case ast.Or(left=l, right=r):
            return f"Or({_shape(l)}, {_shape(r)})"
        case ast.And(left=l, right=r):
            return f"And({_shape(l)}, {_shape(r)})"
        case ast.Not(operand=o):
            return f"Not({_shape(o)})"
        case ast.Negate(operand=o):
            return f"Negate({_shape(o)})"
        case ast.Arith(op=op, left=l, right=r) | ast.Compare(op=op, left=l, right=r):
            return f"{type(e).__name__}({op}, {_shape(l)}, {_shape(r)})"
        case ast.Member(operand=o, options=opts, negated=neg):
            return f"{'NotMember' if neg else 'Member'}({_shape(o)}, {'|'.join(x.id for x in opts)})"
        case ast.IsUnknown(operand=o, negated=neg):
            return f"{'IsKnown' if neg else 'IsUnknown'}({_shape(o)})"
        case ast.Count(items=xs):
            return f"Count({', '.join(_shape(x) for x in xs)})"
        case ast.Conditional(condition=c, then=t, otherwise=o):
            return f"If({_shape(c)}, {_shape(t)}, {_shape(o)})"
    raise AssertionError(e)


def test_strings_unescape_and_comments_are_ignored() -> None:
    (q,) = items('# a comment\nquestion q: yes/no # trailing\n ask "Say \\"hi\\"\\tnow\\\\" end')
    assert isinstance(q, ast.Question) and q.prompt == 'Say "hi"\tnow\\'


def test_newlines_carry_no_meaning() -> None:
    (value,) = items("value v =\n  a\n  and\n  b")
    assert isinstance(value, ast.Value) and _shape(value.expr) == "And(a, b)"


def test_every_node_has_a_span() -> None:
    (t,) = items("triage section a if any of when x > 1 end default b end")
    assert isinstance(t, ast.Triage)
    crit = t.sections[0].criteria[0]
    assert (crit.span.line, crit.span.column, crit.span.end_column) == (2, 33, 38)


def test_scenario_file() -> None:
    text = (
        'baseline a = 1, b = yes\nscenario "one" given c = alert, d = unknown, e = -2.5 without b\n'
        " expect x expect disposition y expect tier t expect score s = 3 expect not asked a, b\n"
        " expect asked c expect status complete expect next d end"
    )
    file, diagnostics = parse_scenarios(Source("t.scenarios", text))
    assert not diagnostics and file is not None
    assert [(a.question, a.value.value) for a in file.baseline] == [("a", 1), ("b", True)]
    (s,) = file.scenarios
    assert [(a.question, a.value.value) for a in s.answers] == [("c", "alert"), ("d", "unknown"), ("e", -2.5)]
    assert s.without == ("b",)
    assert [(e.kind, e.names, e.number) for e in s.expectations] == [
        ("disposition", ("x",), None),
        ("disposition", ("y",), None),
        ("tier", ("t",), None),
        ("score", ("s",), 3),
        ("not_asked", ("a", "b"), None),
        ("asked", ("c",), None),
        ("status", ("complete",), None),
        ("next", ("d",), None),
    ]
