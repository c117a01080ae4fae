"""The allow-list refuses what the generator never writes, and protocol text stays data."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import protocol
from triage_dsl.runtime.codegen import runner
from triage_dsl.runtime.codegen.allow import ForbiddenCode, check_module
from triage_dsl.runtime.codegen.cache import compile_module
from triage_dsl.runtime.codegen.generate import generate
from triage_dsl.runtime.interpreter import evaluate_protocol, program

BODY = """
question fever: yes/no ask "Fever?" end
question temp: number ask "Temperature?" range 30 to 45 end
question colour: choice ask "Colour?" option pale "Pale" option pink "Pink" end
value hot = temp >= 38.5 or fever
points temp_points from temp
  < 36: 1
  <= 38: 0
  else: 2
end
score total = temp_points + count(fever, colour is pale)
disposition er label "ER" tier emergency end
disposition home label "Home" tier home_care end
triage
  section er if any of
    when hot and colour in {pale}
  end
  default home
end
"""

HOSTILE = (
    r""""x""" + "'''" + r""" \" \\ \n __import__(\"os\").system(\"echo pwned\") # """ + r'''{0} %s \t"'''
)


def generated_source() -> tuple[str, frozenset[str]]:
    p = protocol(BODY)
    module = generate(p, program(p))
    return module.source, module.names


def test_the_generated_module_passes() -> None:
    source, names = generated_source()
    check_module(ast.parse(source), names)


@pytest.mark.parametrize(
    "injected",
    [
        "import os",
        "from os import system",
        "_fmt = eval('1')",
        "x = open('f')",
        "_trace.__class__",
        "_t0 = lambda: 0",
        "_t0 = [q for q in _answers]",
        "_t0 = b'bytes'",
        "_t0 = _answers.get('x', default=1)",
        "_t0 = getattr(_answers, 'get')",
        "_t0 = 1e999",
        "def _evil(): pass",
        "global _M",
        "try:\n    pass\nexcept Exception:\n    pass",
        "_t0 = f'{_M}'",
        "_t0 = (yield)",
    ],
)
def test_forbidden_code_is_refused(injected: str) -> None:
    source, names = generated_source()
    tree = ast.parse(source + injected + "\n")
    with pytest.raises(ForbiddenCode):
        check_module(tree, names)


def test_a_call_of_a_name_the_generator_did_not_make_is_refused() -> None:
    source, names = generated_source()
    assert "_fmt(" in source
    with pytest.raises(ForbiddenCode, match="generat"):
        check_module(ast.parse(source.replace("_fmt(", "print(", 1)), names)
    with pytest.raises(ForbiddenCode):
        compile_module(source.replace("_fmt(", "__import__(", 1), names)


def test_hostile_text_stays_data() -> None:
    body = (
        BODY.replace('"Fever?"', HOSTILE)
        .replace('label "ER"', f"label {HOSTILE}")
        .replace('option pale "Pale"', f"option pale {HOSTILE}")
    )
    p = protocol(body)
    prompt = p.plan.questions["fever"].prompt
    assert "__import__" in prompt and "\n" in prompt and '"' in prompt and "'''" in prompt
    functions = runner(p)
    assert functions is not None
    tree = ast.parse(functions.source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "__import__" not in names and "os" not in names
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    label = p.plan.dispositions["er"].label
    assert any(label in s for s in strings)  # written with repr(): one string constant
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert calls <= {"_entry", "_answer_entry", "_fmt", "_tidy", "_negate", "_score", "_json", "float", "str"}
    answers = {"fever": True, "temp": 37.0, "colour": "pale"}
    fast = evaluate_protocol(p, answers, generated=True)
    assert fast.model_dump_json() == evaluate_protocol(p, answers, generated=False).model_dump_json()
    assert any(e.text == prompt for e in fast.trace)
    assert fast.disposition is not None and fast.disposition.label == p.plan.dispositions["er"].label
