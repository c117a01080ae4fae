"""Locating and loading the lark grammar, from a checkout or an installed wheel.

The grammar lives at the top of the repository (``grammar/triage.lark``); the wheel
carries a copy inside the package (``triage_dsl/grammar/triage.lark``). The parser is
built once per process and shared (lark LALR parsers are safe to reuse).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark

START_RULES = ["protocol_file", "scenario_file", "item_chunk", "file_header"]

# Keywords that start a top-level declaration (the parser resynchronises on them).
TOP_LEVEL_WORDS = (
    "protocol",
    "library",
    "import",
    "question",
    "value",
    "score",
    "points",
    "tiers",
    "role",
    "escalation",
    "disposition",
    "screen",
    "triage",
)


def grammar_path() -> Path:
    """The grammar file this process uses: the packaged copy, else the checkout's."""
    packaged = resources.files("triage_dsl").joinpath("grammar").joinpath("triage.lark")
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "grammar" / "triage.lark"
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        "grammar/triage.lark not found: reinstall triage-dsl (the wheel carries the grammar)"
    )


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    """The shared LALR parser with positions (propagate_positions) for every start rule."""
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=START_RULES,
        propagate_positions=True,
        maybe_placeholders=False,
    )
