"""The VS Code package: valid JSON, regexes that compile, keywords that match the grammar,
and a manifest that starts the language server the CLI has."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import ROOT
from triage_dsl.cli import main

VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = json.loads((VSCODE / "syntaxes" / "triage.tmLanguage.json").read_text())


def patterns(node: Any) -> list[str]:
    """Every ``match``/``begin``/``end`` regex of a TextMate grammar."""
    found: list[str] = []
    if isinstance(node, dict):
        found += [node[key] for key in ("match", "begin", "end") if isinstance(node.get(key), str)]
        for value in node.values():
            found += patterns(value)
    elif isinstance(node, list):
        for value in node:
            found += patterns(value)
    return found


def language_keywords() -> set[str]:
    """The words the lark grammar spells out (its keywords, yes/no among them)."""
    text = "\n".join(
        line.split("//")[0] for line in (ROOT / "grammar" / "triage.lark").read_text().splitlines()
    )
    return set(re.findall(r'"([a-z][a-z/]*)"', text))


@pytest.mark.parametrize(
    "name", ["package.json", "language-configuration.json", "syntaxes/triage.tmLanguage.json"]
)
def test_files_are_valid_json(name: str) -> None:
    json.loads((VSCODE / name).read_text())


@pytest.mark.parametrize("regex", patterns(GRAMMAR))
def test_every_regex_compiles(regex: str) -> None:
    re.compile(regex)


def test_the_keywords_are_the_grammars() -> None:
    coloured: set[str] = set()
    keyword_rules = [*GRAMMAR["repository"]["keywords"]["patterns"], GRAMMAR["repository"]["yes-no-type"]]
    for rule in keyword_rules:
        words = re.fullmatch(r"\\b\(?(.*?)\)?\\b", rule["match"])
        assert words is not None
        coloured |= set(words.group(1).split("|"))
    assert coloured == language_keywords()


def test_colouring_marks_comments_strings_and_keywords() -> None:
    repo = GRAMMAR["repository"]
    line = 'question fever: yes/no  # a "comment"'
    comment = re.search(repo["comment"]["match"], line)
    assert comment is not None and comment.group(0) == '# a "comment"'
    keywords = [re.compile(rule["match"]) for rule in repo["keywords"]["patterns"]]
    assert any(k.match("question") for k in keywords) and not any(k.fullmatch("fever") for k in keywords)
    assert re.fullmatch(repo["code"]["match"], "W010")


def test_the_manifest_starts_the_language_server(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((VSCODE / "package.json").read_text())
    language = manifest["contributes"]["languages"][0]
    assert set(language["extensions"]) == {".triage", ".scenarios"}
    grammar = manifest["contributes"]["grammars"][0]
    assert grammar["scopeName"] == GRAMMAR["scopeName"] and (VSCODE / grammar["path"]).is_file()
    assert (VSCODE / manifest["main"]).is_file()
    settings = manifest["contributes"]["configuration"]["properties"]
    command = [settings["triage.server.command"]["default"], *settings["triage.server.args"]["default"]]
    assert command == ["triage", "lsp"]
    assert main(["lsp", "--help"]) == 0, "the command the extension runs exists"
    assert "language server" in capsys.readouterr().out.lower()
    assert "vscode-languageclient" in manifest["dependencies"]
    assert (
        "--stdio" in (VSCODE / "extension.js").read_text()
        or "TransportKind.stdio" in (VSCODE / "extension.js").read_text()
    )
