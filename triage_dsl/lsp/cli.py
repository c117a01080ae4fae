"""``triage lsp``: start the language server on stdin/stdout (editors run this)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "lsp",
        help="run the language server (for editors) on stdin/stdout",
        description=(
            "A Language Server Protocol server over stdio: diagnostics as you type (the same as "
            "'triage check'), hover, go to definition, references, completion, outline and "
            "formatting ('triage fmt'). Editors start it; see editors/vscode/README.md."
        ),
    )
    p.add_argument(
        "--stdio", action="store_true", help="talk over stdin/stdout (the default, and the only way)"
    )
    return p


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from triage_dsl.lsp.server import serve

    serve()
    return 0
