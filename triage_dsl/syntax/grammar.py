"""Locating and loading the lark grammar, from a checkout or an installed wheel.

The grammar lives at the top of the repository (``grammar/triage.lark``); the wheel
carries a copy inside the package (``triage_dsl/grammar/triage.lark``). The parser is
built once per process and shared (lark LALR parsers are safe to reuse).

Building the LALR tables takes longer than most commands' own work, so the built parser
is also kept on disk (:func:`triage_dsl.io.cache.cache_dir`), in a file named by the
SHA-256 of the grammar, the parser options and the versions of lark and Python: a changed
grammar or an upgraded lark gets a new file, never a stale parser. The file is written
atomically and read only from a folder only this user can write; when the folder is
missing, foreign or unwritable, or the file unreadable, the parser is built as before.
"""

from __future__ import annotations

import hashlib
import io
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark
from lark import __version__ as lark_version

from triage_dsl.io.cache import cache_dir, read_cached, write_cached

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


OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "start": START_RULES,
    "propagate_positions": True,
    "maybe_placeholders": False,
}


def parser_key(grammar: str) -> str:
    """The cache key of the parser built from ``grammar`` with :data:`OPTIONS`."""
    text = "\n".join([grammar, repr(sorted(OPTIONS.items())), lark_version, sys.version.split()[0]])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    """The shared LALR parser with positions (propagate_positions) for every start rule."""
    grammar = grammar_path().read_text(encoding="utf-8")
    folder = cache_dir()
    name = f"parser-{parser_key(grammar)}.pickle"
    data = read_cached(folder, name) if folder is not None else None
    if data is not None:
        try:
            return Lark.load(io.BytesIO(data))
        except Exception:  # a damaged file (cut short, another lark): rebuilt and replaced
            pass
    parser = Lark(grammar, **OPTIONS)
    if folder is not None:
        out = io.BytesIO()
        parser.save(out)
        write_cached(folder, name, out.getvalue())
    return parser
