"""What each ``triage`` command does, once :mod:`triage_dsl.cli` has read its arguments:
read the inputs, make one API call, print or write the output. No protocol logic.

Every input file is read through :mod:`triage_dsl.io` (regular files within a size limit,
strict JSON) and every output path is checked before the work starts and written
atomically. Each function imports the stages it uses.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from triage_dsl.errors import ProtocolFileError
from triage_dsl.fmt import cli as fmt_cli
from triage_dsl.io.files import InputError, inside, nothing_found, read_bytes
from triage_dsl.io.outputs import OutputError, atomic, check_output, write_atomic
from triage_dsl.io.strict_json import MAX_ANSWERS_BYTES, MAX_RECORD_BYTES, loads
from triage_dsl.io.workers import can_fork, forked_map, wanted
from triage_dsl.lsp import cli as lsp_cli

if TYPE_CHECKING:
    from triage_dsl.errors import Diagnostic
    from triage_dsl.model.result import TriageResult
    from triage_dsl.protocol import Protocol
    from triage_dsl.source import Source

OK, NO, USAGE = 0, 1, 2


def _compile(path: str, roots: Sequence[str]) -> Protocol:
    from triage_dsl.compiler import compile_file

    return compile_file(path, roots)


def _protocol_files(paths: Sequence[str]) -> list[Path]:
    """The files named, and the ``.triage`` files under each folder named; a folder with
    none is an error (exit 2), found before any file is checked."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if os.path.isdir(path):  # never raises (a name too long is then a file that cannot be read)
            # a symbolic link that leads out of the folder is left out
            files = [p for p in sorted(path.rglob("*.triage")) if inside(p, [path])]
            if not files:
                raise nothing_found(raw)
            found += files
        else:
            found.append(path)
    return found


def check_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    findings: list[dict[str, object]] = []
    errors = warnings = infos = suppressed = unreadable = 0
    for path, checked in _checked(_protocol_files(args.paths), args.root, not args.no_analysis, args.jobs):
        if isinstance(checked, str):  # the file cannot be read
            errors += 1
            unreadable += 1
            if args.format == "json":
                findings.append(_unreadable_finding(str(path), checked))
            else:
                print(f"triage: {checked}", file=err)
            continue
        diagnostics, sources = checked
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


Found = tuple[list["Diagnostic"], dict[str, "Source"]]
"""What checking a file found: its diagnostics, and every file read (for the excerpts)."""


def _checked(
    paths: list[Path], roots: list[str] | None, analysed: bool, jobs: int
) -> Iterator[tuple[Path, Found | str]]:
    """Each file's diagnostics and sources (or why it cannot be read), in the order given:
    kept from an earlier run when the file and its imports are unchanged, else checked
    (the analyses in worker processes when several files need them) and kept."""
    from triage_dsl import stored_checks

    kept = [stored_checks.load(path, roots, analysed) for path in paths]  # never raises
    fresh = _check_files([p for p, k in zip(paths, kept, strict=True) if k is None], roots, analysed, jobs)
    for path, known in zip(paths, kept, strict=True):
        if known is not None:
            yield path, known
            continue
        found = next(fresh)
        if not isinstance(found, str):
            stored_checks.store(path, roots, analysed, *found)
        yield path, found


def _check_files(
    paths: list[Path], roots: list[str] | None, analysed: bool, jobs: int
) -> Iterator[Found | str]:
    """Check the files, in order. With the analyses (seconds a file, cold) and more than
    one file and core, forked workers check them; results come back in the order given,
    so the output is the same bytes as one process gives."""
    workers = min(len(paths), wanted(jobs)) if analysed else 1
    if workers < 2 or not can_fork():
        yield from (_check_one(path, roots, analysed) for path in paths)
        return
    import importlib

    for module in ("triage_dsl.compiler", "triage_dsl.analysis", "triage_dsl.analysis.cache"):
        importlib.import_module(module)  # imported once here, inherited by every worker
    importlib.import_module("triage_dsl.syntax.grammar").lark_parser()  # and the parser loaded
    yield from forked_map(functools.partial(_check_one, roots=roots, analysed=analysed), paths, workers)


def _check_one(path: Path, roots: list[str] | None, analysed: bool) -> Found | str:
    try:
        return _check_file(path, roots, analysed)
    except ProtocolFileError as exc:
        return str(exc)


def _check_file(path: Path, roots: list[str] | None, analysed: bool) -> Found:
    """Check one file (imported here: a run whose files are all kept loads no parser)."""
    from triage_dsl.analysis import findings_of
    from triage_dsl.analysis.cache import cached
    from triage_dsl.compiler import check_file

    return check_file(path, cached(findings_of) if analysed else None, roots)


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
    from triage_dsl.model.caller import CallInfo
    from triage_dsl.model.checked import validated

    raw = _read_json(name, inp, MAX_ANSWERS_BYTES)
    return validated(
        CallInfo, raw, source=name, what="not a valid caller block", hint="see: triage schema call-info"
    )


def eval_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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
    if args.call is None and not (args.redact and args.format != "json"):
        from triage_dsl.eval_plain import evaluate_and_seal

        written = evaluate_and_seal(
            protocol,
            answers,
            trace=not args.no_trace,
            now=now,
            session_id=args.session_id,
            key=_key(args),
            redacted=args.redact,
            form=args.format,
        )
        if written is not None:  # else a value orjson cannot write: the models' path below
            text, status = written
            _write(text, args.output, out)
            return NO if status == "error" else OK
    from triage_dsl import evaluate

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


def schema_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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


def run_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    import uuid

    from triage_dsl.interview import interview
    from triage_dsl.record import seal
    from triage_dsl.record.clock import FixedClock

    save = args.save or args.resume  # a resumed interview goes on saving where it was saved
    if args.resume and args.call:
        print(
            "triage: run: --resume takes the caller block from the saved record; leave out --call", file=err
        )
        return USAGE
    _outputs(args, save)
    resuming_there = bool(args.resume) and os.path.realpath(save) == os.path.realpath(args.resume)
    if save and not resuming_there and os.path.lexists(save):
        # a record is a call's documentation: another call's is never written over
        print(
            f"triage: run: {save} exists (the record of another call?): save this call under a new "
            f"name, or continue that call with --resume {save}",
            file=err,
        )
        return USAGE
    protocol = _compile(args.protocol, args.root)
    key, now = _key(args), _clock_reading(args.at)
    clock = FixedClock(now) if args.at else None  # --at: the whole record is reproducible
    reconfigure = getattr(inp, "reconfigure", None)
    if reconfigure is not None:  # a byte that is not UTF-8 read as a lone surrogate, which the
        with contextlib.suppress(Exception):  # interview asks again for, not a decoding error
            reconfigure(errors="surrogateescape")  # that loses the rest of what was typed
    resumed = _resumed(args, protocol, key, clock, inp, err) if args.resume else None
    if args.resume and resumed is None:
        return USAGE
    call = None if resumed is not None else _call_info(args.call, inp)
    # one session id for the partial records saved along the way and the final one
    session_id = args.session_id or (resumed[1] if resumed is not None else None) or str(uuid.uuid4())

    def finish(result: TriageResult) -> TriageResult:
        return seal(result, protocol=protocol, session_id=session_id, key=key, clock=clock)

    def stopped(session: Any) -> None:  # the call stopped early: keep what was said
        if save:
            save_record(finish(session.result()), save, err, "Partial record")

    unsaved: list[str] = []

    def kept(session: Any) -> None:  # after every answer: a crash loses nothing said
        if save:
            try:
                write_atomic(save, finish(session.result()).model_dump_json(indent=2) + "\n")
            except OutputError as exc:
                if not unsaved:  # said once; the record is saved again (or elsewhere) at the end
                    print(f"triage: run: cannot save the record as the call goes: {exc}", file=err)
                unsaved.append(save)

    code, record = interview(
        protocol,
        inp,
        out,
        call=call,
        finish=finish,
        now=now,
        clock=clock,
        stopped=stopped,
        kept=kept,
        resumed=resumed[0] if resumed is not None else None,
    )
    if save and record is not None:
        save_record(record, save, out, "Record")
    return code


def _resumed(
    args: argparse.Namespace, protocol: Protocol, key: Any, clock: Any, inp: TextIO, err: TextIO
) -> tuple[Any, str | None] | None:
    """The session a saved partial record describes, with the record's session id, for
    ``triage run --resume``; None (said on ``err``) when it cannot be continued."""
    from triage_dsl.errors import SessionError
    from triage_dsl.record import verify
    from triage_dsl.record.verify import parse_record
    from triage_dsl.runtime.replay import replayed

    where = args.resume
    if where == "-":
        print(
            "triage: run: --resume takes the saved record's file (standard input is the interview's)",
            file=err,
        )
        return None
    raw = _read_record(where, inp, err)
    if raw is None:
        return None
    verification = verify(raw, protocol, key=key)
    if not verification.ok:
        for problem in verification.problems:
            print(f"triage: run: {where}: {problem}", file=err)
        print(
            f"triage: run: {where}: not resumed: the saved record does not verify against {args.protocol}",
            file=err,
        )
        return None
    record, _ = parse_record(raw)
    assert record is not None  # it verified
    if record.call is not None and record.call.agreement is not None:
        print(
            f"triage: run: {where}: the call is finished (the caller responded to the advice): "
            "nothing to resume",
            file=err,
        )
        return None
    if record.started_at is None:
        print(f"triage: run: {where}: the record has no start time: not made by triage run", file=err)
        return None
    try:
        session = replayed(
            protocol,
            record.answer_log,
            call=record.call,
            started_at=record.started_at,
            clock=clock or _system_clock(),
        )
    except SessionError as exc:
        print(f"triage: run: {where}: not resumed: {exc}", file=err)
        return None
    return session, record.session_id


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


def test_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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


def table_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.analysis import table

    _outputs(args, args.output)
    built = table.build_table(_compile(args.protocol, args.root))
    render = {"markdown": table.to_markdown, "csv": table.to_csv, "json": table.dumps_json}[args.format]
    _write(render(built), args.output, out)
    return OK


def diff_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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


def cases_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.analysis.cases import generate

    _outputs(args, args.output)
    _write(generate(_compile(args.protocol, args.root)), args.output, out)
    return OK


def render_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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


def book_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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


def fmt_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    return fmt_cli.run(args, out, err)


def lsp_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    return lsp_cli.run(args, out, err)


# ----------------------------------------------------------------- the liability record


def _system_clock() -> Any:
    """The record's own clock (one injection point for tests)."""
    import importlib

    return importlib.import_module("triage_dsl.record.seal").SYSTEM_CLOCK


def _clock_reading(at: str | None) -> datetime:
    """The evaluation's time: ``--at`` when given (reproducible records), else now (UTC)."""

    from triage_dsl.record.clock import FixedClock

    if not at:
        now: datetime = _system_clock().now()
        return now
    try:
        return FixedClock(at).now()
    except ValueError as exc:
        from triage_dsl.runtime.answers import printable

        # the value shown cut short (a hostile argument is not echoed whole), and the
        # parser's words only when they do not repeat it
        detail = str(exc) if repr(at) not in str(exc) else "expected a time such as 2026-03-01T02:00:00Z"
        raise ProtocolFileError(f"--at {printable(at)!r}: not an ISO 8601 time ({detail})") from None


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


def verify_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
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


def redact_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    from triage_dsl.model.call import CallRecord
    from triage_dsl.model.checked import validated
    from triage_dsl.model.result import TriageResult
    from triage_dsl.record import redact, redact_call

    _outputs(args, args.output, inputs=[args.record])
    raw = _read_record(args.record, inp, err)
    if raw is None:
        return USAGE
    key = _key(args)
    how = {"source": args.record, "what": "not a valid record", "hint": "see: triage schema record"}
    try:
        if raw.get("kind") == "call":
            text = redact_call(validated(CallRecord, raw, **how), key).model_dump_json(indent=2)
        else:
            text = redact(validated(TriageResult, raw, **how), key).model_dump_json(indent=2)
    except ProtocolFileError as exc:
        print(f"triage: {exc}", file=err)
        return USAGE
    _write(text + "\n", args.output, out)
    return OK
