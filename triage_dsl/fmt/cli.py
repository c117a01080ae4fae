"""``triage fmt PATH... [--check]``: the command's arguments and its report."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the parser is built for every command; the formatter's modules load when it runs
    from triage_dsl.source import Source

OK, CHANGED, REFUSED = 0, 1, 2


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "fmt",
        help="rewrite protocol and scenario files in the canonical layout",
        description=(
            "Rewrite .triage and .scenarios files (or folders of them) in the canonical layout, "
            "comments kept. A file with syntax errors is refused and left as it is (exit 2). "
            "With --check nothing is written: the files that would change are listed (exit 1)."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file would change")
    return p


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from triage_dsl.compiler import read_source
    from triage_dsl.errors import ProtocolFileError
    from triage_dsl.fmt.files import files_under, format_file
    from triage_dsl.fmt.safety import FormatError

    changed = unchanged = refused = 0
    for path in files_under(args.paths):
        try:
            result = format_file(path, write=not args.check)
        except FormatError as exc:
            refused += 1
            if exc.diagnostics:
                try:
                    source: Source | None = read_source(path)
                except ProtocolFileError:
                    source = None
                for d in exc.diagnostics:
                    print(d.render(source), file=err)
            print(f"triage: {exc}", file=err)
            continue
        except ProtocolFileError as exc:
            refused += 1
            print(f"triage: {exc}", file=err)
            continue
        if result.changed:
            changed += 1
            print(f"{'would reformat' if args.check else 'reformatted'} {result.path}", file=out)
        else:
            unchanged += 1
    verb = "would be reformatted" if args.check else "reformatted"
    summary = f"{changed} file(s) {verb}, {unchanged} already formatted"
    summary += f", {refused} refused" if refused else ""
    print(summary, file=err)
    if refused:
        return REFUSED
    return CHANGED if args.check and changed else OK
