"""The README's tour is a protocol a new user may copy: it must check clean."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_docs_examples import _blocks
from tests.conftest import PROTOCOLS
from triage_dsl.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _tour() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```\n# An illustration of the syntax only")
    return text[start + 4 : text.index("```", start + 4)]


def test_the_readme_tour_protocol_checks_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(PROTOCOLS / "telephone" / "shared.triage", tmp_path / "shared.triage")
    (tmp_path / "fever_example.triage").write_text(_tour(), encoding="utf-8")
    code = main(["check", str(tmp_path / "fever_example.triage")])
    printed = "".join(capsys.readouterr())
    assert code == 0, printed
    assert "warning[" not in printed and "info[" not in printed, printed


def test_the_readmes_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Python example runs as a new user would paste it, from the checkout's root;
    the interview's ``ask_the_caller`` is the one name the reader supplies."""
    monkeypatch.chdir(README.parent)
    blocks = _blocks(README, "python")
    assert len(blocks) >= 2
    for block in blocks:
        namespace: dict[str, Any] = {}
        namespace["ask_the_caller"] = lambda question, ns=namespace: ns["result"].answers[question.id]
        exec(compile(block, "README.md", "exec"), namespace)  # the README's own text
