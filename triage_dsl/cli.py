"""The ``triage`` command: arguments in, one API call, output printed. No protocol logic.

Exit codes (also in the README): 0 success; 1 the answer is "no" (check found errors,
a scenario failed, answers were invalid, a line of a batch failed); 2 usage error,
unreadable input, unwritable output or a protocol that does not compile; 130
interrupted (Ctrl-C); 143 terminated (SIGTERM).

Every input file is read through :mod:`triage_dsl.io` (regular files within a size limit,
strict JSON) and every output path is checked before the work starts and written
atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, TextIO

# Only the argument parsers are built here; each command's function (triage_dsl/commands.py,
# or its package's cli module) is imported when it runs, with the stages it uses, so
# `triage --version` loads neither the errors' nor the files' modules (tools/bench_startup.py).
from triage_dsl.fhir.cli import add_parser as fhir_parser
from triage_dsl.fmt import cli as fmt_cli
from triage_dsl.lsp import cli as lsp_cli
from triage_dsl.roster.cli import add_parsers as roster_parsers
from triage_dsl.version import __version__

OK, USAGE, INTERRUPTED = 0, 2, 130

TEXT_REPORTS = frozenset({"check", "test", "eval", "run", "verify", "diff", "table", "book", "fmt", "roster"})
"""Commands whose standard output, in its text forms, a person reads (see :func:`main`);
the others print JSON, DOT, scenarios or a token, kept exact."""

Handler = Callable[[argparse.Namespace, TextIO, TextIO, TextIO], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would sys.exit(2) itself
        self.print_usage(sys.stderr)
        raise _Usage(f"{self.prog}: error: {message}")


class _Usage(Exception):
    pass


def _on_signal(signum: int, frame: Any) -> None:
    from triage_dsl.errors import Terminated

    raise Terminated(signum)


MAX_JOBS = 256
"""The most worker processes a command forks, whatever it is asked for."""


def _jobs(text: str) -> int:
    """``--jobs N``: 0 (one per core) to :data:`MAX_JOBS`."""
    try:
        value = int(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise argparse.ArgumentTypeError(f"expected a whole number, got {shown!r}") from None
    if not 0 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected 0 (one per core) to {MAX_JOBS}, got {value}")
    return value


def _session_id(text: str) -> str:
    """``--session-id ID``: not blank (a blank one would have given a new random id, so the
    same command no longer gave the same record)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "give an id that is not blank, or leave the option out for a new one"
        )
    return text


def _roots_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        metavar="DIR",
        action="append",
        default=[],
        help="another folder imports may come from (repeat; the protocol's own folder always may)",
    )


def _key_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="the record key (at least 32 bytes; else $TRIAGE_RECORD_KEY_FILE or "
        f"$TRIAGE_RECORD_KEY): {what}",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="triage", description="Write, check, test and run telephone-triage protocols.")
    parser.add_argument("--version", action="version", version=f"triage-dsl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "check",
        help="report every error and warning in protocol files",
        description="Check protocol and library files (or folders of them). Exit 1 when any file has errors.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--no-analysis",
        action="store_true",
        help="skip the static analyses (unreachable criteria, gaps, dead questions...)",
    )
    p.add_argument(
        "--show-suppressed",
        action="store_true",
        help="also print the warnings an 'allow' accepts, each with its reason",
    )
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=0,
        metavar="N",
        help="worker processes for the analyses of files not checked before (default 0: one per core); "
        "the output is the same",
    )
    _roots_option(p)
    p.set_defaults(handler="check_command")

    p = sub.add_parser(
        "eval",
        help="evaluate a protocol against answers",
        description="Evaluate one answer set (--answers, a JSON object) or a "
        'batch (--cases, JSON lines: {"id": ..., "answers": {...}}).',
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--answers", metavar="FILE", help="JSON object of answers ('-' for stdin)")
    group.add_argument("--cases", metavar="FILE", help="JSON lines of cases ('-' for stdin)")
    p.add_argument(
        "--format",
        choices=("json", "note", "markdown"),
        default="json",
        help="with --answers: the whole result as JSON, or the triage note",
    )
    p.add_argument("--no-trace", action="store_true", help="leave the trace out (faster)")
    p.add_argument(
        "--jobs",
        type=_jobs,
        default=0,
        metavar="N",
        help="with --cases: worker processes (default 0: one per core for large batches); order is kept",
    )
    p.add_argument(
        "--redact", action="store_true", help="with --answers: the record's copy for logs (no PHI)"
    )
    p.add_argument(
        "--session-id",
        metavar="ID",
        type=_session_id,
        help="with --answers: the record's session id (default: a UUID)",
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="with --answers: the evaluation's and the record's time (ISO 8601, UTC; default now), "
        "for reproducible records; it turns a date of birth into an age (with --cases: the time of "
        "every case; without it a date of birth is refused, so a batch never reads the clock)",
    )
    p.add_argument(
        "--call",
        metavar="FILE.json",
        help="with --answers: the caller block (who called, callback number, agent, complaint, agreement)",
    )
    _key_argument(p, "with --answers: seal the record with the key (HMAC-SHA-256) and key the pseudonyms")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    _roots_option(p)
    p.set_defaults(handler="eval_command")

    p = sub.add_parser(
        "run",
        help="interview a caller in the terminal",
        description="Ask the protocol's questions one at a time, then show the "
        "disposition, urgency, escalation plan and note.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument(
        "--save",
        metavar="FILE",
        help="write the sealed record as JSON (after every answer too, so a crash loses nothing)",
    )
    p.add_argument(
        "--resume",
        metavar="FILE",
        help="continue the interview a saved partial record holds (it must verify against "
        "PROTOCOL); saves to FILE unless --save says elsewhere",
    )
    p.add_argument("--call", metavar="FILE.json", help="the caller block, instead of asking it")
    p.add_argument(
        "--session-id", metavar="ID", type=_session_id, help="the record's session id (default: a UUID)"
    )
    p.add_argument(
        "--at",
        metavar="TIME",
        help="the interview's time (ISO 8601, UTC; default now): turns a date of birth into an age",
    )
    _key_argument(p, "seal the saved record with the key")
    _roots_option(p)
    p.set_defaults(handler="run_command")

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of results, records, call records or batch lines",
        description="Print a JSON Schema: result (eval --answers), record (a sealed result), "
        "call (a call record) or batch (one line of eval --cases).",
    )
    p.add_argument(
        "what", nargs="?", choices=("result", "record", "call", "call-info", "batch"), default="result"
    )
    p.set_defaults(handler="schema_command")

    p = sub.add_parser(
        "test",
        help="run the scenario tests of protocols, with coverage",
        description="Run every protocol's scenarios (NAME.scenarios beside "
        "NAME.triage) under the given paths. Exit 1 on any failure.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--min-coverage", type=float, metavar="N", default=None, help="fail when coverage is below N percent"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    p.add_argument("--verbose", "-v", action="store_true", help="list every scenario")
    _roots_option(p)
    p.set_defaults(handler="test_command")

    p = sub.add_parser(
        "table",
        help="print the complete decision table of a protocol",
        description="Split the answer space into regions, each with its disposition and tier.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    _roots_option(p)
    p.set_defaults(handler="table_command")

    p = sub.add_parser(
        "diff",
        help="the semantic difference between two versions of a protocol",
        description="Regions of answers whose disposition or tier differs, each with a witness. "
        "Exit 0 when the behaviour is identical, 1 when it differs, 2 on error.",
    )
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _roots_option(p)
    p.set_defaults(handler="diff_command")

    p = sub.add_parser(
        "cases",
        help="generate scenarios at every threshold and one per table row",
        description="Print scenarios (the .scenarios format) for an author to review and keep.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    _roots_option(p)
    p.set_defaults(handler="cases_command")

    p = sub.add_parser(
        "render",
        help="draw a protocol's decision graph (svg, png, pdf or dot)",
        description="Draw the compiled decision graph through graphviz. Without -o, print the DOT. "
        "Without graphviz's dot program, write the DOT and say how to install it (exit 1).",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("-o", "--output", metavar="FILE", help="the drawing; its suffix picks the format")
    p.add_argument("--format", choices=("svg", "png", "pdf", "dot"), default=None)
    p.add_argument(
        "--trace", metavar="RESULT.json", help="draw the path of a result of 'triage eval --answers'"
    )
    _roots_option(p)
    p.set_defaults(handler="render_command")

    p = sub.add_parser(
        "book",
        help="write a static HTML review site for a folder of protocols (or one protocol)",
        description="Graphs linked to source lines, scenarios and their paths, an index; no server needed.",
    )
    p.add_argument("protocol_dir", metavar="PROTOCOL_DIR", help="a folder of protocols, or one .triage file")
    p.add_argument("-o", "--output", metavar="SITE_DIR", required=True)
    _roots_option(p)
    p.set_defaults(handler="book_command")
    _record_parsers(sub)
    roster_parsers(sub)
    fhir_parser(sub).set_defaults(handler="triage_dsl.fhir.cli:fhir_command")
    from triage_dsl.service.cli import add_parsers as service_parsers  # serve, token (lazy web stack)

    service_parsers(sub)
    fmt_cli.add_parser(sub).set_defaults(handler="fmt_command")
    lsp_cli.add_parser(sub).set_defaults(handler="lsp_command")
    return parser


def _record_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="check a record's hash chain and replay its answers",
        description="Exit 0 when the record (or call record) is intact and the protocol, evaluated "
        "again with its answers, gives the same result; exit 1 naming the first broken link or difference.",
    )
    p.add_argument("record", metavar="RECORD.json")
    p.add_argument(
        "--protocol", metavar="FILE", action="append", required=True, help="repeat for a call record"
    )
    _key_argument(p, "check the keyed seal; a record without one then fails")
    p.add_argument(
        "--allow-unkeyed",
        action="store_true",
        help="without a key, accept a keyed record after checking its chain and replay (its seal unchecked)",
    )
    _roots_option(p)
    p.set_defaults(handler="verify_command")
    p = sub.add_parser(
        "redact",
        help="a copy of a record fit for logs (answers and free text removed)",
        description="Print the record (or call record) without PHI; "
        "structure, protocol hash and outcome kept.",
    )
    p.add_argument("record", metavar="RECORD.json")
    _key_argument(p, "identifiers become keyed pseudonyms (without a key they are removed)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(handler="redact_command")


def _one_line(said: object) -> str:
    """A message as the one line it is: a line feed in it (a file named so) is escaped
    like the other control characters, so it cannot add a line of its own."""
    from triage_dsl.source import visible

    return visible(str(said), lines=False)


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    # A pydantic plugin installed in the same environment would be handed every value the
    # models validate: the caller's answers and free text (PHI). The command and the
    # service it starts run without plugins unless the operator sets the variable.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser = _parser()
    try:
        with contextlib.redirect_stdout(out):
            args = parser.parse_args(argv)
    except _Usage as usage:
        print(usage, file=err)
        return USAGE
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(out)
        return USAGE
    from triage_dsl.errors import AnalysisLimit, CompileError, ProtocolFileError, Terminated
    from triage_dsl.io.outputs import OutputError, for_terminal

    # messages, and the text reports, show control characters escaped (a hostile file
    # cannot drive the terminal); JSON and files meant to be kept are written exact
    err = for_terminal(err)
    if _text_report(args):
        out = for_terminal(out)

    previous = _catch_sigterm()
    try:
        return _handler(args.handler)(args, inp, out, err)
    except OutputError as exc:
        print(f"triage: {_one_line(exc)}", file=err)
        return USAGE
    except ProtocolFileError as exc:
        print(f"triage: {_one_line(exc)}", file=err)
        return USAGE
    except CompileError as exc:
        print(exc.render(), file=err)
        print(f"triage: {_one_line(exc.args[0])}", file=err)
        return USAGE
    except AnalysisLimit as exc:
        print(f"triage: {_one_line(exc)}", file=err)
        return USAGE
    except KeyboardInterrupt:
        print("\ntriage: interrupted", file=err)
        return INTERRUPTED
    except Terminated as exc:
        print(f"\ntriage: stopped by {exc}", file=err)
        return 128 + exc.signum
    except BrokenPipeError:
        return OK
    except OSError as exc:
        if exc.filename is None:
            raise
        # a file the command could not use where no clearer message was made: named, with
        # the system's reason, never a traceback
        print(f"triage: {_one_line(exc.filename)}: {exc.strerror or type(exc).__name__}", file=err)
        return USAGE
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _text_report(args: argparse.Namespace) -> bool:
    """Whether the command prints a report for a person (not JSON lines of a batch, say)."""
    if args.command not in TEXT_REPORTS or getattr(args, "cases", None):
        return False
    return getattr(args, "format", None) in (None, "text", "note", "markdown")


def _handler(handler: str | Handler) -> Handler:
    """The function that runs a command: given, or named ``module:function`` (or a function
    of :mod:`triage_dsl.commands`) and imported only when the command runs."""
    if not isinstance(handler, str):
        return handler
    module, _, function = handler.rpartition(":")
    found: Handler = getattr(import_module(module or "triage_dsl.commands"), function)
    return found


def _catch_sigterm() -> dict[int, Any]:
    """Turn SIGTERM (and SIGHUP) into :class:`Terminated` while a command runs (main
    thread only); the old handlers, to restore."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            with contextlib.suppress(ValueError, OSError):
                previous[signum] = signal.signal(signum, _on_signal)
    return previous
