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
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Only what every command needs is imported here; each handler imports the stages it uses,
# so `triage --version` starts in a few tens of milliseconds (tools/bench_startup.py).
from triage_dsl.errors import AnalysisLimit, CompileError, ProtocolFileError, Terminated
from triage_dsl.fhir.cli import add_parser as fhir_parser
from triage_dsl.fhir.cli import fhir_command
from triage_dsl.fmt import cli as fmt_cli
from triage_dsl.io.files import InputError, inside, read_bytes
from triage_dsl.io.outputs import OutputError, atomic, check_output, write_atomic
from triage_dsl.io.strict_json import MAX_ANSWERS_BYTES, MAX_RECORD_BYTES, loads
from triage_dsl.lsp import cli as lsp_cli
from triage_dsl.roster.cli import add_parsers as roster_parsers
from triage_dsl.version import __version__

if TYPE_CHECKING:
    from triage_dsl.model.result import TriageResult
    from triage_dsl.protocol import Protocol

OK, NO, USAGE, INTERRUPTED = 0, 1, 2, 130

Handler = Callable[[argparse.Namespace, TextIO, TextIO, TextIO], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would sys.exit(2) itself
        self.print_usage(sys.stderr)
        raise _Usage(f"{self.prog}: error: {message}")


class _Usage(Exception):
    pass


def _on_signal(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _roots_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        metavar="DIR",
        action="append",
        default=[],
        help="another folder imports may come from (repeat; the protocol's own folder always may)",
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
    _roots_option(p)
    p.set_defaults(handler=_check)

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
        type=int,
        default=0,
        metavar="N",
        help="with --cases: worker processes (default 0: one per core for large batches); order is kept",
    )
    p.add_argument(
        "--redact", action="store_true", help="with --answers: the record's copy for logs (no PHI)"
    )
    p.add_argument(
        "--session-id", metavar="ID", help="with --answers: the record's session id (default: a UUID)"
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
    p.set_defaults(handler=_eval)

    p = sub.add_parser(
        "run",
        help="interview a caller in the terminal",
        description="Ask the protocol's questions one at a time, then show the "
        "disposition, urgency, escalation plan and note.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("--save", metavar="FILE", help="write the sealed record as JSON")
    p.add_argument("--call", metavar="FILE.json", help="the caller block, instead of asking it")
    p.add_argument("--session-id", metavar="ID", help="the record's session id (default: a UUID)")
    p.add_argument(
        "--at",
        metavar="TIME",
        help="the interview's time (ISO 8601, UTC; default now): turns a date of birth into an age",
    )
    _key_argument(p, "seal the saved record with the key")
    _roots_option(p)
    p.set_defaults(handler=_run)

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of results, records, call records or batch lines",
        description="Print a JSON Schema: result (eval --answers), record (a sealed result), "
        "call (a call record) or batch (one line of eval --cases).",
    )
    p.add_argument(
        "what", nargs="?", choices=("result", "record", "call", "call-info", "batch"), default="result"
    )
    p.set_defaults(handler=_schema)

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
    p.set_defaults(handler=_test)

    p = sub.add_parser(
        "table",
        help="print the complete decision table of a protocol",
        description="Split the answer space into regions, each with its disposition and tier.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("--format", choices=("markdown", "csv", "json"), default="markdown")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    _roots_option(p)
    p.set_defaults(handler=_table)

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
    p.set_defaults(handler=_diff)

    p = sub.add_parser(
        "cases",
        help="generate scenarios at every threshold and one per table row",
        description="Print scenarios (the .scenarios format) for an author to review and keep.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    _roots_option(p)
    p.set_defaults(handler=_cases)

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
    p.set_defaults(handler=_render)

    p = sub.add_parser(
        "book",
        help="write a static HTML review site for a folder of protocols (or one protocol)",
        description="Graphs linked to source lines, scenarios and their paths, an index; no server needed.",
    )
    p.add_argument("protocol_dir", metavar="PROTOCOL_DIR", help="a folder of protocols, or one .triage file")
    p.add_argument("-o", "--output", metavar="SITE_DIR", required=True)
    _roots_option(p)
    p.set_defaults(handler=_book)
    _record_parsers(sub)
    roster_parsers(sub)
    fhir_parser(sub).set_defaults(handler=fhir_command)
    from triage_dsl.service.cli import add_parsers as service_parsers  # serve, token (lazy web stack)

    service_parsers(sub)
    fmt_cli.add_parser(sub).set_defaults(handler=_fmt)
    lsp_cli.add_parser(sub).set_defaults(handler=_lsp)
    return parser


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
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
    previous = _catch_sigterm()
    try:
        handler: Handler = args.handler
        return handler(args, inp, out, err)
    except OutputError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    except ProtocolFileError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    except CompileError as exc:
        print(exc.render(), file=err)
        print(f"triage: {exc.args[0]}", file=err)
        return USAGE
    except AnalysisLimit as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    except KeyboardInterrupt:
        print("\ntriage: interrupted", file=err)
        return INTERRUPTED
    except Terminated as exc:
        print(f"\ntriage: stopped by {exc}", file=err)
        return 128 + exc.signum
    except BrokenPipeError:
        return OK
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


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


def _compile(path: str, roots: Sequence[str]) -> Protocol:
    from triage_dsl.compiler import compile_file

    return compile_file(path, roots)


def _protocol_files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():  # a symbolic link that leads out of the folder is left out
            yield from (p for p in sorted(path.rglob("*.triage")) if inside(p, [path]))
        else:
            yield path


def _check(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.analysis import findings_of
    from triage_dsl.analysis.cache import cached
    from triage_dsl.compiler import check_file

    analyses = None if args.no_analysis else cached(findings_of)
    findings: list[dict[str, object]] = []
    errors = warnings = infos = suppressed = unreadable = 0
    for path in _protocol_files(args.paths):
        try:
            diagnostics, sources = check_file(path, analyses, args.root)
        except ProtocolFileError as exc:
            errors += 1
            unreadable += 1
            if args.format == "json":
                findings.append(_unreadable_finding(str(path), str(exc)))
            else:
                print(f"triage: {exc}", file=err)
            continue
        for d in diagnostics:
            if d.suppressed is not None:
                suppressed += 1
                if not args.show_suppressed:
                    continue
            else:
                errors += d.severity == "error"
                warnings += d.severity == "warning"
                infos += d.severity == "info"
            if args.format == "json":
                findings.append(d.to_dict())
            else:
                print(d.render(sources.get(d.span.path)), file=out)
    if args.format == "json":
        summary = {"errors": errors, "warnings": warnings, "infos": infos, "suppressed": suppressed}
        json.dump({**summary, "findings": findings}, out, indent=2)
        out.write("\n")
    else:
        line = f"{errors} error(s), {warnings} warning(s)"
        line += f", {infos} note(s)" if infos else ""
        line += f", {suppressed} suppressed" if suppressed else ""
        print(line, file=err if not errors else out)
    if unreadable:
        return USAGE  # a file that cannot be read is an input error, as for every command
    return NO if errors else OK


def _unreadable_finding(path: str, message: str) -> dict[str, object]:
    """The ``--format json`` finding for a file that cannot be read (F001): the keys of
    every other finding, with no position (there is no line to point at)."""
    return {
        "path": path,
        "line": None,
        "column": None,
        "end_line": None,
        "end_column": None,
        "severity": "error",
        "code": "F001",
        "message": message,
        "hint": "check the path: a protocol is a readable UTF-8 text file of at most 2 MB",
        "witness": None,
        "suppressed": None,
    }


def _input_name(name: str) -> str:
    return "<stdin>" if name == "-" else name


def _read_input(name: str, inp: TextIO, limit: int) -> bytes:
    """The bytes of an input file ('-' for standard input), within ``limit`` bytes."""
    if name != "-":
        return read_bytes(name, limit)
    buffer = getattr(inp, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read(limit + 1)
    else:  # a text stream (tests): its characters as UTF-8
        data = inp.read(limit + 1).encode("utf-8", "surrogatepass")
    if len(data) > limit:
        raise InputError("<stdin>", f"larger than the limit of {limit:,} bytes")
    return data


def _read_json(name: str, inp: TextIO, limit: int) -> Any:
    """A JSON input through the strict reader (duplicate keys, depth, size... refused)."""
    return loads(_read_input(name, inp, limit), path=_input_name(name))


def _outputs(args: argparse.Namespace, *names: str | None, inputs: Sequence[str | None] = ()) -> None:
    """Check every output path of the command before any work (exit 2 on a problem)."""
    sources = [args.protocol] if isinstance(getattr(args, "protocol", None), str) else []
    sources += [i for i in inputs if i]
    for name in names:
        if name:
            check_output(name, sources)


def _key_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="the record key (at least 32 bytes; else $TRIAGE_RECORD_KEY_FILE or "
        f"$TRIAGE_RECORD_KEY): {what}",
    )


def _key(args: argparse.Namespace) -> Any:
    from triage_dsl.record.keys import RecordKeyError, load_key

    try:
        return load_key(args.key_file)
    except RecordKeyError as exc:
        raise ProtocolFileError(str(exc)) from None


def _call_info(name: str | None, inp: TextIO) -> Any:
    """The caller block of ``--call FILE.json`` (None without the option)."""
    if name is None:
        return None
    from pydantic import ValidationError

    from triage_dsl.model.caller import CallInfo

    raw = _read_json(name, inp, MAX_ANSWERS_BYTES)
    try:
        return CallInfo.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "caller block"
        raise ProtocolFileError(
            f"{name}: not a valid caller block: {where}: {first['msg']} (see: triage schema call-info)"
        ) from None


def _eval(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl import evaluate

    _outputs(args, args.output, inputs=[args.answers, args.cases])
    protocol = _compile(args.protocol, args.root)
    if args.cases:
        from triage_dsl.batch import case_lines, run_cases

        lines = case_lines(args.cases, inp)
        name, jobs, trace = _input_name(args.cases), args.jobs, not args.no_trace
        at = _clock_reading(args.at) if args.at else None
        if args.output:
            with atomic(args.output) as target:
                failed = run_cases(
                    protocol, lines, target, name=name, jobs=jobs, trace=trace, roots=args.root, now=at
                )
        else:
            failed = run_cases(
                protocol, lines, out, name=name, jobs=jobs, trace=trace, roots=args.root, now=at
            )
        return NO if failed else OK
    answers = _read_json(args.answers, inp, MAX_ANSWERS_BYTES)
    if isinstance(answers, dict) and set(answers) == {"answers"} and isinstance(answers["answers"], dict):
        answers = answers["answers"]
    now = _clock_reading(args.at)
    call = _call_info(args.call, inp)
    result = _sealed(
        protocol, evaluate(protocol, answers, trace=not args.no_trace, call=call, now=now), args, now
    )
    if args.format == "json":
        from triage_dsl.model.serialize import dumps

        text = dumps(result, indent=True).decode() + "\n"
    else:
        from triage_dsl.explain.note import render_note

        text = render_note(result, markdown=args.format == "markdown")
    _write(text, args.output, out)
    return NO if result.status == "error" else OK


def _schema(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.record.schema import (
        batch_line_schema,
        call_info_schema,
        call_schema,
        record_schema,
        result_schema,
    )

    schemas = {
        "result": result_schema,
        "record": record_schema,
        "call": call_schema,
        "call-info": call_info_schema,
        "batch": batch_line_schema,
    }
    json.dump(schemas[args.what](), out, indent=2, sort_keys=True)
    out.write("\n")
    return OK


def _run(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.interview import interview
    from triage_dsl.record import seal
    from triage_dsl.record.clock import FixedClock

    _outputs(args, args.save)
    protocol = _compile(args.protocol, args.root)
    call, key, now = _call_info(args.call, inp), _key(args), _clock_reading(args.at)
    clock = FixedClock(now) if args.at else None  # --at: the whole record is reproducible

    def finish(result: TriageResult) -> TriageResult:
        return seal(result, protocol=protocol, session_id=args.session_id, key=key, clock=clock)

    def stopped(session: Any) -> None:  # the call stopped early: keep what was said
        if args.save:
            save_record(finish(session.result()), args.save, err, "Partial record")

    code, record = interview(
        protocol, inp, out, call=call, finish=finish, now=now, clock=clock, stopped=stopped
    )
    if args.save and record is not None:
        save_record(record, args.save, out, "Record")
    return code


def save_record(record: TriageResult, path: str, out: TextIO, what: str) -> str:
    """Write ``record`` atomically to ``path`` (checked before the interview), or, when it
    cannot be written now, to a fallback file in the temporary folder; says which."""
    import tempfile

    text = record.model_dump_json(indent=2) + "\n"
    try:
        write_atomic(path, text)
        out.write(f"\n{what} saved to {path}\n")
        return path
    except OutputError as exc:
        fd, fallback = tempfile.mkstemp(prefix=f"triage-{record.protocol.id}-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        out.write(f"\ntriage: {exc}\n{what} saved to {fallback} instead\n")
        return fallback


def _test(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.testing.runner import run_tests

    if args.junit:
        check_output(args.junit, [p for p in args.paths if not os.path.isdir(p)])
    return run_tests(
        args.paths,
        roots=args.root,
        out=out,
        err=err,
        min_coverage=args.min_coverage,
        fmt=args.format,
        junit=args.junit,
        verbose=args.verbose,
    )


def _write(text: str, output: str | None, out: TextIO) -> None:
    """Print ``text``, or write it atomically to ``output`` (checked before the work)."""
    if output:
        write_atomic(output, text)
    else:
        out.write(text)


def _table(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.analysis import table

    _outputs(args, args.output)
    built = table.build_table(_compile(args.protocol, args.root))
    render = {"markdown": table.to_markdown, "csv": table.to_csv, "json": table.dumps_json}[args.format]
    _write(render(built), args.output, out)
    return OK


def _diff(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.analysis.diff import diff, render_text, summary

    old, new = _compile(args.old, args.root), _compile(args.new, args.root)
    changes = diff(old, new)
    if args.format == "json":
        data = {
            "old": {"id": old.id, "version": old.version, "sha256": old.sha256},
            "new": {"id": new.id, "version": new.version, "sha256": new.sha256},
            "summary": summary(changes),
            "changes": [c.to_dict() for c in changes],
        }
        out.write(json.dumps(data, indent=2) + "\n")
    else:
        out.write(render_text(changes))
    return NO if changes else OK


def _cases(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.analysis.cases import generate

    _outputs(args, args.output)
    _write(generate(_compile(args.protocol, args.root)), args.output, out)
    return OK


def _render(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl import render

    _outputs(args, args.output, inputs=[args.trace])
    if args.output and render.format_for(args.output, args.format) != "dot":
        _outputs(args, str(Path(args.output).with_suffix(".dot")), inputs=[args.trace])
    protocol = _compile(args.protocol, args.root)
    overlay = None
    if args.trace:
        result = render.load_result(args.trace)
        if result.protocol.id != protocol.id:
            print(
                f"triage: {args.trace} is a result of '{result.protocol.id}', not '{protocol.id}'", file=err
            )
            return USAGE
        if result.protocol.sha256 != protocol.sha256:
            print(f"triage: warning: {args.trace} was evaluated on another version of the source", file=err)
        overlay = render.overlay_of(result, protocol.id)
    drawing = render.protocol_dot(protocol, overlay=overlay)
    if not args.output:
        out.write(drawing.source)
        return OK
    written = render.write_drawing(drawing, args.output, render.format_for(args.output, args.format))
    if written.dot_missing:
        print(f"triage: {render.INSTALL_HINT}", file=err)
        print(f"triage: wrote the DOT to {written.path} instead", file=err)
        return NO
    print(f"wrote {written.path}", file=err)
    return OK


def _book(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.render import INSTALL_HINT
    from triage_dsl.render.book import build_book

    book = build_book(args.protocol_dir, args.output, args.root)
    if book.dot_missing:
        print(f"triage: {INSTALL_HINT}; the pages show the DOT source instead of the graphs", file=err)
    print(
        f"wrote {len(book.pages)} page(s) for {len(book.protocols)} protocol(s): {book.site / 'index.html'}",
        file=out,
    )
    return OK


def _fmt(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    return fmt_cli.run(args, out, err)


def _lsp(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    return lsp_cli.run(args, out, err)


# ----------------------------------------------------------------- the liability record


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
    p.set_defaults(handler=_verify)
    p = sub.add_parser(
        "redact",
        help="a copy of a record fit for logs (answers and free text removed)",
        description="Print the record (or call record) without PHI; "
        "structure, protocol hash and outcome kept.",
    )
    p.add_argument("record", metavar="RECORD.json")
    _key_argument(p, "identifiers become keyed pseudonyms (without a key they are removed)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(handler=_redact)


def _clock_reading(at: str | None) -> datetime:
    """The evaluation's time: ``--at`` when given (reproducible records), else now (UTC)."""
    import importlib

    from triage_dsl.record.clock import FixedClock

    if not at:  # the record's own clock (one injection point for tests)
        clock: Any = importlib.import_module("triage_dsl.record.seal").SYSTEM_CLOCK
        now: datetime = clock.now()
        return now
    try:
        return FixedClock(at).now()
    except ValueError as exc:
        raise ProtocolFileError(f"--at {at!r}: not an ISO 8601 time ({exc})") from None


def _sealed(
    protocol: Protocol, result: TriageResult, args: argparse.Namespace, now: datetime
) -> TriageResult:
    from triage_dsl.record import redact, seal
    from triage_dsl.record.clock import FixedClock

    # One reading of the clock: the evaluation (a date of birth's age) and the record agree.
    key = _key(args)
    record = seal(result, protocol=protocol, session_id=args.session_id, clock=FixedClock(now), key=key)
    return redact(record, key) if args.redact else record


def _read_record(name: str, inp: TextIO, err: TextIO) -> dict[str, Any] | None:
    raw = _read_json(name, inp, MAX_RECORD_BYTES)
    if not isinstance(raw, dict):
        print(f"triage: {name}: not a record (expected a JSON object)", file=err)
        return None
    return raw


def _verify(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.record import verify, verify_call

    raw = _read_record(args.record, inp, err)
    if raw is None:
        return USAGE
    protocols = [_compile(path, args.root) for path in args.protocol]
    key, allow = _key(args), args.allow_unkeyed
    if raw.get("kind") == "call":
        verification = verify_call(raw, protocols, key=key, allow_unkeyed=allow)
    elif len(protocols) != 1:
        print("triage: verify: a record of one protocol takes exactly one --protocol", file=err)
        return USAGE
    else:
        verification = verify(raw, protocols[0], key=key, allow_unkeyed=allow)
    for note in verification.notes:
        print(f"{args.record}: note: {note}", file=out)
    for problem in verification.problems:
        print(f"{args.record}: {problem}", file=out)
    if verification.ok:
        print(f"{args.record}: intact, and the replay agrees", file=out)
    return OK if verification.ok else NO


def _redact(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from pydantic import ValidationError

    from triage_dsl.model.call import CallRecord
    from triage_dsl.model.result import TriageResult
    from triage_dsl.record import redact, redact_call

    _outputs(args, args.output, inputs=[args.record])
    raw = _read_record(args.record, inp, err)
    if raw is None:
        return USAGE
    key = _key(args)
    try:
        if raw.get("kind") == "call":
            text = redact_call(CallRecord.model_validate(raw), key).model_dump_json(indent=2)
        else:
            text = redact(TriageResult.model_validate(raw), key).model_dump_json(indent=2)
    except ValidationError as exc:
        print(f"triage: {args.record}: not a valid record: {exc.errors()[0]['msg']}", file=err)
        return USAGE
    _write(text + "\n", args.output, out)
    return OK
