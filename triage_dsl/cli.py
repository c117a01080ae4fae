"""The ``triage`` command: arguments in, one API call, output printed. No protocol logic.

Exit codes (also in the README): 0 success; 1 the answer is "no" (check found errors,
a scenario failed, answers were invalid); 2 usage error, unreadable file or a protocol
that does not compile; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from triage_dsl import __version__
from triage_dsl.compiler import check_file, compile_file
from triage_dsl.errors import CompileError, ProtocolFileError
from triage_dsl.explain.note import render_note
from triage_dsl.model.result import SCHEMA_VERSION, TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.interpreter import evaluate_protocol

OK, NO, USAGE, INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would sys.exit(2) itself
        self.print_usage(sys.stderr)
        raise _Usage(f"{self.prog}: error: {message}")


class _Usage(Exception):
    pass


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
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")

    p = sub.add_parser(
        "run",
        help="interview a caller in the terminal",
        description="Ask the protocol's questions one at a time, then show the "
        "disposition, urgency, escalation plan and note.",
    )
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("--save", metavar="FILE", help="write the result as JSON")

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of results",
        description="Print the JSON Schema of the result that eval prints.",
    )
    p.add_argument("what", nargs="?", choices=("result",), default="result")

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
    try:
        handler = {"check": _check, "eval": _eval, "run": _run, "schema": _schema, "test": _test}[
            args.command
        ]
        return handler(args, inp, out, err)
    except ProtocolFileError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    except CompileError as exc:
        print(exc.render(), file=err)
        print(f"triage: {exc.args[0]}", file=err)
        return USAGE
    except KeyboardInterrupt:
        print("\ntriage: interrupted", file=err)
        return INTERRUPTED
    except BrokenPipeError:
        return OK


def _protocol_files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(path.rglob("*.triage"))
        else:
            yield path


def _check(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    findings: list[dict[str, object]] = []
    errors = warnings = 0
    for path in _protocol_files(args.paths):
        try:
            diagnostics, sources = check_file(path)
        except ProtocolFileError as exc:
            errors += 1
            if args.format == "json":
                findings.append(
                    {
                        "path": str(path),
                        "severity": "error",
                        "code": "F001",
                        "message": str(exc),
                        "line": None,
                        "column": None,
                    }
                )
            else:
                print(f"triage: {exc}", file=err)
            continue
        for d in diagnostics:
            errors += d.severity == "error"
            warnings += d.severity == "warning"
            if args.format == "json":
                findings.append(d.to_dict())
            else:
                print(d.render(sources.get(d.span.path)), file=out)
    if args.format == "json":
        json.dump({"errors": errors, "warnings": warnings, "findings": findings}, out, indent=2)
        out.write("\n")
    else:
        print(f"{errors} error(s), {warnings} warning(s)", file=err if not errors else out)
    return NO if errors else OK


def _read_text(name: str, inp: TextIO) -> str:
    if name == "-":
        return inp.read()
    try:
        return Path(name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProtocolFileError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        raise ProtocolFileError(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise ProtocolFileError(f"{name}: cannot read ({exc.strerror})") from None


def parse_json(text: str) -> Any:
    """JSON as Python reads it; NaN and Infinity parse, and answer validation refuses them
    with the question named (better than losing the whole line)."""
    return json.loads(text)


def _eval(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    protocol = compile_file(args.protocol)
    target = open(args.output, "w", encoding="utf-8") if args.output else out  # noqa: SIM115
    try:
        if args.cases:
            return _eval_cases(protocol, _read_text(args.cases, inp), args, target)
        text = _read_text(args.answers, inp)
        try:
            answers = parse_json(text)
        except ValueError as exc:
            print(f"triage: {args.answers}: invalid JSON: {exc}", file=err)
            return USAGE
        if isinstance(answers, dict) and set(answers) == {"answers"} and isinstance(answers["answers"], dict):
            answers = answers["answers"]
        result = evaluate_protocol(protocol, answers, trace=not args.no_trace)
        if args.format == "json":
            result = result.model_copy(update={"note": render_note(result)})
            target.write(result.model_dump_json(indent=2) + "\n")
        else:
            target.write(render_note(result, markdown=args.format == "markdown"))
        return NO if result.status == "error" else OK
    finally:
        if target is not out:
            target.close()


def case_line(protocol: Protocol, line: str, number: int, trace: bool = True) -> dict[str, Any]:
    """One JSON line of ``--cases`` in, one result object out (never raises)."""
    try:
        case = parse_json(line)
    except ValueError as exc:
        return {
            "id": None,
            "line": number,
            "status": "error",
            "disposition": None,
            "error": f"line {number}: invalid JSON: {exc}",
        }
    case_id = case.get("id") if isinstance(case, dict) else None
    if not isinstance(case, dict) or not isinstance(case.get("answers"), dict):
        return {
            "id": case_id,
            "line": number,
            "status": "error",
            "disposition": None,
            "error": f'line {number}: expected an object with "answers": {{...}}',
        }
    result: TriageResult = evaluate_protocol(protocol, case["answers"], trace=trace)
    return {"id": case_id, **result.model_dump(mode="json", exclude={"note"})}


def _eval_cases(protocol: Protocol, text: str, args: argparse.Namespace, out: TextIO) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        out.write(json.dumps(case_line(protocol, line, number, trace=not args.no_trace)) + "\n")
    return OK


def _schema(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    schema = TriageResult.model_json_schema()
    schema["$id"] = f"https://triage-dsl.invalid/schema/result/{SCHEMA_VERSION}"
    schema["title"] = f"TriageResult (schema {SCHEMA_VERSION})"
    json.dump(schema, out, indent=2, sort_keys=True)
    out.write("\n")
    return OK


def _run(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.interview import interview

    return interview(compile_file(args.protocol), inp, out, args.save)


def _test(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.testing.runner import run_tests

    return run_tests(
        args.paths,
        out=out,
        err=err,
        min_coverage=args.min_coverage,
        fmt=args.format,
        junit=args.junit,
        verbose=args.verbose,
    )
