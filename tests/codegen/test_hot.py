"""By default a plan gets its generated code once it is evaluated often in one process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl import load
from triage_dsl.runtime import codegen
from triage_dsl.runtime.interpreter import evaluate_protocol


def _news2() -> tuple[Any, dict[str, Any]]:
    answers = json.loads((PROTOCOLS / "examples" / "news2_high.json").read_text(encoding="utf-8"))
    return load(PROTOCOLS / "rules" / "news2.triage"), answers.get("answers", answers)


def test_the_first_evaluations_run_the_interpreter_then_the_generated_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    protocol, answers = _news2()
    protocol.plan.compiled.clear()  # a plan no one has evaluated yet in this process
    monkeypatch.setattr(codegen, "ENABLED", True)
    reference = evaluate_protocol(protocol, answers, generated=False).model_dump_json()
    built: list[int] = []
    real = codegen.cache.build

    def counted(p: Any) -> Any:
        built.append(1)
        return real(p)

    monkeypatch.setattr(codegen.cache, "build", counted)
    for _ in range(codegen.HOT_AFTER):
        assert evaluate_protocol(protocol, answers).model_dump_json() == reference
    assert built == [] and "generated" not in protocol.plan.compiled
    assert evaluate_protocol(protocol, answers).model_dump_json() == reference
    assert built == [1] and protocol.plan.compiled["generated"] is not None
    evaluate_protocol(protocol, answers)
    assert built == [1]  # built once


def test_interpreter_only_never_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol, answers = _news2()
    protocol.plan.compiled.clear()
    monkeypatch.setattr(codegen, "ENABLED", False)
    for _ in range(codegen.HOT_AFTER + 2):
        evaluate_protocol(protocol, answers)
    assert "generated" not in protocol.plan.compiled


def test_one_evaluation_does_not_load_the_generator() -> None:
    code = (
        "import json, sys\n"
        "from triage_dsl import evaluate, load\n"
        "answers = json.load(open('protocols/examples/news2_high.json'))\n"
        "answers = answers.get('answers', answers)\n"
        "assert evaluate(load('protocols/rules/news2.triage'), answers).status == 'complete'\n"
        "assert 'triage_dsl.runtime.codegen.generate' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
