"""The docs' examples work as a new user copies them, from the checkout's root.

Every ``triage`` command line in a fenced block of the README and docs/ must be one the
command line accepts (subcommand, options, arguments), and the Python examples of the
pages that give complete ones must run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from triage_dsl.cli import _parser, _Usage

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
COMMAND = re.compile(r"^(?:\$ )?(?:\.venv/bin/)?triage (?P<args>.*)$")


def _blocks(page: Path, *languages: str) -> list[str]:
    """The fenced blocks of ``page`` whose info string is one of ``languages``, in order."""
    blocks: list[str] = []
    language: str | None = None
    lines: list[str] = []
    for line in page.read_text(encoding="utf-8").splitlines():
        fence = line.strip()
        if language is None and fence.startswith("```"):
            language, lines = fence[3:].strip(), []
        elif language is not None and fence == "```":
            if language in languages:
                blocks.append("\n".join(lines) + "\n")
            language = None
        elif language is not None:
            lines.append(line)
    return blocks


def _command_lines() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in _blocks(page, "sh", ""):
            for line in block.replace("\\\n", " ").splitlines():
                match = COMMAND.match(line.strip())
                if match is None:
                    continue
                words = re.split(r"\s(?:>|\||&&)\s|\s+#\s", match["args"])[0]
                found.append((page.relative_to(ROOT).as_posix(), words))
    return found


COMMANDS = _command_lines()


def test_the_pages_give_commands() -> None:
    pages = {page for page, _ in COMMANDS}
    expected = {"README.md", "docs/testing.md", "docs/record.md", "docs/service.md", "docs/integration.md"}
    assert expected <= pages


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[f"{p}: {c}" for p, c in COMMANDS])
def test_every_command_in_the_docs_is_accepted(page: str, command: str) -> None:
    try:
        _parser().parse_args(shlex.split(command))
    except _Usage as usage:
        pytest.fail(f"{page}: triage {command}: {usage}")


# the pages whose Python examples are complete programs (escalation.md's second one
# posts to a paging gateway, so only its first runs here)
PYTHON = [
    ("docs/record.md", 0),
    ("docs/integration.md", 0),
    ("docs/escalation.md", 0),
]


@pytest.mark.parametrize(("page", "index"), PYTHON)
def test_the_python_examples_of_the_docs_run(page: str, index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in ("TRIAGE_RECORD_KEY", "TRIAGE_RECORD_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    block = _blocks(ROOT / page, "python")[index]
    namespace: dict[str, Any] = {}
    exec(compile(block, page, "exec"), namespace)  # the page's own text


def test_the_record_example_ends_verified_and_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TRIAGE_RECORD_KEY", raising=False)
    monkeypatch.delenv("TRIAGE_RECORD_KEY_FILE", raising=False)
    namespace: dict[str, Any] = {}
    exec(compile(_blocks(ROOT / "docs/record.md", "python")[0], "record.md", "exec"), namespace)
    record = namespace["record"]
    assert record.disposition.id == "call_911"
    assert [o.disposition.id for o in record.overrides] == ["ed_now"]
    assert record.call.agreement == "declines"
