"""``triage fhir``: a sealed record (or call record) as a FHIR transaction Bundle, or a
protocol as a FHIR Questionnaire, printed or written atomically.

    triage fhir RECORD.json [--protocol FILE] [--out FILE]
    triage fhir --questionnaire PROTOCOL [--out FILE]

Exit 0 when written; 2 with a message naming the file and the problem (unreadable,
not JSON, not a sealed record, a protocol that does not compile, an unwritable output).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

# The parser is built for every ``triage`` command: what the export itself uses is imported
# when it runs.

OK, USAGE = 0, 2


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``fhir`` subcommand to the ``triage`` parser (its handler: :func:`fhir_command`)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "fhir",
        help="export a sealed record as a FHIR R4 Bundle, or a protocol as a Questionnaire",
        description="Print a sealed record (or call record) as a FHIR R4 transaction Bundle "
        "(QuestionnaireResponse, RiskAssessment, CommunicationRequests, Provenance), or with "
        "--questionnaire a protocol as a FHIR R4 Questionnaire. See docs/integration.md.",
    )
    p.add_argument("record", nargs="?", metavar="RECORD.json", help="a record of 'triage eval --answers'")
    p.add_argument("--questionnaire", metavar="PROTOCOL", help="export this protocol's Questionnaire instead")
    p.add_argument(
        "--protocol",
        metavar="FILE",
        help="with RECORD.json: the protocol of the record, to type each answer as its question does",
    )
    p.add_argument("--out", "-o", metavar="FILE", help="write here instead of standard output")
    p.add_argument(
        "--root",
        metavar="DIR",
        action="append",
        default=[],
        help="another folder imports may come from (repeat; the protocol's own folder always may)",
    )
    return p


def fhir_command(args: argparse.Namespace, inp: TextIO, out: TextIO, err: TextIO) -> int:
    """Run ``triage fhir`` (the shared CLI maps the compiler's and the files' errors to exit 2)."""
    from triage_dsl.errors import ProtocolFileError, RecordError
    from triage_dsl.io.outputs import check_output, write_atomic

    if (args.record is None) == (args.questionnaire is None):
        print("triage fhir: give either RECORD.json or --questionnaire PROTOCOL", file=err)
        return USAGE
    if args.questionnaire is not None and args.protocol is not None:
        print("triage fhir: --protocol goes with RECORD.json, not with --questionnaire", file=err)
        return USAGE
    inputs = [x for x in (args.record, args.questionnaire, args.protocol) if x]
    if args.out:
        check_output(args.out, inputs)
    from triage_dsl.compiler import compile_file
    from triage_dsl.fhir import bundle, questionnaire, to_json

    if args.questionnaire is not None:
        text = to_json(questionnaire(compile_file(args.questionnaire, args.root)))
    else:
        record = _record(args.record)
        protocol = compile_file(args.protocol, args.root) if args.protocol else None
        from pydantic import ValidationError

        try:
            text = to_json(bundle(record, protocol))
        except RecordError as exc:
            raise ProtocolFileError(f"{args.record}: {exc}") from None
        except ValidationError as exc:  # a record edited by hand: e.g. an empty label, which FHIR refuses
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            problem = "a text FHIR does not take: empty or blank"
            if first["type"] != "string_pattern_mismatch":
                problem = " ".join(str(first["msg"]).split())
            raise ProtocolFileError(
                f"{args.record}: cannot be written as FHIR ({where}: {problem}); "
                "is it a record as triage made it? (triage verify checks)"
            ) from None
    if args.out:
        write_atomic(args.out, text)
    else:
        out.write(text)
    return OK


def _record(path: str) -> Any:
    """The sealed record (or call record) in ``path``, or :class:`ProtocolFileError` saying
    why it is not one."""
    from triage_dsl.errors import ProtocolFileError
    from triage_dsl.io.files import read_bytes
    from triage_dsl.io.strict_json import MAX_RECORD_BYTES, loads
    from triage_dsl.model.call import CallRecord
    from triage_dsl.model.checked import validated
    from triage_dsl.model.result import TriageResult

    raw = loads(read_bytes(path, MAX_RECORD_BYTES), path=path)
    if not isinstance(raw, dict):
        raise ProtocolFileError(f"{path}: not a record (expected a JSON object)")
    model: Any = CallRecord if raw.get("kind") == "call" else TriageResult
    record = validated(model, raw, source=path, what="not a valid record", hint="see: triage schema record")
    if isinstance(record, TriageResult) and record.seal is None:
        raise ProtocolFileError(
            f"{path}: not a sealed record (no seal); export the record 'triage eval --answers' prints"
        )
    return record
